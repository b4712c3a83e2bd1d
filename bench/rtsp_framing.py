"""Per-packet CPU of the RTSP client's receive path (issue 19): interleaved RTP frames through
core/rtsp_client.RtspClient.receive_data, through its framing alone (core/rtsp_messages.RtspReader),
and through the floor peer: a bare `$`-frame splitter on bytes slicing with no bounds, no events
and no session (what any RTSP client must at least do). Same bytes, same chunking, interleaved
runs, CPU time (process_time), medians.

    .venv/bin/python bench/rtsp_framing.py --packets 20000 --runs 7

The stream is what a 15 fps 1 Mbit/s H.264 camera sends over TCP: FU-A packets of 1400 bytes,
a 200-byte packet ending each frame, an RTCP sender report every 100 packets; fed in 64 KiB reads."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

from vigil.core.camera_modes import Transport
from vigil.core.rtsp_client import Interleaved, Playing, RtspClient
from vigil.core.rtsp_messages import RtspReader, encode_interleaved, encode_response

READ_BYTES = 64 * 1024
SDP = b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:t1\r\n"


def stream(packets: int) -> tuple[bytes, int]:
    out = bytearray()
    for i in range(packets):
        if i % 100 == 99:
            out += encode_interleaved(1, b"\x80\xc8\x00\x06" + bytes(24))
        size = 200 if i % 7 == 6 else 1400
        out += encode_interleaved(0, b"\x80\x60" + (i & 0xFFFF).to_bytes(2, "big") + bytes(size - 4))
    return bytes(out), packets + packets // 100


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + READ_BYTES] for i in range(0, len(data), READ_BYTES)]


def playing_client() -> tuple[RtspClient, Playing]:
    """A client past PLAY's answer (and its Playing event), as a camera's conversation leaves it."""
    client = RtspClient("rtsp://cam/s", None, None, Transport.TCP, False, 0.0)
    answers = [
        encode_response(200, "OK", "1"), encode_response(200, "OK", "2", (), SDP),
        encode_response(200, "OK", "3", (("Session", "s"), ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"))),
        encode_response(200, "OK", "4", (("Session", "s"),)),
    ]
    for answer in answers:
        client.data_to_send()
        events = client.receive_data(answer, 0.0)
    assert isinstance(events[0], Playing)
    return client, events[0]


def run_client(parts: list[bytes]) -> int:
    client, _ = playing_client()
    n = 0
    for part in parts:
        n += sum(1 for e in client.receive_data(part, 1.0) if isinstance(e, Interleaved))
    return n


def run_reader(parts: list[bytes]) -> int:
    reader = RtspReader()
    n = 0
    for part in parts:
        reader.feed(part)
        while reader.next_event() is not None:
            n += 1
    return n


def run_floor(parts: list[bytes]) -> int:
    buf = b""
    n = 0
    for part in parts:
        buf += part
        i = 0
        while len(buf) - i >= 4:
            size = int.from_bytes(buf[i + 2 : i + 4], "big")
            if len(buf) - i < 4 + size:
                break
            _frame = (buf[i + 1], buf[i + 4 : i + 4 + size])
            n += 1
            i += 4 + size
        buf = buf[i:]
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data, frames = stream(args.packets)
    parts = chunks(data)
    ways: dict[str, Callable[[list[bytes]], int]] = {
        "RtspClient.receive_data": run_client, "RtspReader alone": run_reader, "bare splitter (floor peer)": run_floor,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, way in ways.items():
            start = time.process_time()
            got = way(parts)
            times[name].append(time.process_time() - start)
            if got != frames:
                print(f"{name} found {got} frames, not {frames}", file=sys.stderr)
                return 2
    floor = statistics.median(times["bare splitter (floor peer)"])
    print(f"{frames} frames, {len(data)} bytes, {len(parts)} reads; median of {args.runs} runs")
    print("| | median CPU ms | µs per frame | ratio to floor |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.1f} | {median / frames * 1e6:.2f} | {median / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
