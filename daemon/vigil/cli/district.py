"""`vigil district enroll|status|leave --config F` (issue 17, services/enrolment.py): enrol this
appliance with a district hub using the one-time code `vigil hub enroll` printed there, show the
enrolment, or leave the district."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

from vigil.config import Config
from vigil.core.errors import ConflictError, UnavailableError, VigilError
from vigil.district.state import district_files, read_pending, remove_pending
from vigil.services import district, enrolment
from vigil.services.caller import Caller, cli_caller
from vigil.services.env import ServiceEnv, service_env


def add_district_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser("district", help="enrol this appliance with a district hub, show it, leave it")
    sub = parser.add_subparsers(dest="district_verb", required=True, metavar="ACTION")
    enroll = sub.add_parser("enroll", parents=[common], help="enrol with a hub using its one-time code")
    enroll.add_argument("--hub", required=True, help="the hub's URL, https://...")
    enroll.add_argument("--code", required=True,
                        help="the enrolment code `vigil hub enroll` printed; '-': read it from stdin (not in ps)")
    enroll.add_argument("--site-id", help="this appliance's site id at the hub (default: the code's)")
    enroll.add_argument("--url", help="how browsers reach this appliance (default: [district] or [http] public_url)")
    pending = sub.add_parser("enroll-pending", parents=[common],
                             help="the enrolment provisioning asked for (vigil-district-enrol.service)")
    pending.add_argument("--console", type=Path, help="also report there (e.g. /dev/console)")
    sub.add_parser("status", parents=[common], help="the hub this appliance is enrolled with")
    sub.add_parser("leave", parents=[common], help="forget the hub: its keys and the bridge configuration")


def _report(console: Path | None, message: str) -> None:
    print(message, flush=True)
    if console is not None:  # the installer at the box sees how it went
        with contextlib.suppress(OSError), console.open("a") as out:
            print(f"\n*** Vigil district enrolment: {message}\n", file=out, flush=True)


def _enroll_pending(config: Config, env: ServiceEnv, caller: Caller, console: Path | None) -> int:
    """The provisioning's request: done once; a refusal (wrong, used or expired code) forgets it,
    an unreachable hub keeps it for the next boot. Recording never waits for this."""
    files = district_files(config.storage.path)
    pending = read_pending(files)
    if pending is None:
        print("no enrolment waiting")
        return 0
    try:
        done = asyncio.run(enrolment.enroll(env, caller, enrolment.EnrolRequest(
            pending.hub_url, pending.enrol_code, pending.site_id, pending.url)))
    except ConflictError as error:  # enrolled meanwhile
        remove_pending(files)
        _report(console, str(error))
        return 0
    except UnavailableError as error:
        _report(console, f"not done yet, tried again at the next boot: {error}")
        return 1
    except VigilError as error:
        remove_pending(files)
        _report(console, f"FAILED, ask the hub for a new code (vigil district enroll): {error}")
        return 1
    remove_pending(files)
    info = done.info
    _report(console, f"enrolled with hub {info.hub_name!r} ({info.hub_url}) as site {info.site_id!r}"
            + (f"; the bridge is NOT configured: {done.bridge_error}" if done.bridge_error else ""))
    return 0 if done.bridge_error is None else 1


def run_district(config: Config, args: argparse.Namespace) -> int:
    now = time.time_ns()
    caller = cli_caller(now)
    with service_env(config, now) as env:
        if args.district_verb == "enroll-pending":
            return _enroll_pending(config, env, caller, args.console)
        if args.district_verb == "enroll":
            code = sys.stdin.readline().strip() if args.code == "-" else args.code
            done = asyncio.run(enrolment.enroll(env, caller, enrolment.EnrolRequest(args.hub, code, args.site_id,
                                                                                     args.url)))
            info = done.info
            print(f"enrolled with hub {info.hub_name!r} ({info.hub_url}) as site {info.site_id!r}")
            if done.bridge_error is not None:
                print(f"the bridge to the district broker is NOT configured: {done.bridge_error}")
                return 1
            print(f"bridge to {info.broker_host}:{info.broker_port} written to {done.bridge_conf}; {done.next_step}")
            return 0
        if args.district_verb == "status":
            found = asyncio.run(district.status(env, caller))
            if not found.enrolled:
                print("not enrolled with a district hub")
                return 1
            print(f"site {found.site_id!r} of hub {found.hub_name!r} ({found.hub_id}) at {found.hub_url}; district "
                  f"broker {found.broker_host}:{found.broker_port}; bridge {config.district.bridge_conf_path} "
                  f"{'present' if config.district.bridge_conf_path.exists() else 'MISSING'}")
            return 0
        removed = asyncio.run(enrolment.leave(env, caller))
        print("left the district; removed " + ", ".join(str(p) for p in removed))
        print("restart mosquitto to end the bridge: systemctl restart mosquitto")
        return 0
