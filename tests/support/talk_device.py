"""Talking to a device in the intercom tests: what a client that does not ask for the ONVIF
backchannel is described (as the recorder's FFmpeg), and a sink fed until the device is lost."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.g711_tone import tone
from vigil.core.errors import TalkDeviceError
from vigil.core.rtsp_messages import RtspReader, RtspResponse, encode_request
from vigil.intercom.device import TalkSink


async def describe_without_backchannel(url: str, port: int) -> bytes:
    """The SDP body of a DESCRIBE of `url` (on 127.0.0.1:`port`) without the backchannel's Require header."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_request("DESCRIBE", url, 1, (("Accept", "application/sdp"),)))
    rtsp = RtspReader()
    async with asyncio.timeout(5):
        while (event := rtsp.next_event()) is None:
            rtsp.feed(await reader.read(4096))
    writer.close()
    assert isinstance(event, RtspResponse) and event.status == 200
    return event.body


async def send_until_lost(sink: TalkSink, freq_hz: float) -> TalkDeviceError:
    """Sends 20 ms of tone every ~10 ms until the device is lost (within 10 s); the error sending raised."""
    with pytest.raises(TalkDeviceError) as lost:
        async with asyncio.timeout(10):
            while True:
                await sink.send(tone(freq_hz, 0.02, sink.codec))
                await asyncio.sleep(0.01)
    return lost.value
