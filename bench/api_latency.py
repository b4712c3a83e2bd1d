"""API latency while recording: p50/p99 of GET /api/cameras/{id}/timeline and POST /api/holds
against the running daemon, idle and while 16 simulated cameras record, for one or more daemon
source trees measured side by side in the same run (issue 13: the event loop must no longer stall
on SQLite, so p99 under load stays within 2x of idle).

    git worktree add /tmp/vigil-before 0f4786b      # outside the project tree, not committed
    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/api_latency.py \\
        --tree before=/tmp/vigil-before --tree after=. --rounds 5'

Each ``--tree NAME=DIR`` runs ``python -m vigil`` with PYTHONPATH=DIR/daemon (same interpreter and
packages for every tree), each with its own data directory, kept across rounds so the timeline has
recordings to show. One camera server from this tree (GStreamer RTSP replaying a pre-encoded clip,
so the cameras themselves are cheap) serves cam0..cam15 for the whole run. A round measures every
tree in two phases, a fresh daemon each:

* loaded: the 16 cameras enabled; measured once /api/health says all 16 record, after a warm-up;
* idle: the same cameras with ``enabled = false`` (the timeline still serves their recordings).

The order of the trees alternates from round to round (and so does loaded/idle), so drifting load
on the machine (2 shared cores) hits every tree alike. In a phase, ``--clients`` threads, each on
its own keep-alive connection, alternate GET /api/cameras/cam0/timeline (the last 24 h) and POST
/api/holds (one camera of cam1..cam15, an hour-old minute), paced every ``--interval-ms`` per client
(an open loop: a stall shows as latency, not as fewer requests). Both requests are audited by the
daemon, so each one writes to SQLite too.

Reported per tree, request, phase: the median over rounds of each round's p50 and p99 (ms), and the
median over rounds of the loaded/idle p99 ratio of the same round (adjacent phases), and how many
requests got another status than 201/200 (e.g. 503 "index locked"; their time counts in the
latencies). Exit 0 = measured and the last tree's ratios are within ``--max-ratio``, 1 = a ratio
over it, 2 = could not measure (a daemon did not come up, a connection failed)."""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

from procstat import BenchError, SimCameras, child_env, log, stop, workdir  # noqa: E402 (bench/ is the script's directory)
from vigil.sim.clips import make_h264_clip  # noqa: E402

PASSWORD = "a long enough password\n"  # noqa: S105 (the bench's own throwaway user)
REQUESTS = ("timeline", "hold")
MODES = ("idle", "loaded")
READY_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Tree:
    """A daemon source tree under test: NAME=DIR, the daemon's package in DIR/daemon."""

    name: str
    root: Path

    def env(self) -> dict[str, str]:
        env = child_env()
        env["PYTHONPATH"] = str(self.root / "daemon")
        return env


@dataclass
class PhaseResult:
    """One phase's requests of one kind: every latency (ms, answered or not) and how many were not
    the expected status (a 503 "index locked" counts here, and its time in the latencies)."""

    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0


@dataclass
class Samples:
    """Per tree, request and mode: one (p50, p99) in ms per round, and the failed requests."""

    rounds: dict[tuple[str, str, str], list[tuple[float, float]]] = field(default_factory=dict)
    failed: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, tree: str, request: str, mode: str, result: PhaseResult) -> None:
        key = (tree, request, mode)
        self.rounds.setdefault(key, []).append(
            (percentile(result.latencies_ms, 50), percentile(result.latencies_ms, 99)))
        self.failed[key] = self.failed.get(key, 0) + result.failed


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 2nd worst)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def parse_tree(text: str) -> Tree:
    name, sep, path = text.partition("=")
    root = Path(path if sep else name).resolve()
    if not (root / "daemon" / "vigil" / "__main__.py").is_file():
        raise argparse.ArgumentTypeError(f"{root} has no daemon/vigil package")
    return Tree(name if sep else root.name, root)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, data: Path, port: int, urls: list[str], enabled: bool, segment_s: float) -> None:
    lines = ["[storage]", f'path = "{data}"', "min_free_bytes = 0", f"segment_duration_s = {segment_s}",
             "[http]", f'listen = "127.0.0.1:{port}"', "tls = false",
             "[[buildings]]", 'id = "hs"']
    for i, url in enumerate(urls):
        lines += ["[[cameras]]", f'id = "cam{i}"', 'building = "hs"', f'url = "{url}"',
                  f"enabled = {'true' if enabled else 'false'}"]
    path.write_text("\n".join(lines) + "\n")


