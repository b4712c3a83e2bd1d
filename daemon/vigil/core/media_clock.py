"""Timestamp normalization for one camera session.

Cameras send missing, repeated, backwards or wildly jumping timestamps (reboots, RTP wrap bugs,
encoder resets). Consumers need a monotonic 90 kHz decode timeline, so every session passes its
packets through one MediaClock. Where the camera's delta is implausible, the receive clock (which
the caller passes in) decides how much time went by.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.timebase import TICKS_PER_SECOND, ns_to_ticks, ticks_to_ns

# A forward jump beyond this is a camera clock fault, not a real pause.
MAX_PLAUSIBLE_STEP_90K = 5 * TICKS_PER_SECOND
# B-frame composition offsets beyond this are garbage.
MAX_COMPOSITION_OFFSET_90K = 2 * TICKS_PER_SECOND
DEFAULT_FRAME_90K = TICKS_PER_SECOND // 15


@dataclass(frozen=True)
class Stamped:
    dts_90k: int
    pts_90k: int
    # True when the camera's own timestamp was replaced by an estimate.
    repaired: bool


class MediaClock:
    """Maps a camera's raw (dts, pts) to normalized ones starting at 0."""

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last_out: int | None = None
        self._last_received_ns: int | None = None
        self._frame_90k = DEFAULT_FRAME_90K
        self.repairs = 0

    def stamp(self, raw_dts: int | None, raw_pts: int | None, received_ns: int) -> Stamped:
        """Normalize one packet's timestamps. `received_ns` is a monotonic receive time.

        The first packet of an RTSP session often has no timestamp (later ones count from it),
        so a missing first timestamp is taken as 0 without counting as a repair."""
        raw = raw_dts if raw_dts is not None else raw_pts
        if self._last_out is None or self._last_raw is None or self._last_received_ns is None:
            self._last_out, self._last_raw, self._last_received_ns = 0, raw or 0, received_ns
            return Stamped(dts_90k=0, pts_90k=self._offset(raw_dts, raw_pts), repaired=False)
        step = None if raw is None else raw - self._last_raw
        repaired = step is None or step <= 0 or step > MAX_PLAUSIBLE_STEP_90K
        if repaired:
            elapsed = ns_to_ticks(max(0, received_ns - self._last_received_ns))
            # A burst of packets arrives with ~0 elapsed: keep the usual frame spacing then.
            step = max(self._frame_90k if elapsed < self._frame_90k // 2 else elapsed, 1)
            self.repairs += 1
        else:
            assert step is not None
            self._frame_90k = max((self._frame_90k * 7 + step) // 8, 1)
        self._last_out += step
        # Without a camera timestamp, assume the camera's clock advanced by our estimate.
        self._last_raw = raw if raw is not None else self._last_raw + step
        self._last_received_ns = received_ns
        return Stamped(
            dts_90k=self._last_out,
            pts_90k=self._last_out + self._offset(raw_dts, raw_pts),
            repaired=repaired,
        )

    @staticmethod
    def _offset(raw_dts: int | None, raw_pts: int | None) -> int:
        """The B-frame composition offset (pts - dts) when plausible, else 0."""
        if raw_pts is None or raw_dts is None:
            return 0
        candidate = raw_pts - raw_dts
        return candidate if 0 <= candidate <= MAX_COMPOSITION_OFFSET_90K else 0


MAX_PENDING_PICTURES = 64


def shown_wall_ns(decode_wall_ns: int, dts_90k: int, pts_90k: int, first_offset_90k: int) -> int:
    """When a picture is shown, on the wall clock of the packet that carried it.

    A packet's wall time follows its decode time (dts); with B-frames pictures are shown in
    another order, each its composition offset (pts - dts) after decoding. The session's first
    packet, a keyframe, is shown when it arrives (as the recorder places a segment's first
    keyframe at the segment's start), so a picture is shown its offset beyond that keyframe's
    after its packet's wall time. In display order these times increase with the pts."""
    return decode_wall_ns + ticks_to_ns(pts_90k - dts_90k - first_offset_90k)


class DecodedTimes:
    """The wall time of each picture handed to a decoder, found again when the decoder returns it.

    A decoder does not return the picture of the packet just fed: with B-frames it holds
    `has_b_frames` pictures back to reorder them (also when only keyframes are fed), and frame
    threads add their own delay, so the frame that comes out is an older one. Stamping it with
    the time of the packet just fed is late by that many packets (by GOPs in keyframe mode).
    Rule: each fed packet's presentation timestamp is remembered with its wall time (when its
    picture is shown: shown_wall_ns); a decoded frame carries the pts of the packet that carried
    it, and takes that packet's time. A
    frame without a pts, or with one no fed packet had, has no time (the caller skips it).
    Pictures the decoder never returns (dropped on a decode error) stay pending until the bound
    pushes them out: at most `max_pending` are held, the earliest pts dropped first. Pending
    pictures are not pruned by order: repaired timestamps need not be in display order."""

    def __init__(self, max_pending: int = MAX_PENDING_PICTURES) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.max_pending = max_pending
        self._pending: dict[int, int] = {}  # pts_90k -> wall_ns

    def __len__(self) -> int:
        return len(self._pending)

    def fed(self, pts_90k: int, wall_ns: int) -> None:
        """A packet with this pts, which falls at `wall_ns`, went into the decoder."""
        self._pending[pts_90k] = wall_ns
        if len(self._pending) > self.max_pending:
            del self._pending[min(self._pending)]

    def decoded(self, pts_90k: int | None) -> int | None:
        """The wall time of the decoded frame with this pts, or None when it has none."""
        return None if pts_90k is None else self._pending.pop(pts_90k, None)

    def clear(self) -> None:
        """A new decoder (session): nothing is pending."""
        self._pending.clear()
