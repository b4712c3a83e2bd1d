"""A TCP tap between RTSP clients and a camera server: stamps each frame's last RTP packet as it is
forwarded (for bench/ingest_latency.py).

    python bench/rtsp_tap.py --upstream 127.0.0.1:8554 --count 32 --out stamps.json

Listens on ``--count`` ports (printed as ``READY port0 port1 ...``); a client on port i is joined to
the upstream server. Bytes pass through unchanged. From the server to the client it follows the
RTSP interleaved framing (``$``, channel, 16-bit length) and, for every RTP packet on an even
channel with the marker bit set (the last packet of an access unit), notes the wall clock
(``time.time_ns()``, taken just before the packet is handed to the client's socket) under the
packet's last 16 bytes, which are the last 16 bytes of the access unit a depacketizer builds from
it. On SIGTERM it writes ``{port index: [[tail hex, t_ns], ...]}`` to ``--out`` and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import signal
import sys
import time
from pathlib import Path

TAIL = 16


class Tap:
    def __init__(self, upstream: tuple[str, int], count: int) -> None:
        self.upstream = upstream
        self.stamps: dict[int, list[tuple[str, int]]] = {i: [] for i in range(count)}

    async def client(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        tasks = [asyncio.create_task(self._copy(reader, up_writer)),
                 asyncio.create_task(self._down(index, up_reader, writer))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for w in (writer, up_writer):
                w.close()

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async def _down(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stamps = self.stamps[index]
        buf = bytearray()
        while data := await reader.read(65536):
            buf += data
            pos = 0
            while pos < len(buf):
                if buf[pos] == 0x24:  # '$': an interleaved frame
                    if len(buf) - pos < 4:
                        break
                    size = int.from_bytes(buf[pos + 2:pos + 4], "big")
                    end = pos + 4 + size
                    if end > len(buf):
                        break
                    channel = buf[pos + 1]
                    if channel % 2 == 0 and size >= 12 + TAIL and buf[pos + 5] & 0x80:
                        stamps.append((bytes(buf[end - TAIL:end]).hex(), time.time_ns()))
                        writer.write(bytes(buf[:end]))  # everything up to and with the frame's last packet
                        del buf[:end]
                        pos = 0
                        continue
                    pos = end
                else:  # an RTSP message: its head, and a body when Content-Length says so
                    head_end = buf.find(b"\r\n\r\n", pos)
                    if head_end < 0:
                        break
                    length = 0
                    for line in bytes(buf[pos:head_end]).split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    end = head_end + 4 + length
                    if end > len(buf):
                        break
                    pos = end
            writer.write(bytes(buf[:pos]))
            del buf[:pos]
            await writer.drain()


async def main_async(args: argparse.Namespace) -> str:
    host, port = args.upstream.rsplit(":", 1)
    tap = Tap((host, int(port)), args.count)
    servers = []
    for i in range(args.count):
        servers.append(await asyncio.start_server(functools.partial(tap.client, i), "127.0.0.1", 0))
    print("READY " + " ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    return json.dumps(tap.stamps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the camera server")
    parser.add_argument("--count", type=int, required=True, help="ports to listen on (one per camera)")
    parser.add_argument("--out", required=True, help="where to write the stamps on SIGTERM")
    args = parser.parse_args()
    Path(args.out).write_text(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
