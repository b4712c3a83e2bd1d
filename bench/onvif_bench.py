"""Camera setup timings (issue 15): WS-Discovery of 16 simulated devices (target <= 6 s) and the
probe of one camera, SOAP plus its proposed streams opened (target <= 3 s), medians of N runs,
each side by side with a peer:

* discovery: vigil's `discover()` (default 5 s listen) must find all 16, and still all 16 with a
  1 s listen (how long the answers really take). No peer: the `wsdiscovery` package's client
  (`ThreadedWSDiscovery`) drops answers coming from the machine's own addresses, so on loopback it
  finds none (measured: 0 of 16), and a network of namespaces for it was not built.
* probe: `probe_device()` against a simulated Axis ONVIF device whose streams are two simulated
  RTSP cameras (640x360 H.264 main, 320x180 sub, GOP 1 s), against `ffprobe` opening the main
  stream alone (`-rtsp_transport tcp -show_streams`, FFmpeg's default probing).

Multicast needs a network namespace whose loopback carries it: the script re-runs itself in one
(`unshare --net`, root). Run from the repository root:

    .venv/bin/python bench/onvif_bench.py --repeats 5

(Not bench/onvif.py: a script of that name would shadow the `onvif` package it measures.)

Exit 0 = measured and targets met, 1 = a target missed, 2 = could not measure."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "daemon"), str(REPO)]

DEVICES = 16
DISCOVERY_TARGET_S = 6.0
PROBE_TARGET_S = 3.0


async def _discovery(repeats: int) -> dict[str, list[float]]:
    from vigil.camera_setup.discover import discover
    from vigil.core.probe_networks import parse_networks
    from vigil.sim.onvif_device import OnvifDevice
    from vigil.sim.wsd_responder import Announced, start_responder

    networks = parse_networks(["127.0.0.0/8"])
    scopes = OnvifDevice("axis").scopes
    transports = []
    for i in range(DEVICES):  # one responder (socket) per device, as 16 cameras would be
        transport, _ = await start_responder([Announced(f"http://0.0.0.0:{8000 + i}/onvif/device_service", scopes)])
        transports.append(transport)
    out: dict[str, list[float]] = {"vigil_s": [], "vigil_found": [], "fast_found": []}
    try:
        for _ in range(repeats):
            started = time.monotonic()
            found = await discover(5.0, 3702, networks)
            out["vigil_s"].append(time.monotonic() - started)
            out["vigil_found"].append(len(found))
            out["fast_found"].append(len(await discover(1.0, 3702, networks)))
    finally:
        for transport in transports:
            transport.close()
    return out


async def _probe(repeats: int) -> dict[str, list[float]]:
    from tests.support.camsim import CameraServer

    from vigil.camera_setup.probe import ProbeTarget, probe_device
    from vigil.core.probe_networks import parse_networks
    from vigil.sim.onvif_device import OnvifDevice, start_device

    out: dict[str, list[float]] = {"vigil_s": [], "ffprobe_s": []}
    with CameraServer("name=main,width=640,height=360,fps=15,gop=15",
                      "name=sub,width=320,height=180,fps=10,gop=10") as cams:
        device = OnvifDevice("axis", streams={"profile_1_h264": cams.url("main"), "profile_2_h264": cams.url("sub")})
        runner, port = await start_device(device)
        try:
            for _ in range(repeats):
                started = time.monotonic()
                result = await probe_device(ProbeTarget("127.0.0.1", port, "admin", "secret"),
                                            parse_networks(["127.0.0.0/8"]), 3.0, lambda: dt.datetime.now(dt.UTC))
                out["vigil_s"].append(time.monotonic() - started)
                if result.profiles[0].received is None:
                    raise RuntimeError("the probe did not open the main stream")
                started = time.monotonic()
                done = await asyncio.to_thread(subprocess.run, [
                    "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", cams.url("main")],
                    capture_output=True, timeout=30, check=False)
                out["ffprobe_s"].append(time.monotonic() - started)
                if done.returncode != 0:
                    raise RuntimeError(f"ffprobe failed: {done.stderr[-300:]!r}")
        finally:
            await runner.cleanup()
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def _inner(repeats: int) -> int:
    disc = await _discovery(repeats)
    probe = await _probe(repeats)
    print(f"discovery of {DEVICES} devices, {repeats} runs:")
    print(f"  vigil discover(5 s):            median {_median(disc['vigil_s']):.2f} s, found {disc['vigil_found']}")
    print(f"  vigil discover(1 s):            found {disc['fast_found']}")
    print(f"probe of one camera (SOAP + main and sub streams opened), {repeats} runs:")
    print(f"  vigil probe_device:             median {_median(probe['vigil_s']):.2f} s"
          f" (runs {', '.join(f'{v:.2f}' for v in probe['vigil_s'])})")
    print(f"  ffprobe (main stream only):     median {_median(probe['ffprobe_s']):.2f} s")
    all_found = all(n == DEVICES for n in disc["vigil_found"] + disc["fast_found"])
    met = all_found and _median(disc["vigil_s"]) <= DISCOVERY_TARGET_S and _median(probe["vigil_s"]) <= PROBE_TARGET_S
    print(f"targets: discovery <= {DISCOVERY_TARGET_S} s with all {DEVICES} found, probe <= {PROBE_TARGET_S} s:"
          f" {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        try:
            return asyncio.run(_inner(args.repeats))
        except (OSError, RuntimeError) as error:
            print(f"could not measure: {error}", file=sys.stderr)
            return 2
    if os.geteuid() != 0:
        print("needs root (a network namespace with multicast on loopback)", file=sys.stderr)
        return 2
    setup = ("ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && "
             'exec "$0" "$@"')
    return subprocess.run(["unshare", "--net", "--", "sh", "-c", setup, sys.executable, __file__, "--inner",
                           "--repeats", str(args.repeats)], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
