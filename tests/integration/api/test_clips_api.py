"""GET /api/cameras/{id}/clip.mp4 in process: bytes, Range answers, problems, permissions, audit; and
the export worker (exports/jobs.py) over the same recordings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp
import pytest

from tests.integration.api.conftest import q
from tests.support.api_harness import Api
from tests.support.clip_recordings import T0, Recordings
from vigil.clips import iter_clip_bytes, plan_clip
from vigil.clips.clip import segment_path
from vigil.clips.segment_file import read_segment_file
from vigil.core.evidence_manifest import ClipInfo
from vigil.core.export_request import parse_export_request
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import clip_from_recordings, exports_dir
from vigil.exports.verify import verify_package
from vigil.services.caller import worker_caller
from vigil.store.audit_log import AuditLog
from vigil.store.exports import ExportRow
from vigil.store.rows import SegmentRow

S = NS_PER_SECOND
URL = "/api/cameras/hs-cam/clip.mp4"




async def test_whole_clip_with_headers(api: Api, recorded: Recordings) -> None:
    response = await api.client.get(URL + q(1.5, 14), headers=api.auth("hs-viewer"))
    body = await response.read()
    plan = plan_clip(recorded.index, "hs-cam", T0 + int(1.5 * S), T0 + 14 * S)
    assert response.status == 200 and body == b"".join(iter_clip_bytes(plan))
    assert response.headers["Content-Type"] == "video/mp4" and response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == len(body) == plan.size_bytes
    assert response.headers["Vigil-Clip-Start"] == wall_ns_to_iso(T0 + S)
    assert response.headers["Vigil-Gaps"] == f"{wall_ns_to_iso(T0 + 8 * S)}/{wall_ns_to_iso(T0 + 12 * S)}"
    assert response.headers["Vigil-Gaps-Count"] == "1"
    assert int(response.headers["Vigil-Clip-Frames"]) == plan.frame_count == 7 * 15 + 2 * 15
    assert "Vigil-Clip-Stopped" not in response.headers


async def test_ranges_are_slices_of_the_whole(api: Api, recorded: Recordings) -> None:
    auth = api.auth("hs-viewer")
    whole = await (await api.client.get(URL + q(0, 16), headers=auth)).read()
    n = len(whole)
    for header, first, last in (("bytes=0-0", 0, 0), ("bytes=100-5000", 100, 5000), ("bytes=-777", n - 777, n - 1),
                                (f"bytes={n - 10}-", n - 10, n - 1), (f"bytes=5-{n + 100}", 5, n - 1)):
        response = await api.client.get(URL + q(0, 16), headers=auth | {"Range": header})
        assert response.status == 206, header
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{n}"
        assert await response.read() == whole[first:last + 1], header
    etag = response.headers["ETag"]
    same = await api.client.get(URL + q(0, 16), headers=auth | {"Range": "bytes=10-19", "If-Range": etag})
    assert same.status == 206 and await same.read() == whole[10:20]
    stale = await api.client.get(URL + q(0, 16), headers=auth | {"Range": "bytes=10-19", "If-Range": '"old"'})
    assert stale.status == 200 and await stale.read() == whole


@pytest.mark.parametrize(("header", "status", "needle"), [
    ("bytes=999999999-", 416, "starts at byte"), ("bytes=-0", 416, "empty suffix"),
    ("bytes=0-1,5-9", 400, "one range"), ("pages=1-2", 400, "bytes="), ("bytes=9-2", 400, "before the first"),
])
async def test_bad_ranges_are_problems(api: Api, recorded: Recordings, header: str, status: int, needle: str
                                       ) -> None:
    response = await api.client.get(URL + q(0, 8), headers=api.auth("hs-viewer") | {"Range": header})
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert needle in (await response.json())["detail"]
    if status == 416:
        total = plan_clip(recorded.index, "hs-cam", T0, T0 + 8 * S).size_bytes
        assert response.headers["Content-Range"] == f"bytes */{total}"


async def test_who_may_fetch_and_what_is_missing(api: Api, recorded: Recordings) -> None:
    assert (await api.client.get(URL + q(0, 8))).status == 401
    assert (await api.client.get("/api/cameras/ms-cam/clip.mp4" + q(0, 8), headers=api.auth("hs-viewer"))).status \
        == 403
    assert (await api.client.get(URL + q(0, 8), headers=api.auth("installer"))).status == 403
    unknown = await api.client.get("/api/cameras/nope/clip.mp4" + q(0, 8), headers=api.auth("district"))
    assert unknown.status == 404 and "no camera" in (await unknown.json())["detail"]
    nothing = await api.client.get(URL + q(100, 110), headers=api.auth("district"))
    assert nothing.status == 404 and "nothing recorded" in (await nothing.json())["detail"]
    backwards = await api.client.get(URL + q(8, 0), headers=api.auth("district"))
    assert backwards.status == 400
    too_long = await api.client.get(URL + q(0, 25 * 3600), headers=api.auth("district"))
    assert too_long.status == 400 and "24 hours" in (await too_long.json())["detail"]


async def test_one_audit_entry_per_download(api: Api, recorded: Recordings) -> None:
    def clip_entries() -> list[tuple[str, str]]:
        return [(e.actor, e.target) for e in api.services.env.audit.entries(action="playback.clip")]

    for header in ("bytes=0-", "bytes=1000-", "bytes=50000-60000"):  # one player reading the clip
        response = await api.client.get(URL + q(0, 8), headers=api.auth("hs-viewer") | {"Range": header})
        assert response.status == 206
        await response.read()
    assert clip_entries() == [("user:hs-viewer", "camera:hs-cam")]
    (entry,) = api.services.env.audit.entries(action="playback.clip")
    assert entry.detail["bytes"].startswith("0-") and entry.detail["segments"] == [s.id for s in
                                                                                   recorded.index.segments("hs-cam")][:2]
    await (await api.client.get(URL + q(0, 8), headers=api.auth("hs-admin"))).read()  # someone else
    await (await api.client.get(URL + q(0, 9), headers=api.auth("hs-viewer"))).read()  # another clip
    api.clock.now_ns += 11 * 60 * S  # the same clip, much later: a new download
    await (await api.client.get(URL + q(0, 8), headers=api.auth("hs-viewer"))).read()
    assert len(clip_entries()) == 4


async def test_damage_found_while_sending_cuts_the_transfer(api: Api, recorded: Recordings) -> None:
    whole = recorded.index.segments("hs-cam")[1]  # 4-8 s: wholly inside the request, summarized
    path = segment_path(recorded.index, whole)
    second_moof = read_segment_file(path).fragments[1].offset
    data = bytearray(path.read_bytes())
    data[second_moof + 4:second_moof + 8] = b"junk"  # same size, so the plan still stands
    path.write_bytes(bytes(data))
    response = await api.client.get(URL + q(0, 16), headers=api.auth("hs-viewer"))
    assert response.status == 200  # the headers went out before the damage was reached
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()  # never a shorter body passed off as the whole clip


async def test_openapi_tells_of_byte_ranges(api: Api) -> None:
    response = await api.client.get("/api/openapi.json", headers=api.auth("hs-viewer"))
    paths = (await response.json())["paths"]
    clip = paths["/api/cameras/{camera_id}/clip.mp4"]["get"]["responses"]
    assert "video/mp4" in clip["206"]["content"] and "416" in clip
    motion = paths["/api/cameras/{camera_id}/motion"]["get"]["responses"]
    assert "206" not in motion and "416" not in motion


def test_export_reads_segments_where_the_index_says(api: Api, recorded: Recordings, tmp_path: Path) -> None:
    """The recordings were written to another dir than today's storage.recordings_path (a moved
    disk): the package takes each segment, and its clip, from the dir the index recorded."""
    config = api.services.config
    assert recorded.storage.path != config.storage.recordings_path
    jobs = ExportJobs(config, recorded.index, tmp_path / "key.pem", clip_from_recordings)
    request = parse_export_request({"start": wall_ns_to_iso(T0), "end": wall_ns_to_iso(T0 + 8 * S),
                                    "reason": "moved disk"}, ("hs-cam",), T0 + 60 * S)
    [row] = _run_exports(jobs, [jobs.submit(request, worker_caller(T0 + 60 * S, "user:hs-admin"))])
    assert row.state == "done" and row.package_name is not None, row.error
    verdict = verify_package(exports_dir(config) / row.package_name, None)
    assert verdict.problems == () and verdict.exit_code == 3


def _run_exports(jobs: ExportJobs, export_ids: list[int]) -> list[ExportRow]:
    """Run the export worker until these exports are done or failed (at most a minute)."""
    worker = threading.Thread(target=jobs.run)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while (any(jobs.store.get(i).state not in ("done", "failed") for i in export_ids)
               and time.monotonic() < deadline):
            time.sleep(0.1)
    finally:
        jobs.stop()
        worker.join()
    return [jobs.store.get(i) for i in export_ids]


def test_an_unexpected_error_fails_one_export_not_the_worker(api: Api, recorded: Recordings, tmp_path: Path) -> None:
    calls = []

    def broken_then_fine(camera_id: str, file_name: str, segments: Sequence[tuple[SegmentRow, Path]],
                         start_wall_ns: int, end_wall_ns: int) -> tuple[ClipInfo, Iterator[bytes]]:
        calls.append(camera_id)
        if len(calls) == 1:
            raise RuntimeError("a bug in the clip source")
        return clip_from_recordings(camera_id, file_name, segments, start_wall_ns, end_wall_ns)

    jobs = ExportJobs(api.services.config, recorded.index, tmp_path / "key.pem", broken_then_fine)
    request = parse_export_request({"start": wall_ns_to_iso(T0), "end": wall_ns_to_iso(T0 + 4 * S),
                                    "reason": "bug"}, ("hs-cam",), T0 + 60 * S)
    by = worker_caller(T0 + 60 * S, "user:hs-admin")
    first, second = _run_exports(jobs, [jobs.submit(request, by) for _ in range(2)])
    assert first.state == "failed" and first.error is not None and "a bug in the clip source" in first.error
    assert second.state == "done", second.error
    failed = [e for e in AuditLog(recorded.index).entries() if e.action == "export.failed"]
    assert [e.target for e in failed] == [f"export:{first.id}"]
