"""Incidents against the running daemon, about who sees what (issue 16): bad declarations answer
problem+json; the alert stream tells the building's watchers (and district staff) of the
declaration and the end, and nobody else; the responder link reads the door events of its
incident; the building's admins see what the link did; a building_admin of another building sees
nothing of it; the command line declares, lists, shows and ends incidents of its own."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.http_call import free_port
from tests.support.incident_daemon import Client, make_users, open_link, write_two_buildings
from tests.support.vigil_proc import VigilProcess, run_vigil, wait_for
from vigil.core.timebase import wall_ns_to_iso

DOORS = """
[[doors]]
id = "hs-front"
name = "Front Entrance"
building = "hs"
cameras = ["hs-a"]
access_points = [{ source = "lenel", id = "reader-1", direction = "in" }]
[[doors]]
id = "ms-front"
name = "MS Entrance"
building = "ms"
cameras = ["ms-a"]
access_points = [{ source = "lenel", id = "reader-2", direction = "in" }]
"""
NOWHERE = "rtsp://127.0.0.1:1/none"  # nobody serves it: these tests need no video


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Client, Path]]:
    port = free_port()
    config = write_two_buildings(tmp_path, {"hs-a": ("hs", NOWHERE), "ms-a": ("ms", NOWHERE)}, port, "", DOORS)
    client = Client(f"http://127.0.0.1:{port}", make_users(config))
    vigil = VigilProcess(config)
    try:
        def serving() -> bool:
            try:
                return client.call("GET", "/api/health", who="chief")[0] == 200
            except OSError:
                return False

        wait_for(serving, 30, "the daemon to serve")
        yield client, config
    finally:
        vigil.close()


async def _events(response: aiohttp.ClientResponse, until_s: float) -> list[dict[str, Any]]:
    """The stream's `incident` events until `until_s` passes without one more."""
    found: list[dict[str, Any]] = []
    event = None
    while True:
        try:
            line = (await asyncio.wait_for(response.content.readline(), until_s)).decode()
        except TimeoutError:
            return found
        if line.startswith("event: "):
            event = line[len("event: "):].strip()
        elif line.startswith("data: ") and event == "incident":
            found.append(dict(json.loads(line[len("data: "):])))


def _door_event(event_id: str, reader: str) -> bytes:
    return json.dumps({"source": "lenel", "event_id": event_id, "kind": "door_forced_open",
                       "occurred_at": wall_ns_to_iso(time.time_ns()), "access_point": reader}).encode()


async def test_who_sees_an_incident_and_its_alerts(daemon: tuple[Client, Path]) -> None:
    api, _ = daemon
    # Bad declarations: problem+json, nothing declared.
    assert api.problem("POST", "/api/incidents", {"building": "nope", "reason": "x"}, who="hs-admin")[0] == 404
    assert api.problem("POST", "/api/incidents", {"cameras": ["nope"], "reason": "x"}, who="hs-admin")[0] == 404
    status, detail = api.problem("POST", "/api/incidents", {"building": "hs"}, who="hs-admin")
    assert status == 400 and "reason" in detail
    assert api.problem("POST", "/api/incidents", {"building": "hs", "reason": "  "}, who="hs-admin")[0] == 400
    status, detail = api.problem("POST", "/api/incidents", raw=b"reason=fire", who="hs-admin")
    assert status == 400 and "JSON" in detail
    assert api.problem("POST", "/api/incidents", {"building": "hs", "reason": "x"}, who="ms-admin")[0] == 403
    assert api.problem("POST", "/api/incidents", {"building": "hs", "reason": "x"}, who="hs-viewer")[0] == 403
    assert api.problem("GET", "/api/incidents?state=closed", who="chief")[0] == 400
    assert api.problem("GET", "/api/incidents/999", who="chief")[0] == 404
    assert api.problem("POST", "/api/incidents/999/end", {"note": "x"}, who="chief")[0] == 404
    assert api.call("GET", "/api/incidents", who="chief") == (200, {"incidents": []})

    streams = {}
    async with aiohttp.ClientSession() as session:
        for who in ("hs-viewer", "ms-admin", "chief"):
            streams[who] = await session.get(api.base + "/api/alerts",
                                             headers={"Authorization": f"Bearer {api.tokens[who]}"})
            assert streams[who].status == 200 and await streams[who].content.readline() == b": connected\n"
        status, declared = await asyncio.to_thread(
            api.call, "POST", "/api/incidents", {"building": "hs", "reason": "forced entry, east wing"},
            who="hs-admin")
        assert status == 201, declared
        incident = declared["incident"]
        incident_id = incident["id"]
        expected = {"alert": "incident", "kind": "incident", "incident": incident_id, "building": "hs"}
        assert await _events(streams["hs-viewer"], 5) == [expected | {"what": "declared"}]

        # A door event at the building, one at the other: the link sees its own building's.
        status, posted = await asyncio.to_thread(api.call, "POST", "/api/door-events", who="lenel",
                                                 raw=_door_event("e-1", "reader-1"))
        assert status == 201, posted
        assert (await asyncio.to_thread(api.call, "POST", "/api/door-events", who="lenel",
                                        raw=_door_event("e-2", "reader-2")))[0] == 201
        status, _, cookie = await asyncio.to_thread(open_link, incident["link_url"])
        assert status == 303 and cookie
        status, events = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}/door_events",
                                                 cookie=cookie)
        assert status == 200 and [(e["id"], e["door"]) for e in events["door_events"]] == [(posted["id"],
                                                                                           "hs-front")]
        status, seen = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}", cookie=cookie)
        assert status == 200 and seen["id"] == incident_id and seen["link_url"] is None
        assert (await asyncio.to_thread(api.call, "POST", f"/api/incidents/{incident_id}/end", {"note": "x"},
                                        cookie=cookie))[0] == 403  # a responder does not end it

        # What the link did, for the building's admins only.
        status, activity = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}/activity",
                                                   who="hs-admin")
        assert status == 200 and activity["viewers"] == [], activity
        actions = [(a["action"], a["outcome"]) for a in activity["accesses"]]
        assert actions == [("link.open", "ok"), ("link.use GET /api/incidents/{incident_id}/door_events", "ok"),
                           ("link.use GET /api/incidents/{incident_id}", "ok"), ("declare_incident", "denied")], actions
        for who, refused in (("hs-viewer", 403), ("ms-admin", 404)):
            assert (await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}/activity",
                                            who=who))[0] == refused, who
        assert (await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}/activity",
                                        cookie=cookie))[0] == 403

        # Another building's admin sees nothing of it.
        assert await asyncio.to_thread(api.call, "GET", "/api/incidents", who="ms-admin") == (200, {"incidents": []})
        for path in ("", "/door_events"):
            status, problem = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident_id}{path}",
                                                      who="ms-admin")
            assert status == 404 and str(incident_id) in problem["detail"], (path, problem)

        status, ended = await asyncio.to_thread(api.call, "POST", f"/api/incidents/{incident_id}/end",
                                                {"note": "false alarm: a propped door"}, who="chief")
        assert status == 200 and ended["state"] == "ended"
        assert await _events(streams["hs-viewer"], 5) == [expected | {"what": "ended"}]
        assert await _events(streams["chief"], 1) == [expected | {"what": "declared"}, expected | {"what": "ended"}]
        # The other building's admin was told nothing (its stream had both by now if it had been).
        assert await _events(streams["ms-admin"], 1) == []
        for stream in streams.values():
            stream.close()


