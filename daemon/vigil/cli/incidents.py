"""`vigil incident start|end|list|show` (issue 16): the same services as the API's
(services/incidents.py), as the appliance, audited with the actor `cli:<unix user>`.

The command writes the index and returns: the running daemon's workers deliver to the outside
recipients (the outbox rows are in the index and the delivery worker polls for due ones) and
make the report once the incident ends."""

from __future__ import annotations

import asyncio
import json
import time
from argparse import ArgumentParser, Namespace, RawDescriptionHelpFormatter, _SubParsersAction
from typing import Any

from vigil.config import Config
from vigil.core.incidents import DeclaredVia, IncidentState
from vigil.services import incidents
from vigil.services.caller import Caller, cli_caller
from vigil.services.env import ServiceEnv, service_env

_DAEMON_NOTE = ("This command writes the appliance's index and returns; the running daemon (vigil run) delivers the"
                " link to the configured recipients (webhook, MQTT, e-mail; a drill delivers nothing) and makes"
                " the incident report after the end.")


def add_incident_verbs(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    incident = verbs.add_parser("incident", help="declare, end and list incidents", description=_DAEMON_NOTE
                                ).add_subparsers(dest="incident_verb", required=True, metavar="ACTION")
    start = incident.add_parser(
        "start", parents=[common], formatter_class=RawDescriptionHelpFormatter,
        help="declare an incident (or join the building's open one); prints its responder link",
        description="Declare an incident: hold the building's footage (or the named cameras') from the configured"
                    " look-back until it ends, and make its responder link (printed for copying; its address is"
                    " [http] public_url, else this host's name and port). A building with an open incident gets a"
                    " join instead.\n\n" + _DAEMON_NOTE)
    start.add_argument("--building", help="the building (default: the named cameras' building)")
    start.add_argument("--camera", action="append", default=[], help="hold only these cameras (repeat)")
    start.add_argument("--reason", required=True, help="why (1-500 characters)")
    start.add_argument("--drill", action="store_true", help="a drill: everything happens, nothing is delivered")
    start.add_argument("--json", action="store_true")
    stop = incident.add_parser("end", parents=[common], help="end an open incident with a note",
                               description="End an incident: the holds end after the configured tail, the link is"
                                           " revoked. " + _DAEMON_NOTE)
    stop.add_argument("id", type=int)
    stop.add_argument("--note", required=True, help="what happened, who ended it and why")
    stop.add_argument("--report-camera", action="append", default=[],
                      help="a held camera whose video the report carries (repeat)")
    stop.add_argument("--json", action="store_true")
    listing = incident.add_parser("list", parents=[common], help="list incidents, newest first")
    listing.add_argument("--open", action="store_true", help="only the open ones")
    listing.add_argument("--json", action="store_true")
    show = incident.add_parser("show", parents=[common], help="one incident, with its link URL while open")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")


def run_incidents(config: Config, args: Namespace) -> int:
    now = time.time_ns()
    with service_env(config, now) as env:
        return asyncio.run(_incident_verb(env, args, cli_caller(now)))


async def _json(env: ServiceEnv, caller: Caller, incident_id: int) -> dict[str, Any]:
    return incidents.incident_json(await incidents.get_incident(env, caller, incident_id), env.config)


def _summary(i: dict[str, Any]) -> str:
    drill = " (drill)" if i["drill"] else ""
    return (f"incident {i['id']}{drill} [{i['state']}] {i['building']} {','.join(i['cameras'])} declared"
            f" {i['declared_at']} by {i['declared_by']} via {i['declared_via']}: {i['reason']}")


def _details(i: dict[str, Any]) -> list[str]:
    lines = [_summary(i), f"  hold from {i['hold_start']} until {i['hold_end'] or 'the end (plus the tail)'}"]
    if i["state"] == IncidentState.ENDED.value:
        lines.append(f"  ended {i['ended_at']} by {i['ended_by']}: {i['end_note']}")
    lines += [f"  joined {j['at']} by {j['actor']} via {j['via']}: {j['reason']}" for j in i["joins"]]
    lines += [f"  delivery {d['event']} -> {d['recipient']}: {d['state']} ({d['attempts']} attempts)"
              + (f" {d['last_error']}" if d["last_error"] else "") for d in i["deliveries"]]
    if i["report_export_id"] is not None:
        lines.append(f"  report: export {i['report_export_id']}")
    if i["link_url"]:
        lines.append(f"  responder link: {i['link_url']}")
    return lines


async def _incident_verb(env: ServiceEnv, args: Namespace, caller: Caller) -> int:
    if args.incident_verb == "list":
        rows = await incidents.list_incidents(env, caller, IncidentState.OPEN if args.open else None)
        for row in rows:
            found = await _json(env, caller, row.id)
            print(json.dumps(found) if args.json else _summary(found))
        return 0
    if args.incident_verb == "start":
        declared = await incidents.declare(env, caller, building=args.building, cameras=list(args.camera),
                                           reason=args.reason, drill=args.drill, via=DeclaredVia.CLI)
        found = await _json(env, caller, declared.incident.id)
        if args.json:
            print(json.dumps({"incident": found, "joined": declared.joined}))
        else:
            print(("joined " if declared.joined else "declared ") + _summary(found))
            print(f"responder link: {found['link_url']}")
        return 0
    if args.incident_verb == "end":
        await incidents.end(env, caller, args.id, args.note, list(args.report_camera))
        found = await _json(env, caller, args.id)
        print(json.dumps(found) if args.json else "ended " + _summary(found))
        return 0
    found = await _json(env, caller, args.id)
    print(json.dumps(found) if args.json else "\n".join(_details(found)))
    return 0
