"""The district hub hearing its sites: the delay from a site's publish to the event stored at the
hub, with `--sites` simulated sites publishing `--rate` door events per second each for
`--seconds`, next to a plain `mosquitto_sub` on the same broker (the peer: delivery alone).

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/district.py \
        [--sites 50] [--rate 10] [--seconds 30]'

The district broker is mosquitto configured like `vigil hub broker-config` (TLS, client
certificates required, the certificate's CN as user name, core.district.broker_acl). This process
simulates the sites: one aiomqtt client per site, each with its own site certificate (CN = the
site id, so the ACL lets it write only `vigil/<site>/#`), publishing QoS 1 at a fixed pace; each
message carries its publish time. The hub is a child process running the real ingest
(hub/ingest.py `Ingest`, the part of `vigil hub run` that hears the sites) on a hub database with
the sites enrolled; a message listener notes when each event was stored (after the commit). The
peer, `mosquitto_sub -F '%U %p'` with the hub's certificate (another client id), notes when it
got each one. Reported: delay p50/p99 for both and their ratio, the hub child's CPU (% of one
core) and RSS over the publishing window, and checks (every event stored once, none lost by the
peer). Exit 0 = measured, 2 = could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402
from tests.support.district_net import DistrictPki, HubBroker, enrol_site_row, hub_env  # noqa: E402
from tests.support.http_call import free_port  # noqa: E402

from procstat import BenchError, cpu_ticks, log, stop, ticks_between, workdir  # noqa: E402
from vigil.core.district import SiteMessage, SiteTopic, hub_topic, message_bytes  # noqa: E402
from vigil.hub.ingest import Ingest  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


# --- the hub child ---------------------------------------------------------------------------------

def hub_child(spec_path: Path) -> int:
    """Run the hub's ingest until SIGTERM; then write [(pub_ns, stored_ns)] to spec["out"]."""
    spec = json.loads(spec_path.read_text())
    pki = DistrictPki.load(Path(spec["pki"]))
    env = hub_env(Path(spec["dir"]), pki, int(spec["port"]))
    for site in spec["sites"]:
        enrol_site_row(env, site, f"School {site}")
    stored: list[tuple[int, int]] = []
    env.message_listeners.append(lambda e: stored.append((int(e["data"]["pub_ns"]), time.time_ns())))

    async def main() -> None:
        task = asyncio.create_task(Ingest(env).run())
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        await stopping.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    Path(spec["out"]).write_text(json.dumps(stored))
    env.db.close()
    env.close()
    return 0


# --- the sites -----------------------------------------------------------------------------------------

async def run_site(site: str, pki: DistrictPki, port: int, rate: float, seconds: float, start_at: float) -> int:
    files = pki.issue(site)
    tls = ssl.create_default_context(cafile=str(pki.ca_cert))
    tls.load_cert_chain(str(files.cert), str(files.key))
    boot, sent = str(uuid.uuid4()), 0
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"bench-{site}", tls_context=tls, timeout=30) as client:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start_at - loop.time()))
        total = round(rate * seconds)
        for n in range(total):
            await asyncio.sleep(max(0.0, start_at + n / rate - loop.time()))
            pub_ns = time.time_ns()
            body = {"id": n + 1, "door": "d1", "building": "b1", "kind": "access_denied", "flag": "denied",
                    "pub_ns": pub_ns}
            message = SiteMessage(SiteTopic.DOOR_EVENT, site, boot, n + 1, pub_ns, body)
            await client.publish(hub_topic(site, SiteTopic.DOOR_EVENT), message_bytes(message), qos=1)
            sent += 1
    return sent


async def run_sites(sites: list[str], pki: DistrictPki, port: int, rate: float, seconds: float) -> int:
    start_at = asyncio.get_running_loop().time() + 3.0  # every client connected first
    counts = await asyncio.gather(*(run_site(s, pki, port, rate, seconds, start_at + i / len(sites) / rate)
                                    for i, s in enumerate(sites)))
    return sum(counts)


# --- the run -------------------------------------------------------------------------------------------

def stored_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
        return int(c.execute("SELECT COUNT(*) FROM site_messages").fetchone()[0])