async def test_the_command_line_declares_lists_shows_and_ends(daemon: tuple[Client, Path]) -> None:
    api, config = daemon
    c = ("--config", str(config))
    async with aiohttp.ClientSession() as session, session.get(
            api.base + "/api/alerts", headers={"Authorization": f"Bearer {api.tokens['ms-admin']}"}) as stream:
        assert await stream.content.readline() == b": connected\n"
        started = await asyncio.to_thread(run_vigil, "incident", "start", "--camera", "ms-a", "--reason",
                                          "panic button, room 12", "--drill", *c)
        assert started.returncode == 0, started.stderr
        # The daemon reads what the command line wrote: the building's watchers are told.
        assert await _events(stream, 5) == [{"alert": "incident", "kind": "incident", "incident": 1,
                                             "building": "ms", "what": "declared"}]
    await asyncio.to_thread(_the_rest, api, config, started.stdout)


def _the_rest(api: Client, config: Path, stdout: str) -> None:
    c = ("--config", str(config))
    first, link_line = stdout.splitlines()
    assert first.startswith("declared incident 1 (drill) [open] ms ms-a ") and "via cli" in first, first
    assert link_line.startswith("responder link: http") and "/l/vigil_l_" in link_line
    # The daemon sees it: its link opens (the same URL whoever asks) and the building's admin reads it.
    token = link_line.rsplit("/", 1)[1]
    status, got = api.call("GET", "/api/incidents/1", who="ms-admin")
    assert status == 200 and got["declared_via"] == "cli" and got["drill"] is True and got["link_url"].endswith(token)
    assert got["cameras"] == ["ms-a"] and got["whole_building"] is False
    assert open_link(got["link_url"])[0] == 303
    assert api.call("GET", "/api/incidents", who="hs-admin") == (200, {"incidents": []})

    listed = run_vigil("incident", "list", "--open", "--json", *c)
    assert listed.returncode == 0 and [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [1]
    shown = run_vigil("incident", "show", "1", *c)
    assert shown.returncode == 0 and "responder link: " in shown.stdout and token in shown.stdout

    assert run_vigil("incident", "end", "1", *c).returncode == 2  # --note is required
    unknown = run_vigil("incident", "start", "--building", "nope", "--reason", "x", *c)
    assert unknown.returncode == 2 and "no building 'nope'" in unknown.stderr
    ended = run_vigil("incident", "end", "1", "--note", "drill over", "--report-camera", "ms-a", *c)
    assert ended.returncode == 0 and ended.stdout.startswith("ended incident 1 (drill) [ended]"), ended.stderr
    again = run_vigil("incident", "end", "1", "--note", "again", *c)
    assert again.returncode == 2 and "ended" in again.stderr, again.stderr
    assert open_link(got["link_url"])[0] == 401  # revoked by the command line, seen by the daemon
    status, got = api.call("GET", "/api/incidents/1", who="ms-admin")
    assert got["report_cameras"] == ["ms-a"] and got["end_note"] == "drill over" and got["ended_by"].startswith("cli:")
    shown = run_vigil("incident", "show", "1", "--json", *c)
    assert json.loads(shown.stdout)["link_url"] is None
    assert "running daemon" in run_vigil("incident", "start", "--help").stdout
