"""`/api/appliance/update` with real bundles (image-build/bundle.sh, rauc, openssl keys) served over
HTTP on loopback: the daemon downloads, lets rauc check the signature and hands a request to root;
refused bundles leave nothing behind; the root side checks again and never trusts the request."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.system.test_update_bundle import _bundle, _key
from tests.support.api_harness import CONFIG, Api, api, index, password_hash
from vigil.cli.main import main
from vigil.config import Config, parse_config
from vigil.services.updates import REQUEST_NAME, RESULT_NAME, updates_dir

__all__ = ["api", "index", "password_hash"]
pytestmark = pytest.mark.skipif(not Path("/usr/bin/rauc").exists(), reason="needs rauc (bash .ci/install)")


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    return {"release": _key(tmp_path, "vigil-release"), "other": _key(tmp_path, "someone-else")}


@pytest.fixture
def config(tmp_path: Path, keys: dict[str, tuple[Path, Path]]) -> Config:
    text = CONFIG.format(path=tmp_path / "data") + f'[appliance]\nupdate_keyring = "{keys["release"][1]}"\n'
    source = tmp_path / "vigil.toml"
    source.write_text(text, encoding="utf-8")
    return parse_config(text, source)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1, and its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


async def _post(api: Api, url: str, reboot: str = "never") -> tuple[int, dict[str, object]]:
    response = await api.client.post("/api/appliance/update", headers=api.auth("district"),
                                     json={"url": url, "reboot": reboot})
    return response.status, await response.json()


async def test_a_signed_bundle_is_handed_to_root_and_bad_ones_leave_nothing(
        api: Api, config: Config, keys: dict[str, tuple[Path, Path]], served: tuple[Path, str], tmp_path: Path) -> None:
    www, base = served
    good = _bundle(tmp_path, "0.21.0", *keys["release"])
    forged = _bundle(tmp_path, "0.21.1", *keys["other"])
    (www / "good.raucb").write_bytes(good.read_bytes())
    (www / "forged.raucb").write_bytes(forged.read_bytes())
    (www / "truncated.raucb").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    updates = updates_dir(config)

    for name, reason in [("forged.raucb", "refused"), ("truncated.raucb", "refused"), ("missing.raucb", "404")]:
        status, body = await _post(api, f"{base}/{name}")
        assert status == 400 and reason in str(body["detail"]), (name, body)
        assert not updates.exists() or sorted(p.name for p in updates.iterdir()) == [], name
    # Not an http(s) URL, credentials in it, a bad reboot time: refused before any download.
    for sent in [{"url": "file:///etc/shadow"}, {"url": f"http://u:p@{base[7:]}/good.raucb"},
                 {"url": f"{base}/good.raucb", "reboot": "soon"}, {}]:
        response = await api.client.post("/api/appliance/update", headers=api.auth("district"), json=sent)
        assert response.status == 400, sent
    # Only district admins.
    response = await api.client.post("/api/appliance/update", headers=api.auth("hs-admin"),
                                     json={"url": f"{base}/good.raucb"})
    assert response.status == 403

    status, body = await _post(api, f"{base}/good.raucb", "now")
    assert (status, body) == (202, {"state": "requested", "version": "0.21.0", "reboot": "now"})
    request = json.loads((updates / REQUEST_NAME).read_text())
    assert (request["bundle"], request["version"], request["requested_by"]) == ("good.raucb", "0.21.0", "user:district")
    assert (updates / "good.raucb").read_bytes() == good.read_bytes()
    # One at a time.
    status, body = await _post(api, f"{base}/good.raucb")
    assert status == 409
    response = await api.client.get("/api/appliance/update", headers=api.auth("district"))
    assert (await response.json())["update"] == {"state": "requested"}
    # Audited: three refusals and the request, with the caller.
    entries = [e for e in api.services.env.index.query("SELECT action, outcome, target FROM audit")
               if e[0] == "appliance.update"]
    assert [e[1] for e in entries].count("refused") == 3 and entries[-1][1] == "ok", entries


def test_root_checks_the_bundle_again_and_reports(tmp_path: Path, keys: dict[str, tuple[Path, Path]]) -> None:
    """A request naming a bundle the release key did not sign (a daemon that was tricked, or
    worse): the root side refuses it before RAUC installs anything, and says so in result.json."""
    updates = tmp_path / "updates"
    updates.mkdir()
    forged = _bundle(tmp_path, "0.21.1", *keys["other"])
    forged.rename(updates / "forged.raucb")
    (updates / REQUEST_NAME).write_text(json.dumps({"bundle": "forged.raucb", "version": "0.21.1", "reboot": "now",
                                                    "requested_by": "user:district"}))
    assert main(["update", "apply", "--request", str(updates / REQUEST_NAME), "--keyring",
                 str(keys["release"][1])]) != 0
    result = json.loads((updates / RESULT_NAME).read_text())
    assert result["state"] == "failed" and "refused" in result["message"], result
    assert sorted(p.name for p in updates.iterdir()) == [RESULT_NAME]  # the request taken, the bundle gone
    # A request pointing outside the updates directory: refused as such.
    (updates / REQUEST_NAME).write_text(json.dumps({"bundle": "../../etc/passwd", "reboot": "now"}))
    assert main(["update", "apply", "--request", str(updates / REQUEST_NAME)]) != 0
    assert "must be a file in" in json.loads((updates / RESULT_NAME).read_text())["message"]


async def test_an_install_cut_by_a_power_loss_does_not_block_the_next(api: Api, config: Config) -> None:
    """result.json says "installing" from before this boot (the box lost power mid-install): a new
    request is taken; one from this boot still gets 409."""
    updates = updates_dir(config)
    updates.mkdir(parents=True)
    (updates / RESULT_NAME).write_text(json.dumps({"state": "installing", "at_wall_ns": 1_000_000_000}))
    status, body = await _post(api, "http://127.0.0.1:9/x.raucb")  # past the busy check: nothing listens there
    assert status == 400 and "cannot download" in str(body["detail"]), body
    (updates / RESULT_NAME).write_text(json.dumps({"state": "installing", "at_wall_ns": time.time_ns()}))
    status, body = await _post(api, "http://127.0.0.1:9/x.raucb")
    assert status == 409, body
