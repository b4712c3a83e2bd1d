"""An incident's responder watching live with a real aiortc peer against the running daemon (issue
16): the building's admin sees the link's live session and what it watched in the incident's
activity; ending the incident revokes the link and the session ends within seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.camsim import CameraServerFactory
from tests.support.http_call import call, free_port
from tests.support.incident_daemon import Client, make_users, write_two_buildings
from tests.support.live_peer import LivePeer, bearer, wait_async
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import VigilProcess, wait_for

pytestmark = [requires_test_namespace]
END_WITHIN_S = 3.0  # as tests/e2e/test_live_revocation.py: a revoked link's session ends within a second or two


async def test_the_responders_live_view_shows_in_activity_and_ends_with_the_incident(
        tmp_path: Path, camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=a,width=320,height=240,fps=15,gop=15,bitrate=300")
    port = free_port()
    config = write_two_buildings(tmp_path, {"hs-a": ("hs", cams.url("a"))}, port)
    api = Client(f"http://127.0.0.1:{port}", make_users(config))
    vigil = VigilProcess(config)
    viewer = LivePeer(api.base)
    try:
        whep = f"{api.base}/api/cameras/hs-a/whep"
        def camera_live() -> bool:  # a malformed offer gets 400 once the camera is connected (503 before)
            try:
                return call(whep, "POST", b"v=0", {"Content-Type": "application/sdp",
                                                   "Authorization": f"Bearer {api.tokens['chief']}"})[0] == 400
            except OSError:  # not listening yet
                return False

        wait_for(camera_live, 30, "the daemon and its camera")
        status, declared = await asyncio.to_thread(api.call, "POST", "/api/incidents",
                                                   {"building": "hs", "reason": "intruder"}, who="hs-admin")
        assert status == 201, declared
        incident = declared["incident"]
        token = incident["link_url"].rsplit("/", 1)[1]
        await viewer.open("hs-a", bearer(token))
        await wait_async(lambda: viewer.frames >= 15, 20, "a second of live video through the link")

        status, activity = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident['id']}/activity",
                                                   who="hs-admin")
        assert status == 200, activity
        [seen] = activity["viewers"]
        assert (seen["link_id"], seen["camera"], seen["remote"]) == (incident["link_id"], "hs-a", "127.0.0.1")
        assert seen["started_at"]
        assert ("live.view", "camera:hs-a") in [(a["action"], a["target"]) for a in activity["accesses"]]

        status, ended = await asyncio.to_thread(api.call, "POST", f"/api/incidents/{incident['id']}/end",
                                                {"note": "intruder detained"}, who="hs-admin")
        assert status == 200, ended
        await asyncio.sleep(END_WITHIN_S)
        frames = viewer.frames
        await asyncio.sleep(2.0)
        assert viewer.frames == frames, f"{viewer.frames - frames} frames arrived 3-5 s after the end"
        status, entries = await asyncio.to_thread(api.call, "GET", "/api/audit?action=live.end", who="chief")
        assert [e["detail"]["reason"] for e in entries if e["detail"]["viewer"] == f"link:{incident['link_id']}"] == [
            "its link was revoked"], entries
        status, activity = await asyncio.to_thread(api.call, "GET", f"/api/incidents/{incident['id']}/activity",
                                                   who="hs-admin")
        assert status == 200 and activity["viewers"] == []
    finally:
        await viewer.close()
        vigil.close()

