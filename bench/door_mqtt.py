"""Door events over MQTT: how fast `vigil run` stores a burst, next to mosquitto_sub receiving it.

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/door_mqtt.py [--events 2000] [--repeats 3]'

A real mosquitto on loopback; one `mosquitto_pub -l` publishes `--events` door-event/v1 documents
(QoS 1, 10 readers of one mapped door, every 10th an access_denied that is flagged and places an
evidence hold) to the topic that both vigil's MQTT adapter and a `mosquitto_sub` (the peer: plain
delivery, no processing) subscribe to. Measured per repeat: the time from the start of the publish
to the last message printed by mosquitto_sub, and to the last event stored in vigil's index
(polled every 20 ms with a COUNT). Reported: medians, events/s, vigil / mosquitto_sub per repeat.
Checks: every event stored exactly once, the denied ones flagged. Exit 0 = measured, 2 = could not
(e.g. the broker dropped messages: with `--broker-queue 1000`, mosquitto's default, a burst that
vigil reads slower than it is published overflows the broker's per-client queue).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

from tests.support.http_call import free_port  # noqa: E402 (tests/ helpers)
from tests.support.mosquitto import Broker  # noqa: E402
from tests.support.vigil_proc import VigilProcess, index_of, wait_for, write_config  # noqa: E402

TOPIC = "bench/doors/in"


def config_for(tmp: Path, broker: Broker) -> Path:
    config = write_config(tmp, {"hs-east": f"rtsp://127.0.0.1:{free_port()}/none"})
    points = ", ".join(f'{{ source = "mqtt", id = "reader-{i}" }}' for i in range(10))
    config.write_text(config.read_text() + f"""
[http]
listen = "127.0.0.1:0"
tls = false
[[doors]]
id = "east-main"
building = "hs"
cameras = ["hs-east"]
access_points = [{points}]
[door_adapters.mqtt]
port = {broker.port}
client_id = "vigil-bench"
topic = "{TOPIC}"
""")
    return config


def payload(run: int, count: int) -> bytes:
    lines = []
    for i in range(count):
        kind = "access_denied" if i % 10 == 9 else "access_granted"
        lines.append(json.dumps({"schema": "door-event/v1", "event_id": f"r{run}-{i}",
                                 "occurred_at": "2026-11-28T18:00:00Z", "kind": kind,
                                 "access_point": f"reader-{i % 10}", "credential": f"{10_000_000 + i}"}))
    return ("\n".join(lines) + "\n").encode()


def stored(config: Path, run: int) -> tuple[int, int]:
    index = index_of(config)
    try:
        row = index.query("SELECT COUNT(*), SUM(flagged) FROM door_events WHERE event_id LIKE ?", (f"r{run}-%",))[0]
        return int(row[0]), int(row[1] or 0)
    finally:
        index.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--broker-queue", type=int, default=0,
                        help="mosquitto max_queued_messages (0: no limit; mosquitto's default is 1000)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-doors-"))
    broker = Broker(tmp, extra=(f"max_queued_messages {args.broker_queue}",)).start()
    config = config_for(tmp, broker)
    vigil = VigilProcess(config)
    status = broker.subscriber("vigil/status").ready()
    sub_s: list[float] = []
    vigil_s: list[float] = []
    try:
        wait_for(lambda: status.received("vigil/status")[-1:] == ["online"], 60, "vigil online")
        for run in range(args.repeats):
            peer = broker.subscriber(TOPIC).ready()
            data = payload(run, args.events)
            start = time.monotonic()
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-l"],
                           input=data, check=True, timeout=300)
            sub_done = vigil_done = None
            deadline = start + 300
            while (sub_done is None or vigil_done is None) and time.monotonic() < deadline:
                if sub_done is None and len(peer.received(TOPIC)) >= args.events:
                    sub_done = time.monotonic() - start
                if vigil_done is None and stored(config, run)[0] >= args.events:
                    vigil_done = time.monotonic() - start
                time.sleep(0.02)
            peer.close()
            count, flagged = stored(config, run)
            if sub_done is None or vigil_done is None or count != args.events or flagged != args.events // 10:
                print(f"run {run}: could not measure (peer {sub_done}, vigil {vigil_done}, stored {count}, "
                      f"flagged {flagged})")
                return 2
            sub_s.append(sub_done)
            vigil_s.append(vigil_done)
            print(f"run {run}: mosquitto_sub {sub_done:.2f} s, vigil {vigil_done:.2f} s "
                  f"({vigil_done / sub_done:.2f}x)", flush=True)
    finally:
        status.close()
        vigil.terminate()
        vigil.close()
        broker.stop()
    n = args.events
    ratios = [v / s for v, s in zip(vigil_s, sub_s, strict=True)]
    print(f"\n{n} events, {args.repeats} repeats (medians)")
    print(f"mosquitto_sub: {statistics.median(sub_s):.2f} s = {n / statistics.median(sub_s):.0f} events/s")
    print(f"vigil stored:  {statistics.median(vigil_s):.2f} s = {n / statistics.median(vigil_s):.0f} events/s")
    print(f"vigil / mosquitto_sub: {statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
