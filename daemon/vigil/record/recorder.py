"""The recorder of one camera stream: fan-out items in, durable indexed segments out.

Runs on its own thread. What to do with each packet (start a run, cut a segment, the held frame's
duration, the segment's wall time) is core/segmenter.py's; this shell applies it to the files and
the index. Order of durability for each segment (see design/storage.md): allocate its id ->
create the file -> queue its 'open' row -> write the file -> fsync file, fsync dir -> queue the
row's completion with size, SHA-256 and durations. A crash between creating the file and its
'open' row leaves a file without a row, which start-up recovery indexes. The index writes go
through the camera's ordered queue (store/pending_writes.py): while another process holds the
index, files keep being written and their rows follow when the index is free again (also when
it is full).

A write to the segment file that fails (a full disk, an I/O error) never reaches the muxer again
(record/writer.py): the segment keeps its complete fragments (record/recovery.keep_complete_fragments),
the run ends, and the recorder pauses, dropping packets, with the reason core/write_failure.py
gives (`disk_full`, `write_error`). It checks with backoff whether it may go on, and starts a new
run at the next keyframe once it may.

With record_audio the recorder also reads the camera's audio fan-out (a second, bounded
subscription; record/recorded_audio.py) and writes its frames into the segment they fall in;
segments are still cut at video keyframes only."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from vigil.core.camera_modes import Stream
from vigil.core.errors import DiskFullError, IndexBusyError
from vigil.core.media import (
    AudioInfo,
    DownReason,
    EncodedPacket,
    PacketsDropped,
    SessionEnded,
    SessionStarted,
    StreamItem,
)
from vigil.core.rotation import CutReason, RotationPolicy
from vigil.core.segmenter import Segmenter, SegmentStart, Step, segment_relpath
from vigil.core.write_failure import Pause, ResumePolicy, WriteFailure, classify_write_error
from vigil.ingest.fanout import Subscription, consume_in_batches
from vigil.record.recorded_audio import RecordedAudio
from vigil.record.recovery import keep_complete_fragments
from vigil.record.reserve import SpaceReserve, recordings_free_bytes
from vigil.record.retention import free_bytes
from vigil.record.storage import StorageDir, fsync_dir, make_dirs_durably
from vigil.record.writer import SegmentWriter, hash_file
from vigil.store.index import Index
from vigil.store.pending_writes import (
    PendingWrites,
    RunInfo,
    event_added,
    run_ended,
    run_started,
    segment_completed,
    segment_discarded,
    segment_opened,
)
from vigil.store.rows import FinishedSegment, NewSegment

log = logging.getLogger(__name__)

BATCH_INTERVAL_S = 0.2
# At the end of the thread: how long queued index writes may still wait for a busy index.
DRAIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Open:
    """The segment being written (its times: the segmenter's `segment`)."""

    id: int
    path: Path
    writer: SegmentWriter
    new: NewSegment  # its row, for the write that completes it


class Recorder:
    def __init__(
        self,
        camera_id: str,
        stream: Stream,  # its value names the stream in the index and the segment paths
        subscription: Subscription,
        index: Index,
        storage: StorageDir,
        policy: RotationPolicy,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        index_writes: PendingWrites | None = None,
        resume_policy: ResumePolicy | None = None,
        reserve: SpaceReserve | None = None,
        audio_subscription: Subscription | None = None,  # record_audio: the camera's audio fan-out
        audio_expected: Callable[[], AudioInfo | None] = lambda: None,  # the session's SDP audio (ingest)
    ) -> None:
        self.camera_id = camera_id
        self.stream = stream
        self.sub = subscription
        self.index = index
        self.storage = storage
        self.policy = policy
        self.wall_clock_ns = wall_clock_ns
        # Shared with the camera's ingest and motion events (app.py), so they stay in order.
        self.index_writes = index_writes or PendingWrites(index, f"{camera_id}/{stream}")
        self.bytes_written = 0
        self.segments_written = 0
        self.heartbeat_monotonic = time.monotonic()
        self.finished = threading.Event()
        # Cleared while the recording disk is missing or foreign (vigil.system.hotplug): packets are dropped.
        self.storage_ok = threading.Event()
        self.storage_ok.set()
        self.segmenter = Segmenter(camera_id, policy)  # runs, cuts, held frame, wall times (core/segmenter.py)
        self._run: RunInfo | None = None
        self._open: _Open | None = None
        self._warned_no_parameter_sets = False
        self.resume_policy = resume_policy or ResumePolicy()
        self.reserve = reserve  # room kept for the index (record/reserve.py): never resumed into
        # Set while writes fail (a full disk): read by other threads (camera status), swapped whole.
        self.pause: Pause | None = None
        self._failures_in_a_row = 0  # backoff across pauses that end in another failure
        self.audio = None if audio_subscription is None else RecordedAudio(self.name, audio_subscription)
        self.audio_expected = audio_expected

    @property
    def name(self) -> str:
        return f"{self.camera_id}/{self.stream}"

    @property
    def recording(self) -> bool:
        """Whether a run is going on: also between one segment's close and the next one's open (a
        rotation, while the closed one is hashed), which health and the API must not show as a stop."""
        return self._run is not None

    def run(self) -> None:
        """Thread body: until the subscription is closed and drained.

        Works in batches: it wakes every BATCH_INTERVAL_S and takes everything queued, instead of
        being woken for each packet (with dozens of cameras the wake-ups cost more than the muxing).
        Fragments reach the disk per GOP anyway, so the batching adds no loss on a crash."""
        try:
            consume_in_batches(self.sub, self._handle, BATCH_INTERVAL_S, self._beat)
        finally:
            try:
                self._guarded(lambda: self._end_run(DownReason.SHUTDOWN))
            finally:
                try:
                    self.index_writes.drain(DRAIN_TIMEOUT_S)
                finally:
                    self.finished.set()

    def _beat(self) -> None:
        """Each wake-up: the liveness heartbeat, queued index writes, and (when due) whether a
        pause may end."""
        self.heartbeat_monotonic = now_s = time.monotonic()
        if self.audio is not None:  # after the video's drain: its frames' audio is here too
            self.audio.take()
        self.index_writes.flush()  # a busy or full index: retried when due, never waited for here
        pause = self.pause
        if pause is not None and pause.due(now_s):
            self._check_pause(pause, now_s)

    def _handle(self, item: StreamItem) -> None:
        if self.pause is not None:
            if isinstance(item, SessionStarted):  # what the next run needs once the pause ends
                self.segmenter.session_started(item.info)
            return  # packets are dropped while paused; the pause was recorded as an event
        self._guarded(lambda: self._handle_item(item))

    def _guarded(self, body: Callable[[], None]) -> None:
        """Run `body`; a write error outside a packet (closing, a full index) pauses the camera."""
        try:
            body()
        except DiskFullError as error:
            self._pause_recording(WriteFailure.DISK_FULL, error)
        except (av.FFmpegError, OSError) as error:
            self._pause_recording(_failure_of(error), error)

    def _handle_item(self, item: StreamItem) -> None:
        if isinstance(item, EncodedPacket) and not self.storage_ok.is_set():
            self._detach_from_storage()  # resumes at a keyframe once the disk is back
            return
        if isinstance(item, EncodedPacket):
            # A keyframe that failed with the old segment may well start a good run of its own.
            if not self._on_packet_or_abandon(item) and item.is_keyframe and self.pause is None:
                self._on_packet_or_abandon(item)
        elif isinstance(item, SessionStarted):
            self._end_run(DownReason.ENDED)
            self.segmenter.session_started(item.info)
        elif isinstance(item, SessionEnded):
            self._end_run(item.reason)
        elif isinstance(item, PacketsDropped):
            log.warning("recorder %s fell behind: %d packets dropped, starting a new run", self.name, item.count)
            self.index_writes.submit(event_added(self.camera_id, "gap", self.wall_clock_ns(),
                                                 DownReason.OVERFLOW.value, f"{item.count} packets dropped"))
            self._end_run(DownReason.OVERFLOW)

    def _abandon_run(self, error: Exception) -> None:
        """A packet could not be written. A write error (a full disk, EIO) pauses the camera;
        anything else (undecodable parameter sets, a busy index) ends the run, keeping what is on
        disk, and starts over at the next keyframe instead of stopping the camera."""
        if isinstance(error, OSError):
            self._pause_recording(_failure_of(error), error)
            return
        log.error("recorder %s: cannot write: %s; closing the segment and restarting at the next keyframe",
                  self.name, error)
        self.index_writes.submit(event_added(self.camera_id, "record_error", self.wall_clock_ns(),
                                             DownReason.ERROR.value, str(error)[:500]))
        seg = self._open
        if seg is not None and seg.writer.failed:  # never write into a muxer that failed
            self._drop_segment(DownReason.ERROR)
        self._end_run(DownReason.ERROR)

    # --- pausing on failed writes (core/write_failure.py) ----------------------------------------

    @property
    def paused_reason(self) -> str | None:
        """`disk_full` or `write_error` while paused, else None."""
        pause = self.pause
        return None if pause is None else pause.failure.value

    def _pause_recording(self, failure: WriteFailure, error: BaseException) -> None:
        """Stop writing: keep the open segment's complete fragments, end the run, record why."""
        now = self.wall_clock_ns()
        reason = DownReason(failure.value)
        log.error("recorder %s: %s (%s); recording paused, segment kept up to its last complete fragment; "
                  "trying again when there is room", self.name, "DISK FULL" if failure is WriteFailure.DISK_FULL
                  else "WRITE ERROR", error)
        self._failures_in_a_row += 1
        self.pause = Pause(failure, now, str(error)[:500], self._failures_in_a_row - 1).checked(
            time.monotonic(), self.resume_policy, random.random())
        self._drop_segment(reason)
        run, self._run = self._run, None
        end_wall = self.segmenter.end_run(now)
        if run is not None:
            self.index_writes.submit(run_ended(run, end_wall, reason.value))
        self.index_writes.submit(event_added(self.camera_id, "record_error", now, failure.value, str(error)[:500]))

    def _drop_segment(self, reason: CutReason | DownReason) -> None:
        """Let go of the open segment without writing to it again; its row is finished from its
        complete fragments through the camera's queue of index writes."""
        seg, run, start = self._open, self._run, self.segmenter.segment
        self._open = None
        self.segmenter.segment_closed(None)
        if seg is None or start is None:
            return
        if seg.writer.failed:
            seg.writer.abandon()
        else:  # something other than the file failed: flush the last fragment (a failure abandons it)
            try:
                seg.writer.close()
            except (av.FFmpegError, OSError) as error:
                log.warning("recorder %s: closing %s failed too (%s)", self.name, seg.path, error)
        try:
            done = keep_complete_fragments(seg.path, start.start_wall_ns, reason.value)
        except OSError as error:  # the file went away with the disk: start-up recovery finishes it
            log.warning("recorder %s: cannot finish %s now (%s)", self.name, seg.path, error)
            return
        if done is None:
            seg.path.unlink(missing_ok=True)
            self.index_writes.submit(segment_discarded(seg.id))
            return
        self.segmenter.segment_closed(done.end_wall_ns)
        if run is not None:
            self.index_writes.submit(segment_completed(run, seg.id, seg.new, done))
        self.bytes_written += done.size_bytes
        self.segments_written += 1

    def _check_pause(self, pause: Pause, now_s: float) -> None:
        try:
            free = recordings_free_bytes(free_bytes(self.storage), self.storage.path, self.reserve)
        except OSError:
            free = 0
        if not self.resume_policy.may_resume(pause.failure, free):
            self.pause = pause.checked(now_s, self.resume_policy, random.random())
            return
        self.pause = None
        log.warning("recorder %s: %d MiB free; recording resumes at the next keyframe (paused %.0f s: %s)",
                    self.name, free >> 20, (self.wall_clock_ns() - pause.since_wall_ns) / 1e9, pause.failure.value)

    @property
    def open_segment_id(self) -> int | None:
        seg = self._open
        return None if seg is None else seg.id

    def _detach_from_storage(self) -> None:
        """The recording disk went away: let go of the open segment without touching the index
        row, which stays 'open' until the disk is back and its complete fragments are recovered."""
        seg, run = self._open, self._run
        if run is None:
            return
        if seg is not None and not seg.writer.failed:
            try:  # the frame held back for its duration too: a segment just opened holds only that one
                self._write_pending(None)
                seg.writer.close()
            except (av.FFmpegError, OSError) as error:
                log.warning("recorder %s: closing %s on the missing disk failed (%s)", self.name, seg.path, error)
        self._open = self._run = None
        self.index_writes.submit(run_ended(run, self.segmenter.end_run(self.wall_clock_ns()), DownReason.ERROR.value))
        self.index_writes.submit(event_added(self.camera_id, "record_error", self.wall_clock_ns(),
                                             DownReason.ERROR.value, "recording disk missing or foreign"))
        log.warning("recorder %s: recording disk unavailable; run %d ended, packets dropped until it is back",
                    self.name, run.id)

    def _on_packet_or_abandon(self, packet: EncodedPacket) -> bool:
        try:
            self._on_packet(packet)
        except (av.FFmpegError, OSError, IndexBusyError) as error:  # busy: no id could be allocated
            self._abandon_run(error)
            return False
        return True

    def _on_packet(self, packet: EncodedPacket) -> None:
        decision = self.segmenter.decide(packet)
        if decision.step is Step.DROP:
            return
        if decision.step is Step.WAIT_FOR_PARAMETER_SETS:
            if not self._warned_no_parameter_sets:
                self._warned_no_parameter_sets = True
                log.warning("recorder %s: keyframe without SPS/PPS and none in the SDP; waiting for them", self.name)
            return
        if decision.step is Step.START_RUN:
            self._begin_run(packet)
        elif decision.cut_reason is not None:
            self._finish_segment(packet.dts_90k, decision.cut_reason)
            self._open_segment(packet)
        self._write_pending(packet.dts_90k)
        self.segmenter.hold(packet)

    def _begin_run(self, keyframe: EncodedPacket) -> None:
        codec = self.segmenter.codec
        assert codec is not None  # decide() starts no run before the session's codec is known
        run_id = self.index.allocate_id("runs")
        self._run = RunInfo(run_id, self.camera_id, self.stream, keyframe.received_wall_ns, codec.value)
        self.index_writes.submit(run_started(self._run))
        self.segmenter.start_run(run_id)
        log.info("recorder %s: run %d started", self.name, run_id)
        self._open_segment(keyframe)

    def _open_segment(self, keyframe: EncodedPacket) -> None:
        run, codec = self._run, self.segmenter.codec
        assert run is not None and codec is not None
        start: SegmentStart = self.segmenter.next_segment(keyframe)
        if start.reanchored:
            log.info("recorder %s: camera clock drifted; re-anchored to arrival time", self.name)
        rel = segment_relpath(self.camera_id, self.stream, start.start_wall_ns, start.run_id, start.seq)
        path = self.storage.path / rel
        segment_id = self.index.allocate_id("segments")
        make_dirs_durably(path.parent, self.storage.path)
        # The file comes first, its 'open' row after it (queued): a crash (or a busy index) in
        # between leaves a file without a row, whose complete fragments start-up recovery indexes.
        if self.audio is not None and self.audio.info is None and (expected := self.audio_expected()) is not None:
            self.audio.expect(expected)  # the camera's first audio frame may come after its first picture
        writer = SegmentWriter(path, codec, self.segmenter.extradata, keyframe.data,
                               None if self.audio is None else self.audio.info)
        new = NewSegment(
            camera_id=self.camera_id, stream=self.stream, run_id=start.run_id, seq=start.seq,
            dir_id=self.storage.id, path=rel, start_wall_ns=start.start_wall_ns, media_start_90k=start.start_90k,
            codec=codec.value, width=writer.width, height=writer.height,
        )
        self.index_writes.submit(segment_opened(run, segment_id, new))
        self._open = _Open(segment_id, path, writer, new)
        self.segmenter.segment_opened(start)

    def _write_pending(self, next_dts_90k: int | None) -> None:
        """Write the held frame, ending at `next_dts_90k` (None: one frame interval after it)."""
        seg = self._open
        sample = None if seg is None else self.segmenter.pending_sample(next_dts_90k)
        if seg is None or sample is None:
            return
        if self.audio is not None and self.segmenter.pending is not None and self.segmenter.segment is not None:
            self.audio.write_due(seg.writer, self.segmenter.segment.start_90k, self.segmenter.pending.dts_90k)
        seg.writer.write(sample.data, sample.pts_90k, sample.dts_90k, sample.duration_90k, sample.is_keyframe)
        self.segmenter.pending_written()

    def _finish_segment(self, end_90k: int | None, reason: CutReason | DownReason) -> None:
        """Close the open segment at `end_90k` (None: one frame after the last one)."""
        seg, run = self._open, self._run
        if seg is None or run is None:
            return
        self._write_pending(end_90k)
        start = self.segmenter.segment
        if self.audio is not None and start is not None:  # the audio up to the cut
            self.audio.write_due(seg.writer, start.start_90k,
                                 start.start_90k + seg.writer.duration_90k if end_90k is None else end_90k)
        # If closing fails the segment stays open: the pause (_guarded) keeps its complete fragments.
        seg.writer.close()
        fsync_dir(seg.path.parent)
        self._open = None
        self._failures_in_a_row = 0
        if seg.writer.frame_count == 0:
            self.segmenter.segment_closed(None)
            seg.path.unlink(missing_ok=True)
            self.index_writes.submit(segment_discarded(seg.id))
            return
        size, sha = hash_file(seg.path)
        end_wall = self.segmenter.segment_end_wall_ns(seg.writer.duration_90k)
        self.segmenter.segment_closed(end_wall)
        self.index_writes.submit(segment_completed(run, seg.id, seg.new, FinishedSegment(
            end_wall_ns=end_wall, media_duration_90k=seg.writer.duration_90k, frame_count=seg.writer.frame_count,
            keyframe_count=seg.writer.keyframe_count, size_bytes=size, sha256=sha, cut_reason=reason.value,
        )))
        self.bytes_written += size
        self.segments_written += 1

    def _end_run(self, reason: DownReason) -> None:
        run = self._run
        if run is None:
            return
        self._finish_segment(None, reason)
        self._run = None
        self.index_writes.submit(run_ended(run, self.segmenter.end_run(self.wall_clock_ns()), reason.value))
        log.info("recorder %s: run %d ended (%s)", self.name, run.id, reason.value)


def _failure_of(error: BaseException) -> WriteFailure:
    return classify_write_error(getattr(error, "errno", None))
