"""The configuration API (design/cameras.md) over a real index and a real configuration file:
per-field 422s that leave the file byte for byte, duplicate ids, comments kept, passwords never
answered nor audited nor logged, a read-only file, permissions per building, and the audit
failure that puts the old file back."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.support.api_harness import Api
from tests.support.audit_failure import fail_audit_writes, heal_audit_writes
from vigil.config import load_config

SECRET = "pw-do-not-show-7781"
# on a camera LAN: inside the default [camera_setup] probe_networks
NEW = {"id": "hs-gym", "building": "hs", "name": "Gym", "url": "rtsp://192.168.10.20/gym"}


def source(api: Api) -> Path:
    return api.services.config.source


async def call(api: Api, method: str, path: str, who: str = "installer", body: Any = None) -> tuple[int, Any]:
    response = await api.client.request(method, path, headers=api.auth(who), json=body)
    return response.status, await response.json()


async def test_create_then_list_never_shows_the_password(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW | {"username": "u", "password": SECRET})
    assert status == 201, body
    assert body["camera"]["password_set"] is True and "password" not in body["camera"]
    assert body["applied"] == {"added": ["hs-gym"], "removed": [], "restarted": [], "updated": [], "unchanged": 2,
                               "restart_needed": []}
    assert [c.id for c in api.services.config.cameras] == ["hs-cam", "ms-cam", "hs-gym"]  # applied at once
    status, listed = await call(api, "GET", "/api/config/cameras")
    assert status == 200 and listed["writable"] is True and listed["read_only_reason"] is None
    assert [c["id"] for c in listed["cameras"]] == ["hs-cam", "ms-cam", "hs-gym"]
    assert SECRET in source(api).read_text() and source(api).stat().st_mode & 0o777 == 0o600
    entries = api.services.env.audit.entries(action="camera.create")
    assert [(e.actor, e.target, e.outcome) for e in entries] == [("user:installer", "camera:hs-gym", "ok")]
    assert entries[0].detail["old"] is None and entries[0].detail["new"]["password"] == "set"
    assert entries[0].detail["new"]["url"] == NEW["url"]
    everything = str(listed) + str(body) + str([e.detail for e in api.services.env.audit.entries()]) + caplog.text
    assert SECRET not in everything


async def test_bad_fields_422_per_field_and_the_file_unchanged(api: Api) -> None:
    before = source(api).read_bytes()
    status, body = await call(api, "POST", "/api/config/cameras",
                              body=NEW | {"url": "http://x/y", "transport": "sctp", "timeout_s": -1})
    assert status == 422, body
    assert body["title"] == "Unprocessable Content"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "url": "must be an rtsp:// or rtsps:// URL", "transport": "must be 'tcp' or 'udp'",
        "timeout_s": "must be greater than 0"}
    status, body = await call(api, "POST", "/api/config/cameras", body={"id": "x", "building": "hs", "color": 1})
    assert status == 422 and [e["field"] for e in body["errors"]] == ["color"]
    status, body = await call(api, "POST", "/api/config/cameras", body={"id": "x", "building": "hs"})
    assert status == 422 and {e["field"] for e in body["errors"]} == {"name", "url"}
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW | {"building": "nowhere"})
    assert status == 422 and body["errors"][0]["field"] == "building"
    assert source(api).read_bytes() == before


async def test_duplicate_id_is_409(api: Api) -> None:
    before = source(api).read_bytes()
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW | {"id": "hs-cam"})
    assert status == 409 and body["errors"] == [{"field": "id", "message": "a camera 'hs-cam' already exists"}]
    assert source(api).read_bytes() == before


async def test_an_edit_keeps_comments_and_hand_edits(api: Api) -> None:
    text = source(api).read_text().replace('[[cameras]]\nid = "hs-cam"', '# the front door\n[[cameras]]\nid = "hs-cam"')
    text = text.replace('url = "rtsp://127.0.0.1:1/ms"', 'url = "rtsp://127.0.0.1:1/ms"\nname = "By hand"')
    source(api).write_text(text)  # a hand edit not reloaded yet
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-cam", body={"url": "rtsp://192.168.10.21/hs"})
    assert status == 200, body
    assert body["applied"]["restarted"] == ["hs-cam"] and body["applied"]["updated"] == ["ms-cam"]
    assert "# the front door" in source(api).read_text()
    assert {c.id: c.name for c in api.services.config.cameras}["ms-cam"] == "By hand"


async def test_password_absent_keeps_null_clears(api: Api) -> None:
    await call(api, "POST", "/api/config/cameras", body=NEW | {"username": "u", "password": SECRET})
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"name": "Gym 2"})
    assert status == 200 and body["camera"]["password_set"] is True and body["applied"]["updated"] == ["hs-gym"]
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"password": "other-secret"})
    assert status == 200 and body["applied"]["restarted"] == ["hs-gym"]
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"password": None})
    assert status == 200 and body["camera"]["password_set"] is False and body["camera"]["username"] is None
    details = [e.detail for e in api.services.env.audit.entries(action="camera.update")]
    assert [(d["old"].get("password"), d["new"].get("password")) for d in details] == [
        ("set", "set"), ("set", "changed"), ("set", "cleared")]
    assert "other-secret" not in str(details) and SECRET not in source(api).read_text()


async def test_read_only_file_409(api: Api) -> None:
    source(api).chmod(0o444)
    status, listed = await call(api, "GET", "/api/config/cameras")
    assert listed["writable"] is False and "read-only" in listed["read_only_reason"]
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW)
    assert status == 409 and "read-only" in body["detail"]


async def test_building_admin_of_another_building_403(api: Api) -> None:
    before = source(api).read_bytes()
    assert (await call(api, "POST", "/api/config/cameras", "hs-admin", NEW | {"building": "ms"}))[0] == 403
    assert (await call(api, "PATCH", "/api/config/cameras/ms-cam", "hs-admin", {"name": "x"}))[0] == 403
    assert (await call(api, "PATCH", "/api/config/cameras/hs-cam", "hs-admin", {"building": "ms"}))[0] == 403
    assert (await call(api, "DELETE", "/api/config/cameras/ms-cam", "hs-admin"))[0] == 403
    assert (await call(api, "POST", "/api/config/buildings", "hs-admin", {"id": "es", "name": "E"}))[0] == 403
    assert (await call(api, "POST", "/api/config/reload", "hs-admin"))[0] == 403
    assert (await call(api, "GET", "/api/config/cameras", "hs-viewer"))[0] == 403
    assert source(api).read_bytes() == before
    status, listed = await call(api, "GET", "/api/config/cameras", "hs-admin")
    assert [c["id"] for c in listed["cameras"]] == ["hs-cam"]
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-cam", "hs-admin", {"name": "Front"})
    assert status == 200 and body["camera"]["name"] == "Front"


async def test_audit_failure_puts_the_old_file_back(api: Api) -> None:
    before = source(api).read_bytes()
    fail_audit_writes(api.services.env.index, "camera.create")
    status, _ = await call(api, "POST", "/api/config/cameras", body=NEW)
    assert status == 500
    heal_audit_writes(api.services.env.index)
    assert source(api).read_bytes() == before
    assert [c.id for c in api.services.config.cameras] == ["hs-cam", "ms-cam"]
    assert api.services.env.audit.entries(action="camera.create") == []


async def test_buildings_and_delete(api: Api) -> None:
    status, body = await call(api, "POST", "/api/config/buildings", body={"id": "es", "name": "Elementary"})
    assert status == 201 and body["building"] == {"id": "es", "name": "Elementary"}
    status, body = await call(api, "DELETE", "/api/config/buildings/hs")
    assert status == 409 and "camera hs-cam" in body["detail"]
    status, body = await call(api, "DELETE", "/api/config/cameras/hs-cam")
    assert status == 200 and body["applied"]["removed"] == ["hs-cam"]
    assert (await call(api, "DELETE", "/api/config/buildings/hs"))[0] == 200
    assert [b.id for b in api.services.config.buildings] == ["ms", "es"]
    assert (await call(api, "PATCH", "/api/config/buildings/es", body={"name": "Elm"}))[1]["building"]["name"] == "Elm"


async def test_reload_of_a_hand_edit_and_of_a_broken_file(api: Api) -> None:
    text = source(api).read_text()
    source(api).write_text(text + '[[cameras]]\nid = "ms-2"\nbuilding = "ms"\nurl = "rtsp://127.0.0.1:1/m2"\n'
                                  "[webrtc]\nmax_viewers = 3\n")
    status, body = await call(api, "POST", "/api/config/reload")
    assert status == 200 and body["applied"]["added"] == ["ms-2"] and body["applied"]["restart_needed"] == ["webrtc"]
    assert api.services.config.webrtc.max_viewers != 3  # not applied: a restart is needed
    source(api).write_text(text.replace("rtsp://127.0.0.1:1/hs", "ftp://x"))
    status, body = await call(api, "POST", "/api/config/reload")
    assert status == 422 and body["errors"][0]["field"] == "cameras[0].url"
    assert "ms-2" in [c.id for c in api.services.config.cameras]  # nothing changed
    assert [e.outcome for e in api.services.env.audit.entries(action="config.reload")] == ["ok", "error"]


async def test_saved_urls_stay_inside_the_probe_networks(api: Api) -> None:
    """`[camera_setup] probe_networks` covers URLs saved through the API (the default: the private
    ranges, no loopback): a refused URL is a 422 naming its field, and the file stays as it was."""
    before = source(api).read_bytes()
    status, body = await call(api, "POST", "/api/config/cameras",
                              body=NEW | {"substream_url": "rtsp://127.0.0.1:8554/s"})
    assert status == 422 and [e["field"] for e in body["errors"]] == ["substream_url"]
    assert "outside" in body["errors"][0]["message"]
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-cam", body={"url": "rtsp://8.8.8.8/x"})
    assert status == 422 and body["errors"][0]["field"] == "url"
    assert source(api).read_bytes() == before


async def test_a_file_broken_by_hand_is_409_and_left_alone(api: Api) -> None:
    source(api).write_text(source(api).read_text() + "[[cameras]\n")
    before = source(api).read_bytes()
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-cam", body={"name": "x"})
    assert status == 409 and "not valid TOML" in body["detail"]
    assert source(api).read_bytes() == before


async def test_concurrent_edits_end_with_the_running_cameras_as_the_file_says(api: Api) -> None:
    """Edits sent together are written one at a time, each from the file as the one before left it
    (the file lock and LiveConfig.editing): none is lost (without the locks two edits read the same
    text and one vanishes), and the running configuration is what the file holds at the end."""
    names = [f"Entrance {i}" for i in range(6)]
    answers = await asyncio.gather(
        *(call(api, "PATCH", "/api/config/cameras/hs-cam", body={"name": n}) for n in names),
        *(call(api, "POST", "/api/config/cameras", body=NEW | {"id": f"hs-new-{i}", "url": f"rtsp://192.168.10.{i}/x"})
          for i in range(4)))
    assert [status for status, _ in answers] == [200] * 6 + [201] * 4, answers
    on_disk = load_config(source(api))
    running = api.services.config
    assert running.cameras == on_disk.cameras
    assert {f"hs-new-{i}" for i in range(4)} <= {c.id for c in running.cameras}
    assert next(c.name for c in running.cameras if c.id == "hs-cam") in names
    assert len(api.services.env.audit.entries(action="camera.update")) == 6


async def test_record_audio_and_talk_settings_round_trip_and_are_checked(api: Api) -> None:
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW)
    assert status == 201, body
    assert (body["camera"]["record_audio"], body["camera"]["talk"], body["camera"]["talk_url"]) == (False, "off", None)
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym",
                              body={"record_audio": True, "talk": "vapix", "talk_url": "http://192.168.10.20"})
    assert status == 200, body
    assert body["applied"]["restarted"] == ["hs-gym"]  # record_audio changes what the recorder reads
    camera = next(c for c in api.services.config.cameras if c.id == "hs-gym")
    assert camera.record_audio is True and camera.talk.value == "vapix" and camera.talk_url == "http://192.168.10.20"
    before = source(api).read_bytes()
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"talk": "intercom"})
    assert status == 422 and "talk" in [e["field"] for e in body["errors"]], body
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"talk_url": "http://203.0.113.9/"})
    assert status == 422 and [e["field"] for e in body["errors"]] == ["talk_url"], body  # outside probe_networks
    assert source(api).read_bytes() == before


async def test_ingest_setting_round_trips_restarts_the_camera_and_is_checked(api: Api) -> None:
    status, body = await call(api, "POST", "/api/config/cameras", body=NEW)
    assert status == 201 and body["camera"]["ingest"] == "native", body
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"ingest": "ffmpeg"})
    assert status == 200 and body["camera"]["ingest"] == "ffmpeg", body
    assert body["applied"]["restarted"] == ["hs-gym"]  # another RTSP client reads the camera
    assert next(c for c in api.services.config.cameras if c.id == "hs-gym").ingest.value == "ffmpeg"
    status, body = await call(api, "PATCH", "/api/config/cameras/hs-gym", body={"ingest": "gstreamer"})
    assert status == 422 and "ingest" in [e["field"] for e in body["errors"]], body
