"""What a district hub token costs the appliance per request (issue 17): `GET /api/cameras` with a
hub token as the bearer token (services/district.py: hub.json read, Ed25519 signature checked, the
token's policy, the shadow user looked up) against the same request with a local API token (one
SHA-256 lookup), interleaved on one keep-alive TLS connection each, against the running daemon
(tests/support/webapp.py: three simulated cameras recording); also `POST /api/district/session`
(a fresh token per sign-in: verified, recorded, shadow user upserted, session and audit entry in
one transaction) against `POST /api/login` (Argon2id) as its peer.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo && \\
        exec .venv/bin/python bench/district_auth.py --requests 300 --rounds 3'

Reported: medians over rounds of each round's median and p90 (ms), and the median of the per-round
ratios hub/peer. Exit 0 = measured, 2 = could not measure."""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.district import enrol_test_hub, hub_token
from tests.support.webapp import PASSWORD, WebApp, running_webapp

from vigil.core.permissions import Role


def _connection(web: WebApp) -> http.client.HTTPSConnection:
    host, port = web.base.removeprefix("https://").split(":")
    return http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=str(web.ca)),
                                       timeout=30)


def _timed(conn: http.client.HTTPSConnection, method: str, path: str, headers: dict[str, str],
           body: bytes | None = None) -> float:
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status}")
    return elapsed


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def _round(web: WebApp, requests: int, hub: Callable[[], dict[str, str]]) -> dict[str, list[float]]:
    a, b = _connection(web), _connection(web)
    local = {"Authorization": f"Bearer {web.token('district')}"}
    times: dict[str, list[float]] = {"api token": [], "hub token": []}
    hub_headers = hub()
    for i in range(requests):  # interleaved, the order alternating
        pairs = [("api token", a, local), ("hub token", b, hub_headers)]
        for name, conn, headers in pairs if i % 2 else reversed(pairs):
            times[name].append(_timed(conn, "GET", "/api/cameras", headers))
    a.close()
    b.close()
    return times


def _sign_ins(web: WebApp, count: int, key: object) -> dict[str, list[float]]:
    conn = _connection(web)
    times: dict[str, list[float]] = {"district session": [], "password login": []}
    json_type = {"Content-Type": "application/json"}
    for _ in range(count):
        token = hub_token(key, time.time_ns(), role=Role.VIEWER, buildings=("hs",))  # type: ignore[arg-type]
        times["district session"].append(_timed(conn, "POST", "/api/district/session", json_type,
                                                json.dumps({"token": token}).encode()))
        times["password login"].append(_timed(conn, "POST", "/api/login", json_type,
                                              json.dumps({"name": "hs-viewer", "password": PASSWORD}).encode()))
    conn.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sign-ins", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with running_webapp(Path(tmp)) as web:
                key = enrol_test_hub(Path(tmp) / "data")

                def hub_headers() -> dict[str, str]:
                    token = hub_token(key, time.time_ns(), role=Role.BUILDING_ADMIN, buildings=("hs",),
                                      lifetime_s=900)
                    return {"Authorization": f"Bearer {token}"}

                rounds = [_round(web, args.requests, hub_headers) for _ in range(args.rounds)]
                sign_ins = [_sign_ins(web, args.sign_ins, key) for _ in range(args.rounds)]
        except (RuntimeError, OSError, AssertionError) as error:
            print(f"could not measure: {error}", file=sys.stderr)
            return 2
    for title, data, peer, subject in (("GET /api/cameras", rounds, "api token", "hub token"),
                                       ("sign-in", sign_ins, "password login", "district session")):
        print(f"{title} ({args.rounds} rounds)")
        for name in (subject, peer):
            p50 = statistics.median(statistics.median(r[name]) for r in data)
            p90 = statistics.median(_p90(r[name]) for r in data)
            print(f"  {name:17} median {p50:6.2f} ms   p90 {p90:6.2f} ms")
        ratio = statistics.median(statistics.median(r[subject]) / statistics.median(r[peer]) for r in data)
        print(f"  {subject} / {peer}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
