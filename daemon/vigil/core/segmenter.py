"""What the recorder decides about one camera stream, without the files: runs, segments, cuts and
the durations of the frames it writes (pure; the recorder in record/recorder.py applies it).

- A run starts at a keyframe once the stream's parameter sets are known (in-band or from the
  SDP); its segments are numbered 0, 1, … (`seq`).
- A segment is cut before a keyframe at or after its target length, or before any keyframe whose
  parameter sets change what decodes (core/rotation.py; compared by core/h26x.py, not as bytes).
- A frame's duration is the next frame's dts minus its own, so the segmenter holds one frame
  back (`pending`); the frame that closes a segment without a successor gets the last positive
  interval seen (`frame_90k`).
- Wall time: a segment starts where the run's previous one ended, re-anchored to the arrival
  time of its first frame when that drifted (core/wallclock.py)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigil.core.h26x import parameter_sets, updated_parameter_sets
from vigil.core.media import Codec, EncodedPacket, StreamInfo
from vigil.core.rotation import CutReason, RotationPolicy
from vigil.core.timebase import ticks_to_ns, wall_ns_to_iso
from vigil.core.wallclock import anchor_wall_ns, continued_wall_ns

DEFAULT_FRAME_90K = 6000  # 15 fps: the held frame's duration until an interval has been seen


def segment_relpath(camera_id: str, stream: str, start_wall_ns: int, run_id: int, seq: int) -> str:
    """Where a segment's file goes under the recordings dir (record/recovery.py parses it back)."""
    day = wall_ns_to_iso(start_wall_ns)[:10]
    return f"{camera_id}/{stream}/{day}/{run_id:06d}-{seq:05d}.mp4"


class Step(enum.Enum):
    """What to do with a packet."""

    DROP = "drop"  # no session, or no segment open and not a keyframe
    WAIT_FOR_PARAMETER_SETS = "wait_for_parameter_sets"  # a keyframe, but nothing to decode it with yet
    START_RUN = "start_run"  # a keyframe that starts a run (and its first segment)
    CUT = "cut"  # close the segment at this packet's dts, open the next one at it
    CONTINUE = "continue"  # into the open segment


@dataclass(frozen=True)
class Decision:
    step: Step
    cut_reason: CutReason | None = None  # with Step.CUT


@dataclass(frozen=True)
class SegmentStart:
    """Where a new segment starts: in media time (its first keyframe's dts) and on the wall clock."""

    run_id: int
    seq: int
    start_90k: int
    start_wall_ns: int
    target_90k: int  # the length at which it is cut (at the next keyframe)
    reanchored: bool  # the run's continued wall time had drifted from the arrival time


@dataclass(frozen=True)
class Sample:
    """A frame to write, its times relative to its segment's start."""

    data: bytes
    pts_90k: int
    dts_90k: int
    duration_90k: int  # at least 1
    is_keyframe: bool


class Segmenter:
    """The state of one camera stream's recording: its session, run, open segment and held frame."""

    def __init__(self, camera_id: str, policy: RotationPolicy) -> None:
        self.camera_id = camera_id
        self.policy = policy
        self.codec: Codec | None = None  # of the session; None before the first one started
        self.extradata = b""  # the parameter sets the next segment is written with
        self.run_id: int | None = None
        self.seq = 0  # of the run's next segment
        self.last_end_wall_ns: int | None = None  # where the run's last finished segment ended
        self.segment: SegmentStart | None = None
        self.pending: EncodedPacket | None = None
        self.frame_90k = DEFAULT_FRAME_90K

    def session_started(self, info: StreamInfo) -> None:
        self.codec = info.codec
        self.extradata = info.extradata

    def decide(self, packet: EncodedPacket) -> Decision:
        """What to do with `packet`. A keyframe's in-band parameter sets are taken in here."""
        codec = self.codec
        if codec is None or (self.segment is None and not packet.is_keyframe):
            return Decision(Step.DROP)
        changed = False
        if packet.is_keyframe:
            updated = updated_parameter_sets(codec, self.extradata, parameter_sets(codec, packet.data))
            changed = updated is not None
            if updated is not None:
                self.extradata = updated
        segment = self.segment
        if segment is None:
            return Decision(Step.START_RUN if self.extradata else Step.WAIT_FOR_PARAMETER_SETS)
        cut = self.policy.cut_before(segment_target_90k=segment.target_90k, segment_start_90k=segment.start_90k,
                                     dts_90k=packet.dts_90k, is_keyframe=packet.is_keyframe,
                                     parameters_changed=changed)
        return Decision(Step.CONTINUE) if cut is None else Decision(Step.CUT, cut)

    def start_run(self, run_id: int) -> None:
        self.run_id, self.seq, self.last_end_wall_ns = run_id, 0, None
        self.segment = self.pending = None

    def next_segment(self, keyframe: EncodedPacket) -> SegmentStart:
        """The segment `keyframe` would start (nothing changes until segment_opened)."""
        if self.run_id is None:
            raise ValueError("no run to open a segment in")
        start_wall, reanchored = continued_wall_ns(
            self.last_end_wall_ns, anchor_wall_ns(keyframe.received_wall_ns, keyframe.camera_wall_ns))
        target = self.policy.first_target_90k(self.camera_id) if self.seq == 0 else self.policy.target_90k
        return SegmentStart(self.run_id, self.seq, keyframe.dts_90k, start_wall, target, reanchored)

    def segment_opened(self, start: SegmentStart) -> None:
        self.segment = start
        self.seq = start.seq + 1

    def hold(self, packet: EncodedPacket) -> None:
        """`packet` waits for the next one, which gives its duration."""
        self.pending = packet

    def pending_sample(self, next_dts_90k: int | None) -> Sample | None:
        """The held frame, ending at `next_dts_90k` (None: one frame interval after it); None if
        nothing is held or no segment is open. Call pending_written once it is written."""
        pending, segment = self.pending, self.segment
        if pending is None or segment is None:
            return None
        duration = (pending.dts_90k + self.frame_90k if next_dts_90k is None else next_dts_90k) - pending.dts_90k
        if duration > 0:
            self.frame_90k = duration
        return Sample(pending.data, pending.pts_90k - segment.start_90k, pending.dts_90k - segment.start_90k,
                      max(duration, 1), pending.is_keyframe)

    def pending_written(self) -> None:
        self.pending = None

    def segment_end_wall_ns(self, duration_90k: int) -> int:
        """Where the open segment ends on the wall clock, `duration_90k` of media after its start."""
        if self.segment is None:
            raise ValueError("no segment open")
        return self.segment.start_wall_ns + ticks_to_ns(duration_90k)

    def segment_closed(self, end_wall_ns: int | None) -> None:
        """The open segment is done with (and the held frame with it); `end_wall_ns`: where it
        ended, where the run's next segment continues (None: it was discarded, nothing kept)."""
        self.segment = self.pending = None
        if end_wall_ns is not None and self.run_id is not None:
            self.last_end_wall_ns = end_wall_ns

    def end_run(self, now_wall_ns: int) -> int:
        """Forget the run; returns its end on the wall clock (its last segment's, else now)."""
        end = self.last_end_wall_ns if self.last_end_wall_ns is not None else now_wall_ns
        self.run_id, self.seq, self.last_end_wall_ns = None, 0, None
        self.segment = self.pending = None
        return end
