"""How a live viewer hears a camera: the camera's audio as it is, re-encoded to Opus, or not at all.

Pure. Given the camera's audio codec (None: it sends none the appliance takes) and the codecs the
viewer's offer accepts for audio (`ScreenedOffer.audio_codecs`: empty when it asked for no sound):

- No camera audio, or no audio section in the offer: no sound (the answer is video only; the
  offer's audio section is answered inactive).
- G.711 (PCMU/PCMA) or Opus that the offer accepts: forwarded as it is (every browser decodes
  them; nothing is decoded on the appliance).
- Otherwise (AAC; or G.711 in the law the offer lacks), when the offer accepts Opus: decoded and
  re-encoded to Opus for this viewer.
- Otherwise: no sound.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from vigil.core.media import AudioCodec


class AudioRoute(enum.Enum):
    PASSTHROUGH = "passthrough"
    TRANSCODE = "transcode"


@dataclass(frozen=True)
class AudioPlan:
    """What a viewer's audio track sends: `mime` is the negotiated codec (aiortc's mimeType)."""

    route: AudioRoute
    mime: str
    source: AudioCodec

    def describe(self) -> str:
        """For logs and the audit: e.g. `pcma` or `opus from aac`."""
        name = self.mime.split("/", 1)[1].lower()
        return name if self.route is AudioRoute.PASSTHROUGH else f"{name} from {codec_name(self.source)}"


# The camera's codec under the SDP encoding name a browser offers for it.
_SDP_NAMES = {AudioCodec.PCMU: "PCMU", AudioCodec.PCMA: "PCMA", AudioCodec.OPUS: "OPUS"}


def codec_name(codec: AudioCodec) -> str:
    """The API's name for a camera's audio codec: pcmu, pcma, aac or opus."""
    return codec.name.lower()


def plan_audio(camera: AudioCodec | None, offered: Collection[str]) -> AudioPlan | None:
    """The viewer's audio (rules in the module docstring); None = no sound. `offered` are SDP
    encoding names (case-insensitive)."""
    accepted = {name.upper() for name in offered}
    if camera is None or not accepted:
        return None
    sdp_name = _SDP_NAMES.get(camera)
    if sdp_name is not None and sdp_name in accepted:
        return AudioPlan(AudioRoute.PASSTHROUGH, f"audio/{'opus' if sdp_name == 'OPUS' else sdp_name}", camera)
    if "OPUS" in accepted:
        return AudioPlan(AudioRoute.TRANSCODE, "audio/opus", camera)
    return None
