"""core/live_video: which stream feeds a live viewer and how, as a table of its own."""

from __future__ import annotations

import pytest

from vigil.core.camera_modes import Stream
from vigil.core.errors import ConflictError, TooManyRequestsError, UnavailableError
from vigil.core.live_video import (
    LiveVideo,
    StreamFacts,
    VideoPath,
    choose_live_video,
    fit_size,
    offer_accepts_h265,
)
from vigil.core.media import Codec

H264 = StreamFacts(Codec.H264, False)
BFRAMES = StreamFacts(Codec.H264, True)
HEVC = StreamFacts(Codec.H265, False)
UNREACHED = StreamFacts(None, False)
MAIN, SUB = Stream.MAIN, Stream.SUB
NONE: frozenset[Stream] = frozenset()
ONLY_MAIN = frozenset({Stream.MAIN})
ONLY_SUB = frozenset({Stream.SUB})
PASS, SUBSTREAM, TRANSCODED = VideoPath.PASSTHROUGH, VideoPath.SUBSTREAM, VideoPath.TRANSCODED

# quality, asked, sub, browser_h265, busy, streams transcoding, max -> (path, stream)
DECIDED = [
    (MAIN, H264, None, False, 0, NONE, 2, (PASS, MAIN)),
    (MAIN, H264, HEVC, False, 2, NONE, 2, (PASS, MAIN)),  # the cap only matters for a transcode
    (SUB, H264, H264, False, 0, NONE, 0, (PASS, SUB)),
    (MAIN, HEVC, H264, False, 0, NONE, 0, (SUBSTREAM, SUB)),  # no transcode needed at all
    (MAIN, BFRAMES, H264, False, 2, NONE, 2, (SUBSTREAM, SUB)),
    (MAIN, HEVC, None, False, 0, NONE, 2, (TRANSCODED, MAIN)),
    (MAIN, HEVC, None, True, 0, NONE, 2, (TRANSCODED, MAIN)),  # aiortc cannot send H.265 as it is
    (MAIN, BFRAMES, None, False, 1, NONE, 2, (TRANSCODED, MAIN)),
    (MAIN, HEVC, HEVC, False, 0, NONE, 1, (TRANSCODED, SUB)),  # the substream: fewer pixels
    (MAIN, HEVC, UNREACHED, False, 0, NONE, 1, (TRANSCODED, MAIN)),  # the substream is not up
    (SUB, BFRAMES, BFRAMES, False, 0, NONE, 1, (TRANSCODED, SUB)),
    (MAIN, HEVC, None, False, 2, ONLY_MAIN, 2, (TRANSCODED, MAIN)),  # joins the running encoder
    (MAIN, HEVC, None, False, 5, ONLY_MAIN, 0, (TRANSCODED, MAIN)),  # even after the cap was lowered
    (MAIN, HEVC, HEVC, False, 1, ONLY_SUB, 1, (TRANSCODED, SUB)),  # main's viewers join the substream's
    (SUB, HEVC, HEVC, False, 1, ONLY_SUB, 1, (TRANSCODED, SUB)),
]


@pytest.mark.parametrize(("quality", "asked", "sub", "h265", "busy", "running", "cap", "expected"), DECIDED)
def test_decisions(quality: Stream, asked: StreamFacts, sub: StreamFacts | None, h265: bool, busy: int,
                   running: frozenset[Stream], cap: int, expected: tuple[VideoPath, Stream]) -> None:
    got = choose_live_video("door", quality, asked, sub, h265, busy, running, cap)
    assert (got.path, got.stream) == expected
    if got.path is TRANSCODED:
        assert (got.max_width, got.max_height) == (1280, 720)
    else:
        assert got == LiveVideo(got.path, got.stream)


# quality, asked, sub, busy, streams transcoding, cap -> error type, words the message must hold
REFUSED = [
    (MAIN, UNREACHED, None, 0, NONE, 2, UnavailableError, ["not connected yet"]),
    (SUB, UNREACHED, UNREACHED, 0, NONE, 2, UnavailableError, ["(sub)", "not connected yet"]),
    (MAIN, HEVC, None, 0, ONLY_SUB, 0, ConflictError, ["H.265", "[webrtc] max_transcodes = 0", "substream"]),
    # main's encoder runs, but this viewer would be fed from the substream's
    (MAIN, BFRAMES, HEVC, 0, ONLY_MAIN, 0, ConflictError, ["B-frames", "max_transcodes = 0"]),
    (MAIN, HEVC, None, 2, NONE, 2, TooManyRequestsError, ["2 live transcodes", "[webrtc] max_transcodes = 2"]),
    (SUB, BFRAMES, BFRAMES, 3, ONLY_MAIN, 1, TooManyRequestsError, ["B-frames", "sub stream", "max_transcodes = 1"]),
]


@pytest.mark.parametrize(("quality", "asked", "sub", "busy", "transcoding", "cap", "error", "words"), REFUSED)
def test_refusals(quality: Stream, asked: StreamFacts, sub: StreamFacts | None, busy: int,
                  transcoding: frozenset[Stream], cap: int, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as raised:
        choose_live_video("door", quality, asked, sub, False, busy, transcoding, cap)
    assert type(raised.value) is error
    for word in ["camera door", *words]:
        assert word in str(raised.value)
    if error is TooManyRequestsError:
        assert raised.value.retry_after_s == 10  # type: ignore[attr-defined]


@pytest.mark.parametrize(("size", "bound", "expected"), [
    ((1920, 1080), (1280, 720), (1280, 720)),
    ((2560, 1440), (1280, 720), (1280, 720)),
    ((640, 360), (1280, 720), (640, 360)),  # never up
    ((2592, 1944), (1280, 720), (960, 720)),  # 4:3 fits the height
    ((1280, 1024), (1280, 720), (900, 720)),
    ((333, 241), (1280, 720), (332, 240)),  # even
    ((3840, 1080), (1280, 720), (1280, 360)),
])
def test_fit_size(size: tuple[int, int], bound: tuple[int, int], expected: tuple[int, int]) -> None:
    assert fit_size(*size, *bound) == expected


def test_fit_size_needs_a_size() -> None:
    with pytest.raises(ValueError, match="no frame size"):
        fit_size(0, 720, 1280, 720)


def test_offer_accepts_h265() -> None:
    h264 = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"
    assert not offer_accepts_h265(h264)
    assert offer_accepts_h265(h264 + "a=rtpmap:49 H265/90000\r\n")
    assert not offer_accepts_h265(h264 + "a=fmtp:96 note=H265/90000\r\n")  # only an rtpmap counts


def test_the_webrtc_stack_still_cannot_send_h265() -> None:
    """Rule 3's premise (design/webrtc.md "H.265 to the browser"): aiortc packetizes VP8 and H.264
    only. When this fails, aiortc learned H.265: pass it through to browsers that offer it."""
    from aiortc import RTCRtpSender

    video = {c.mimeType for c in RTCRtpSender.getCapabilities("video").codecs}
    assert video == {"video/VP8", "video/H264", "video/rtx"}
