"""The device side of a talk session: an open audio path to a camera's loudspeaker.

`open_talk` picks the path the camera's `talk` setting names (ONVIF RTSP backchannel or Axis
VAPIX transmit.cgi) and returns a TalkSink once the device has accepted the audio session; the
talk session (webrtc/talk.py) then feeds it G.711 as the browser's microphone delivers it.

Errors (core/errors.py): TalkUnsupportedError when the device cannot take our audio (no
backchannel, `551 Option not supported`, no codec we can send, talk off), TalkDeviceError when it
does not answer, refuses the credentials or drops the session. Neither touches the camera's
recording or live video: the talk path is a connection of its own."""

from __future__ import annotations

from typing import Protocol

from vigil.config import CameraConfig
from vigil.core.camera_modes import TalkPath
from vigil.core.errors import TalkUnsupportedError
from vigil.core.media import AudioCodec
from vigil.intercom.backchannel import open_backchannel
from vigil.intercom.vapix import open_vapix

TALK_SAMPLE_RATE = 8000  # G.711: 8 kHz mono, 8-bit samples


class TalkSink(Protocol):
    """An open audio path to one device. `codec` (PCMU or PCMA, 8 kHz mono) is what `send` takes,
    as the device negotiated it. `send` raises TalkDeviceError once the device dropped the
    session; `lost` is then set with the reason, also when no send was under way."""

    codec: AudioCodec

    async def send(self, g711: bytes) -> None: ...

    @property
    def lost(self) -> str | None: ...

    async def aclose(self) -> None: ...


async def open_talk(camera: CameraConfig, timeout_s: float) -> TalkSink:
    """An audio path to `camera`'s loudspeaker, as its `talk` setting says."""
    if camera.talk is TalkPath.ONVIF:
        return await open_backchannel(camera, timeout_s)
    if camera.talk is TalkPath.VAPIX:
        return await open_vapix(camera, timeout_s)
    raise TalkUnsupportedError(f"camera {camera.id} has no loudspeaker configured (its talk setting is off)")
