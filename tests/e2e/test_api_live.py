"""The API of the real daemon over real TLS: certificate, plain-HTTP refusal, snapshots from a
real camera, and a schemathesis fuzz run generated from the OpenAPI document."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config
from vigil.api.openapi import openapi_document
from vigil.api.routes import ROUTES


class Live:
    def __init__(self, base_url: str, token: str, ca: Path) -> None:
        self.base_url, self.token, self.ca = base_url, token, ca

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes, str]:
        status, body, headers = call(self.base_url + path, headers={"Authorization": f"Bearer {token or self.token}"},
                                     cafile=self.ca, timeout_s=10)
        return status, body, str(headers["Content-Type"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    port = free_port()
    with CameraServer("name=a,width=320,height=240,fps=15,gop=15,bitrate=300") as cams:
        config = write_config(tmp, {"hs-cam": cams.url("a")}, f'[http]\nlisten = "127.0.0.1:{port}"')
        added = vigil_stdin("fuzzing admin password\n", "user", "add", "root-admin", "--role", "district_admin",
                            "--password-stdin", "--config", str(config))
        assert added.returncode == 0, added.stderr
        token = run_vigil("token", "create", "root-admin", "--config", str(config)).stdout.strip()
        vigil = VigilProcess(config)
        try:
            ca = tmp / "data" / "tls" / "cert.pem"
            wait_for(ca.exists, 20, "the self-signed certificate")
            live = Live(f"https://127.0.0.1:{port}", token, ca)
            wait_for(lambda: live.get("/api/health")[0] == 200, 20, "the API")
            yield live
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
        assert token not in vigil.log


def test_https_with_generated_certificate_and_snapshot(live: Live) -> None:
    status, body, content_type = live.get("/api/health")
    assert status == 200 and b'"version"' in body and content_type.startswith("application/json")
    wait_for(lambda: live.get("/api/cameras/hs-cam/snapshot.jpg")[0] == 200, 20, "a snapshot")
    status, jpeg, content_type = live.get("/api/cameras/hs-cam/snapshot.jpg")
    assert content_type == "image/jpeg" and jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    assert live.get("/api/health", token="vigil_t_forged")[0] == 401


def test_plain_http_to_the_https_port_is_refused(live: Live) -> None:
    port = int(live.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + live.token.encode()
                    + b"\r\n\r\n")
        try:
            answer = raw.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/"), answer[:80]


@schemathesis.serializer("application/sdp")
def _sdp(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """WHEP offers are text; fuzzed ones are whatever string the schema allows."""
    return str(value).encode()


@schemathesis.serializer("image/png")
def _png(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Plan uploads are image bytes; fuzzed ones are whatever the schema allows (and get 415)."""
    return value if isinstance(value, bytes) else str(value).encode()


# The alert stream never ends by itself (tests/e2e/test_doors_live.py reads it).
schema = schemathesis.openapi.from_dict(openapi_document(ROUTES)).exclude(path="/api/alerts")
# Revoking API tokens by id would revoke the fuzzer's own (id 1) and leave every later case a 401
# (tests/unit/api/test_admin_api.py covers the route).
schema = schema.exclude(method="DELETE", path="/api/tokens/{token_id}")
# Camera setup: a discovery listens up to 10 s per case, and a probe of an unreachable device answers 502 by
# contract (device-rooted), which the fuzzer's server-error check would flag; both are covered with real
# devices by tests/integration/camera_setup/. Scans stay in (200, 400 or 403).
schema = schema.exclude(method="POST", path="/api/setup/discover").exclude(method="POST", path="/api/setup/probe")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_no_server_errors_and_schema_conformance(case: schemathesis.Case[Any], live: Live) -> None:
    # Every check but "schema-valid data must be accepted": ids must name configured cameras and
    # durations stay under the configured maximum, which a schema cannot say.
    case.call_and_validate(base_url=live.base_url, headers={"Authorization": f"Bearer {live.token}"},
                           verify=str(live.ca), excluded_checks=[positive_data_acceptance])
