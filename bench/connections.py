"""What connections without credentials cost the running daemon: resident memory and descriptors
per idle TLS connection (handshake done, nothing sent) and per connection holding a partial first
request head, from addresses 127.0.0.2 onward (so the per-address cap is not what is measured).
Run in a loopback-only network namespace (127.0.0.0/8 is all local there):

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/connections.py --connections 200'

Figures go to stdout as JSON. Exit 0 = measured, 2 = could not measure (the daemon did not come
up, or closed connections it should have kept)."""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

from procstat import BenchError, child_env, log, stop, workdir

CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
[http]
listen = "127.0.0.1:{port}"
tls_handshake_timeout_s = 300
header_timeout_s = 300
[[buildings]]
id = "hs"
"""
PER_ADDRESS = 25  # below the default max_connections_per_address (32)
SETTLE_S = 3.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def measure(connections: int, head_bytes: int, tmp: Path) -> dict[str, float]:
    port = _port()
    config = tmp / "vigil.toml"
    config.write_text(CONFIG.format(data=tmp / "data", port=port))
    with (tmp / "vigil.log").open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(config)], env=child_env(),
                                stdout=subprocess.DEVNULL, stderr=err)
    held: list[ssl.SSLSocket] = []
    try:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while not (tmp / "data/tls/cert.pem").exists() or _try(port, context) is False:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise BenchError("the daemon did not come up; see " + str(tmp / "vigil.log"))
            time.sleep(0.2)
        time.sleep(SETTLE_S)
        base_rss, base_fds = _rss_kib(proc.pid), _fds(proc.pid)
        for i in range(connections):
            source = f"127.0.{2 + i // PER_ADDRESS // 250}.{2 + i // PER_ADDRESS % 250}"
            raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
            held.append(context.wrap_socket(raw))
        time.sleep(SETTLE_S)
        idle_rss, idle_fds = _rss_kib(proc.pid), _fds(proc.pid)
        line = b"X-Pad: " + b"a" * 990 + b"\r\n"
        head = b"GET /api/health HTTP/1.1\r\n" + line * (head_bytes // len(line))
        for sock in held:
            sock.sendall(head)
        time.sleep(SETTLE_S)
        head_rss = _rss_kib(proc.pid)
        if _fds(proc.pid) < idle_fds:
            raise BenchError("the daemon closed connections during the measurement")
    finally:
        for sock in held:
            sock.close()
        stop(proc, 30)
    n = connections
    return {"connections": n, "baseline_rss_mib": round(base_rss / 1024, 1),
            "kib_per_idle_tls_connection": round((idle_rss - base_rss) / n, 1),
            "kib_per_connection_with_partial_head": round((head_rss - base_rss) / n, 1),
            "partial_head_bytes": len(head), "fds_per_connection": round((idle_fds - base_fds) / n, 2)}


def _try(port: int, context: ssl.SSLContext) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw, context.wrap_socket(raw):
            return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=200, help="at most max_connections (256)")
    parser.add_argument("--head-bytes", type=int, default=24_000, help="partial head size (< max_head_bytes)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    try:
        with workdir(args.keep, "vigil-bench-conn-") as tmp:
            log(f"{args.connections} connections")
            print(json.dumps(measure(args.connections, args.head_bytes, tmp)))
    except BenchError as error:
        log(f"could not measure: {error}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