def measure(args: argparse.Namespace, work: Path) -> dict[str, object]:
    sites = [f"s{n:02d}" for n in range(1, args.sites + 1)]
    pki = DistrictPki(work / "pki")
    port = free_port()
    broker = HubBroker(work / "broker", port, pki, tuple(sites), ()).start()
    hub_files = pki.issue("hub")
    spec = {"pki": str(pki.dir), "dir": str(work / "hub"), "port": port, "sites": sites,
            "out": str(work / "stored.json")}
    (work / "spec.json").write_text(json.dumps(spec))
    peer_out = (work / "peer.txt").open("wb")
    peer = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "--cafile", str(pki.ca_cert),
                             "--cert", str(hub_files.cert), "--key", str(hub_files.key), "-i", "bench-peer",
                             "-q", "1", "-t", "vigil/+/door_event", "-F", "%U %p"], stdout=peer_out,
                            stderr=subprocess.DEVNULL)
    hub_log = (work / "hub.log").open("wb")
    hub = subprocess.Popen([sys.executable, __file__, "--hub-child", str(work / "spec.json")], stdout=hub_log,
                           stderr=hub_log)
    try:
        deadline = time.monotonic() + 30
        while not (work / "hub" / "hub.sqlite3").exists() or time.monotonic() < deadline - 27:
            if hub.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the hub child did not start: {(work / 'hub.log').read_text()[-2000:]}")
            time.sleep(0.2)
        time.sleep(2)  # its session and subscription in place
        log(f"{len(sites)} sites x {args.rate}/s for {args.seconds} s into the district broker on port {port}")
        rss_peak = 0
        sent_box: list[int] = []
        window: list[tuple[float, dict[int, int], dict[int, int]]] = []

        async def publish_and_sample() -> None:
            publishing = asyncio.create_task(run_sites(sites, pki, port, args.rate, args.seconds))
            await asyncio.sleep(3.0)  # the clients connect; the publishing starts now (run_sites)
            window.append((time.monotonic(), cpu_ticks([hub.pid]), cpu_ticks([broker_pid])))
            nonlocal rss_peak
            while not publishing.done():
                rss_peak = max(rss_peak, rss_kib(hub.pid))
                await asyncio.wait({publishing}, timeout=1.0)
            sent_box.append(publishing.result())

        broker_pid = broker.proc.pid if broker.proc else 0
        asyncio.run(publish_and_sample())
        started, before, broker_before = window[0]
        window_s = time.monotonic() - started
        after, broker_after = cpu_ticks([hub.pid]), cpu_ticks([broker_pid])
        sent = sent_box[0]
        deadline = time.monotonic() + 60
        while stored_count(work / "hub" / "hub.sqlite3") < sent:
            if time.monotonic() > deadline:
                raise BenchError(f"the hub stored {stored_count(work / 'hub' / 'hub.sqlite3')} of {sent}")
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop(hub, 30)
        peer.terminate()
        peer.wait(10)
        peer_out.close()
        broker.stop()
    stored = json.loads((work / "stored.json").read_text())
    hub_ms = [(s - p) / 1e6 for p, s in stored]
    peer_ms = []
    for line in (work / "peer.txt").read_text().splitlines():
        stamp, _, payload = line.partition(" ")
        got_ns = int(stamp.replace(".", "")) if "." in stamp else int(stamp)
        peer_ms.append((got_ns - int(json.loads(payload)["data"]["pub_ns"])) / 1e6)
    if len(stored) != sent or stored_count(work / "hub" / "hub.sqlite3") != sent:
        raise BenchError(f"sent {sent}, the hub's listener heard {len(stored)}")
    return {"sites": len(sites), "rate_per_site": args.rate, "seconds": args.seconds, "sent": sent,
            "hub_stored": len(stored), "peer_received": len(peer_ms),
            "hub_p50_ms": statistics.median(hub_ms), "hub_p99_ms": percentile(hub_ms, 0.99),
            "peer_p50_ms": statistics.median(peer_ms) if peer_ms else None,
            "peer_p99_ms": percentile(peer_ms, 0.99) if peer_ms else None,
            "hub_cpu_pct": 100.0 * ticks_between(before, after) / CLK_TCK / window_s,
            "broker_cpu_pct": 100.0 * ticks_between(broker_before, broker_after) / CLK_TCK / window_s,
            "hub_rss_peak_mib": rss_peak / 1024, "window_s": window_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="door events per second per site")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--hub-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hub_child is not None:
        return hub_child(args.hub_child)
    try:
        with workdir(args.keep, "vigil-bench-district-") as work:
            result = measure(args, work)
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    print(json.dumps(result, indent=2))
    ratio = result["hub_p50_ms"] / result["peer_p50_ms"] if result["peer_p50_ms"] else float("nan")  # type: ignore[operator]
    log(f"delay publish -> stored at the hub p50 {result['hub_p50_ms']:.1f} ms p99 {result['hub_p99_ms']:.1f} ms;"
        f" mosquitto_sub p50 {result['peer_p50_ms']:.1f} ms p99 {result['peer_p99_ms']:.1f} ms; p50 ratio {ratio:.2f};"
        f" hub CPU {result['hub_cpu_pct']:.0f}% RSS {result['hub_rss_peak_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
