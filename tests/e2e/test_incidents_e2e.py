"""An incident against the running daemon and real RTSP cameras (issue 16): declared over the API,
joined from the command line; its holds start at the look-back before the declaration, so footage
recorded before anyone declared is protected; under a tiny retention budget every held camera keeps
its incident footage while the other building's camera and the footage before the look-back go;
the responder link opens the building's map and reads the incident's door events with its cookie;
a restart mid-incident keeps the incident, its holds and its link; ending needs a note, happens
once (409 after) and the link stops working."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import free_port
from tests.support.incident_daemon import Client, make_users, open_link, write_two_buildings
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, wait_for
from vigil.core.timebase import NS_PER_SECOND
from vigil.store.rows import SegmentRow

LOOKBACK_S = 6
TAIL_S = 2
INCIDENTS = f"[incidents]\nlookback_s = {LOOKBACK_S}\ntail_s = {TAIL_S}\n"
# Recording first with room to spare, then (after the restart) with about four 2 s segments of these
# noisy cameras: the held footage alone is over it, so everything unheld goes.
ROOMY = "segment_duration_s = 2\nretention_interval_s = 1\nkeep_newest_s = 0\n"
TINY = ROOMY + "max_bytes = 300000\n"


def _finished(config: Path, camera: str) -> list[SegmentRow]:
    return [s for s in index_of(config).segments(camera) if s.end_wall_ns is not None]


def serving(api: Client) -> bool:
    try:
        return api.call("GET", "/api/health", who="chief")[0] == 200
    except OSError:  # not listening yet
        return False


def test_incident_holds_the_look_back_survives_a_restart_and_ends(tmp_path: Path,
                                                                  camera_server: CameraServerFactory) -> None:
    cams = camera_server(*(f"name={n},width=320,height=240,fps=15,gop=15,bitrate=300,pattern=snow"
                           for n in ("a", "b", "c")))
    port = free_port()
    cameras = {"hs-a": ("hs", cams.url("a")), "hs-b": ("hs", cams.url("b")), "ms-a": ("ms", cams.url("c"))}
    config = write_two_buildings(tmp_path, cameras, port, ROOMY, INCIDENTS)
    api = Client(f"http://127.0.0.1:{port}", make_users(config))
    recordings = tmp_path / "data" / "recordings"
    vigil = VigilProcess(config)
    try:
        # Footage from well before the declaration: more than the look-back of every camera.
        wait_for(lambda: all(len(_finished(config, c)) >= 5 for c in cameras), 60, "ten seconds of each camera")
        status, declared = api.call("POST", "/api/incidents", {"building": "hs", "reason": "fight in the gym"},
                                    who="hs-admin")
        assert status == 201 and declared["joined"] is False, declared
        incident = declared["incident"]
        incident_id, declared_ns = incident["id"], incident["declared_wall_ns"]
        hold_start = declared_ns - LOOKBACK_S * NS_PER_SECOND
        assert incident["hold_start_wall_ns"] == hold_start and incident["state"] == "open"
        assert incident["cameras"] == ["hs-a", "hs-b"] and incident["whole_building"] is True
        assert incident["declared_by"] == "user:hs-admin" and incident["declared_via"] == "api"
        link_url = incident["link_url"]
        assert link_url.startswith(f"http://127.0.0.1:{port}/l/"), link_url
        # The holds: one per camera of the building, from the look-back, for the incident.
        status, holds = api.call("GET", "/api/holds?state=active", who="hs-admin")
        assert status == 200
        mine = sorted((h["camera"], h["start_wall_ns"]) for h in holds if h["incident_id"] == incident_id)
        assert mine == [("hs-a", hold_start), ("hs-b", hold_start)], holds
        # What was recorded before the declaration, held (overlapping the look-back) or not.
        before = {c: [s for s in _finished(config, c) if s.start_wall_ns < declared_ns] for c in cameras}
        held_before = {c: [s for s in before[c] if s.end_wall_ns and s.end_wall_ns > hold_start]
                       for c in ("hs-a", "hs-b")}
        unheld_before = {c: [s for s in before[c] if s.end_wall_ns and s.end_wall_ns <= hold_start]
                         for c in ("hs-a", "hs-b")}
        assert all(held_before.values()) and all(unheld_before.values()), (held_before, unheld_before)

        # A second declaration, from the command line, joins the open incident.
        joined = run_vigil("incident", "start", "--building", "hs", "--reason", "second call from the office",
                           "--config", str(config))
        assert joined.returncode == 0, joined.stderr
        # the same link (the command line has no request to take the box's address from: [http]
        # public_url, else this host's name)
        token = link_url.rsplit("/", 1)[1]
        assert joined.stdout.startswith(f"joined incident {incident_id} ") and f"/l/{token}\n" in joined.stdout
        status, got = api.call("GET", f"/api/incidents/{incident_id}", who="chief")
        assert status == 200 and [(j["via"], j["reason"]) for j in got["joins"]] == [
            ("cli", "second call from the office")] and got["link_url"] == link_url

        # The responder link lands on the building's map; its cookie reads the incident's door events.
        status, location, cookie = open_link(link_url)
        assert (status, location) == (303, "/#/map/hs") and cookie
        status, events = api.call("GET", f"/api/incidents/{incident_id}/door_events", cookie=cookie)
        assert status == 200 and events == {"door_events": []}, events
        status, listed = api.call("GET", "/api/incidents", cookie=cookie)
        assert status == 200 and [i["id"] for i in listed["incidents"]] == [incident_id]
        assert listed["incidents"][0]["link_url"] is None  # a responder does not manage links

        # Restart mid-incident, now under a tiny retention budget.
        assert vigil.terminate() == 0
        vigil.close()
        config.write_text(config.read_text().replace(ROOMY, TINY))
        vigil = VigilProcess(config)
        wait_for(lambda: serving(api), 30, "the daemon to serve again")
        status, still = api.call("GET", "/api/incidents?state=open", who="hs-admin")
        assert status == 200 and [i["id"] for i in still["incidents"]] == [incident_id]
        status, events = api.call("GET", f"/api/incidents/{incident_id}/door_events", cookie=cookie)
        assert status == 200, events  # the link's cookie still works
        status, location, again = open_link(link_url)
        assert (status, location) == (303, "/#/map/hs") and again == cookie  # the same link, the same URL

        # Retention: the other building's camera and the footage before the look-back go, oldest
        # first; every held segment of the incident's cameras stays, files and all.
        def gone(segments: list[SegmentRow], camera: str) -> bool:
            left = {s.id for s in index_of(config).segments(camera)}
            return not any(s.id in left for s in segments)

        wait_for(lambda: gone(before["ms-a"], "ms-a") and all(gone(unheld_before[c], c) for c in unheld_before),
                 120, "retention to delete the unheld footage")
        for camera, segments in held_before.items():
            kept = {s.id: s for s in index_of(config).segments(camera)}
            assert all(s.id in kept and (recordings / s.path).is_file() for s in segments), camera
        assert any(s.start_wall_ns < declared_ns for s in held_before["hs-a"])

        # Ending: a note is required; it ends once; the link stops working at once.
        status, problem = api.call("POST", f"/api/incidents/{incident_id}/end", {}, who="hs-admin")
        assert status == 400 and "note" in problem["detail"], problem
        status, problem = api.call("POST", f"/api/incidents/{incident_id}/end", {"note": "x"}, who="ms-admin")
        assert status == 404, problem  # another building's admin does not see it
        status, ended = api.call("POST", f"/api/incidents/{incident_id}/end",
                                 {"note": "students separated; police report 26-1187"}, who="hs-admin")
        ended_ns = time.time_ns()
        assert status == 200 and ended["state"] == "ended" and ended["ended_by"] == "user:hs-admin", ended
        assert ended["link_url"] is None and ended["end_note"] == "students separated; police report 26-1187"
        assert 0 < ended_ns + TAIL_S * NS_PER_SECOND - ended["hold_end_wall_ns"] < 30 * NS_PER_SECOND
        status, problem = api.call("POST", f"/api/incidents/{incident_id}/end", {"note": "again"}, who="hs-admin")
        assert status == 409, problem
        status, _ = api.call("GET", f"/api/incidents/{incident_id}/door_events", cookie=cookie)
        assert status == 401
        assert open_link(link_url)[0] == 401
        status, holds = api.call("GET", "/api/holds", who="hs-admin")
        assert {h["end_wall_ns"] for h in holds if h["incident_id"] == incident_id} == {ended["hold_end_wall_ns"]}
    finally:
        vigil.close()
