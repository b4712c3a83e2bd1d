"""`vigil hold list|add|release` (`vigil storage` is cli/storage.py).

Hold changes are audited with the actor `cli:<unix user>`, like the admin verbs."""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction

from vigil.api.holds import hold_json
from vigil.cli.admin import _actor
from vigil.config import Config
from vigil.core.errors import BadRequestError
from vigil.core.holds import check_text, make_hold
from vigil.core.timebase import parse_time_ns, wall_ns_to_iso
from vigil.store.audit_log import AuditLog
from vigil.store.holds import EvidenceStore
from vigil.store.index import Index


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
    index = Index.open(config.storage.index_path, now)
    try:
        return _hold_verb(config, args, index, now)
    finally:
        index.close()


def _hold_verb(config: Config, args: Namespace, index: Index, now: int) -> int:
    store, audit = EvidenceStore(index), AuditLog(index)
    if args.hold_verb == "list":
        rows = [hold_json(h, now) for h in store.holds()]
        for h in rows:
            if args.state in ("all", h["state"]):
                print(json.dumps(h) if args.json else
                      f"{h['id']:>5} {h['state']:8} {h['camera'] or '(every camera)':20} {h['start']} {h['end']}"
                      f"  until {h['until'] or 'released'}  {h['case_id'] or '-'}  {h['reason']}")
        return 0
    if args.hold_verb == "release":
        reason = check_text("--reason", args.reason, 500, required=True)
        row = store.release_hold(args.id, _actor(), now)
        audit.append(now, _actor(), "hold.release", f"hold:{row.id}", "ok",
                     {"camera": row.camera_id, "hold_reason": row.reason, "case_id": row.case_id, "reason": reason})
        print(f"hold {row.id} released")
        return 0
    req = make_hold(cameras=args.camera, buildings=args.building, all_cameras=args.all_cameras,
                    start_ns=_time(args.start, "start"), end_ns=_time(args.end, "end"), reason=args.reason,
                    case_id=args.case_id, until_ns=_time(args.until, "until"),
                    camera_buildings={c.id: c.building for c in config.cameras},
                    known_buildings={b.id for b in config.buildings}, now_ns=now)
    for camera in req.cameras:
        hold_id = index.add_hold(camera, req.start_wall_ns, req.end_wall_ns, req.reason, _actor(), now,
                                 req.until_wall_ns, req.case_id)
        audit.append(now, _actor(), "hold.create", f"hold:{hold_id}", "ok", {
            "camera": camera, "start": wall_ns_to_iso(req.start_wall_ns), "end": wall_ns_to_iso(req.end_wall_ns),
            "reason": req.reason, "case_id": req.case_id,
            "until": None if req.until_wall_ns is None else wall_ns_to_iso(req.until_wall_ns)})
        print(f"hold {hold_id}: {camera or 'every camera'}")
    return 0
