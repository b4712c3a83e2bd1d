"""core/rtsp_client.py against a peer Vigil did not write: GStreamer's RTSP server (the sim camera),
driven over real sockets by a tiny test-only loop (the ingest's shell is ingest/native_rtsp.py) up
to `Playing` and the first RTP packets, over TCP and UDP, with and without Digest sign-in."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.support.camsim import CameraServer
from vigil.core.camera_modes import Transport
from vigil.core.media import AudioCodec, Codec, DownReason
from vigil.core.rtsp_client import Interleaved, Playing, RtspClient, RtspClientError
from vigil.core.sdp import AudioTrack, VideoTrack

TIMEOUT_S = 15.0


async def _converse(
    client: RtspClient, port: int, enough: Callable[[list[Interleaved]], bool],
    while_playing: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Playing, list[Interleaved], bytes]:
    """Run `client` over TCP until `enough` of the interleaved frames came (and `while_playing`
    returned); then TEARDOWN. Returns what came after the TEARDOWN too (its answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    playing: Playing | None = None
    frames: list[Interleaved] = []
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while playing is None or not enough(frames):
                writer.write(client.data_to_send())
                await writer.drain()
                data = await reader.read(65536)
                assert data, "the camera closed the connection"
                for event in client.receive_data(data, time.monotonic()):
                    if isinstance(event, Playing):
                        playing = event
                    elif isinstance(event, Interleaved):
                        frames.append(event)
            if while_playing is not None:
                await while_playing()
            client.close()
            writer.write(client.data_to_send())
            await writer.drain()
            tail = b""
            while b"RTSP/1.0" not in tail and (chunk := await reader.read(65536)):
                tail = (tail + chunk)[-65536:]
    finally:
        writer.close()
    return playing, frames, tail


def _rtp(frames: list[Interleaved], channel: int) -> list[bytes]:
    return [f.data for f in frames if f.channel == channel and len(f.data) >= 12 and f.data[0] >> 6 == 2
            and not 200 <= f.data[1] <= 207]


async def test_h264_and_aac_over_tcp() -> None:
    with CameraServer("name=cam,width=320,height=180,fps=15,audio=aac") as cameras:
        client = RtspClient(cameras.url("cam"), None, None, Transport.TCP, True, time.monotonic())

        def enough(frames: list[Interleaved]) -> bool:
            return len(_rtp(frames, 0)) >= 10 and len(_rtp(frames, 2)) >= 3

        playing, frames, tail = await _converse(client, cameras.port, enough)
    video, audio = playing.video, playing.audio
    assert isinstance(video.track, VideoTrack) and video.track.codec is Codec.H264
    assert video.track.extradata.startswith(b"\x00\x00\x00\x01\x67")  # an SPS from sprop-parameter-sets
    assert audio is not None and isinstance(audio.track, AudioTrack)
    assert audio.track.info.codec is AudioCodec.AAC and audio.track.info.extradata
    assert dict(audio.track.fmtp)["sizelength"] == "13"
    assert (video.rtp_channel, audio.rtp_channel) == (0, 2)
    for setup, channel in ((video, 0), (audio, 2)):
        packets = _rtp(frames, channel)
        assert {p[1] & 0x7F for p in packets} == {setup.track.payload_type}
        if setup.ssrc is not None:
            assert {int.from_bytes(p[8:12], "big") for p in packets} == {setup.ssrc}
    assert b"RTSP/1.0 200" in tail  # the TEARDOWN was understood


@pytest.mark.parametrize(("password", "reason"), [("p4ss", None), ("wrong", DownReason.AUTH)])
async def test_h265_and_pcma_behind_digest(password: str, reason: DownReason | None) -> None:
    with CameraServer("name=door,width=320,height=180,fps=15,codec=h265,audio=pcma,auth=admin:p4ss") as cameras:
        client = RtspClient(cameras.url("door"), "admin", password, Transport.TCP, True, time.monotonic())
        if reason is not None:
            with pytest.raises(RtspClientError) as e:
                await _converse(client, cameras.port, lambda frames: True)
            assert e.value.reason is reason
            return
        playing, frames, _ = await _converse(client, cameras.port, lambda frames: len(_rtp(frames, 0)) >= 5)
    assert isinstance(playing.video.track, VideoTrack) and playing.video.track.codec is Codec.H265
    assert playing.audio is not None and isinstance(playing.audio.track, AudioTrack)
    assert playing.audio.track.info.codec is AudioCodec.PCMA and playing.audio.track.clock_rate_hz == 8000
    assert {p[1] & 0x7F for p in _rtp(frames, 0)} == {playing.video.track.payload_type}


async def test_a_missing_mount_is_not_found() -> None:
    with CameraServer("name=cam,width=320,height=180,fps=5") as cameras:
        client = RtspClient(cameras.url("nothing"), None, None, Transport.TCP, False, time.monotonic())
        with pytest.raises(RtspClientError) as e:
            await _converse(client, cameras.port, lambda frames: True)
    assert e.value.reason is DownReason.NOT_FOUND


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    """An RTP socket on an even port and its RTCP socket on the next one."""
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind(("127.0.0.1", port + 1))
            except OSError:
                rtcp.close()
            else:
                return rtp, rtcp
        rtp.close()
    raise AssertionError("no free even/odd UDP port pair")


async def test_h264_over_udp() -> None:
    rtp, rtcp = _udp_pair()
    rtp.setblocking(False)
    ports = (rtp.getsockname()[1], rtcp.getsockname()[1])
    loop = asyncio.get_running_loop()
    try:
        with CameraServer("name=cam,width=320,height=180,fps=15") as cameras:
            client = RtspClient(cameras.url("cam"), None, None, Transport.UDP, False, time.monotonic(), (ports,))
            received: list[tuple[bytes, tuple[str, int]]] = []

            async def first_datagram() -> None:
                received.append(await loop.sock_recvfrom(rtp, 2048))

            playing, frames, _ = await _converse(client, cameras.port, lambda frames: True, first_datagram)
    finally:
        rtp.close()
        rtcp.close()
    [(datagram, sender)] = received
    assert frames == [] and playing.video.rtp_channel is None
    assert playing.video.server_ports is not None and sender[1] == playing.video.server_ports[0]
    assert datagram[0] >> 6 == 2 and datagram[1] & 0x7F == playing.video.track.payload_type
