"""core/hls_playlist.py: media segments from recorded fragments, and the playlist's tags (RFC 8216)."""

from __future__ import annotations

from vigil.core.hls_playlist import (
    RecordedFile,
    RecordedFragment,
    build_playlist,
    group_fragments,
    nearest_keyframe,
)
from vigil.core.timebase import wall_ns_to_iso

S = 1_000_000_000
T0 = 1_800_000_000 * S


def file(segment_id: int, start_ns: int, syncs: str, frag_ns: int = S, init: int = 700) -> RecordedFile:
    """A file of one fragment per letter: K starts with a keyframe, p does not; each 1000 bytes."""
    frags = tuple(RecordedFragment(init + n * 1000, 1000, start_ns + n * frag_ns, frag_ns, c == "K")
                  for n, c in enumerate(syncs))
    return RecordedFile(segment_id, init, frags)


def uri(segment_id: int) -> str:
    return f"segments/{segment_id}/media.mp4?start=1&end=2"


def test_segments_start_at_keyframes_and_last_at_least_the_target() -> None:
    media = group_fragments(file(1, T0, "KpKKKpKK"), target_ns=2 * S)
    assert [(m.offset, m.size_bytes, m.duration_ns, m.independent) for m in media] == [
        (700, 2000, 2 * S, True), (2700, 2000, 2 * S, True), (4700, 2000, 2 * S, True), (6700, 2000, 2 * S, True)]
    assert [m.wall_start_ns - T0 for m in media] == [0, 2 * S, 4 * S, 6 * S]
    # one fragment per segment when the target is one fragment long; a non-keyframe one always joins
    assert [m.size_bytes for m in group_fragments(file(1, T0, "KpKK"), target_ns=S)] == [2000, 1000, 1000]


def test_bytes_that_are_not_contiguous_are_not_joined() -> None:
    f = file(1, T0, "KK")
    gap = RecordedFile(1, 700, (f.fragments[0], RecordedFragment(5000, 1000, T0 + S, S, False)))
    assert [(m.offset, m.size_bytes) for m in group_fragments(gap, 10 * S)] == [(700, 1000), (5000, 1000)]


def test_playlist_tags_byte_ranges_and_discontinuities() -> None:
    files = [file(1, T0, "KKKK"), file(2, T0 + 4 * S, "KK"), file(3, T0 + 10 * S, "KKK")]  # a 4 s gap before 3
    playlist = build_playlist(files, T0, T0 + 20 * S, uri, target_ns=2 * S)
    assert playlist is not None
    lines = playlist.text.splitlines()
    assert lines[:7] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0",
                         "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
                         f'#EXT-X-MAP:URI="{uri(1)}",BYTERANGE="700@0"']
    assert lines[7:11] == [f"#EXT-X-PROGRAM-DATE-TIME:{wall_ns_to_iso(T0)}", "#EXTINF:2.000000,",
                           "#EXT-X-BYTERANGE:2000@700", uri(1)]
    assert lines[-1] == "#EXT-X-ENDLIST" and playlist.text.endswith("\n")
    assert lines.count("#EXT-X-DISCONTINUITY") == 2  # before files 2 and 3: new init, decode time from 0
    assert [ln for ln in lines if ln.startswith("#EXT-X-MAP")] == [
        f'#EXT-X-MAP:URI="{uri(n)}",BYTERANGE="700@0"' for n in (1, 2, 3)]
    # every discontinuity is followed by the new file's map, then its first segment's wall time
    at = lines.index("#EXT-X-DISCONTINUITY", lines.index("#EXT-X-DISCONTINUITY") + 1)
    assert lines[at + 2] == f"#EXT-X-PROGRAM-DATE-TIME:{wall_ns_to_iso(T0 + 10 * S)}"
    assert [m.discontinuity for m in playlist.segments] == [False, False, True, True, False]
    assert (playlist.first_wall_ns, playlist.end_wall_ns) == (T0, T0 + 13 * S)
    assert sum(ln.startswith("#EXTINF") for ln in lines) == len(playlist.segments) == 5


def test_range_selects_whole_segments_overlapping_it() -> None:
    files = [file(1, T0, "KKKK"), file(2, T0 + 4 * S, "KKKK")]
    playlist = build_playlist(files, T0 + 3 * S, T0 + 5 * S, uri, target_ns=2 * S)
    assert playlist is not None
    # from the keyframe at 2 s (the segment holding 3 s) to the one starting at 4 s
    assert [(m.segment_id, m.wall_start_ns - T0) for m in playlist.segments] == [(1, 2 * S), (2, 4 * S)]
    assert "#EXT-X-DISCONTINUITY" in playlist.text
    assert build_playlist(files, T0 + 8 * S, T0 + 9 * S, uri) is None
    assert build_playlist([], T0, T0 + S, uri) is None


def test_target_duration_covers_the_longest_segment_and_durations_are_exact() -> None:
    long_gop = file(1, T0, "Kpppp", frag_ns=S + 1500)  # one segment of 5 s + 7.5 µs
    playlist = build_playlist([long_gop], T0, T0 + 10 * S, uri)
    assert playlist is not None
    assert "#EXT-X-TARGETDURATION:6" in playlist.text and "#EXTINF:5.000007," in playlist.text


def test_a_segment_not_starting_with_a_keyframe_drops_the_independence_tag() -> None:
    playlist = build_playlist([file(1, T0, "pK")], T0, T0 + 5 * S, uri, target_ns=S)
    assert playlist is not None and "#EXT-X-INDEPENDENT-SEGMENTS" not in playlist.text


def test_uri_that_would_break_the_playlist_is_refused() -> None:
    try:
        build_playlist([file(1, T0, "K")], T0, T0 + S, lambda _: 'x"\n#EXT-X-ENDLIST')
    except ValueError:
        return
    raise AssertionError("a quote or newline in a URI must be refused")


def test_nearest_keyframe() -> None:
    files = [file(1, T0, "KpKp"), file(2, T0 + 10 * S, "Kp")]
    found = nearest_keyframe(files, T0 + int(2.4 * S))
    assert found is not None and (found[0].segment_id, found[1].wall_start_ns) == (1, T0 + 2 * S)
    found = nearest_keyframe(files, T0 + 6 * S)  # 4 s from the keyframes at 2 s and 10 s: the earlier
    assert found is not None and found[1].wall_start_ns == T0 + 2 * S
    found = nearest_keyframe(files, T0 + int(6.1 * S))
    assert found is not None and (found[0].segment_id, found[1].wall_start_ns) == (2, T0 + 10 * S)
    assert nearest_keyframe([file(3, T0, "pp")], T0) is None
