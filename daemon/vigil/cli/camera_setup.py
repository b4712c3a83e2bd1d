"""`vigil cameras discover|scan|probe`: camera setup from the shell, through the same services as
the API (services/camera_setup.py), audited as `cli:<unix user>`. A probe's password is read from
stdin (`--password-stdin`), never from the command line."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction
from pathlib import Path
from typing import Any

from vigil.config import Config
from vigil.services import camera_setup
from vigil.services.caller import cli_caller
from vigil.services.camera_setup import device_json, probe_json
from vigil.services.env import service_env


def add_camera_setup_verbs(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    group = verbs.add_parser("cameras", help="find and check ONVIF cameras").add_subparsers(
        dest="cameras_verb", required=True, metavar="ACTION")
    discover = group.add_parser("discover", help="WS-Discovery on the appliance's networks", parents=[common])
    discover.add_argument("--timeout", type=float, help="seconds to listen (1-10; default from the config)")
    scan = group.add_parser("scan", help="scan an address range for ONVIF devices", parents=[common])
    scan.add_argument("range", help="10.0.0.10-10.0.0.40, 10.0.0.10-40, 10.0.0.0/28 or one address")
    scan.add_argument("--port", type=int, action="append", help="port to try (repeatable; default 80, 8080, 8000)")
    probe = group.add_parser("probe", help="probe one ONVIF device: profiles, streams as received",
                             parents=[common])
    probe.add_argument("address", help="host, host:port or the device service's http:// URL")
    probe.add_argument("--username")
    probe.add_argument("--password-stdin", action="store_true", help="read the camera's password from stdin")
    probe.add_argument("--snapshot", help="write the snapshot JPEG to this file")
    probe.add_argument("--json", action="store_true")


def run_camera_setup(config: Config, args: Namespace) -> int:
    now = time.time_ns()
    with service_env(config, now) as env:
        caller = cli_caller(now)
        if args.cameras_verb == "discover":
            devices = asyncio.run(camera_setup.discover_devices(env, caller, args.timeout))
            return _print_devices(devices)
        if args.cameras_verb == "scan":
            return _print_devices(asyncio.run(camera_setup.scan_devices(env, caller, args.range, args.port)))
        body: dict[str, Any] = {"xaddr" if args.address.startswith(("http://", "https://")) else "address":
                                args.address, "username": args.username}
        if args.password_stdin:
            body["password"] = sys.stdin.readline().rstrip("\n")
        result = asyncio.run(camera_setup.probe(env, caller, camera_setup.parse_probe_request(body)))
    answer = probe_json(result)
    if args.snapshot and result.snapshot_jpeg:
        Path(args.snapshot).write_bytes(result.snapshot_jpeg)
    if args.json:
        print(json.dumps(answer | {"snapshot_jpeg_base64": None}, indent=2))
        return 0
    device = answer["device"]
    print(f"{device['manufacturer']} {device['model']} (firmware {device['firmware']}); media2: {answer['media2']};"
          f" backchannel: {answer['backchannel']}; clock skew: {answer['clock']['skew_s']} s")
    for p in answer["profiles"]:
        got = p["received"]
        sent = (f"{got['codec']} {got['width']}x{got['height']} {got['fps']} fps GOP {got['gop_frames']}"
                f"{' B-frames' if got['bframes'] else ''}") if got else p["problem"] or "not opened"
        print(f"  {p['token']}: {p['encoding']} {p['width']}x{p['height']} -> {sent}; {p['live']['note']}")
        print(f"    {p['stream_url']}")
    if answer["proposal"]:
        print(f"proposal: url {answer['proposal']['url']}, substream {answer['proposal']['substream_url']}")
    for warning in answer["warnings"]:
        print(f"warning: {warning}")
    if result.snapshot_jpeg and not args.snapshot:
        print(f"snapshot: {len(base64.b64encode(result.snapshot_jpeg))} bytes of base64 (--snapshot FILE saves it)")
    return 0


def _print_devices(devices: tuple[camera_setup.Device, ...]) -> int:
    for d in devices:
        row = device_json(d)
        configured = f" (configured: {row['configured_camera']})" if row["configured_camera"] else ""
        print(f"{row['address']}\t{row['name'] or '-'}\t{row['hardware'] or '-'}\t{row['xaddr']}{configured}")
    return 0
