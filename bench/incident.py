"""Incident mode, end to end against the running daemon recording simulated cameras: from the
declaring request (POST /api/incidents) to the dispatch webhook received by a loopback receiver
AND the responder link usable (GET /l/<token> from the delivered body answers 303 with its
cookie, and a GET of /api/incidents/{id}/door_events with that cookie answers 200). Each run
ends its incident (and waits for the `ended` delivery) before the next.

The peer, measured interleaved: the same signed body POSTed straight to the same receiver from
this process, plus GET /api/health (the floor of a daemon round trip); the ratio says what the
declaration's transaction, the outbox and the worker's wake-up add on top of the transport.

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/incident.py --runs 20'

Exit 0 = measured and the median is within --max-ms (500), 1 = over, 2 = could not measure."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from procstat import BenchError, SimCameras, child_env, log, stop, workdir
from vigil.core.webhook_auth import sign

SECRET = "bench-dispatch-secret-0123"  # noqa: S105 (the bench receiver's, on loopback)
CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
[http]
listen = "127.0.0.1:{port}"
tls = false
public_url = "http://127.0.0.1:{port}"
[[buildings]]
id = "hs"
name = "High School"
{cameras}
[incidents]
lookback_s = 60
tail_s = 0
[[incidents.webhooks]]
name = "dispatch"
url = "http://127.0.0.1:{hook_port}/hook"
secret = "{secret}"
timeout_s = 2
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """The dispatch centre: an aiohttp server on a thread; records each body and when it arrived."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: list[tuple[float, bytes]] = []
        self.cond = threading.Condition()
        ready = threading.Event()

        async def hook(request: web.Request) -> web.Response:
            body = await request.read()
            with self.cond:
                self.arrivals.append((time.perf_counter(), body))
                self.cond.notify_all()
            return web.Response(text="ok")

        def serve() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/hook", hook)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        if not ready.wait(10):
            raise BenchError("the receiver did not start")

    def wait_for(self, count: int, timeout_s: float) -> tuple[float, bytes]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.arrivals) >= count, timeout_s):
                raise BenchError(f"webhook {count} did not arrive within {timeout_s} s")
            return self.arrivals[count - 1]


def _vigil(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", *args], input=stdin, capture_output=True, text=True,
                          env=child_env(), check=False, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"vigil {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def _call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
          body: Any = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn.request(method, path, None if body is None else json.dumps(body), headers)
    response = conn.getresponse()
    return response.status, response.read(), response


def _signed_post(port: int, body: bytes) -> float:
    """The peer: the same kind of signed POST, straight to the receiver (a fresh connection, as
    the daemon's first delivery to a host makes)."""
    start = time.perf_counter()
    ts = str(int(time.time()))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/hook", body, {"Content-Type": "application/json", "Vigil-Timestamp": ts,
                                         "Vigil-Signature": sign(SECRET, ts, body)})
    conn.getresponse().read()
    conn.close()
    return (time.perf_counter() - start) * 1000


def measure(runs: int, cameras: int, tmp: Path) -> dict[str, list[float]]:
    port, hook_port = _port(), _port()
    sims = SimCameras([f"name=cam{i},width=320,height=240,fps=10" for i in range(cameras)], tmp / "cameras.log")
    try:
        camera_lines = "\n".join(f'[[cameras]]\nid = "cam{i}"\nbuilding = "hs"\nurl = "{url}"'
                                 for i, url in enumerate(sims.urls))
        config = tmp / "vigil.toml"
        config.write_text(CONFIG.format(data=tmp / "data", port=port, cameras=camera_lines, hook_port=hook_port,
                                        secret=SECRET))
        _vigil("user", "add", "chief", "--role", "district_admin", "--password-stdin", "--config", str(config),
               stdin="a long enough password\n")
        auth = {"Authorization": f"Bearer {_vigil('token', 'create', 'chief', '--config', str(config))}",
                "Content-Type": "application/json"}
        receiver = Receiver(hook_port)
        with (tmp / "vigil.log").open("wb") as daemon_log:
            proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(config)], env=child_env(),
                                    stdout=subprocess.DEVNULL, stderr=daemon_log)
            try:
                return _runs(runs, port, hook_port, auth, receiver)
            finally:
                if stop(proc, 30) != 0:
                    raise BenchError("the daemon did not stop cleanly")
    finally:
        sims.close()


