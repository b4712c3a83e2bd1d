"""The asyncio shell (ingest/native_rtsp.NativeSession) against a scripted camera over real
sockets, TCP interleaved and UDP: it keeps the session alive within the session timeout, sends
RTCP receiver reports (on the track's RTCP channel, or to the camera's RTCP port), hands RTP to
its sink, and says TEARDOWN on stop."""

from __future__ import annotations

import asyncio
import struct

import pytest

from vigil.core.camera_modes import Transport
from vigil.core.media import DownReason
from vigil.core.rtp import RtpPacket, SenderReport
from vigil.core.rtsp_client import Playing
from vigil.core.rtsp_messages import InterleavedFrame, RtspReader, RtspRequest, encode_interleaved, encode_response
from vigil.ingest import native_rtsp
from vigil.ingest.native_rtsp import NativeSession, SessionParams

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
       "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:video\r\n")
SSRC = 0x1234ABCD


def _rtp(seq: int, timestamp: int, payload: bytes, marker: bool = True) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq, timestamp, SSRC) + payload


def _sender_report() -> bytes:
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, SSRC, 0xE000_0000, 0, 90_000, 10, 1000)


class Camera:
    """Answers OPTIONS/DESCRIBE/SETUP/PLAY (session timeout 2 s), then sends a few RTP packets and
    a sender report, interleaved (TCP) or from its own RTP/RTCP ports (UDP); records every request
    and every RTCP packet it receives."""

    def __init__(self, udp: bool) -> None:
        self.udp = udp
        self.requests: list[RtspRequest] = []
        self.rtcp: list[bytes] = []
        self.client_ports: tuple[int, int] | None = None
        self.rtp_sock: asyncio.DatagramTransport | None = None
        self.rtcp_sock: asyncio.DatagramTransport | None = None

    async def bind(self) -> None:
        loop = asyncio.get_running_loop()
        self.rtp_sock, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", 0))
        camera = self

        class Rtcp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                camera.rtcp.append(data)

        self.rtcp_sock, _ = await loop.create_datagram_endpoint(Rtcp, ("127.0.0.1", 0))

    def close(self) -> None:
        for sock in (self.rtp_sock, self.rtcp_sock):
            if sock is not None:
                sock.close()

    def send(self, rtcp: bool, data: bytes, writer: asyncio.StreamWriter) -> None:
        if not self.udp:
            writer.write(encode_interleaved(int(rtcp), data))
            return
        assert self.client_ports is not None and self.rtp_sock is not None and self.rtcp_sock is not None
        (self.rtcp_sock if rtcp else self.rtp_sock).sendto(data, ("127.0.0.1", self.client_ports[int(rtcp)]))

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = RtspReader()
        while data := await reader.read(65536):
            parser.feed(data)
            while (event := parser.next_event()) is not None:
                if isinstance(event, InterleavedFrame):
                    if event.channel == 1:
                        self.rtcp.append(event.data)
                    continue
                assert isinstance(event, RtspRequest)
                self.requests.append(event)
                writer.write(self.answer(event))
                await writer.drain()
                if event.method == "PLAY":
                    self.send(False, _rtp(1, 1000, b"\x65\x88\x84\x00"), writer)  # an IDR
                    self.send(True, _sender_report(), writer)
                    self.send(False, _rtp(2, 7000, b"\x41\x9a\x02"), writer)
                await writer.drain()
        writer.close()

    def answer(self, request: RtspRequest) -> bytes:
        cseq = request.header("CSeq")
        headers: tuple[tuple[str, str], ...] = (("Session", "s1;timeout=2"),)
        body = b""
        if request.method == "OPTIONS":
            headers = (("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"),)
        elif request.method == "DESCRIBE":
            headers, body = (("Content-Type", "application/sdp"), ("Content-Base", request.uri + "/")), SDP.encode()
        elif request.method == "SETUP" and not self.udp:
            headers += (("Transport", f"RTP/AVP/TCP;unicast;interleaved=0-1;ssrc={SSRC:08X}"),)
        elif request.method == "SETUP":
            asked = request.header("Transport") or ""
            ports = asked.split("client_port=")[1].split(";")[0].split("-")
            self.client_ports = int(ports[0]), int(ports[1])
            assert self.rtp_sock is not None and self.rtcp_sock is not None
            server = (self.rtp_sock.get_extra_info("sockname")[1], self.rtcp_sock.get_extra_info("sockname")[1])
            headers += (("Transport", f"RTP/AVP;unicast;client_port={ports[0]}-{ports[1]};"
                                      f"server_port={server[0]}-{server[1]};ssrc={SSRC:08X}"),)
        return encode_response(200, "OK", cseq, headers, body)


class Sink:
    def __init__(self) -> None:
        self.started: list[Playing] = []
        self.packets: list[RtpPacket] = []
        self.reports: list[SenderReport] = []

    def playing(self, event: Playing) -> None:
        self.started.append(event)

    def rtp(self, track: int, packet: RtpPacket, arrival_wall_ns: int) -> None:
        self.packets.append(packet)

    def sender_report(self, track: int, report: SenderReport, arrival_wall_ns: int) -> None:
        self.reports.append(report)


@pytest.mark.parametrize("transport", [Transport.TCP, Transport.UDP])
async def test_keepalive_receiver_reports_and_teardown(monkeypatch: pytest.MonkeyPatch, transport: Transport) -> None:
    monkeypatch.setattr(native_rtsp, "RR_INTERVAL_S", 0.3)
    camera = Camera(transport is Transport.UDP)
    await camera.bind()
    server = await asyncio.start_server(camera.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = Sink()
    stop = asyncio.Event()
    session = NativeSession(SessionParams(f"rtsp://127.0.0.1:{port}/cam", None, None, transport, 5.0, False),
                            sink, stop)
    task = asyncio.ensure_future(session.run())
    try:
        await asyncio.sleep(1.6)  # past one keep-alive (every timeout / 2 = 1 s) and a few report intervals
        stop.set()
        async with asyncio.timeout(1.0):
            reason, _ = await task
    finally:
        server.close()
        await server.wait_closed()
        camera.close()

    assert reason is DownReason.SHUTDOWN
    assert [p.seq for p in sink.packets] == [1, 2] and sink.reports[0].ssrc == SSRC
    assert len(sink.started) == 1
    methods = [r.method for r in camera.requests]
    assert methods[:4] == ["OPTIONS", "DESCRIBE", "SETUP", "PLAY"], methods
    assert "GET_PARAMETER" in methods[4:-1], methods  # Public listed it: the keep-alive within the timeout
    assert methods[-1] == "TEARDOWN"
    if camera.client_ports is not None:  # UDP: an even/odd pair
        assert camera.client_ports[0] % 2 == 0 and camera.client_ports[1] == camera.client_ports[0] + 1
    # Receiver reports (PT 201) about the camera's source, one each interval.
    assert len(camera.rtcp) >= 2, camera.rtcp
    assert all(r[1] == 201 and struct.unpack("!I", r[8:12])[0] == SSRC for r in camera.rtcp)
