"""Clips: any recorded range of a camera as one fragmented MP4, stream-copied at the byte level.

    plan = plan_clip(index, "cam1", start_wall_ns, end_wall_ns)   # reads headers only, fast
    plan.size_bytes, plan.gaps, plan.segments, plan.first_frame_wall_ns, …
    for chunk in iter_clip_bytes(plan):                           # or (plan, first, last) for a range
        out.write(chunk)

The clip is the first segment's ftyp and moov (durations set, mvex/mehd added) followed by the
recorded moof+mdat fragments, unchanged except for the moof's sequence number and tfdt (and the
last fragment, cut after the last frame before `end`). The plan holds every byte that is not
media (a few hundred bytes per second of video) and the file offsets of the media, so its size is
known before the first byte and any byte range can be produced without producing what precedes it.
See design/evidence.md, "Clips"."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from bisect import bisect_right
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.clips.boxes import ClipSourceError, clip_init, rewrite_moof, shift_moof
from vigil.clips.segment_file import SegmentFile, SegmentSummary, read_segment_file, read_segment_summary
from vigil.core.clip_timeline import SourceFragment, SourceSegment, Timeline, place
from vigil.core.errors import NotFoundError, NotReadyError
from vigil.core.timebase import NS_PER_SECOND, TICKS_PER_SECOND, ticks_to_ns, wall_ns_to_iso
from vigil.store.index import Index
from vigil.store.rows import SegmentRow

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20
CLIP_FORMAT = 1  # bump when the bytes produced for the same recordings change
# The recorder flushes a fragment at every keyframe and at least every second: a range starting
# within UNFLUSHED_NS after what an open segment holds is being written, not missing.
UNFLUSHED_NS = 3 * NS_PER_SECOND
FRAGMENT_RETRY_S = 2


@dataclass(frozen=True)
class Piece:
    """Bytes [clip_offset, clip_offset + size_bytes) of the clip: literal data or a file's bytes.

    With `shift`, the file bytes are a whole segment's fragments, each moof's sequence number and
    tfdt moved by (sequence offset, decode offset) as they are sent."""

    clip_offset: int
    size_bytes: int
    data: bytes | None = None
    path: Path | None = None
    file_offset: int = 0
    shift: tuple[int, int] | None = None
    timescales: tuple[tuple[int, int], ...] = ()  # of the file's tracks not in 90 kHz ticks (audio)


@dataclass(frozen=True)
class ClipSegment:
    """A recorded segment the clip takes frames from."""

    segment_id: int
    path: Path
    sha256: str | None  # recorded when the segment was closed; None while it is still being written
    size_bytes: int | None
    complete: bool
    start_wall_ns: int
    end_wall_ns: int | None
    frames_used: int  # how many of its frames are in the clip
    first_fragment_offset: int  # file offset of the first moof used


@dataclass(frozen=True)
class ClipPlan:
    camera_id: str
    requested_start_wall_ns: int
    requested_end_wall_ns: int
    first_frame_wall_ns: int  # the keyframe at or before the requested start
    end_wall_ns: int  # just after the last frame
    duration_90k: int  # clip media time, gaps included
    frame_count: int
    gaps: tuple[tuple[int, int], ...]  # wall ns [start, end) inside the request with no recording
    stopped_at_wall_ns: int | None  # codec parameters change here; the clip ends before it
    codec_tag: str
    width: int
    height: int
    segments: tuple[ClipSegment, ...]
    pieces: tuple[Piece, ...]
    size_bytes: int
    etag: str  # strong: the same for the same bytes

    @property
    def duration_s(self) -> float:
        return self.duration_90k / TICKS_PER_SECOND


def segment_path(index: Index, row: SegmentRow) -> Path:
    return index.storage_dir_paths()[row.dir_id] / row.path


def plan_clip(index: Index, camera_id: str, start_wall_ns: int, end_wall_ns: int, *,
              include_open: bool = True) -> ClipPlan:
    """Plan the clip of [start, end). Raises NotFoundError when nothing is recorded there, and
    NotReadyError when the range is being recorded but none of it is in a complete fragment yet.

    include_open: also use the segment being written (its complete fragments); evidence exports
    pass False so every segment used has its record-time SHA-256."""
    rows = [r for r in index.segments(camera_id, start_wall_ns, end_wall_ns, state=None)
            if include_open or r.state == "complete"]
    dirs = index.storage_dir_paths()
    return plan_from_segments(camera_id, [(r, dirs[r.dir_id] / r.path) for r in rows], start_wall_ns, end_wall_ns)


def plan_from_segments(camera_id: str, rows: list[tuple[SegmentRow, Path]], start_wall_ns: int,
                       end_wall_ns: int, *, summarize: bool = True) -> ClipPlan:
    """plan_clip for segments already looked up (ordered by start), each with its file's path.

    Complete segments that lie wholly inside the range are summarized from the index and three
    small reads (summarize=False reads every fragment header instead: same clip, slower plan)."""
    files: list[SegmentFile | SegmentSummary] = []
    sources: list[SourceSegment] = []
    read: list[tuple[SegmentRow, Path]] = []  # the rows behind files and sources
    written_up_to: list[int] = []  # segments being written: wall time their complete fragments reach
    for row, path in rows:
        summary = None
        if (summarize and row.state == "complete" and row.start_wall_ns >= start_wall_ns and row.end_wall_ns
                and row.end_wall_ns <= end_wall_ns and row.size_bytes and row.frame_count and row.media_duration_90k):
            summary = read_segment_summary(path, row.size_bytes)
        if summary is not None and row.media_duration_90k and row.frame_count:
            files.append(summary)
            read.append((row, path))
            whole = SourceFragment(summary.first_decode_90k, (row.media_duration_90k - summary.first_decode_90k,),
                                   True, whole_frames=row.frame_count)
            sources.append(SourceSegment(row.start_wall_ns, (whole,), summary.init.codec_key))
            continue
        try:
            segment = read_segment_file(path)
        except (ClipSourceError, FileNotFoundError) as error:
            if row.state == "open":  # just created, nothing complete in it yet: it adds nothing
                log.debug("clip of %s skips open segment %d: %s", camera_id, row.id, error)
                written_up_to.append(row.start_wall_ns)
                continue
            raise ClipSourceError(f"segment {row.id} ({row.path}): {error}") from error
        files.append(segment)
        read.append((row, path))
        sources.append(SourceSegment(row.start_wall_ns, tuple(
            SourceFragment(f.info.decode_start_90k, f.info.sample_durations_90k, f.info.starts_with_sync)
            for f in segment.fragments), segment.init.codec_key))
        if row.state == "open":
            last = segment.fragments[-1].info if segment.fragments else None
            written_up_to.append(row.start_wall_ns + (0 if last is None else ticks_to_ns(
                last.decode_start_90k + sum(last.sample_durations_90k))))
    timeline = place(sources, start_wall_ns, end_wall_ns)
    if timeline is None and any(start_wall_ns < t + UNFLUSHED_NS for t in written_up_to):
        raise NotReadyError(f"camera {camera_id!r} is recording this range right now and none of it is in a"
                            " complete fragment yet (one is written at every keyframe and at least every second):"
                            " ask again shortly", FRAGMENT_RETRY_S)
    if timeline is None:
        raise NotFoundError(f"nothing recorded by camera {camera_id!r} between {wall_ns_to_iso(start_wall_ns)}"
                            f" and {wall_ns_to_iso(end_wall_ns)}")
    return _assemble(camera_id, read, files, timeline, start_wall_ns, end_wall_ns)


def _assemble(camera_id: str, rows: list[tuple[SegmentRow, Path]], files: list[SegmentFile | SegmentSummary],
              timeline: Timeline, start_wall_ns: int, end_wall_ns: int) -> ClipPlan:
    first_file = files[timeline.fragments[0].segment_pos]
    header = clip_init(first_file.ftyp, first_file.moov, timeline.duration_90k)
    pieces = [Piece(0, len(header), data=header)]
    offset = len(header)
    used: dict[int, list[int]] = {}  # segment position -> [frames, first moof offset]
    etag = hashlib.sha256(f"vigil-clip/{CLIP_FORMAT}".encode() + header)
    sequence = 1  # increasing; a whole segment reserves one number per frame (at least one per fragment)
    for placed in timeline.fragments:
        row, path = rows[placed.segment_pos]
        source = files[placed.segment_pos]
        if isinstance(source, SegmentSummary):
            shift = (sequence - 1, placed.clip_decode_start_90k - source.first_decode_90k)
            size = source.fragments_end - source.fragments_start
            pieces.append(Piece(offset, size, path=path, file_offset=source.fragments_start, shift=shift,
                                timescales=source.init.other_timescales))
            offset += size
            sequence += placed.frames
            etag.update(f"{row.id}:{row.sha256}:{source.fragments_start}:{size}:{shift}".encode())
            used[placed.segment_pos] = [placed.frames, source.fragments_start]
            continue
        frag = source.fragments[placed.fragment_pos]
        moof = rewrite_moof(frag.moof, frag.info, sequence, placed.clip_decode_start_90k, placed.samples_kept,
                            dict(source.init.other_timescales))
        sequence += 1
        media_bytes = sum(frag.info.sample_sizes[:placed.samples_kept])
        if placed.samples_kept == len(frag.info.sample_sizes):
            media_bytes = frag.media_bytes  # whole fragment: the mdat exactly as recorded
            mdat_header = struct.pack(">I4s", frag.mdat_size_bytes, b"mdat") if frag.mdat_header_bytes == 8 \
                else struct.pack(">I4sQ", 1, b"mdat", frag.mdat_size_bytes)
        else:
            mdat_header = struct.pack(">I4s", 8 + media_bytes, b"mdat")
        literal = moof + mdat_header
        pieces.append(Piece(offset, len(literal), data=literal))
        pieces.append(Piece(offset + len(literal), media_bytes, path=path, file_offset=frag.media_offset))
        offset += len(literal) + media_bytes
        etag.update(literal + f"{row.id}:{row.sha256}:{frag.media_offset}:{media_bytes}".encode())
        entry = used.setdefault(placed.segment_pos, [0, frag.offset])
        entry[0] += placed.samples_kept
    segments = tuple(
        ClipSegment(rows[pos][0].id, rows[pos][1], rows[pos][0].sha256, rows[pos][0].size_bytes,
                    rows[pos][0].state == "complete", rows[pos][0].start_wall_ns, rows[pos][0].end_wall_ns,
                    frames, first_offset)
        for pos, (frames, first_offset) in used.items())
    plan = ClipPlan(camera_id, start_wall_ns, end_wall_ns, timeline.first_wall_ns, timeline.end_wall_ns,
                    timeline.duration_90k, timeline.frame_count, timeline.gaps, timeline.stopped_at_wall_ns,
                    first_file.init.codec_tag, first_file.init.width, first_file.init.height, segments,
                    tuple(pieces), offset, f'"{etag.hexdigest()[:32]}"')
    log.debug("clip of %s: %d segments, %d pieces, %d bytes, %d gaps", camera_id, len(segments),
              len(pieces), offset, len(timeline.gaps))
    return plan


def _region_parts(fd: int, piece: Piece, lo: int, hi: int, chunk_bytes: int) -> Iterator[bytes]:
    """Bytes lo..hi (exclusive, relative to the piece) of a whole segment's fragments, moofs shifted."""
    assert piece.shift is not None
    pos = 0
    while pos < hi:
        header = os.pread(fd, 16, piece.file_offset + pos)
        if len(header) < 8:
            raise OSError(f"{piece.path}: shorter than when the clip was planned")
        size, kind = struct.unpack_from(">I4s", header)
        if size == 1 and len(header) == 16:
            size = struct.unpack_from(">Q", header, 8)[0]
        if size < 8 or pos + size > piece.size_bytes or kind not in (b"moof", b"mdat"):
            raise ClipSourceError(f"{piece.path}: at byte {piece.file_offset + pos}, {kind!r} of {size} bytes"
                                  " where the plan expects a fragment (the file changed or is damaged)")
        box_end = pos + size
        if box_end > lo:
            a, b = max(lo, pos), min(hi, box_end)
            if kind == b"moof":
                moof = shift_moof(os.pread(fd, size, piece.file_offset + pos), *piece.shift, piece.timescales)
                yield moof[a - pos:b - pos]
            else:
                yield from _file_parts(fd, piece, a, b, chunk_bytes)
        pos = box_end


