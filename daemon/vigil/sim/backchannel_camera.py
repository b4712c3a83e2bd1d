"""A simulated camera loudspeaker: an asyncio RTSP server offering an ONVIF audio backchannel.

Usage::

    python -m vigil.sim.backchannel_camera --bind 127.0.0.1 --port 0 --codec pcmu \\
        --dump /tmp/talk.jsonl [--auth user:password] [--fault 551|no-backchannel|drop=N] \\
        [--session-timeout 60]

It prints ``READY <port>`` once listening; any path works (``rtsp://127.0.0.1:PORT/onvif``); set a
camera's ``talk = "onvif"`` and ``talk_url`` to it (vigil.sim.camera_server serves the video; its
GStreamer server has no backchannel). In tests, use `BackchannelCamera` in-process instead.

Behaviour, like an ONVIF Profile T/S camera with a speaker:
- DESCRIBE with ``Require: www.onvif.org/ver20/backchannel``: an SDP with the camera's own
  microphone (track1, recvonly, PCMU) and the backchannel (track2, ``a=sendonly``) in ``--codec``
  (``pcmu``, ``pcma``, or ``g726`` to offer something Vigil cannot send). Without the header: only
  track1. ``--fault 551`` answers ``551 Option not supported`` (``Unsupported:`` header) instead;
  ``--fault no-backchannel`` ignores the header.
- SETUP only over RTP/AVP/TCP interleaved (461 otherwise); PLAY; GET_PARAMETER / OPTIONS as
  keep-alive (counted); TEARDOWN ends the session.
- ``--auth user:password``: every request needs HTTP Digest (MD5, qop=auth), checked by its own
  small implementation (not Vigil's client code).
- Every RTP packet received on the backchannel is recorded: in memory (`received`) and, with
  ``--dump``, as one JSON line ``{"seq", "ts", "pt", "ssrc", "marker", "payload": hex}``.
- ``--fault drop=N`` closes the connection after the N-th RTP packet."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vigil.core.rtsp_messages import InterleavedFrame, RtspProtocolError, RtspReader, RtspRequest, encode_response

CODECS = {"pcmu": (0, "PCMU/8000"), "pcma": (8, "PCMA/8000"), "g726": (97, "G726-32/8000")}
REALM = "vigil-sim"
PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"


@dataclass(frozen=True)
class ReceivedRtp:
    seq: int
    timestamp: int
    payload_type: int
    ssrc: int
    marker: bool
    payload: bytes


@dataclass
class BackchannelCamera:
    codec: str = "pcmu"
    auth: tuple[str, str] | None = None
    fault: str | None = None  # "551", "no-backchannel", "drop=N"
    session_timeout_s: int = 60
    dump: Path | None = None
    bind: str = "127.0.0.1"
    received: list[ReceivedRtp] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    keepalives: int = 0
    teardowns: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _dump_file: TextIO | None = None
    _nonce: str = field(default_factory=lambda: secrets.token_hex(12))
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"rtsp://{self.bind}:{self.port}/onvif/backchannel"

    def payload(self) -> bytes:
        """Every received payload, in sequence order."""
        return b"".join(p.payload for p in sorted(self.received, key=lambda p: p.seq))

    async def start(self) -> BackchannelCamera:
        if self.dump is not None:
            self._dump_file = self.dump.open("a", encoding="utf-8")
        self._server = await asyncio.start_server(self._serve, self.bind, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            await self._server.wait_closed()
        if self._dump_file is not None:
            self._dump_file.close()

    async def __aenter__(self) -> BackchannelCamera:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _authorized(self, request: RtspRequest) -> bool:
        if self.auth is None:
            return True
        value = request.header("Authorization") or ""
        if not value.startswith("Digest "):
            return False
        params = {m[0]: m[1] or m[2] for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', value)}
        user, password = self.auth
        ha1 = hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(f"{request.method}:{params.get('uri', '')}".encode()).hexdigest()  # noqa: S324
        expected = hashlib.md5(  # noqa: S324
            f"{ha1}:{self._nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}".encode()
        ).hexdigest()
        signed = params.get("username") == user and params.get("nonce") == self._nonce
        return signed and params.get("response") == expected

    def _sdp(self, backchannel: bool) -> bytes:
        lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=Vigil simulated loudspeaker", "t=0 0", "a=control:*",
                 "m=audio 0 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=control:track1", "a=recvonly"]
        if backchannel:
            pt, rtpmap = CODECS[self.codec]
            lines += [f"m=audio 0 RTP/AVP {pt}", f"a=rtpmap:{pt} {rtpmap}", "a=control:track2", "a=sendonly"]
        return ("\r\n".join(lines) + "\r\n").encode()

    def _answer(self, request: RtspRequest, session: str) -> tuple[int, str, tuple[tuple[str, str], ...], bytes]:
        self.methods.append(request.method)
        if not self._authorized(request):
            challenge = f'Digest realm="{REALM}", nonce="{self._nonce}", algorithm=MD5, qop="auth"'
            return 401, "Unauthorized", (("WWW-Authenticate", challenge),), b""
        require = request.header("Require") or ""
        wants_backchannel = "www.onvif.org/ver20/backchannel" in require
        if request.method == "OPTIONS":
            self.keepalives += bool(request.header("Session"))
            return 200, "OK", (("Public", PUBLIC),), b""
        if request.method == "DESCRIBE":
            if wants_backchannel and self.fault == "551":
                return 551, "Option not supported", (("Unsupported", require),), b""
            sdp = self._sdp(wants_backchannel and self.fault != "no-backchannel")
            base = request.uri.rstrip("/") + "/"
            return 200, "OK", (("Content-Type", "application/sdp"), ("Content-Base", base)), sdp
        if request.method == "SETUP":
            transport = request.header("Transport") or ""
            if "RTP/AVP/TCP" not in transport or "interleaved=" not in transport:
                return 461, "Unsupported Transport", (), b""
            session_header = f"{session};timeout={self.session_timeout_s}"
            return 200, "OK", (("Transport", transport), ("Session", session_header)), b""
        if request.method in ("PLAY", "GET_PARAMETER"):
            self.keepalives += request.method == "GET_PARAMETER"
            return 200, "OK", (("Session", session),), b""
        if request.method == "TEARDOWN":
            self.teardowns += 1
            return 200, "OK", (("Session", session),), b""
        return 405, "Method Not Allowed", (("Allow", PUBLIC),), b""

    def _record(self, frame: InterleavedFrame) -> None:
        data = frame.data
        if frame.channel != 0 or len(data) < 12 or data[0] >> 6 != 2:
            return  # RTCP (channel 1) or not RTP
        packet = ReceivedRtp(
            int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big"), data[1] & 0x7F,
            int.from_bytes(data[8:12], "big"), bool(data[1] & 0x80), data[12:],
        )
        self.received.append(packet)
        if self._dump_file is not None:
            self._dump_file.write(json.dumps({
                "seq": packet.seq, "ts": packet.timestamp, "pt": packet.payload_type, "ssrc": packet.ssrc,
                "marker": packet.marker, "payload": packet.payload.hex(),
            }) + "\n")
            self._dump_file.flush()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        rtsp = RtspReader()
        session = secrets.token_hex(8)
        drop_after = int(self.fault.partition("=")[2]) if self.fault and self.fault.startswith("drop=") else None
        packets = 0
        try:
            while data := await reader.read(65536):
                rtsp.feed(data)
                while (event := rtsp.next_event()) is not None:
                    if isinstance(event, InterleavedFrame):
                        self._record(event)
                        packets += event.channel == 0
                        if drop_after is not None and packets >= drop_after:
                            return
                    elif isinstance(event, RtspRequest):
                        status, reason, headers, body = self._answer(event, session)
                        writer.write(encode_response(status, reason, event.header("CSeq"), headers, body))
                        if event.method == "TEARDOWN" and status == 200:
                            await writer.drain()
                            return
        except (OSError, RtspProtocolError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--codec", choices=sorted(CODECS), default="pcmu")
    parser.add_argument("--auth", help="user:password (Digest)")
    parser.add_argument("--fault", help="551, no-backchannel or drop=N")
    parser.add_argument("--session-timeout", type=int, default=60)
    parser.add_argument("--dump", type=Path)
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> None:
    user, _, password = (args.auth or "").partition(":")
    camera = BackchannelCamera(
        codec=args.codec, auth=(user, password) if args.auth else None, fault=args.fault,
        session_timeout_s=args.session_timeout, dump=args.dump, bind=args.bind, port=args.port,
    )
    async with camera:
        print(f"READY {camera.port}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(_parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
