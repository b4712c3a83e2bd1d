"""`vigil hold list|add|release` (`vigil storage` is cli/storage.py).

Hold changes are audited with the actor `cli:<unix user>`, like the admin verbs."""

from __future__ import annotations

import asyncio
import json
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction

from vigil.config import Config
from vigil.core.errors import BadRequestError
from vigil.core.holds import MAX_REASON_CHARS, check_text, make_hold
from vigil.core.timebase import parse_time_ns
from vigil.services import holds
from vigil.services.caller import Caller, cli_caller
from vigil.services.env import ServiceEnv, service_env
from vigil.services.holds import HoldQuery, HoldState, hold_json


def add_hold_verbs(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    hold = verbs.add_parser("hold", help="evidence holds").add_subparsers(dest="hold_verb", required=True,
                                                                           metavar="ACTION")
    listing = hold.add_parser("list", help="list holds", parents=[common])
    listing.add_argument("--state", choices=["all", "active", "expired", "released"], default="active")
    listing.add_argument("--json", action="store_true")
    add = hold.add_parser("add", help="hold footage from retention", parents=[common])
    add.add_argument("--camera", action="append", default=[])
    add.add_argument("--building", action="append", default=[], help="every camera of the building")
    add.add_argument("--all-cameras", action="store_true", help="every camera, also ones added later")
    add.add_argument("--start", required=True, help="ISO 8601 or Unix seconds")
    add.add_argument("--end", required=True, help="ISO 8601 or Unix seconds")
    add.add_argument("--reason", required=True)
    add.add_argument("--case-id")
    add.add_argument("--until", help="release automatically at this time (default: held until released)")
    release = hold.add_parser("release", help="release a hold: retention may then delete its footage",
                              parents=[common])
    release.add_argument("id", type=int)
    release.add_argument("--reason", required=True)


def _time(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_time_ns(text)
    except ValueError as error:
        raise BadRequestError(f"--{name}: {error}") from None


def run_holds(config: Config, args: Namespace) -> int:
    now = time.time_ns()
    with service_env(config, now) as env:
        return asyncio.run(_hold_verb(env, args, cli_caller(now)))


async def _hold_verb(env: ServiceEnv, args: Namespace, caller: Caller) -> int:
    """The same services as the API's (services/holds.py), as the appliance: every hold, audited
    as `cli:<unix user>`."""
    if args.hold_verb == "list":
        query = HoldQuery(state=None if args.state == "all" else HoldState(args.state))
        for h in [hold_json(row, caller.now_ns) for row in await holds.list_holds(env, caller, query)]:
            print(json.dumps(h) if args.json else
                  f"{h['id']:>5} {h['state']:8} {h['camera'] or '(every camera)':20} {h['start']} {h['end']}"
                  f"  until {h['until'] or 'released'}  {h['case_id'] or '-'}  {h['reason']}")
        return 0
    if args.hold_verb == "release":
        reason = check_text("--reason", args.reason, MAX_REASON_CHARS, required=True)
        row = await holds.release_hold(env, caller, args.id, reason)
        print(f"hold {row.id} released")
        return 0
    config = env.config
    req = make_hold(cameras=args.camera, buildings=args.building, all_cameras=args.all_cameras,
                    start_ns=_time(args.start, "start"), end_ns=_time(args.end, "end"), reason=args.reason,
                    case_id=args.case_id, until_ns=_time(args.until, "until"),
                    camera_buildings={c.id: c.building for c in config.cameras},
                    known_buildings={b.id for b in config.buildings}, now_ns=caller.now_ns)
    for row in await holds.create_hold(env, caller, req):
        print(f"hold {row.id}: {row.camera_id or 'every camera'}")
    return 0
