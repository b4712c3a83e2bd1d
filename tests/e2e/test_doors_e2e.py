"""End to end: real RTSP cameras recording, a denied badge at a mapped door is flagged, bookmarked
and holds exactly that door's cameras, and a tiny retention budget deletes everything else first."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.store.rows import SegmentRow

MAX_BYTES = 600_000  # about eight 2 s segments of these noisy cameras
DOOR = """
[[doors]]
id = "east-main"
building = "hs"
cameras = ["door-a", "door-b"]
pre_s = 1
post_s = 1
access_points = [{ source = "lenel", id = "reader-7", direction = "in" }]
"""


def _overlapping(segments: list[SegmentRow], start_ns: int, end_ns: int) -> list[SegmentRow]:
    return [s for s in segments if s.start_wall_ns < end_ns and start_ns < (s.end_wall_ns or s.start_wall_ns)]


def test_denied_badge_holds_the_doors_cameras_through_retention(tmp_path: Path,
                                                                camera_server: CameraServerFactory) -> None:
    spec = "width=320,height=240,fps=10,gop=10,bitrate=300,pattern=snow"
    cams = camera_server(*(f"name={n},{spec}" for n in ("a", "b", "c")))
    port = free_port()
    config = write_config(tmp_path, {"door-a": cams.url("a"), "door-b": cams.url("b"), "other-c": cams.url("c")},
                          f"segment_duration_s = 2\nretention_interval_s = 1\nmax_bytes = {MAX_BYTES}\n"
                          "keep_newest_s = 0")  # a tiny budget itself, not the newest minutes rule
    config.write_text(config.read_text() + f'[http]\nlisten = "127.0.0.1:{port}"\ntls = false\n' + DOOR)
    added = vigil_stdin("a long enough password\n", "user", "add", "lenel", "--role", "door_system",
                        "--password-stdin", "--config", str(config))
    assert added.returncode == 0, added.stderr
    token = run_vigil("token", "create", "lenel", "--config", str(config)).stdout.strip()
    recordings = tmp_path / "data" / "recordings"
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: all(len(index_of(config).segments(c)) >= 2 for c in ("door-a", "door-b", "other-c")), 60,
                 "two segments of every camera")
        # A badge one second ago: its hold [-2 s, now] covers footage the tiny budget has not reached yet.
        occurred_ns = (time.time_ns() - NS_PER_SECOND) // 1_000_000 * 1_000_000  # ISO text keeps ms
        hold_start, hold_end = occurred_ns - NS_PER_SECOND, occurred_ns + NS_PER_SECOND
        body = json.dumps({"source": "lenel", "event_id": "onguard-88231", "kind": "access_denied",
                           "occurred_at": wall_ns_to_iso(occurred_ns), "access_point": "reader-7",
                           "reason": "badge revoked", "credential": "0049912345"}).encode()
        status, answer, _ = call(f"http://127.0.0.1:{port}/api/door-events", "POST", body,
                                 {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                                 timeout_s=30)
        assert status == 201, answer
        posted = json.loads(answer)
        assert posted["flagged"] is True and posted["duplicate"] is False
        seen: set[int] = set()

        def others_deleted_held_kept() -> bool:
            index = index_of(config)
            rows = {c: index.segments(c) for c in ("door-a", "door-b", "other-c")}
            seen.update(s.id for segs in rows.values() for s in segs)
            kept = sum(len(segs) for segs in rows.values())
            return (len(seen) - kept >= 6 and not _overlapping(rows["other-c"], hold_start, hold_end)
                    and all(_overlapping(rows[c], hold_start, hold_end) for c in ("door-a", "door-b")))

        wait_for(others_deleted_held_kept, 90, "retention to delete around the held footage")
        assert vigil.proc.poll() is None, vigil.log
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()
    index = index_of(config)
    holds = index.query("SELECT camera_id, start_wall_ns, end_wall_ns, door_event_id, released_wall_ns"
                        " FROM evidence_holds ORDER BY camera_id")
    assert [tuple(h) for h in holds] == [("door-a", hold_start, hold_end, posted["id"], None),
                                         ("door-b", hold_start, hold_end, posted["id"], None)]
    marks = index.query("SELECT camera_id, building_id, door_event_id FROM bookmarks ORDER BY camera_id")
    assert [tuple(m) for m in marks] == [("door-a", "hs", posted["id"]), ("door-b", "hs", posted["id"])]
    for camera in ("door-a", "door-b"):
        held = _overlapping(index.segments(camera), hold_start, hold_end)
        assert held, f"{camera}: the footage around the denied badge is kept"
        assert held[0].start_wall_ns <= hold_start and (held[-1].end_wall_ns or 0) >= hold_end, camera
        for segment in held:
            assert (recordings / segment.path).is_file()
    assert not _overlapping(index.segments("other-c"), hold_start, hold_end), "a camera not at the door is not held"
    on_disk = {p.relative_to(recordings).as_posix() for p in recordings.rglob("*.mp4")}
    assert on_disk == {s.path for s in index.segments()}, "deleted segments' files are gone"
    (row,) = index.query("SELECT door_id, flagged, credential_last4, credential_hash FROM door_events")
    assert (row["door_id"], row["flagged"], row["credential_last4"]) == ("east-main", 1, "2345")
    assert "0049912345" not in str(row["credential_hash"])
