"""`vigil hub --config F` as systemd runs it: READY once it serves, a clean exit on SIGINT and
SIGTERM, its keys owner-only, the broker's ACL written from its database at start."""

from __future__ import annotations

import signal
import stat
import time
from pathlib import Path

import pytest

from tests.support.hub_proc import HubProcess
from tests.support.notify_socket import NotifySocket


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_hub_says_ready_and_stops_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    hub = HubProcess(tmp_path)
    try:
        hub.start(bare=True, environ={"NOTIFY_SOCKET": str(notify.path)})
        deadline = time.monotonic() + 30
        while not notify.having("READY"):
            assert time.monotonic() < deadline, hub.log_path.read_text()
            time.sleep(0.1)
        assert hub.call("/api/me").status == 401  # serving when READY was sent
        assert hub.stop(signum) == 0, hub.log_path.read_text()
        assert notify.having("STOPPING")
    finally:
        hub.stop()
        notify.close()
    keys = hub.data / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys.iterdir())
    acl = (hub.data / "broker" / "acl").read_text()
    assert "user hub\ntopic read vigil/#" in acl
    assert "Traceback" not in hub.log_path.read_text()
