"""Enrolment and renewal against the real hub (`vigil hub run`) and the real appliance daemon:
`vigil district enroll` with the code `vigil hub enroll` printed (files 0600/written, the bridge
configuration naming mosquitto's copies, the certificate checked with `openssl verify`); a replayed
code refused; a district user's token from the hub signs in at the appliance; the session is
renewed through the hub with the site certificate; after `vigil hub user disable` the renewal is
refused and the session ended; with the hub down the renewal is a 503 and the session runs on;
`vigil district leave` removes the files and the bridge."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.hub_proc import HubProcess, sign_in
from tests.support.vigil_proc import run_vigil, vigil_stdin
from tests.support.webapp import WebApp, running_webapp

pytestmark = pytest.mark.slow


def _bridge_extra(tmp: Path) -> str:
    return f'[district]\nbridge_conf_path = "{tmp / "mosquitto/conf.d/vigil-district.conf"}"\n'


def _session(web: WebApp, token: str) -> tuple[str, str]:
    status, body, headers = web.request("POST", "/api/district/session", {"token": token})
    assert status == 200, body
    return headers["Set-Cookie"].split(";", 1)[0], json.loads(body)["csrf_token"]


def _renew(web: WebApp, cookie: str, csrf: str) -> tuple[int, dict[str, object]]:
    status, body, _ = web.request("POST", "/api/district/renew", b"",
                                  headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    return status, json.loads(body)


def test_enrol_sign_in_renew_refuse_and_leave(tmp_path: Path) -> None:
    (tmp_path / "hub-side").mkdir()
    (tmp_path / "site").mkdir()
    hub = HubProcess(tmp_path / "hub-side").start()
    try:
        hub.add_user("dana", "district_admin")
        hub.add_user("vic", "viewer", "site-a/hs")
        code = hub.enrol_code("site-a")
        with running_webapp(tmp_path / "site", _bridge_extra(tmp_path)) as web:
            config = str(web.config)
            enrolled = vigil_stdin(code + "\n", "district", "enroll", "--hub", hub.url, "--code", "-", "--config",
                                   config)
            assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
            assert "as site 'site-a'" in enrolled.stdout and "restart mosquitto" in enrolled.stdout
            assert code not in enrolled.stdout + enrolled.stderr
            keys = tmp_path / "site/data/keys/district"
            assert (keys / "site.key").stat().st_mode & 0o777 == 0o600
            assert json.loads((keys / "hub.json").read_text())["site_id"] == "site-a"
            verify = subprocess.run(["openssl", "verify", "-CAfile", str(keys / "ca.crt"), str(keys / "site.crt")],
                                    capture_output=True, text=True, check=False)
            assert verify.returncode == 0, verify.stderr
            conf = tmp_path / "mosquitto/conf.d/vigil-district.conf"
            text = conf.read_text()
            assert "topic # out 1 district/ vigil/site-a/" in text
            assert f"bridge_keyfile {conf.parent / 'vigil-district/site.key'}" in text
            assert (conf.parent / "vigil-district/site.key").stat().st_mode & 0o777 == 0o600
            assert web.json("GET", "/api/district")["hub_url"] == hub.url
            # the same code again: refused by the hub (already enrolled here: refused before asking)
            again = run_vigil("district", "enroll", "--hub", hub.url, "--code", code, "--config", config)
            assert again.returncode == 2 and "already enrolled" in again.stderr
            # a district user's token from the hub signs in here, and is renewed through the hub
            answer = sign_in(hub, "vic").call("/api/sites/site-a/token", "POST", {"next": "/#/"}).json()
            cookie, csrf = _session(web, answer["token"])
            status, renewed = _renew(web, cookie, csrf)
            assert status == 200, renewed
            assert isinstance(renewed["expires_at"], str)
            status, body, _ = web.request("GET", "/api/me", headers={"Cookie": cookie})
            assert status == 200 and json.loads(body)["name"] == "hub:vic"
            # revoked at the hub: the next renewal is refused and the session ends
            hub.cli("user", "disable", "vic")
            status, refused = _renew(web, cookie, csrf)
            assert status == 401 and "refused" in str(refused["detail"]), refused
            assert web.request("GET", "/api/me", headers={"Cookie": cookie})[0] == 401
            # the hub down: 503, and the session runs on to its expiry
            cookie, csrf = _session(web, sign_in(hub, "dana").call("/api/sites/site-a/token", "POST", {}).json()[
                "token"])
            hub.stop()
            status, unavailable = _renew(web, cookie, csrf)
            assert status == 503, unavailable
            assert web.request("GET", "/api/me", headers={"Cookie": cookie})[0] == 200
            audit = web.json("GET", "/api/audit?action=district.renew")
            assert [e["outcome"] for e in audit] == ["ok", "refused"]
            left = run_vigil("district", "leave", "--config", config)
            assert left.returncode == 0, left.stderr
            assert web.request("GET", "/api/me", headers={"Cookie": cookie})[0] == 401  # the hub's sessions end
            assert not (keys / "hub.json").exists() and not conf.exists()
            assert web.json("GET", "/api/district")["enrolled"] is False
            # the code again, now that nothing here stops it: the hub refuses a used code, nothing is written
            hub.start()
            replayed = run_vigil("district", "enroll", "--hub", hub.url, "--code", code, "--config", config)
            assert replayed.returncode == 2 and "already used" in replayed.stderr, replayed.stderr
            assert not (keys / "hub.json").exists() and not conf.exists()
    finally:
        hub.stop()
