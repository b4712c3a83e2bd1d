"""How a camera's video reaches a browser over WebRTC: passed through as it is, or re-encoded.
Pure: the API passes what the camera's streams showed, what the offer accepts and how many
transcodes run; `choose_live_video` answers or raises the error the viewer is told.

Rules (a stream "passes" when it is H.264 without B-frames: WebRTC carries it as it is, RTP
timestamps in decode order being display order):
1. The asked stream (`quality=main|sub`) must have been reached once (its codec known), else
   503 "not connected yet; retry shortly".
2. The asked stream passes → passthrough of it.
3. H.265 as it is → never: the browser's offer may list H.265, but aiortc (the appliance's
   WebRTC stack) has no H.265 packetizer (design/webrtc.md "H.265 to the browser"). The offer's
   answer is recorded as `browser_h265` so the day the sender can, the rule changes here only.
4. Main asked, a connected substream passes → passthrough of the substream (cheap, and what the
   viewer would get on a small screen anyway); the answer says so (`Vigil-Live-Video: substream`).
5. Otherwise re-encode to H.264 constrained baseline, from the substream when there is one that
   is connected (fewer pixels to decode), else from the asked stream; scaled to fit
   `MAX_TRANSCODE_WIDTH` x `MAX_TRANSCODE_HEIGHT` (never up). One encoder per (camera, stream),
   shared by all its viewers: joining a running one is always allowed.
6. A new encoder needs a free place: at most `[webrtc] max_transcodes` encoders with viewers at
   once (an idle one in its stop grace does not count; starting another stops it). With
   `max_transcodes = 0` re-encoding is off: 409 naming the key (and the substream as the way
   out); when all places are taken: 429 naming the key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigil.core.camera_modes import Stream
from vigil.core.errors import ConflictError, TooManyRequestsError, UnavailableError
from vigil.core.media import Codec

MAX_TRANSCODE_WIDTH = 1280
MAX_TRANSCODE_HEIGHT = 720
TRANSCODE_RETRY_AFTER_S = 10  # a viewer who leaves frees a place within the stop grace


class VideoPath(enum.Enum):
    PASSTHROUGH = "passthrough"
    SUBSTREAM = "substream"  # main asked, the substream passed through instead
    TRANSCODED = "transcoded"


@dataclass(frozen=True)
class StreamFacts:
    """What a camera stream's latest session showed; codec None until it was reached."""

    codec: Codec | None
    has_bframes: bool

    @property
    def passes(self) -> bool:
        return self.codec is Codec.H264 and not self.has_bframes


@dataclass(frozen=True)
class LiveVideo:
    """The decision: which of the camera's streams feeds the viewer, and how."""

    path: VideoPath
    stream: Stream
    max_width: int = 0  # for TRANSCODED: the encoder's size bound (0 otherwise)
    max_height: int = 0


def offer_accepts_h265(sdp: str) -> bool:
    """Whether an SDP offer lists H.265 among its video codecs (an `a=rtpmap:<pt> H265/90000`)."""
    return any(line.lower().startswith("a=rtpmap:") and " h265/" in line.lower() for line in sdp.splitlines())


def choose_live_video(camera_id: str, quality: Stream, asked: StreamFacts, sub: StreamFacts | None,
                      browser_h265: bool, transcodes_busy: int, transcoding: frozenset[Stream],
                      max_transcodes: int) -> LiveVideo:
    """The rules above. `sub`: the substream's facts when the camera has one (None otherwise;
    for quality=sub it is `asked`). `transcodes_busy`: encoders with viewers now, on any camera;
    `transcoding`: this camera's streams whose encoder runs (with viewers or in its grace)."""
    del browser_h265  # rule 3: not used until the sender can packetize H.265
    if asked.codec is None:
        raise UnavailableError(f"camera {camera_id} ({quality.value}) is not connected yet; retry shortly")
    if asked.passes:
        return LiveVideo(VideoPath.PASSTHROUGH, quality)
    sub_ready = sub is not None and sub.codec is not None
    if quality is Stream.MAIN and sub is not None and sub.passes:
        return LiveVideo(VideoPath.SUBSTREAM, Stream.SUB)
    source = Stream.SUB if sub_ready else quality
    why = "H.265" if asked.codec is Codec.H265 else "B-frames"
    if source not in transcoding:
        if max_transcodes == 0:
            raise ConflictError(
                f"camera {camera_id} sends {why} on its {quality.value} stream, which browsers cannot play without"
                " re-encoding, and re-encoding is off ([webrtc] max_transcodes = 0); configure an H.264"
                " substream without B-frames, or allow transcodes")
        if transcodes_busy >= max_transcodes:
            error = TooManyRequestsError(
                f"camera {camera_id} sends {why} on its {quality.value} stream and must be re-encoded, but"
                f" {transcodes_busy} live transcodes already run ([webrtc] max_transcodes = {max_transcodes});"
                " retry when a viewer leaves")
            error.retry_after_s = TRANSCODE_RETRY_AFTER_S
            raise error
    return LiveVideo(VideoPath.TRANSCODED, source, MAX_TRANSCODE_WIDTH, MAX_TRANSCODE_HEIGHT)


def fit_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size a transcode encodes at: the source's, scaled down (never up) to fit within
    max_width x max_height keeping its aspect ratio, both even (4:2:0 chroma)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"no frame size ({width}x{height})")
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)
