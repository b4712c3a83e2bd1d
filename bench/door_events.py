"""Door-event webhook cost against the running daemon: median time of one POST /api/door-events
(a new unflagged event, a new flagged event with its bookmark and hold, a replay) next to GET
/api/health on the same keep-alive connection, the cheapest authenticated request of the same
HTTP stack, measured interleaved so load on the machine hits both sides alike.

    .venv/bin/python bench/door_events.py --events 300

Exit 0 = measured (and a flagged POST stays under --max-ms), 1 = over, 2 = could not measure."""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procstat import BenchError, child_env, stop

CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
[http]
listen = "127.0.0.1:{port}"
tls = false
[[buildings]]
id = "hs"
[[cameras]]
id = "hs-east"
building = "hs"
url = "rtsp://127.0.0.1:1/none"
[[doors]]
id = "east-main"
building = "hs"
cameras = ["hs-east"]
access_points = [{{ source = "bench", id = "reader-7" }}]
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vigil(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", *args], input=stdin, capture_output=True, text=True,
                          env=child_env(), check=False, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"vigil {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def _timed(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
           body: bytes | None, want: int) -> float:
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed_ms = (time.perf_counter() - start) * 1000
    if response.status != want:
        raise BenchError(f"{method} {path}: {response.status}, expected {want}")
    return elapsed_ms


def measure(events: int, tmp: Path) -> dict[str, float]:
    port = _port()
    config = tmp / "vigil.toml"
    config.write_text(CONFIG.format(data=tmp / "data", port=port))
    _vigil("user", "add", "bench", "--role", "door_system", "--password-stdin", "--config", str(config),
           stdin="a long enough password\n")
    _vigil("user", "add", "root", "--role", "district_admin", "--password-stdin", "--config", str(config),
           stdin="a long enough password\n")
    door = {"Authorization": f"Bearer {_vigil('token', 'create', 'bench', '--config', str(config))}",
            "Content-Type": "application/json"}
    root = {"Authorization": f"Bearer {_vigil('token', 'create', 'root', '--config', str(config))}"}
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(config)], env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                _timed(conn, "GET", "/api/health", root, None, 200)
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                if time.monotonic() > deadline:
                    raise BenchError("the daemon did not answer") from None
                time.sleep(0.2)
        samples: dict[str, list[float]] = {"health": [], "granted": [], "denied": [], "replay": []}
        now = time.time()
        for i in range(events):
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 + i * 0.01))
            for kind, name in (("access_granted", "granted"), ("access_denied", "denied")):
                body = json.dumps({"source": "bench", "event_id": f"{name}-{i}", "occurred_at": at, "kind": kind,
                                   "access_point": "reader-7", "credential": f"{10_000_000 + i}"}).encode()
                samples[name].append(_timed(conn, "POST", "/api/door-events", door, body, 201))
            samples["replay"].append(_timed(conn, "POST", "/api/door-events", door, body, 200))
            samples["health"].append(_timed(conn, "GET", "/api/health", root, None, 200))
        conn.close()
    finally:
        if stop(proc, 30) != 0:
            raise BenchError("the daemon did not stop cleanly")
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--max-ms", type=float, default=50.0, help="target for a flagged POST (median)")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(args.events, Path(tmp))
    except BenchError as error:
        print(f"could not measure: {error}", file=sys.stderr)
        return 2
    health = result["health"]
    print(f"{'request':24} {'median ms':>10} {'x GET /api/health':>18}")
    for name, label in (("health", "GET /api/health"), ("granted", "POST new, not flagged"),
                        ("denied", "POST new, flagged"), ("replay", "POST replay")):
        print(f"{label:24} {result[name]:10.2f} {result[name] / health:18.2f}")
    return 0 if result["denied"] <= args.max_ms else 1


if __name__ == "__main__":
    sys.exit(main())
