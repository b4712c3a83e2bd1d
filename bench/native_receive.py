"""Per-RTP-packet CPU of the native ingest's synchronous receive path (issue 19): the bytes of one
read through `NativeSession._input` (core/rtsp_client framing, core/rtp.parse_rtp,
ReceptionStats.update) into a sink that depacketizes (core/depacketize.VideoDepacketizer), as
ingest/native_ingest.py does before publishing. Peer in the same run: the bare `$`-frame splitter
of bench/rtsp_framing.py (the floor any RTSP client pays). CPU time (process_time), medians.

    .venv/bin/python bench/native_receive.py --packets 20000 --runs 7

The stream: a 1080p15 ~4 Mb/s H.264 camera over TCP: frames of 24 FU-A packets of 1400 bytes
(a keyframe every 30 frames), the marker on each frame's last packet, an RTCP sender report
every 100 packets; fed in 64 KiB reads. The asyncio cost per read is not in this figure. Copied
into an older tree, it measures that tree's shell (receive_data + NativeSession._event)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

from rtsp_framing import chunks, playing_client, run_floor
from vigil.core.camera_modes import Transport
from vigil.core.depacketize import VideoDepacketizer
from vigil.core.media import Codec
from vigil.core.rtp import RtpPacket, SenderReport
from vigil.core.rtsp_client import Playing
from vigil.core.rtsp_messages import encode_interleaved
from vigil.ingest.native_rtsp import NativeSession, SessionParams

PACKETS_PER_FRAME = 24


def stream(packets: int) -> tuple[bytes, int]:
    out = bytearray()
    frame = 0
    for i in range(packets):
        if i % 100 == 99:
            out += encode_interleaved(1, b"\x80\xc8\x00\x06" + bytes(24))
        at = i % PACKETS_PER_FRAME
        if at == 0 and i:
            frame += 1
        kind = 5 if frame % 30 == 0 else 1
        fu = (0x80 if at == 0 else 0) | (0x40 if at == PACKETS_PER_FRAME - 1 else 0) | kind
        marker = 0x80 if at == PACKETS_PER_FRAME - 1 else 0
        header = (b"\x80" + bytes((marker | 96,)) + (i & 0xFFFF).to_bytes(2, "big")
                  + (frame * 6000).to_bytes(4, "big") + b"\x12\x34\x56\x78")
        out += encode_interleaved(0, header + bytes((0x7C, fu)) + bytes(1386))
    return bytes(out), packets


class _Sink:
    def __init__(self) -> None:
        self.depacketizer = VideoDepacketizer(Codec.H264)
        self.units = 0
        self.packets = 0

    def playing(self, event: Playing) -> None:
        pass

    def rtp(self, track: int, packet: RtpPacket, arrival_wall_ns: int) -> None:
        self.packets += 1
        self.units += len(self.depacketizer.push(packet))

    def sender_report(self, track: int, report: SenderReport, arrival_wall_ns: int) -> None:
        pass


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass


def run_session(parts: list[bytes]) -> int:
    sink = _Sink()
    session = NativeSession(SessionParams("rtsp://cam/s", None, None, Transport.TCP, 10.0, False), sink,
                            asyncio.Event())
    client, playing = playing_client()
    # The session as its connection drives it (native_rtsp._Connection.data_received).
    session._client = client
    session._transport = _NullTransport()  # type: ignore[assignment]
    session._playing(playing)
    for part in parts:
        session._input(part)
    return sink.packets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data, packets = stream(args.packets)
    parts = chunks(data)
    times: dict[str, list[float]] = {"NativeSession._input + depacketize": [], "bare splitter (floor peer)": []}
    for _ in range(args.runs):
        for name, way in (("NativeSession._input + depacketize", run_session),
                          ("bare splitter (floor peer)", run_floor)):
            start = time.process_time()
            got = way(parts)
            times[name].append(time.process_time() - start)
            if name.startswith("Native") and got != packets:
                print(f"{name} delivered {got} packets, not {packets}", file=sys.stderr)
                return 2
    floor = statistics.median(times["bare splitter (floor peer)"])
    print(f"{packets} RTP packets, {len(data)} bytes, {len(parts)} reads; median of {args.runs} runs")
    print("| | median CPU ms | µs per RTP packet | ratio to floor |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.1f} | {median / packets * 1e6:.2f} | {median / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
