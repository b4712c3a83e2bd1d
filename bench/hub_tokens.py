"""The hub's share of "one sign-in": p50/p99 of a token request (POST /api/sites/{id}/token: a
write transaction with its audit entry and an Ed25519 signature) and of a site's renewal over
mTLS (POST /api/site/tokens with the site certificate), side by side with the peer GET /api/me
(the same session lookup and TLS, no write, no signature), against one running `vigil hub run`.

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/hub_tokens.py --rounds 5'

A round starts a fresh hub (its own data directory: keys, a district admin, one enrolled site),
then `--clients` threads, each on its own keep-alive HTTPS connection, send the three requests in
turn every `--interval-ms` (paced: a stall shows as latency), `--requests` of each per client
after 10 warm-up ones. Reported: medians over rounds of each round's p50 and p99 (ms), the median
of the per-round p50 ratios against /api/me, and how many answers were not 200. Exit 0 = measured,
2 = could not measure."""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from procstat import BenchError, child_env, log, stop, workdir  # noqa: E402 (bench/ is the script's directory)
from vigil.core.district import ENROL_REQUEST, enrol_mac, parse_enrol_code  # noqa: E402

PASSWORD = "a long enough password"  # noqa: S105 (the bench's own throwaway user)
REQUESTS = ("me", "token", "renew")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vigil(config: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", "hub", *args, "--config", str(config)], input=stdin,
                          capture_output=True, text=True, env=child_env(), timeout=120, check=False)
    if done.returncode != 0:
        raise BenchError(f"vigil hub {args[0]}: {done.stderr}")
    return done.stdout


class Conn:
    def __init__(self, port: int, ctx: ssl.SSLContext) -> None:
        self.http = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)

    def call(self, method: str, path: str, body: dict[str, object] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        self.http.request(method, path, data, all_headers | (headers or {}))
        response = self.http.getresponse()
        return response.status, response.read(), response


def _round(tmp: Path, clients: int, requests: int, interval_s: float) -> tuple[dict[str, list[float]], int]:
    """Each request's latencies (ms) and how many answers were not 200."""
    port = _free_port()
    config = tmp / "hub.toml"
    config.write_text(f'[hub]\nid = "bench"\nname = "Bench"\ndata = "{tmp / "data"}"\n'
                      f'public_url = "https://localhost:{port}"\nlisten_host = "127.0.0.1"\nport = {port}\n')
    _vigil(config, "user", "add", "admin", "--role", "district_admin", "--password-stdin", stdin=PASSWORD + "\n")
    code = parse_enrol_code(_vigil(config, "enroll", "s1", "--name", "Site").split(": ", 1)[1].split()[0])
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "hub", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=(tmp / "hub.log").open("ab"), env=child_env())
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"the hub did not start: {(tmp / 'hub.log').read_text()}") from None
                time.sleep(0.1)
        ca = tmp / "data" / "keys" / "ca.crt"
        plain = ssl.create_default_context(cafile=str(ca))
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(
            NameOID.COMMON_NAME, "s1")])).sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        enrol = {"code_id": code.code_id, "site_id": "s1", "csr_pem": csr.decode(), "url": "https://s1.example",
                 "evidence_key": None}
        raw = json.dumps(enrol).encode()
        conn = Conn(port, plain)
        conn.http.request("POST", "/api/enrol", raw, {"Content-Type": "application/json",
                                                      "Vigil-Enrol-Mac": enrol_mac(code, ENROL_REQUEST, raw)})
        answer = conn.http.getresponse()
        if answer.status != 200:
            raise BenchError(f"enrolment: {answer.status} {answer.read()!r}")
        (tmp / "site.crt").write_text(json.loads(answer.read())["cert_pem"])
        (tmp / "site.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
        mtls = ssl.create_default_context(cafile=str(ca))
        mtls.load_cert_chain(str(tmp / "site.crt"), str(tmp / "site.key"))
        status, body, response = conn.call("POST", "/api/session", {"name": "admin", "password": PASSWORD})
        if status != 200:
            raise BenchError(f"sign-in: {status} {body!r}")
        session = {"Cookie": response.headers["Set-Cookie"].split(";")[0],
                   "X-CSRF-Token": json.loads(body)["csrf_token"]}
        times: dict[str, list[float]] = {name: [] for name in REQUESTS}
        failures: list[str] = []
        lock = threading.Lock()

        def client() -> None:
            browser, site = Conn(port, plain), Conn(port, mtls)
            calls = {"me": lambda: browser.call("GET", "/api/me", None, session),
                     "token": lambda: browser.call("POST", "/api/sites/s1/token", {}, session),
                     "renew": lambda: site.call("POST", "/api/site/tokens", {"user": "admin", "token_id": "x"})}
            next_s = time.monotonic()
            for i in range(10 + requests):
                for name in REQUESTS:
                    next_s += interval_s
                    time.sleep(max(0.0, next_s - time.monotonic()))
                    start = time.perf_counter()
                    status, _, _ = calls[name]()
                    elapsed_ms = (time.perf_counter() - start) * 1000
                    with lock:
                        if status != 200:
                            failures.append(f"{name} {status}")
                        if i >= 10:
                            times[name].append(elapsed_ms)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return times, len(failures)
    finally:
        if stop(proc, 30) != 0:
            raise BenchError(f"the hub exited {proc.returncode}: {(tmp / 'hub.log').read_text()}")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100, help="of each kind, per client and round")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    rounds: list[dict[str, list[float]]] = []
    failed = 0
    try:
        with workdir(args.keep, "vigil-bench-hub-") as tmp:
            for n in range(args.rounds):
                log(f"round {n + 1}/{args.rounds}")
                (tmp / str(n)).mkdir()
                times, failures = _round(tmp / str(n), args.clients, args.requests, args.interval_ms / 1000)
                rounds.append(times)
                failed += failures
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    print("| request | p50 ms | p99 ms | p50 / me p50 | not 200 |")
    print("|---|---:|---:|---:|---:|")
    for name in REQUESTS:
        p50 = statistics.median(_p(r[name], 0.5) for r in rounds)
        p99 = statistics.median(_p(r[name], 0.99) for r in rounds)
        ratio = statistics.median(_p(r[name], 0.5) / _p(r["me"], 0.5) for r in rounds)
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {ratio:.2f} | {failed if name == 'me' else ''} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
