"""Test peer: GStreamer's RTSP server handing out RTP packetized by someone else (FFmpeg), untouched.

    python tests/support/rtp_relay_server.py --port 0 --rtp-port 5004 --encoding H264

The mount ``/x`` is ``udpsrc name=pay0``: no depayloader, no payloader, so every packet a client
receives is the packetizer's own (its marker bits, fragmentation, timestamps and sequence numbers);
GStreamer only does the RTSP. FFmpeg cannot serve RTSP itself (its ``-rtsp_flags listen`` is a
demuxer option, for a client's RECORD; see design/ingest.md, "Interop matrix"), so this is how its packetizer
(``ffmpeg -f rtp``) becomes an RTSP peer. Prints ``READY <port>`` once the mount is in place.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi  # type: ignore[import-untyped,unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-untyped,unused-ignore]  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--rtp-port", type=int, required=True, help="UDP port the packetizer sends to")
    parser.add_argument("--encoding", default="H264", help="H264 or H265 (the RTP encoding name)")
    parser.add_argument("--payload", type=int, default=96)
    args = parser.parse_args(argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.bind)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    caps = (f"application/x-rtp,media=video,clock-rate=90000,encoding-name={args.encoding},"
            f"payload={args.payload}")
    factory.set_launch(f'( udpsrc name=pay0 address=127.0.0.1 port={args.rtp_port} caps="{caps}" )')
    factory.set_shared(True)
    server.get_mount_points().add_factory("/x", factory)
    if server.attach(None) == 0:
        print("could not attach the RTSP server", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
