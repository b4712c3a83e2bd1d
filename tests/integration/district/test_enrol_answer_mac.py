"""The first contact with a hub cannot check its TLS certificate, so an enrolment answer is taken
only with the code's MAC: a server that answers without it, or with a MAC under another code, is
refused and nothing is written. (The real hub always answers with the right MAC: this stand-in
is the only way to get a wrong one.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from vigil.api.tls import ensure_self_signed, server_context
from vigil.config import parse_config
from vigil.config.live import LiveConfig
from vigil.core.district import ENROL_ANSWER, enrol_mac, make_enrol_code
from vigil.core.errors import PermissionDeniedError
from vigil.services import enrolment
from vigil.services.caller import cli_caller
from vigil.services.env import ServiceEnv
from vigil.store.index import Index

CODE = make_enrol_code(bytes(range(15)))
OTHER = make_enrol_code(bytes(range(1, 16)))
ANSWER = json.dumps({"hub_id": "h", "hub_name": "H", "hub_url": "https://h.example", "token_public_key": "x",
                     "ca_pem": "-----BEGIN CERTIFICATE-----", "cert_pem": "-----BEGIN CERTIFICATE-----",
                     "broker_host": "h", "broker_port": 8883, "site_id": "s"}).encode()


@pytest.fixture(params=["none", "other code"])
async def stand_in(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async def enrol(_: web.Request) -> web.Response:
        headers = {} if request.param == "none" else {"Vigil-Enrol-Mac": enrol_mac(OTHER, ENROL_ANSWER, ANSWER)}
        return web.Response(body=ANSWER, content_type="application/json", headers=headers)

    app = web.Application()
    app.router.add_post("/api/enrol", enrol)
    cert, key = ensure_self_signed(tmp_path / "stand-in-tls")  # not checked at first contact: any will do
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=server_context(cert, key))
    yield f"https://127.0.0.1:{server.port}"
    await server.close()


async def test_an_answer_without_the_codes_mac_is_refused(tmp_path: Path, stand_in: str) -> None:
    config = parse_config(f'[storage]\npath = "{tmp_path / "data"}"\n[district]\nbridge_conf_path = '
                          f'"{tmp_path / "b.conf"}"\n', tmp_path / "v.toml")
    index = Index.open(config.storage.index_path, 0)
    env = ServiceEnv(LiveConfig(config), index)
    try:
        with pytest.raises(PermissionDeniedError, match="MAC"):
            await enrolment.enroll(env, cli_caller(0), enrolment.EnrolRequest(
                stand_in, CODE.text, None, "https://school.example"))
        assert not (tmp_path / "data/keys/district").exists() or not any((tmp_path / "data/keys/district").iterdir())
        assert not (tmp_path / "b.conf").exists()
        assert [e.outcome for e in env.audit.entries() if e.action == "district.enroll"] == ["failed"]
    finally:
        env.close()
        index.close()
