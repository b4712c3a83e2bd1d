"""core/segmenter.py: runs, cuts, held-frame durations and wall times, without media files."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vigil.core.media import Codec, EncodedPacket, StreamInfo
from vigil.core.rotation import CutReason, RotationPolicy
from vigil.core.segmenter import Decision, Sample, Segmenter, SegmentStart, Step, segment_relpath
from vigil.core.timebase import NS_PER_SECOND, ticks_to_ns

START = b"\x00\x00\x00\x01"
SPS, SPS_2, PPS = b"\x67\x42\x00\x1f\xaa", b"\x67\x64\x00\x28\xbb", b"\x68\xce\x3c\x80"
IDR, SLICE = b"\x65\x88\x84", b"\x41\x9a\x02"
T0 = 1_800_000_000 * NS_PER_SECOND
FRAME = 6000  # 15 fps
POLICY = RotationPolicy(target_90k=10 * 90_000)


def packet(dts_90k: int, key: bool = False, sets: bytes = b"", wall_ns: int | None = None) -> EncodedPacket:
    data = sets + START + (IDR if key else SLICE)
    return EncodedPacket(data, dts_90k, dts_90k, key, T0 + ticks_to_ns(dts_90k) if wall_ns is None else wall_ns)


def sdp(extradata: bytes = START + SPS + START + PPS) -> StreamInfo:
    return StreamInfo(Codec.H264, 640, 480, extradata)


class Shell:
    """Applies decisions the way record/recorder.py does, recording what it would write."""

    def __init__(self, policy: RotationPolicy = POLICY) -> None:
        self.s = Segmenter("cam", policy)
        self.next_run = 1
        self.segments: list[tuple[SegmentStart, list[Sample]]] = []
        self.closed: list[tuple[int, CutReason | None, int]] = []  # (seq, reason, end wall)
        self.steps: list[Decision] = []

    def feed(self, p: EncodedPacket) -> Decision:
        d = self.s.decide(p)
        self.steps.append(d)
        if d.step in (Step.DROP, Step.WAIT_FOR_PARAMETER_SETS):
            return d
        if d.step is Step.START_RUN:
            self.s.start_run(self.next_run)
            self.next_run += 1
            self.open(p)
        elif d.step is Step.CUT:
            self.close(p.dts_90k, d.cut_reason)
            self.open(p)
        self.write(p.dts_90k)
        self.s.hold(p)
        return d

    def open(self, keyframe: EncodedPacket) -> None:
        start = self.s.next_segment(keyframe)
        self.segments.append((start, []))
        self.s.segment_opened(start)

    def write(self, next_dts_90k: int | None) -> None:
        sample = self.s.pending_sample(next_dts_90k)
        if sample is not None:
            self.segments[-1][1].append(sample)
            self.s.pending_written()

    def close(self, end_90k: int | None, reason: CutReason | None) -> int:
        assert self.s.segment is not None
        seq = self.s.segment.seq
        self.write(end_90k)
        end = self.s.segment_end_wall_ns(sum(x.duration_90k for x in self.segments[-1][1]))
        self.s.segment_closed(end)
        self.closed.append((seq, reason, end))
        return end

    def end_run(self, now_wall_ns: int) -> int:
        if self.s.segment is not None:
            self.close(None, None)
        return self.s.end_run(now_wall_ns)


def test_nothing_before_a_session_and_a_keyframe() -> None:
    shell = Shell()
    assert shell.feed(packet(0, key=True, sets=START + SPS + START + PPS)).step is Step.DROP  # no session yet
    shell.s.session_started(sdp())
    assert shell.feed(packet(FRAME)).step is Step.DROP  # not a keyframe: nothing to start from
    assert shell.feed(packet(2 * FRAME, key=True)).step is Step.START_RUN
    assert shell.feed(packet(3 * FRAME)).step is Step.CONTINUE
    assert [start.run_id for start, _ in shell.segments] == [1]


def test_waits_for_parameter_sets_when_neither_the_sdp_nor_the_keyframe_has_them() -> None:
    shell = Shell()
    shell.s.session_started(sdp(b""))
    assert shell.feed(packet(0, key=True)).step is Step.WAIT_FOR_PARAMETER_SETS
    assert shell.s.run_id is None and shell.s.segment is None
    assert shell.feed(packet(FRAME, key=True, sets=START + SPS + START + PPS)).step is Step.START_RUN
    assert shell.s.extradata == START + SPS + START + PPS


def test_each_frame_lasts_until_the_next_one_and_the_last_gets_the_last_interval() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    for dts in (1000, 1000 + 3000, 1000 + 9000, 1000 + 12000):
        shell.feed(packet(dts, key=dts == 1000))
    assert [x.duration_90k for x in shell.segments[0][1]] == [3000, 6000, 3000]  # the last frame is still held
    shell.end_run(T0)
    samples = shell.segments[0][1]
    assert [x.duration_90k for x in samples] == [3000, 6000, 3000, 3000]
    assert [x.dts_90k for x in samples] == [0, 3000, 9000, 12000]  # relative to the segment's start
    assert [x.is_keyframe for x in samples] == [True, False, False, False]


def test_a_frame_whose_successor_does_not_advance_still_lasts_a_tick() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    shell.feed(packet(0, key=True))
    shell.feed(packet(0))
    assert shell.segments[0][1][0].duration_90k == 1
    assert shell.s.frame_90k == FRAME  # a zero interval is not learnt


def test_cuts_at_the_first_keyframe_at_or_after_the_target_and_numbers_segments() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    first = POLICY.first_target_90k("cam")
    at_or_after = -(-first // FRAME) * FRAME  # the first frame at or after the first target
    second, third = at_or_after + FRAME, at_or_after + FRAME + POLICY.target_90k
    keyframes = {0, at_or_after - FRAME, second, third}  # the one before the target cuts nothing
    for dts in range(0, third + 3 * FRAME, FRAME):
        shell.feed(packet(dts, key=dts in keyframes))
    starts = [start for start, _ in shell.segments]
    assert [(s.run_id, s.seq) for s in starts] == [(1, 0), (1, 1), (1, 2)]
    assert [s.start_90k for s in starts] == [0, second, third]
    assert [s.target_90k for s in starts] == [first, POLICY.target_90k, POLICY.target_90k]
    assert [reason for _, reason, _ in shell.closed] == [CutReason.DURATION, CutReason.DURATION]
    assert [d.step for d in shell.steps].count(Step.CUT) == 2


def test_changed_parameter_sets_cut_and_repeated_ones_do_not() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    same = START + PPS + START + SPS + START + SPS  # reordered and repeated: what decodes is unchanged
    assert shell.feed(packet(0, key=True, sets=same)).step is Step.START_RUN
    assert shell.feed(packet(FRAME, key=True, sets=same)).step is Step.CONTINUE
    d = shell.feed(packet(2 * FRAME, key=True, sets=START + SPS_2))
    assert d == Decision(Step.CUT, CutReason.PARAMETERS_CHANGED)
    assert shell.s.extradata == START + PPS + START + SPS_2  # the PPS is kept, the SPS replaced
    assert [s.seq for s, _ in shell.segments] == [0, 1]


def test_a_new_run_numbers_from_zero_with_the_first_segments_target() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    shell.feed(packet(0, key=True))
    shell.feed(packet(POLICY.target_90k, key=True))
    shell.end_run(T0)
    shell.feed(packet(10 * POLICY.target_90k, key=True))
    assert [(s.run_id, s.seq, s.target_90k) for s, _ in shell.segments] == [
        (1, 0, POLICY.first_target_90k("cam")), (1, 1, POLICY.target_90k), (2, 0, POLICY.first_target_90k("cam"))]


def test_segments_of_a_run_tile_the_wall_clock_and_re_anchor_on_drift() -> None:
    shell = Shell(RotationPolicy(target_90k=90_000))
    shell.s.session_started(sdp())
    shell.feed(packet(0, key=True, wall_ns=T0))
    shell.feed(packet(90_000, key=True, wall_ns=T0 + NS_PER_SECOND + NS_PER_SECOND // 2))  # 0.5 s late: kept
    late = T0 + 2 * NS_PER_SECOND + 3 * NS_PER_SECOND  # 3 s late: re-anchored to the arrival
    shell.feed(packet(180_000, key=True, wall_ns=late))
    starts = [s for s, _ in shell.segments]
    assert [s.start_wall_ns for s in starts] == [T0, T0 + NS_PER_SECOND, late]
    assert [s.reanchored for s in starts] == [False, False, True]
    assert [end for _, _, end in shell.closed] == [T0 + NS_PER_SECOND, T0 + 2 * NS_PER_SECOND]
    assert shell.end_run(0) == late + NS_PER_SECOND  # the held keyframe got the last interval


def test_a_run_without_a_finished_segment_ends_now() -> None:
    s = Segmenter("cam", POLICY)
    s.start_run(7)
    assert s.end_run(T0) == T0
    assert s.run_id is None and s.seq == 0


@given(st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=60),
       st.lists(st.booleans(), min_size=60, max_size=60))
def test_durations_add_up_to_the_media_span(gaps: list[int], keys: list[bool]) -> None:
    """Whatever the intervals and keyframes: every packet of the run is written once, in order, the
    segments follow each other without gap or overlap in media time and on the wall clock."""
    shell = Shell(RotationPolicy(target_90k=30_000))
    shell.s.session_started(sdp())
    dts, fed = 0, []
    for i, gap in enumerate(gaps):
        dts += gap
        p = packet(dts, key=i == 0 or keys[i])
        shell.feed(p)
        fed.append(p)
    shell.end_run(T0)
    written = [x for start, samples in shell.segments for x in samples]
    assert len(written) == len(fed)
    assert [start.start_90k + x.dts_90k for start, samples in shell.segments for x in samples] == \
        [p.dts_90k for p in fed]
    for (start, samples), (after, _) in zip(shell.segments, shell.segments[1:], strict=False):
        # Each frame lasts until the next: exactly the gap, or a tick where the dts does not advance.
        zero_gaps = sum(x.duration_90k == 1 for x in samples)
        assert after.start_90k <= start.start_90k + sum(x.duration_90k for x in samples) <= after.start_90k + zero_gaps
    assert all(x.duration_90k >= 1 for x in written)
    ends = [end for _, _, end in shell.closed]
    assert [s.start_wall_ns for s, _ in shell.segments[1:]] == ends[:-1]  # all arrive on time: no re-anchoring


def test_a_segment_s_file_is_named_by_its_day_run_and_seq() -> None:
    start = Segmenter("cam", POLICY)
    start.start_run(12)
    seg = start.next_segment(packet(0, key=True, wall_ns=T0))
    name = segment_relpath("cam", "main", seg.start_wall_ns, seg.run_id, seg.seq)
    assert name == "cam/main/2027-01-15/000012-00000.mp4"
    assert segment_relpath("cam", "sub", T0, 1_234_567, 100_000) == "cam/sub/2027-01-15/1234567-100000.mp4"


def test_a_segment_starts_at_the_camera_s_time_of_its_keyframe_when_the_camera_says_it() -> None:
    shell = Shell()
    shell.s.session_started(sdp())
    key = EncodedPacket(START + SPS + START + PPS + START + IDR, 0, 0, True, T0, camera_wall_ns=T0 - 30_000_000)
    shell.feed(key)
    assert shell.segments[0][0].start_wall_ns == T0 - 30_000_000