def _runs(runs: int, port: int, hook_port: int, auth: dict[str, str], receiver: Receiver) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + 30
    while True:
        try:
            if _call(conn, "GET", "/api/health", auth)[0] == 200:
                break
        except (OSError, http.client.HTTPException):
            conn.close()
        if time.monotonic() > deadline:
            raise BenchError("the daemon did not answer")
        time.sleep(0.2)
    time.sleep(3)  # let the cameras connect and record a first segment
    out: dict[str, list[float]] = {"total": [], "post": [], "webhook": [], "link": [], "peer_post": [],
                                   "health": []}
    received = 0
    for run in range(runs):
        t0 = time.perf_counter()
        status, data, _ = _call(conn, "POST", "/api/incidents", auth, {"building": "hs", "reason": f"bench {run}"})
        t_post = time.perf_counter()
        if status != 201:
            raise BenchError(f"POST /api/incidents: {status} {data[:200]!r}")
        incident_id = json.loads(data)["incident"]["id"]
        received += 1
        t_hook, body = receiver.wait_for(received, 10)
        delivered = json.loads(body)
        if delivered.get("incident") != incident_id or delivered.get("type") != "vigil.incident.declared":
            raise BenchError(f"unexpected delivery {delivered}")
        link_path = str(delivered["link"]).removeprefix(f"http://127.0.0.1:{port}")
        status, _, response = _call(conn, "GET", link_path, {})
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        if status != 303 or not cookie:
            raise BenchError(f"GET /l/<token>: {status}")
        status, data, _ = _call(conn, "GET", f"/api/incidents/{incident_id}/door_events", {"Cookie": cookie})
        t_end = time.perf_counter()
        if status != 200:
            raise BenchError(f"door_events with the link's cookie: {status} {data[:200]!r}")
        out["total"].append((t_end - t0) * 1000)
        out["post"].append((t_post - t0) * 1000)
        out["webhook"].append((t_hook - t0) * 1000)
        out["link"].append((t_end - max(t_hook, t_post)) * 1000)
        # The peer, interleaved: a signed POST straight to the receiver, and the daemon's floor.
        received += 1
        out["peer_post"].append(_signed_post(hook_port, body))
        receiver.wait_for(received, 10)
        h0 = time.perf_counter()
        _call(conn, "GET", "/api/health", auth)
        out["health"].append((time.perf_counter() - h0) * 1000)
        status, data, _ = _call(conn, "POST", f"/api/incidents/{incident_id}/end", auth, {"note": "bench over"})
        if status != 200:
            raise BenchError(f"ending incident {incident_id}: {status} {data[:200]!r}")
        received += 1
        receiver.wait_for(received, 10)  # the `ended` delivery, before the next run
        log(f"run {run + 1}/{runs}: {out['total'][-1]:.1f} ms")
    conn.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--max-ms", type=float, default=500.0, help="target for the median, declaration to usable")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    try:
        with workdir(args.keep, "vigil-bench-incident-") as tmp:
            result = measure(args.runs, args.cameras, tmp)
    except BenchError as error:
        print(f"could not measure: {error}", file=sys.stderr)
        return 2
    med = {name: statistics.median(values) for name, values in result.items()}
    print(f"{'step (median of ' + str(args.runs) + ' runs)':44} {'ms':>8} {'p90 ms':>8}")
    for name, label in (("post", "POST /api/incidents answered"), ("webhook", "webhook received"),
                        ("link", "then link opened + door_events read"), ("total", "declaration to usable (total)"),
                        ("peer_post", "peer: signed POST straight to receiver"),
                        ("health", "peer: GET /api/health")):
        values = sorted(result[name])
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"{label:44} {med[name]:8.1f} {p90:8.1f}")
    ratios = [t / (p + h) for t, p, h in zip(result["total"], result["peer_post"], result["health"], strict=True)]
    print(f"total / (peer POST + health), median of per-run ratios: {statistics.median(ratios):.1f}")
    return 0 if med["total"] <= args.max_ms else 1


if __name__ == "__main__":
    sys.exit(main())