def vigil_cli(tree: Tree, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", *args], input=stdin, capture_output=True, text=True,
                          env=tree.env(), check=False, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"{tree.name}: vigil {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout.strip()


class Site:
    """One tree's config, data directory and API token, kept for the whole run."""

    def __init__(self, tree: Tree, work: Path, urls: list[str], segment_s: float) -> None:
        self.tree, self.dir, self.urls, self.segment_s = tree, work / tree.name, urls, segment_s
        self.dir.mkdir()
        self.port = free_port()
        self.config = self.dir / "vigil.toml"
        write_config(self.config, self.dir / "data", self.port, urls, False, segment_s)
        c = ("--config", str(self.config))
        vigil_cli(tree, "user", "add", "chief", "--role", "district_admin", "--password-stdin", *c, stdin=PASSWORD)
        self.token = vigil_cli(tree, "token", "create", "chief", *c)
        self.runs = 0

    def start(self, loaded: bool) -> subprocess.Popen[bytes]:
        write_config(self.config, self.dir / "data", self.port, self.urls, loaded, self.segment_s)
        self.runs += 1
        with (self.dir / f"vigil-{self.runs}.log").open("wb") as err:
            return subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(self.config)],
                                    env=self.tree.env(), stdout=subprocess.DEVNULL, stderr=err)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
         body: bytes | None) -> tuple[float, int, Any]:
    """One request on a keep-alive connection: (elapsed ms, status, decoded JSON body)."""
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed_ms = (time.perf_counter() - start) * 1000
    return elapsed_ms, response.status, json.loads(data) if data else None


