"""CameraPipelines.apply (design/cameras.md "Reload without loss") before and after the daemon's
stop: an edit that arrives while the daemon starts (the API listens before recording starts)
changes the set without waiting on recorders that never ran; one that arrives while it stops
starts nothing. The running case is tests/e2e/test_reload_e2e.py's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.config import Config, parse_config
from vigil.core.camera_changes import camera_changes
from vigil.pipelines import CameraPipelines
from vigil.record.reserve import SpaceReserve
from vigil.record.storage import open_storage_dir
from vigil.store.index import Index

BASE = '[storage]\npath = "{path}"\n[[buildings]]\nid = "hs"\n'


def config_of(tmp: Path, *cameras: str) -> Config:
    text = BASE.format(path=tmp / "data") + "".join(
        f'[[cameras]]\nid = "{c}"\nbuilding = "hs"\nurl = "rtsp://127.0.0.1:1/{c}"\n' for c in cameras)
    return parse_config(text, tmp / "vigil.toml")


@pytest.fixture
def pipelines(tmp_path: Path) -> Iterator[tuple[CameraPipelines, Config]]:
    config = config_of(tmp_path, "a", "b")
    (tmp_path / "data").mkdir()
    index = Index.open(config.storage.index_path, time.time_ns())
    with index.transaction() as c:
        storage = open_storage_dir(c, config.storage.recordings_path, require_mount=False)
    yield CameraPipelines(config, index, storage, SpaceReserve(tmp_path / "data")), config
    index.close()


async def test_an_edit_before_recording_starts_changes_the_set_at_once(
        tmp_path: Path, pipelines: tuple[CameraPipelines, Config]) -> None:
    cameras, old = pipelines
    new = config_of(tmp_path, "b", "c")
    began = time.monotonic()
    await cameras.apply(camera_changes(old.cameras, new.cameras), new)
    assert time.monotonic() - began < 1.0  # no wait for the never-started recorder of "a"
    assert [p.camera.id for p in cameras.pipelines] == ["b", "c"]


async def test_an_edit_during_the_stop_starts_nothing(tmp_path: Path, pipelines: tuple[CameraPipelines, Config]
                                                      ) -> None:
    cameras, old = pipelines
    await cameras.stop_all(1.0, 0.1)
    new = config_of(tmp_path, "a", "b", "c")
    await cameras.apply(camera_changes(old.cameras, new.cameras), new)
    assert "c" not in [p.camera.id for p in cameras.pipelines]
