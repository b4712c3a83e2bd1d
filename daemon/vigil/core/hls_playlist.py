"""HLS VOD playlists (RFC 8216) of recorded fMP4 segment files, played as they are (pure).

Every recorded file is its own init section (`EXT-X-MAP` = its ftyp + moov, a byte range at
offset 0) followed by media segments that are byte ranges of its `moof`+`mdat` fragments. A media
segment is one or more contiguous fragments starting with a keyframe, at least `target_ns` long
(except a file's last), so a seek lands on a segment that decodes on its own.

- `EXT-X-DISCONTINUITY` before every file but the first: each file has its own init section and
  its decode times start again at 0; a gap in the recording always falls between files.
- `EXT-X-PROGRAM-DATE-TIME` on every media segment: the wall-clock time of its first frame, so a
  player maps its position to the time it was recorded (the playlist's own time is the recorded
  stretches back to back, gaps left out).
- `EXT-X-ENDLIST`: the playlist is the range asked for as recorded when asked; ask again for more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso

HLS_VERSION = 7
DEFAULT_TARGET_NS = 2 * NS_PER_SECOND


@dataclass(frozen=True)
class RecordedFragment:
    offset: int  # of the moof in the file
    size_bytes: int  # moof + mdat
    wall_start_ns: int  # the first frame's recorded wall time
    duration_ns: int
    starts_with_sync: bool


@dataclass(frozen=True)
class RecordedFile:
    segment_id: int
    init_size_bytes: int  # ftyp + moov, from offset 0
    fragments: tuple[RecordedFragment, ...]  # complete ones, in file order


@dataclass(frozen=True)
class MediaSegment:
    segment_id: int
    offset: int
    size_bytes: int
    wall_start_ns: int
    duration_ns: int
    independent: bool  # starts with a keyframe
    discontinuity: bool  # a new file (and init section) starts here

    @property
    def wall_end_ns(self) -> int:
        return self.wall_start_ns + self.duration_ns


@dataclass(frozen=True)
class Playlist:
    text: str
    segments: tuple[MediaSegment, ...]

    @property
    def first_wall_ns(self) -> int:
        return self.segments[0].wall_start_ns

    @property
    def end_wall_ns(self) -> int:
        return self.segments[-1].wall_end_ns


def group_fragments(file: RecordedFile, target_ns: int = DEFAULT_TARGET_NS) -> list[MediaSegment]:
    """The file's fragments as media segments: a new one at a keyframe fragment once the current
    one is at least target_ns long, or where the bytes are not contiguous."""
    out: list[MediaSegment] = []
    for frag in file.fragments:
        last = out[-1] if out else None
        joins = (last is not None and last.offset + last.size_bytes == frag.offset
                 and (not frag.starts_with_sync or last.duration_ns < target_ns))
        if last is not None and joins:
            out[-1] = MediaSegment(last.segment_id, last.offset, last.size_bytes + frag.size_bytes,
                                   last.wall_start_ns, frag.wall_start_ns + frag.duration_ns - last.wall_start_ns,
                                   last.independent, last.discontinuity)
        else:
            out.append(MediaSegment(file.segment_id, frag.offset, frag.size_bytes, frag.wall_start_ns,
                                    frag.duration_ns, frag.starts_with_sync, False))
    return out


def _seconds(ns: int) -> str:
    return f"{ns // NS_PER_SECOND}.{ns % NS_PER_SECOND // 1000:06d}"


def build_playlist(files: Sequence[RecordedFile], start_ns: int, end_ns: int, uri_for: Callable[[int], str],
                   target_ns: int = DEFAULT_TARGET_NS) -> Playlist | None:
    """The playlist of the media segments overlapping [start_ns, end_ns) (whole segments: the first
    may start before start_ns, at its keyframe), files in the order given (by recorded time).
    None when nothing recorded overlaps the range. uri_for(segment_id): the file's URI."""
    lines: list[str] = []
    chosen: list[MediaSegment] = []
    for file in files:
        inside = [m for m in group_fragments(file, target_ns) if m.wall_start_ns < end_ns and m.wall_end_ns > start_ns]
        if not inside:
            continue
        uri = uri_for(file.segment_id)
        if any(c in uri for c in '"\r\n'):
            raise ValueError(f"URI {uri!r} cannot be written in a playlist")
        if chosen:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f'#EXT-X-MAP:URI="{uri}",BYTERANGE="{file.init_size_bytes}@0"')
        for n, m in enumerate(inside):
            chosen.append(MediaSegment(m.segment_id, m.offset, m.size_bytes, m.wall_start_ns, m.duration_ns,
                                       m.independent, n == 0 and len(chosen) > 0))
            lines += [f"#EXT-X-PROGRAM-DATE-TIME:{wall_ns_to_iso(m.wall_start_ns)}",
                      f"#EXTINF:{_seconds(m.duration_ns)},", f"#EXT-X-BYTERANGE:{m.size_bytes}@{m.offset}", uri]
    if not chosen:
        return None
    longest_ns = max(m.duration_ns for m in chosen)
    target_s = max(1, -(-longest_ns // NS_PER_SECOND))  # every EXTINF, rounded, within it (RFC 8216 4.3.3.1)
    head = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target_s}",
            "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    if all(m.independent for m in chosen):
        head.append("#EXT-X-INDEPENDENT-SEGMENTS")
    return Playlist("\n".join([*head, *lines, "#EXT-X-ENDLIST", ""]), tuple(chosen))


def nearest_keyframe(files: Sequence[RecordedFile], at_ns: int) -> tuple[RecordedFile, RecordedFragment] | None:
    """The fragment starting with a keyframe whose start is nearest at_ns (the earlier on a tie)."""
    best: tuple[int, int, RecordedFile, RecordedFragment] | None = None
    for file in files:
        for frag in file.fragments:
            if not frag.starts_with_sync:
                continue
            key = (abs(frag.wall_start_ns - at_ns), frag.wall_start_ns)
            if best is None or key < best[:2]:
                best = (*key, file, frag)
    return None if best is None else (best[2], best[3])