def recording_now(site: Site) -> int | None:
    """How many cameras /api/health says record, or None if it does not answer 200."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    try:
        _, status, health = call(conn, "GET", "/api/health", site.headers(), None)
        return int(health["cameras"]["recording"]) if status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def wait_ready(site: Site, proc: subprocess.Popen[bytes], recording: int) -> None:
    """Until /api/health answers and says `recording` cameras record (on 2 busy cores a camera can
    miss its connection timeout and come back after a back-off: the second half of the wait takes
    all but one)."""
    start = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{site.tree.name}: the daemon exited ({proc.returncode}); see {site.dir}")
        now = recording_now(site)
        waited_s = time.monotonic() - start
        if now is not None and (now >= recording or (waited_s > READY_TIMEOUT_S / 2 and now >= recording - 1)):
            return
        if waited_s > READY_TIMEOUT_S:
            raise BenchError(f"{site.tree.name}: {now} of {recording} cameras recording after {READY_TIMEOUT_S} s")
        time.sleep(0.5)


def iso(t_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_s))


def hold_body(n: int, cameras: int) -> bytes:
    """Hold request `n`: a minute an hour ago, on one of cam1..cam{cameras-1} (never the timeline's cam0)."""
    start_s = time.time() - 3600 + n % 60
    return json.dumps({"cameras": [f"cam{1 + n % (cameras - 1)}"], "start": iso(start_s), "end": iso(start_s + 60),
                       "reason": "bench", "case_id": f"bench-{n}"}).encode()


def load(site: Site, clients: int, per_client: int, interval_ms: float, cameras: int) -> dict[str, PhaseResult]:
    """`clients` threads, each alternating timeline/hold every `interval_ms`: the latencies per request."""
    out = {r: PhaseResult() for r in REQUESTS}
    errors: list[BaseException] = []
    lock = threading.Lock()
    begin = time.perf_counter() + 0.2

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
        mine = {r: PhaseResult() for r in REQUESTS}
        try:
            for i in range(per_client):
                due = begin + (i + k / clients) * interval_ms / 1000  # clients staggered over an interval
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                if i % 2 == 0:
                    request, want = "timeline", 200
                    ms, status, _ = call(conn, "GET", "/api/cameras/cam0/timeline", site.headers(), None)
                else:
                    request, want = "hold", 201
                    ms, status, _ = call(conn, "POST", "/api/holds", site.headers(),
                                         hold_body(k * per_client + i, cameras))
                mine[request].latencies_ms.append(ms)
                mine[request].failed += status != want
        except (OSError, http.client.HTTPException, ValueError) as error:
            with lock:
                errors.append(error)
        finally:
            conn.close()
        with lock:
            for r in REQUESTS:
                out[r].latencies_ms.extend(mine[r].latencies_ms)
                out[r].failed += mine[r].failed

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(f"{site.tree.name}: {errors[0]}")
    return out


def phase(site: Site, loaded: bool, args: argparse.Namespace) -> dict[str, PhaseResult]:
    proc = site.start(loaded)
    try:
        wait_ready(site, proc, args.cameras if loaded else 0)
        time.sleep(args.warmup_s)
        load(site, args.clients, 10, args.interval_ms, args.cameras)  # warm-up requests, not counted
        result = load(site, args.clients, args.requests, args.interval_ms, args.cameras)
        log(f"  {recording_now(site)} cameras recording at the end; failed requests: "
            + ", ".join(f"{r} {result[r].failed}" for r in REQUESTS))
        return result
    finally:
        if stop(proc, 30) != 0:
            raise BenchError(f"{site.tree.name}: the daemon did not stop cleanly; see {site.dir}")


def report(samples: Samples, trees: list[Tree], max_ratio: float) -> bool:
    """Print the table; True when the last tree's p99 ratios are within `max_ratio`."""
    print(f"{'tree':12} {'request':9} {'idle p50':>9} {'idle p99':>9} {'load p50':>9} {'load p99':>9}"
          f" {'p99 load/idle':>14} {'failed':>7}   (ms, medians over rounds; failed: all rounds, idle+load)")
    ok = True
    for tree in trees:
        for request in REQUESTS:
            idle = samples.rounds[(tree.name, request, "idle")]
            loaded = samples.rounds[(tree.name, request, "loaded")]
            ratio = statistics.median(lo[1] / id_[1] for lo, id_ in zip(loaded, idle, strict=True))
            med = [statistics.median(x[i] for x in s) for s in (idle, loaded) for i in (0, 1)]
            failed = sum(samples.failed[(tree.name, request, m)] for m in MODES)
            print(f"{tree.name:12} {request:9} {med[0]:9.1f} {med[1]:9.1f} {med[2]:9.1f} {med[3]:9.1f}"
                  f" {ratio:14.2f} {failed:7d}")
            if tree == trees[-1] and ratio > max_ratio:
                ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=parse_tree, action="append", dest="trees",
                        help="NAME=DIR, a source tree with daemon/vigil (repeat; default: this one); the last "
                             "one is checked against --max-ratio")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100, help="per client and phase (half of each request)")
    parser.add_argument("--interval-ms", type=float, default=50.0, help="between one client's requests")
    parser.add_argument("--warmup-s", type=float, default=5.0, help="after the cameras record, before measuring")
    parser.add_argument("--segment-s", type=float, default=10.0, help="storage.segment_duration_s")
    parser.add_argument("--max-ratio", type=float, default=2.0, help="target: p99 loaded/idle")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    trees: list[Tree] = args.trees or [Tree("this", ROOT)]
    if len({t.name for t in trees}) != len(trees):
        parser.error("tree names must differ")
    samples = Samples()
    try:
        with workdir(args.keep, "vigil-bench-api-") as work:
            log("encoding the camera clip")
            clip = make_h264_clip(work / "clip.mp4", 1280, 720, 15, 10.0, 15, 1500)
            cams = SimCameras.from_clip(clip, args.cameras, work / "camsim.log")
            try:
                sites = {t.name: Site(t, work, cams.urls, args.segment_s) for t in trees}
                for r in range(args.rounds):
                    order = trees if r % 2 == 0 else trees[::-1]
                    for tree in order:
                        modes = (True, False) if r % 2 == 0 else (False, True)
                        for loaded in modes:
                            mode = "loaded" if loaded else "idle"
                            log(f"round {r + 1}/{args.rounds}: {tree.name} {mode}")
                            for request, values in phase(sites[tree.name], loaded, args).items():
                                samples.add(tree.name, request, mode, values)
            finally:
                cams.close()
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    return 0 if report(samples, trees, args.max_ratio) else 1


if __name__ == "__main__":
    sys.exit(main())
