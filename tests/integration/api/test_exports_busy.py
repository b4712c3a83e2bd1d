"""The export worker meets a locked index (issue 12, #6): it retries the export with backoff
instead of ending its thread (which ended the daemon's TaskGroup), and finishes it once the lock
is gone."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import av
import pytest

from tests.support.api_harness import Api
from tests.support.clip_recordings import T0, Recordings, Units
from vigil.core.export_request import parse_export_request
from vigil.core.index_wait import IndexWaitPolicy
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.exports.jobs import ExportJobs
from vigil.exports.package import clip_from_recordings
from vigil.services.caller import worker_caller
from vigil.sim.clips import make_h264_clip

S = NS_PER_SECOND


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Units:
    clip = make_h264_clip(tmp_path_factory.mktemp("clip") / "c.h264", 320, 240, 15, 4.0, 15, 300)
    with av.open(str(clip), format="h264") as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


def test_export_worker_outlasts_a_locked_index(api: Api, units: Units, tmp_path: Path) -> None:
    index = api.services.env.index
    Recordings(tmp_path, index, "hs-cam").add(T0, units)
    index.wait = IndexWaitPolicy(thread_wait_s=0.2)
    jobs = ExportJobs(api.services.config, index, tmp_path / "key.pem", clip_from_recordings)
    request = parse_export_request({"start": wall_ns_to_iso(T0), "end": wall_ns_to_iso(T0 + 4 * S),
                                    "reason": "locked"}, ("hs-cam",), T0 + 60 * S)
    export_id = jobs.submit(request, worker_caller(T0 + 60 * S, "user:hs-admin"))
    index_path = api.services.config.storage.index_path
    locker = sqlite3.connect(index_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    worker = threading.Thread(target=jobs.run)
    worker.start()
    try:
        try:
            time.sleep(2)
            assert worker.is_alive(), "the worker waits for the index"
            assert jobs.store.get(export_id).state == "queued"
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        deadline = time.monotonic() + 60
        while jobs.store.get(export_id).state not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        row = jobs.store.get(export_id)
        assert row.state == "done", row.error
        assert worker.is_alive()
    finally:
        jobs.stop()
        worker.join()