def iter_clip_bytes(plan: ClipPlan, first_byte: int = 0, last_byte: int | None = None,
                    chunk_bytes: int = CHUNK_BYTES) -> Generator[bytes, None, None]:
    """The clip's bytes first_byte..last_byte (inclusive), in chunks of about chunk_bytes.

    Blocking file reads: run it on a thread. Raises OSError if retention removed a segment since
    the plan was made, ClipSourceError if a file no longer has the fragments the plan expects (the
    caller may have sent part of the body and must abort, not end it as if complete)."""
    last = plan.size_bytes - 1 if last_byte is None else last_byte
    if not 0 <= first_byte <= last < plan.size_bytes:
        raise ValueError(f"bytes {first_byte}-{last} are not inside a clip of {plan.size_bytes} bytes")
    starts = [p.clip_offset for p in plan.pieces]
    i = bisect_right(starts, first_byte) - 1
    buffer: list[bytes] = []
    buffered = 0
    fd: int | None = None
    fd_path: Path | None = None
    try:
        position = first_byte
        while position <= last:
            piece = plan.pieces[i]
            lo = position - piece.clip_offset
            hi = min(piece.size_bytes, last + 1 - piece.clip_offset)
            if piece.data is not None:
                parts: Iterator[bytes] = iter((piece.data[lo:hi],))
            else:
                if piece.path != fd_path:
                    if fd is not None:
                        os.close(fd)
                        fd = None
                    fd, fd_path = os.open(str(piece.path), os.O_RDONLY), piece.path
                assert fd is not None
                reader = _region_parts if piece.shift is not None else _file_parts
                parts = reader(fd, piece, lo, hi, chunk_bytes)
            for part in parts:
                buffer.append(part)
                buffered += len(part)
                if buffered >= chunk_bytes:
                    yield b"".join(buffer)
                    buffer, buffered = [], 0
            position = piece.clip_offset + hi
            i += 1
        if buffer:
            yield b"".join(buffer)
    finally:
        if fd is not None:
            os.close(fd)


def _file_parts(fd: int, piece: Piece, lo: int, hi: int, chunk_bytes: int) -> Iterator[bytes]:
    """Bytes lo..hi (exclusive, relative to the piece) of the piece's file, as recorded."""
    while lo < hi:
        data = os.pread(fd, min(chunk_bytes, hi - lo), piece.file_offset + lo)
        if not data:
            raise OSError(f"{piece.path}: shorter than when the clip was planned")
        yield data
        lo += len(data)
