"""Live WebRTC against the real daemon with a real aiortc peer: a session ends within seconds of
its credential's revocation, expiry or disabling (also when the CLI does it from another
process), the viewer caps hold under concurrent offers, and malformed offers get 400."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCPeerConnection

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.live_peer import LivePeer, bearer, wait_async
from tests.support.netns import requires_test_namespace
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config

pytestmark = [requires_test_namespace, pytest.mark.slow]  # ~80 s: one daemon, real WebRTC peers

PASSWORD = "a long enough password"
MAX_VIEWERS, PER_LINK = 10, 4
# Revocation must take effect within a second or two; the test allows 3 s on a busy CI machine.
END_WITHIN_S = 3.0


@dataclass
class Daemon:
    base: str
    config: Path
    ca: Path
    admin_token: str
    vigil: VigilProcess

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def api(self, method: str, path: str, body: object = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        status, raw, _ = call(self.base + path, method, data,
                              {"Authorization": f"Bearer {token or self.admin_token}",
                               "Content-Type": "application/json"}, cafile=self.ca)
        return status, json.loads(raw) if raw else None

    def link(self, expires_in: str = "1h") -> tuple[int, str]:
        status, body = self.api("POST", "/api/links", {"cameras": ["cam"], "reason": "incident 12",
                                                       "expires_in": expires_in})
        assert status == 201, body
        return int(body["id"]), str(body["url"]).rsplit("/", 1)[1]

    def live_ends(self) -> list[dict[str, Any]]:
        status, entries = self.api("GET", "/api/audit?limit=1000")
        assert status == 200
        return [e for e in entries if e["action"] == "live.end"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("live-revocation")
    port = free_port()
    with CameraServer("name=a,width=320,height=240,fps=15,gop=15,bitrate=300") as cams:
        # 30 parallel offers plus the fixture's own connections, all from 127.0.0.1: this module tests
        # viewer caps, not the per-address connection cap (tests/e2e/test_conn_flood.py does).
        extra = (f'[http]\nlisten = "127.0.0.1:{port}"\nmax_connections = 512\nmax_connections_per_address = 512\n'
                 f"[webrtc]\nmax_viewers = {MAX_VIEWERS}\nmax_viewers_per_link = {PER_LINK}")
        config = write_config(tmp, {"cam": cams.url("a")}, extra)
        c = ("--config", str(config))
        for name, role, building in (("root", "district_admin", ()), ("officer", "viewer", ("--building", "hs")),
                                     ("guard", "viewer", ("--building", "hs"))):
            added = vigil_stdin(PASSWORD + "\n", "user", "add", name, "--role", role, *building, "--password-stdin",
                                *c)
            assert added.returncode == 0, added.stderr
        token = run_vigil("token", "create", "root", *c).stdout.strip()
        vigil = VigilProcess(config)
        try:
            ca = tmp / "data" / "tls" / "cert.pem"
            wait_for(ca.exists, 20, "the TLS certificate")
            d = Daemon(f"https://127.0.0.1:{port}", config, ca, token, vigil)
            wait_for(lambda: d.api("GET", "/api/health")[0] == 200, 20, "the API")
            # A malformed offer gets 400 once the camera is connected (503 before).
            wait_for(lambda: call(d.base + "/api/cameras/cam/whep", "POST", b"v=0", {
                "Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}, cafile=ca)[0] == 400,
                30, "the camera")
            yield d
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()


@contextlib.asynccontextmanager
async def viewer(d: Daemon, headers: dict[str, str]) -> AsyncIterator[LivePeer]:
    v = LivePeer(d.base, d.ssl())
    try:
        await v.open("cam", headers)
        yield v
    finally:
        await v.close()


async def assert_ends_after(v: LivePeer, revoked_monotonic: float) -> None:
    """The frames stop (and stay stopped) within END_WITHIN_S of the revocation."""
    await asyncio.sleep(max(0.0, revoked_monotonic + END_WITHIN_S - time.monotonic()))
    frames = v.frames
    await asyncio.sleep(2.0)
    assert v.frames == frames, f"{v.frames - frames} frames arrived 3-5 s after the revocation"


@contextlib.asynccontextmanager
async def watching(d: Daemon, headers: dict[str, str]) -> AsyncIterator[LivePeer]:
    async with viewer(d, headers) as v:
        await wait_async(lambda: v.frames >= 15, 20, "a second of live video")
        yield v


@pytest.mark.parametrize("how", ["api", "cli"])
async def test_link_revocation_ends_the_session_at_once(daemon: Daemon, how: str) -> None:
    link_id, token = daemon.link()
    async with watching(daemon, {"Authorization": f"Bearer {token}"}) as v:
        if how == "api":
            status, _ = await asyncio.to_thread(daemon.api, "DELETE", f"/api/links/{link_id}")
            assert status == 200
        else:  # another process writes the index
            revoked = await asyncio.to_thread(run_vigil, "link", "revoke", str(link_id), "--config",
                                              str(daemon.config))
            assert revoked.returncode == 0, revoked.stderr
        await assert_ends_after(v, time.monotonic())
    ends = [e for e in daemon.live_ends() if e["detail"]["viewer"] == f"link:{link_id}"]
    assert [(e["actor"], e["detail"]["reason"]) for e in ends] == [("system", "its link was revoked")]


async def test_link_expiry_ends_the_session(daemon: Daemon) -> None:
    link_id, token = daemon.link(expires_in="12s")
    expires_monotonic = time.monotonic() + 12
    async with watching(daemon, {"Authorization": f"Bearer {token}"}) as v:
        assert time.monotonic() < expires_monotonic - 1, "the viewer took too long to start; raise the expiry"
        await asyncio.sleep(expires_monotonic - time.monotonic())
        await assert_ends_after(v, expires_monotonic)
    ends = [e for e in daemon.live_ends() if e["detail"]["viewer"] == f"link:{link_id}"]
    assert [e["detail"]["reason"] for e in ends] == ["its link expired"]


async def _sign_in(d: Daemon, http: aiohttp.ClientSession, name: str = "officer") -> dict[str, str]:
    response = await http.post(d.base + "/api/login", json={"name": name, "password": PASSWORD}, ssl=d.ssl())
    assert response.status == 200, await response.text()
    body = await response.json()
    return {"Cookie": f"vigil_session={response.cookies['vigil_session'].value}", "X-CSRF-Token": body["csrf_token"]}


async def test_user_disable_by_the_cli_ends_the_session(daemon: Daemon) -> None:
    async with aiohttp.ClientSession() as http:
        headers = await _sign_in(daemon, http)
    async with watching(daemon, headers) as v:
        # Another process writes the index; the daemon hears nothing from it.
        disabled = await asyncio.to_thread(run_vigil, "user", "disable", "officer", "--config", str(daemon.config))
        assert disabled.returncode == 0, disabled.stderr
        await assert_ends_after(v, time.monotonic())
    ends = [e for e in daemon.live_ends() if e["detail"]["viewer"] == "user:officer"]
    assert [e["detail"]["reason"] for e in ends] == ["its session was revoked"]


async def test_sign_out_ends_the_live_session_and_the_alert_stream(daemon: Daemon) -> None:
    async with aiohttp.ClientSession() as http:
        headers = await _sign_in(daemon, http, "guard")
        async with watching(daemon, headers) as v, http.get(daemon.base + "/api/alerts", headers=headers,
                                                              ssl=daemon.ssl()) as stream:
            assert stream.status == 200 and await stream.content.readline() == b": connected\n"
            out = await http.post(daemon.base + "/api/logout", headers=headers, ssl=daemon.ssl())
            assert out.status == 200
            signed_out = time.monotonic()
            # The stream ends (heartbeats alone would come every 15 s, forever).
            async with asyncio.timeout(END_WITHIN_S):
                assert await stream.content.read() in (b"", b"\n")
            await assert_ends_after(v, signed_out)
    ends = [e for e in daemon.live_ends() if e["detail"]["viewer"] == "user:guard"]
    assert [e["detail"]["reason"] for e in ends] == ["its session was revoked"]


async def test_concurrent_offers_never_exceed_the_caps(daemon: Daemon) -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()

    async def post(http: aiohttp.ClientSession, token: str) -> tuple[str, int, str, str]:
        response = await http.post(daemon.base + "/api/cameras/cam/whep", data=offer, ssl=daemon.ssl(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/sdp"})
        detail = ""
        if response.status != 201:
            assert response.content_type == "application/problem+json"
            detail = (await response.json())["detail"]
        return token, response.status, detail, response.headers.get("Location", "")

    async def burst(http: aiohttp.ClientSession, tokens: list[str]) -> list[tuple[str, int, str, str]]:
        """30 concurrent offers on each token."""
        return list(await asyncio.gather(*(post(http, tokens[i % len(tokens)]) for i in range(30 * len(tokens)))))

    created: list[tuple[str, int, str, str]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=30)) as http:
        try:
            # Two links, 60 offers: each link gets exactly its 4; the rest are told that limit.
            first = await burst(http, [daemon.link()[1] for _ in range(2)])
            created += [r for r in first if r[1] == 201]
            assert sorted(r[1] for r in first) == [201] * 2 * PER_LINK + [429] * (60 - 2 * PER_LINK)
            assert len({r[0] for r in created}) == 2
            assert {r[2] for r in first if r[1] == 429} == {
                f"one link may hold at most {PER_LINK} live sessions at once"
                " ([webrtc] max_viewers_per_link); close one first"}
            # Two more links, 60 more offers: only the appliance's last 2 slots are left.
            second = await burst(http, [daemon.link()[1] for _ in range(2)])
            created += [r for r in second if r[1] == 201]
            assert sorted(r[1] for r in second) == [201] * (MAX_VIEWERS - 2 * PER_LINK) + [429] * (
                60 - MAX_VIEWERS + 2 * PER_LINK)
            assert {r[2] for r in second if r[1] == 429} == {
                f"this appliance serves at most {MAX_VIEWERS} live viewers at once ([webrtc] max_viewers)"}
        finally:
            for token, _, _, location in created:
                ended = await http.delete(daemon.base + location, ssl=daemon.ssl(),
                                          headers={"Authorization": f"Bearer {token}"})
                assert ended.status == 200


async def _real_offer(kind: str = "video") -> str:
    pc = RTCPeerConnection()
    pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


def _with_candidates(sdp: str, lines: list[str]) -> str:
    head, _, tail = sdp.partition("a=candidate:")
    return head + "".join(f"a=candidate:{line}\r\n" for line in lines) + "a=candidate:" + tail


async def _bad_offer(name: str) -> bytes:
    if name == "random bytes":
        return random.Random(12).randbytes(3000)
    if name == "truncated m-line":  # from the issue: once a 500 from aiortc's parser
        return b"v=0\r\nm=video H264/90000"
    if name == "no video section":
        return (await _real_offer("audio")).encode()
    real = await _real_offer()
    if name == "not UTF-8":
        return real.encode().replace(b"s=-", b"s=\xff", 1)
    assert name == "hundreds of candidates"
    return _with_candidates(real, [f"{i} 1 udp 2130706431 127.0.0.2 {40000 + i} typ host" for i in range(300)]).encode()


@pytest.mark.parametrize(("name", "needle"), [
    ("random bytes", "malformed SDP offer"),
    ("truncated m-line", "malformed SDP offer: line 2"),
    ("no video section", "no video section"),
    ("not UTF-8", "not UTF-8"),
    ("hundreds of candidates", "more than 32 ICE candidates"),
])
async def test_malformed_offers_get_400_problem_json(daemon: Daemon, name: str, needle: str) -> None:
    body, status = await _bad_offer(name), 400
    _, token = daemon.link()
    async with aiohttp.ClientSession() as http:
        response = await http.post(daemon.base + "/api/cameras/cam/whep", data=body, ssl=daemon.ssl(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/sdp"})
        assert response.status == status, await response.text()
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert needle in problem["detail"] and problem["status"] == status
        assert "Traceback" not in problem["detail"]


async def test_unusable_candidates_are_dropped(daemon: Daemon) -> None:
    """Candidates the appliance cannot or must not reach are left out of the offer (audited);
    the viewer still gets video through its usable ones."""
    bad = ["90 1 udp 100 0.0.0.0 5000 typ host", "91 1 udp 100 224.0.0.1 5000 typ host",
           "92 1 udp 100 169.254.1.1 5000 typ host", "93 1 udp 100 fe80::1 5000 typ host",
           "94 1 udp 100 ::1 5000 typ host", "95 1 udp 100 intranet.example 5000 typ host",
           "96 1 tcp 100 127.0.0.2 5000 typ host tcptype passive", "97 1 udp 100 255.255.255.255 5000 typ host"]
    _, token = daemon.link()
    v = LivePeer(daemon.base, daemon.ssl())
    try:
        await v.open("cam", bearer(token), lambda sdp: _with_candidates(sdp, bad))
        await wait_async(lambda: v.frames >= 5, 20, "live video")
    finally:
        await v.close()
    _, entries = daemon.api("GET", "/api/audit?limit=1000")
    views = [e for e in entries if e["action"] == "live.view"]
    assert views[-1]["detail"]["candidates_dropped"] == len(bad)


async def test_a_reload_that_restarts_the_camera_ends_its_viewers(daemon: Daemon) -> None:
    """Issue 15: a configuration change that restarts the camera's pipeline ends its live sessions
    cleanly (audited), rather than leaving viewers on a fanout nobody feeds."""
    async with watching(daemon, {"Authorization": f"Bearer {daemon.admin_token}"}) as v:
        status, body = await asyncio.to_thread(daemon.api, "PATCH", "/api/config/cameras/cam", {"timeout_s": 4})
        assert status == 200 and body["applied"]["restarted"] == ["cam"], body
        await assert_ends_after(v, time.monotonic())
    ends = [e for e in daemon.live_ends() if e["detail"].get("reason") == "the camera's configuration changed"]
    assert [e["actor"] for e in ends] == ["system"]
    # the camera comes back: the next viewer gets video again
    await wait_async(lambda: call(daemon.base + "/api/cameras/cam/whep", "POST", b"v=0", {
        "Content-Type": "application/sdp", "Authorization": f"Bearer {daemon.admin_token}"},
        cafile=daemon.ca)[0] == 400, 30, "the camera again")
