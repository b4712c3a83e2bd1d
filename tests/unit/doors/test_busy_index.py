"""Door events meet a locked index (issue 12, #6): the service itself says IndexBusyError (the
webhook answers 503), while adapters hand events to a PatientSink, which stores them once the lock
is gone instead of ending the adapter's task (and with it the daemon)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from vigil.config import parse_config
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent
from vigil.core.errors import IndexBusyError
from vigil.core.index_wait import IndexWaitPolicy
from vigil.doors.alerts import AlertHub
from vigil.doors.keys import ensure_door_key
from vigil.doors.patient_sink import PatientSink
from vigil.doors.service import DoorEventService
from vigil.store.door_events import DoorStore
from vigil.store.index import Index

S = 1_000_000_000
T0 = 1_800_000_000 * S
CONFIG = """
[storage]
path = "data"
[[buildings]]
id = "hs"
[[cameras]]
id = "hs-east"
building = "hs"
url = "rtsp://127.0.0.1:1/a"
"""


async def test_adapters_wait_out_a_locked_index_and_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    index = Index.open(path, T0)
    index.wait = IndexWaitPolicy(thread_wait_s=0.2)
    service = DoorEventService(parse_config(CONFIG, tmp_path / "vigil.toml"), DoorStore(index), AlertHub(),
                               ensure_door_key(tmp_path / "keys"), lambda: T0)
    event = IncomingDoorEvent("mqtt", "e-1", T0, DoorEventKind.ACCESS_DENIED, "reader-7", reason="expired")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(IndexBusyError):
            await service.submit(event, T0)
        patient = asyncio.create_task(PatientSink(service, index.wait).submit(event, T0))
        await asyncio.sleep(1.0)
        assert not patient.done(), "still waiting for the index, not failed"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    submitted = await asyncio.wait_for(patient, 10)
    assert not submitted.duplicate
    assert [r[0] for r in index.query("SELECT event_id FROM door_events")] == ["e-1"]
    index.close()
