"""Listening: the daemon's CPU per listening session, AAC re-encoded to Opus and G.711 forwarded,
next to GStreamer doing the same AAC -> Opus transcode.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo \\
        && exec .venv/bin/python bench/listen.py [--listeners 4] [--seconds 15] [--repeats 2]'

One simulated camera server (vigil.sim.camera_server) serves two small cameras (320x240 15 fps
H.264 at 200 kb/s, so that video costs little) with the 440 Hz tone: ``aac`` (48 kHz mono AAC)
and ``pcma`` (8 kHz G.711 A-law). ``vigil run`` records both. In the same namespace, this
process opens ``--listeners`` aiortc WHEP peers at once on one camera, per condition:

* ``video``: on ``aac``, offers without an audio section (the video-only baseline);
* ``aac``: on ``aac``, with audio: each gets Opus, decoded and re-encoded per session;
* ``pcma``: on ``pcma``, with audio: each gets the camera's A-law as it is.

Measured: the daemon's utime+stime (/proc, all threads) over ``--seconds`` with the peers
connected; per condition minus the ``video`` baseline, divided by the listeners = the audio's
cost per listening session (% of one core). The peer: ``gst-launch-1.0 rtspsrc ! rtpmp4gdepay !
avdec_aac ! audioconvert ! audioresample ! opusenc ! fakesink`` on ``aac`` (audioconvert: avdec_aac
gives planar float, which opusenc does not take) (``--listeners`` of them at once,
minus a ``rtspsrc ! fakesink`` baseline of as many), the same seconds. The conditions alternate
order per repeat; medians over repeats. Exit 0 = measured, 2 = could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402
from tests.support.camsim import CameraServer  # noqa: E402
from tests.support.http_call import call, free_port  # noqa: E402
from tests.support.netns import in_test_namespace  # noqa: E402
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config  # noqa: E402

from procstat import CLK_TCK, BenchError, cpu_ticks, log, machine_busy_ticks, ticks_between, workdir  # noqa: E402 (bench/ is the script's directory)

CAMERA = "width=320,height=240,fps=15,gop=15,bitrate=200"


async def _pump(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


async def _measure_listeners(base: str, ca: Path, token: str, camera: str, audio: bool, count: int,
                             seconds: float, pid: int) -> tuple[float, int]:
    """(daemon CPU % of one core while `count` peers listen, machine busy ticks meanwhile)."""
    peers: list[RTCPeerConnection] = []
    tasks: list[asyncio.Task[None]] = []
    context = ssl.create_default_context(cafile=str(ca))
    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            pc = RTCPeerConnection()
            peers.append(pc)
            pc.addTransceiver("video", direction="recvonly")
            if audio:
                pc.addTransceiver("audio", direction="recvonly")
            pc.on("track", lambda track: tasks.append(asyncio.ensure_future(_pump(track))))
            await pc.setLocalDescription(await pc.createOffer())
            response = await http.post(f"{base}/api/cameras/{camera}/whep", data=pc.localDescription.sdp,
                                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
                                       ssl=context)
            answer = await response.text()
            if response.status != 201:
                raise BenchError(f"offer refused: {response.status} {answer}")
            if audio and "a=sendonly" not in answer[answer.index("m=audio"):]:
                raise BenchError(f"no audio in the answer for {camera}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.sleep(3.0)  # connected and settled
    if any(pc.connectionState != "connected" for pc in peers):
        raise BenchError(f"peers not connected: {[pc.connectionState for pc in peers]}")
    before, busy = cpu_ticks([pid]), machine_busy_ticks()
    await asyncio.sleep(seconds)
    used, busy = ticks_between(before, cpu_ticks([pid])), machine_busy_ticks() - busy
    for pc in peers:
        await pc.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2.0)  # the daemon ends the sessions
    return 100.0 * used / CLK_TCK / seconds, busy


def _gst(url: str, transcode: bool, count: int, seconds: float) -> float:
    """CPU % of one core of `count` gst-launch pipelines over `seconds` (after 3 s to settle)."""
    tail = "rtpmp4gdepay ! avdec_aac ! audioconvert ! audioresample ! opusenc ! fakesink" if transcode else "fakesink"
    # select-stream keeps only the audio (stream 1); the baseline receives the same RTP and drops it.
    cmd = ["gst-launch-1.0", "-q", "rtspsrc", f"location={url}", "protocols=tcp", "latency=0",
           "!", "application/x-rtp,media=audio", "!", *tail.replace("!", " ! ").split()]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(count)]
    try:
        time.sleep(3.0)
        if any(p.poll() is not None for p in procs):
            raise BenchError(f"gst-launch exited: {procs[0].stderr.read().decode()[-500:] if procs[0].stderr else ''}")
        before = cpu_ticks([p.pid for p in procs])
        time.sleep(seconds)
        used = ticks_between(before, cpu_ticks([p.pid for p in procs]))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    return 100.0 * used / CLK_TCK / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not in_test_namespace():
        print("run inside a loopback-only network namespace (see the docstring)", file=sys.stderr)
        return 2
    if shutil.which("gst-launch-1.0") is None:
        print("gst-launch-1.0 is missing", file=sys.stderr)
        return 2
    n, s = args.listeners, args.seconds
    figures: dict[str, list[float]] = {k: [] for k in ("video", "aac", "pcma", "gst_base", "gst_opus")}
    try:
        with workdir(False, "vigil-bench-listen-") as tmp, \
                CameraServer(f"name=aac,{CAMERA},audio=aac", f"name=pcma,{CAMERA},audio=pcma") as cams:
            port = free_port()
            config = write_config(tmp, {"aac": cams.url("aac"), "pcma": cams.url("pcma")},
                                  f'[http]\nlisten = "127.0.0.1:{port}"\n[webrtc]\nmax_viewers = 64\n'
                                  "max_viewers_per_credential = 64")
            vigil_stdin("a long enough password\n", "user", "add", "root", "--role", "district_admin",
                        "--password-stdin", "--config", str(config))
            token = run_vigil("token", "create", "root", "--config", str(config)).stdout.strip()
            vigil = VigilProcess(config)
            try:
                ca = tmp / "data" / "tls" / "cert.pem"
                base = f"https://127.0.0.1:{port}"
                wait_for(ca.exists, 20, "the certificate")

                def ready() -> bool:
                    status, body, _ = call(base + "/api/cameras", headers={"Authorization": f"Bearer {token}"},
                                           cafile=ca)
                    return status == 200 and b'"audio": null' not in body

                wait_for(lambda: _quiet(ready), 30, "both cameras' audio")
                for repeat in range(args.repeats):
                    order = [("video", "aac", False), ("aac", "aac", True), ("pcma", "pcma", True)]
                    for key, camera, audio in (order if repeat % 2 == 0 else order[::-1]):
                        cpu, busy = asyncio.run(_measure_listeners(base, ca, token, camera, audio, n, s,
                                                                   vigil.proc.pid))
                        figures[key].append(cpu)
                        log(f"repeat {repeat}: {key}: daemon {cpu:.1f} % with {n} peers"
                            f" (machine busy {100 * busy / CLK_TCK / s:.0f} % of one core)")
                    for key, transcode in (("gst_base", False), ("gst_opus", True))[:: 1 if repeat % 2 == 0 else -1]:
                        figures[key].append(_gst(cams.url("aac"), transcode, n, s))
                        log(f"repeat {repeat}: {key}: {figures[key][-1]:.1f} % for {n} pipelines")
                vigil.terminate()
            finally:
                vigil.close()
    except BenchError as error:
        print(f"could not measure: {error}", file=sys.stderr)
        return 2
    med = {k: statistics.median(v) for k, v in figures.items()}
    aac = (med["aac"] - med["video"]) / n
    pcma = (med["pcma"] - med["video"]) / n
    gst = (med["gst_opus"] - med["gst_base"]) / n
    print(f"machine: {platform.processor() or platform.machine()}, {n} listeners, {s:.0f} s, {args.repeats} repeats")
    print(f"daemon with {n} video-only peers: {med['video']:.1f} % of one core (includes recording 2 cameras)")
    print(f"AAC -> Opus per listening session: {aac:.2f} % of one core (daemon {med['aac']:.1f} % - video)")
    print(f"G.711 forwarded per listening session: {pcma:.2f} % (daemon {med['pcma']:.1f} % - video)")
    print(f"GStreamer AAC -> Opus per pipeline: {gst:.2f} % (pipelines {med['gst_opus']:.1f} % - rtspsrc"
          f" {med['gst_base']:.1f} %)")
    print(f"ratio vigil/GStreamer (AAC -> Opus): {aac / gst:.2f}" if gst > 0 else "ratio: GStreamer cost ~0")
    print("raw:", {k: [round(x, 1) for x in v] for k, v in figures.items()})
    return 0


def _quiet(check: object) -> bool:
    try:
        return bool(check())  # type: ignore[operator]
    except OSError:  # not listening yet
        return False


if __name__ == "__main__":
    sys.exit(main())
