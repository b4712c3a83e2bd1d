"""H.264 RTP depacketizing cost: core/rtp.py + core/depacketize.py against FFmpeg's RTP demuxer
(through PyAV, what the ingest used so far), the same packets, side by side in one run.

1. In-process (no I/O): parse_rtp + VideoDepacketizer.push over every packet of a GStreamer
   `rtph264pay` capture (mtu 1400: FU-A for every slice, STAP-A for the parameter sets), CPU time
   per packet, median of --repeats.
2. Over loopback UDP, as the ingest receives it: a receiver process per side gets the same packets
   from a paced sender and reports its own CPU time (getrusage, user + system) from before its first
   packet to its last (`recv`/`ours`: a blocking socket; `ffmpeg`: until its 2 s read timeout).
   Sides: `recv` (Python socket recv only: the floor), `ours` (recv + parse_rtp + push), `ffmpeg`
   (PyAV: av.open of an SDP file, demux every packet; FFmpeg's UDP thread, RTP/H.264 depacketizer
   and parser). Alternated, --repeats rounds.

Run in a loopback-only namespace:
  unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/depacketize.py'
Exit 0 = measured, 2 = could not measure (a receiver lost packets or failed)."""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAEMON_DIR = ROOT / "daemon"
sys.path.insert(0, str(DAEMON_DIR))

from procstat import BenchError, log, workdir  # noqa: E402 (bench/ is the script's directory)
from vigil.core.depacketize import VideoDepacketizer  # noqa: E402
from vigil.core.media import Codec  # noqa: E402
from vigil.core.rtp import parse_rtp  # noqa: E402
from vigil.sim.clips import make_h264_clip  # noqa: E402

SDP = """v=0
o=- 0 0 IN IP4 127.0.0.1
s=bench
c=IN IP4 127.0.0.1
t=0 0
m=video {port} RTP/AVP 96
a=rtpmap:96 H264/90000
a=fmtp:96 packetization-mode=1
"""


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def capture(clip: Path, tmp: Path) -> list[bytes]:
    out = tmp / "stream.rtp"
    pipeline = (f"filesrc location={clip} ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! "
                f"rtph264pay mtu=1400 config-interval=-1 aggregate-mode=zero-latency pt=96 ! rtpstreampay ! "
                f"filesink location={out}")
    subprocess.run(["gst-launch-1.0", "-q", *shlex.split(pipeline)], check=True, timeout=300)
    data, packets, at = out.read_bytes(), [], 0
    while at + 2 <= len(data):
        size = int.from_bytes(data[at:at + 2], "big")
        packets.append(data[at + 2:at + 2 + size])
        at += 2 + size
    return packets


def in_process(packets: list[bytes]) -> tuple[float, int]:
    """CPU seconds for parse + depacketize of every packet, and the AUs out."""
    depay = VideoDepacketizer(Codec.H264)
    push = depay.push
    units = 0
    start = time.process_time()
    for data in packets:
        units += len(push(parse_rtp(data)))
    return time.process_time() - start, units


# --- receivers (child processes) ------------------------------------------------------------------


def receive(side: str, port: int, count: int, tmp: Path) -> dict[str, float]:
    units = received = 0
    if side == "ffmpeg":
        import av  # the peer only

        sdp = tmp / f"recv-{port}.sdp"
        sdp.write_text(SDP.format(port=port))
        print("ready", flush=True)
        start = cpu_s()
        options = {"protocol_whitelist": "file,udp,rtp", "reorder_queue_size": "0",
                   "buffer_size": str(8 * 1024 * 1024), "probesize": "32", "analyzeduration": "0"}
        with av.open(str(sdp), format="sdp", options=options, timeout=(20.0, 2.0)) as container:
            try:
                for packet in container.demux(container.streams.video[0]):
                    if packet.size:
                        units += 1
            except av.error.FFmpegError:
                pass  # the read timeout after the last packet
        return {"cpu_s": cpu_s() - start, "units": units, "received": -1}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", port))  # blocking, no timeout (a poll per recv): the parent's timeout ends a stuck run
    depay = VideoDepacketizer(Codec.H264)
    print("ready", flush=True)
    start = cpu_s()
    recv = sock.recv
    push = depay.push
    while received < count:
        data = recv(2048)
        received += 1
        if side == "ours":
            units += len(push(parse_rtp(data)))
    return {"cpu_s": cpu_s() - start, "units": units, "received": received}


