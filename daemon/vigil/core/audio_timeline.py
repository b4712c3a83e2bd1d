"""Where each audio frame of a camera session goes on the media clock: continuous while the
source's timestamps only wobble.

Rules (`AudioTimeline.place`, one instance per session):
- The first frame goes where the source says.
- A later frame goes right after the previous one (its pts + duration) when the source's pts is
  within half the previous frame's duration of that (nearer to continuous than to a lost frame):
  FFmpeg re-bases RTP time when the first RTCP sender report arrives (steps of 12 and 338 ticks
  were seen), and a repaired video timestamp moves the anchor by a few ticks. Neither is a gap in
  the sound, but a step is a click to a listener and a discontinuity to a player or muxer.
- Further off (a lost packet is at least one whole frame), the frame goes where the source says:
  a real gap stays a gap, a jump is followed.
- After a frame without a duration, the next goes where the source says.
A slowly drifting audio clock is therefore followed in steps of at most half a frame."""

from __future__ import annotations


class AudioTimeline:
    """Places one session's audio frames (90 kHz ticks in, 90 kHz ticks out)."""

    def __init__(self) -> None:
        self._next_pts_90k: int | None = None
        self._tolerance_90k = 0

    def place(self, pts_90k: int, duration_90k: int) -> int:
        expected = self._next_pts_90k
        placed = pts_90k if expected is None or abs(pts_90k - expected) > self._tolerance_90k else expected
        self._next_pts_90k = placed + duration_90k if duration_90k > 0 else None
        self._tolerance_90k = duration_90k // 2
        return placed
