"""The district publisher in-process (no broker: what it queues): it never stops the daemon (a task
of it that fails is logged and started again; the camera status source here fails once, then
answers), and a storage problem and its end are published once each."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from tests.support.district import enrol_test_hub
from tests.support.http_call import free_port
from vigil.api.context import CameraStatus
from vigil.config import Config, DistrictConfig
from vigil.config.live import LiveConfig
from vigil.core.district import SiteTopic
from vigil.core.hotplug import StorageState
from vigil.core.storage_report import BudgetProblem
from vigil.district import publisher
from vigil.district.state import load_enrolment
from vigil.doors.alerts import AlertHub
from vigil.services.env import ServiceEnv
from vigil.store.index import Index


class FailingOnce:
    def __init__(self) -> None:
        self.calls = 0
        self.asked_again = asyncio.Event()

    def camera_status(self, camera_id: str) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("status source broken once")
        if self.calls >= 3:  # failed, started again, looked again
            self.asked_again.set()
        return CameraStatus("up", None, True, None)


async def test_a_failing_task_is_started_again(config: Config, index: Index, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(publisher, "RESTART_S", 0.05)
    enrol_test_hub(config.storage.path)
    # no broker listens there: the sender backs off, the rest goes on
    env = ServiceEnv(LiveConfig(dataclasses.replace(config, district=DistrictConfig(broker_port=free_port()))), index)
    cameras = FailingOnce()
    alerts = AlertHub()
    part = publisher.DistrictPublisher(env, cameras, alerts, lambda: None, lambda: StorageState.OK)
    task = asyncio.create_task(part.run())
    try:
        async with asyncio.timeout(10):
            await cameras.asked_again.wait()
        await asyncio.sleep(0.5)  # the rest of that look: inventory and health queued
        assert "district publisher: watch failed; starting it again" in caplog.text
        assert not task.done()
        assert len(part.queue) > 0  # after the restart it queued what it saw (no broker here)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        alerts.close()
        env.close()


async def test_a_storage_problem_and_its_end_are_published(config: Config, index: Index) -> None:
    enrol_test_hub(config.storage.path)
    env = ServiceEnv(LiveConfig(dataclasses.replace(config, district=DistrictConfig(broker_port=free_port()))), index)
    problem: list[BudgetProblem | None] = [BudgetProblem("storage.max_bytes", False, "less than 10 minutes fit")]
    state = [StorageState.OK]
    part = publisher.DistrictPublisher(env, FailingOnce(), AlertHub(), lambda: problem[0], lambda: state[0])
    part.enrolment = load_enrolment(config.storage.path)
    part._check_storage()
    problem[0] = None
    part._check_storage()
    part._check_storage()  # no change: nothing new
    state[0] = StorageState.MISSING
    part._check_storage()
    sent = []
    while (item := part.queue.peek()) is not None:
        sent.append((item.kind, dict(item.data)))
        part.queue.done(item)
    assert sent == [(SiteTopic.STORAGE, {"problem": "storage.max_bytes", "detail": "less than 10 minutes fit"}),
                    (SiteTopic.STORAGE, {"problem": None, "detail": None}),
                    (SiteTopic.STORAGE, {"problem": "disk_missing", "detail": "the recording disk is missing"})]
    env.close()
