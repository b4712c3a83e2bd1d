"""Real RTP packetizers as test peers: GStreamer's payloaders writing RFC 4571 framed packets to a
file (no network, nothing lost to a busy machine) beside the encoder's own elementary stream, and
FFmpeg's `-f rtp` muxer sending to a loopback UDP socket. Used by the depacketizer tests and the
bench (bench/depacketize.py)."""

from __future__ import annotations

import shlex
import socket
import subprocess
from pathlib import Path

import av

from vigil.core.h26x import iter_nal_units
from vigil.core.media import Codec
from vigil.core.rtp import RtpPacket, parse_rtp


def read_rfc4571(data: bytes) -> list[bytes]:
    """The packets of an RFC 4571 stream (16-bit length, packet, ...)."""
    out, at = [], 0
    while at + 2 <= len(data):
        size = int.from_bytes(data[at:at + 2], "big")
        out.append(data[at + 2:at + 2 + size])
        at += 2 + size
    return out


def gst_capture(source: str, payloader: str, reference: str, tmp: Path) -> tuple[list[RtpPacket], bytes]:
    """Run `source ! tee`, one branch through `payloader ! rtpstreampay` into a file, the other
    through `reference` (may be empty) into another; the parsed packets and the reference bytes."""
    rtp_file, ref_file = tmp / "stream.rtp", tmp / "stream.ref"
    ref = f"{reference} ! " if reference else ""
    pipeline = (f"{source} ! tee name=t ! queue ! {payloader} ! rtpstreampay ! filesink location={rtp_file} "
                f"t. ! queue ! {ref}filesink location={ref_file}")
    subprocess.run(["gst-launch-1.0", "-q", *shlex.split(pipeline)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    packets = [parse_rtp(p) for p in read_rfc4571(rtp_file.read_bytes())]
    return packets, ref_file.read_bytes()


def reference_units(codec: Codec, elementary: bytes) -> list[list[bytes]]:
    """The access units of an Annex-B stream as FFmpeg's parser splits them, each as its NAL units."""
    ctx = av.CodecContext.create("h264" if codec is Codec.H264 else "hevc", "r")
    packets = ctx.parse(elementary) + ctx.parse(None)
    return [list(iter_nal_units(bytes(p))) for p in packets]


def ffmpeg_rtp(args: list[str], tmp: Path, pkt_size: int = 1200) -> tuple[list[bytes], list[bytes]]:
    """Run `ffmpeg <args> -f rtp rtp://127.0.0.1:port` into sockets bound here (RTP and RTCP);
    every datagram received, (RTP, RTCP). Needs loopback; the datagrams wait in the sockets'
    buffers until FFmpeg has finished, so keep the stream small (a few hundred kB)."""
    rtp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtcp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for sock in (rtp_sock, rtcp_sock):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        port = 0
        for _ in range(50):  # an even port with its odd neighbour free
            rtp_sock.bind(("127.0.0.1", 0))
            port = rtp_sock.getsockname()[1]
            try:
                rtcp_sock.bind(("127.0.0.1", port + 1))
                break
            except OSError:
                rtp_sock.close()
                rtp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                rtp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        url = f"rtp://127.0.0.1:{port}?rtcpport={port + 1}&pkt_size={pkt_size}"
        subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *args, "-f", "rtp", url],
                       check=True, timeout=120, stdout=subprocess.DEVNULL, cwd=tmp)
        return _drain(rtp_sock), _drain(rtcp_sock)
    finally:
        rtp_sock.close()
        rtcp_sock.close()


def _drain(sock: socket.socket) -> list[bytes]:
    sock.setblocking(False)
    out = []
    while True:
        try:
            out.append(sock.recv(65536))
        except BlockingIOError:
            return out