def send(packets: list[bytes], port: int, rate_pps: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = ("127.0.0.1", port)
    burst = 50
    start = time.monotonic()
    for n in range(0, len(packets), burst):
        for data in packets[n:n + burst]:
            sock.sendto(data, address)
        ahead = start + (n + burst) / rate_pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    sock.close()


def over_udp(side: str, packets: list[bytes], port: int, rate_pps: int, tmp: Path) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--receive", side, "--port", str(port), "--count", str(len(packets)),
         "--tmp", str(tmp)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise BenchError(f"the {side} receiver did not start")
        time.sleep(0.3 if side != "ffmpeg" else 1.0)  # its socket is bound (FFmpeg opens it in av.open)
        send(packets, port, rate_pps)
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise BenchError(f"the {side} receiver did not get every packet (lost on loopback: machine too busy)") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result: dict[str, float] = json.loads(out)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length (720p15, 6 Mb/s)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rate", type=int, default=5000, help="UDP send rate, packets/s")
    parser.add_argument("--receive", choices=["recv", "ours", "ffmpeg"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        print(json.dumps(receive(args.receive, args.port, args.count, args.tmp)), flush=True)
        return 0
    try:
        with workdir(False, "vigil-bench-depay-") as tmp:
            log("encoding the clip")
            clip = make_h264_clip(tmp / "clip.h264", 1280, 720, 15, args.seconds, 15, 6000)
            packets = capture(clip, tmp)
            frames = round(args.seconds * 15)
            log(f"{len(packets)} packets, {frames} frames")
            inproc = []
            for _ in range(args.repeats):
                seconds, units = in_process(packets)
                if units != frames:
                    raise BenchError(f"in-process: {units} access units of {frames}")
                inproc.append(seconds)
            results: dict[str, list[dict[str, float]]] = {"recv": [], "ours": [], "ffmpeg": []}
            for round_no in range(args.repeats):
                for n, side in enumerate(results):
                    result = over_udp(side, packets, 40000 + 2 * (round_no * 3 + n), args.rate, tmp)
                    log(f"round {round_no} {side}: {result}")
                    results[side].append(result)
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    inproc_s = statistics.median(inproc)
    print(f"\npackets: {len(packets)} ({frames} frames of 720p15 H.264 at 6 Mb/s, mtu 1400), "
          f"repeats: {args.repeats}, UDP rate {args.rate} packets/s")
    print(f"in-process parse_rtp + push: median {inproc_s / len(packets) * 1e6:.2f} µs/packet, "
          f"{len(packets) / inproc_s:,.0f} packets/s")
    print("\n| receiver over UDP | median CPU µs/packet | AUs out (per run) |")
    print("|---|---:|---:|")
    per_packet = {}
    for side, runs in results.items():
        per_packet[side] = statistics.median(r["cpu_s"] for r in runs) / len(packets) * 1e6
        print(f"| {side} | {per_packet[side]:.2f} | {sorted({int(r['units']) for r in runs})} |")
    print(f"\nratio ours/ffmpeg (UDP, whole receiver): {per_packet['ours'] / per_packet['ffmpeg']:.2f}")
    over_recv = per_packet["ours"] - per_packet["recv"]
    print(f"ours minus recv floor: {over_recv:.2f} µs/packet")
    lost = [r for r in results["ours"] + results["recv"] if r["received"] != len(packets)]
    if lost:
        log(f"receivers lost packets: {[r['received'] for r in lost]} of {len(packets)}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
