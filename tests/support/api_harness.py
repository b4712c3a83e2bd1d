"""An in-process API over a real index: every role, two buildings, a fake camera status source
(a pure stand-in for the recorder; the HTTP layer and the SQLite index are real)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vigil.api.context import CameraStatus, LiveSource, Services
from vigil.api.routes import build_app
from vigil.config import Config, parse_config
from vigil.config.live import LiveConfig
from vigil.core.camera_modes import Stream
from vigil.core.live_grants import ViewerLimits
from vigil.core.media import EncodedPacket, StreamInfo
from vigil.core.permissions import Role
from vigil.credential_watch import CredentialWatch
from vigil.doors.alerts import AlertHub
from vigil.doors.service import DoorEventService
from vigil.exports.jobs import ExportJobs
from vigil.passwords import hash_password
from vigil.services.env import ServiceEnv
from vigil.store.accounts import Accounts
from vigil.store.audit_log import AuditLog
from vigil.store.door_events import DoorStore
from vigil.store.index import Index
from vigil.webrtc.sessions import WhepSessions
from vigil.webrtc.talk import TalkSessions

CONFIG = """
[storage]
path = "{path}"
[http]
listen = "127.0.0.1:0"
tls = false
[[buildings]]
id = "hs"
name = "High School"
[[buildings]]
id = "ms"
name = "Middle School"
[[cameras]]
id = "hs-cam"
building = "hs"
url = "rtsp://127.0.0.1:1/hs"
[[cameras]]
id = "ms-cam"
building = "ms"
url = "rtsp://127.0.0.1:1/ms"
"""
PASSWORD = "correct horse battery"
USERS = {
    "district": (Role.DISTRICT_ADMIN, ()),
    "hs-admin": (Role.BUILDING_ADMIN, ("hs",)),
    "hs-viewer": (Role.VIEWER, ("hs",)),
    "installer": (Role.INSTALLER, ()),
    "door-system": (Role.DOOR_SYSTEM, ()),
}


@dataclass
class FakeCameras:
    live_asked: list[tuple[str, Stream]] = field(default_factory=list)  # (camera, stream) of each live offer

    def camera_status(self, camera_id: str) -> CameraStatus:
        return CameraStatus("up", None, True, time.time_ns())

    def latest_keyframe(self, camera_id: str) -> tuple[StreamInfo, EncodedPacket] | None:
        return None

    def live_source(self, camera_id: str, quality: Stream) -> LiveSource | None:
        self.live_asked.append((camera_id, quality))
        return None  # live video is tested against the real daemon (tests/e2e/test_live_browser.py)


@dataclass
class Clock:
    now_ns: int = field(default_factory=time.time_ns)

    def __call__(self) -> int:
        return self.now_ns


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    services: Services
    tokens: dict[str, str]
    clock: Clock

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The configuration, also written to its file (the configuration API edits it, mode 0600)."""
    text, source = CONFIG.format(path=tmp_path / "data"), tmp_path / "vigil.toml"
    source.write_text(text, encoding="utf-8")
    source.chmod(0o600)
    return parse_config(text, source)


@pytest.fixture
def index(config: Config) -> Iterator[Index]:
    idx = Index.open(config.storage.index_path, time.time_ns())
    yield idx
    idx.close()


@pytest.fixture
async def api(config: Config, index: Index, password_hash: str) -> AsyncIterator[Api]:
    clock = Clock()
    accounts = Accounts(index)
    tokens = {}
    for name, (role, buildings) in USERS.items():
        user_id = accounts.add_user(name, role, buildings, password_hash, clock.now_ns)
        tokens[name], _ = accounts.create_credential(user_id, "api_token", "test", clock.now_ns, None)
    audit, watch = AuditLog(index), CredentialWatch(accounts, clock)
    alerts = AlertHub()  # door events
    env = ServiceEnv(LiveConfig(config), index)
    services = Services(FakeCameras(), clock_ns=clock, credential_watch=watch,
                        whep=WhepSessions(lambda label: (), ViewerLimits(4, 2, 2), watch, audit, clock),
                        talk=TalkSessions(lambda label: (), watch, audit, clock_ns=clock),
                        exports=ExportJobs(config, index, config.storage.path / "key.pem"),  # no worker: stays queued
                        alerts=alerts, doors=DoorEventService(config, DoorStore(index), alerts, b"k" * 32, clock),
                        env=env)
    client = TestClient(TestServer(build_app(services)))
    await client.start_server()
    yield Api(client, services, tokens, clock)
    await client.close()
    env.close()


# Two doors, one per test building, and an MQTT adapter: for the door-event tests.
DOORS = """
[[doors]]
id = "hs-front"
building = "hs"
cameras = ["hs-cam"]
access_points = [{ source = "lenel", id = "r1" }]
[[doors]]
id = "ms-front"
building = "ms"
cameras = ["ms-cam"]
access_points = [{ source = "lenel", id = "r2" }]
[door_adapters.mqtt]
host = "127.0.0.1"
"""
