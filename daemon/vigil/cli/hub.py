"""`vigil hub`: the district hub (issue 17). `vigil hub --config F` (or `vigil hub run`) runs it;
`enroll` prints a one-time enrolment code (once: it is never logged); `user add|disable`,
`site list|remove`, `broker-config` (the district broker's mosquitto.conf and ACL); `demo` (vigil/hub_demo.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import sys
import time
from pathlib import Path
from typing import Any

from vigil.core.errors import BadRequestError, VigilError
from vigil.core.permissions import Role
from vigil.core.timebase import wall_ns_to_iso


def _cli_actor() -> str:
    try:
        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"cli:uid-{os.getuid()}"


def add_hub_verb(verbs: Any) -> None:
    hub = verbs.add_parser("hub", help="the district hub: run it, enrol sites, manage its users")
    hub.add_argument("--config", "-c", dest="hub_config", type=Path, help="the hub's TOML file ([hub])")
    sub = hub.add_subparsers(dest="hub_verb", metavar="HUB_VERB")

    def verb(name: str, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=text)
        p.add_argument("--config", "-c", type=Path, help="the hub's TOML file ([hub])")
        return p

    verb("run", "run the hub until stopped (the same as `vigil hub --config F`)")
    enroll = verb("enroll", "print a one-time code that enrols the site SITE_ID")
    enroll.add_argument("site_id", metavar="SITE_ID")
    enroll.add_argument("--name", required=True, help="the site's name as the district sees it")
    enroll.add_argument("--hours", type=float, help="the code expires after this long (default: enrol_code_hours)")
    user = sub.add_parser("user", help="hub users").add_subparsers(dest="user_verb", required=True, metavar="VERB")
    add = user.add_parser("add", help="add a hub user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["district_admin", "building_admin", "viewer"])
    add.add_argument("--scope", action="append", default=[], metavar="SITE/BUILDING",
                     help="a building at a site (building_admin, viewer); repeat for more")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from the first line of standard input")
    add.add_argument("--config", "-c", type=Path)
    disable = user.add_parser("disable", help="disable a hub user: its sessions end, no more tokens")
    disable.add_argument("name")
    disable.add_argument("--config", "-c", type=Path)
    site = sub.add_parser("site", help="enrolled sites").add_subparsers(dest="site_verb", required=True, metavar="VERB")
    listing = site.add_parser("list", help="the enrolled sites")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--config", "-c", type=Path)
    remove = site.add_parser("remove", help="remove a site: out of the broker's ACL, no more tokens")
    remove.add_argument("site_id", metavar="SITE_ID")
    remove.add_argument("--config", "-c", type=Path)
    verb("broker-config", "write the district broker's mosquitto.conf and ACL; print the conf's path")
    demo = sub.add_parser("demo", help="a district on this machine, loopback only: the hub, its broker and"
                          " buildings enrolled with it, each a `vigil demo` with its own mosquitto")
    demo.add_argument("--data", type=Path, metavar="DIR", help="data dir to use (default: a new temporary dir;"
                      " one used before keeps its hub, user and enrolments)")
    demo.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds once all run"
                      " (default: until Ctrl-C)")
    demo.add_argument("--sites", type=int, default=2, metavar="N", help="how many buildings (default 2)")


def _config_path(args: argparse.Namespace) -> Path:
    path: Path | None = getattr(args, "config", None) or args.hub_config
    if path is None:
        raise BadRequestError("hub: --config FILE (the hub's TOML file) is required")
    return path


def run_hub_cli(args: argparse.Namespace) -> int:
    from vigil.hub import accounts, sites
    from vigil.hub.app import run_hub
    from vigil.hub.boot import close_hub, open_hub
    from vigil.hub.broker_conf import write_broker_config
    from vigil.hub.config import load_hub_config
    from vigil.logs import setup_logging

    if args.hub_verb == "demo":
        from vigil.hub_demo import run_hub_demo

        return run_hub_demo(args.data, args.duration, args.sites)
    path = _config_path(args)
    verb = args.hub_verb or "run"
    if verb == "run":
        setup_logging("info")
        run_hub(path)
        return 0
    config = load_hub_config(path)
    env = open_hub(config)
    now_ns, actor = time.time_ns(), _cli_actor()
    try:
        if verb == "enroll":
            made = sites.create_enrol_code(env, actor, args.site_id, args.name, now_ns, args.hours)
            print(f"enrolment code for site {made.site_id}: {made.code.text}")
            print(f"expires {wall_ns_to_iso(made.expires_ns)}; it works once")
        elif verb == "user" and args.user_verb == "add":
            password = sys.stdin.readline().rstrip("\r\n")
            user = asyncio.run(accounts.add_user(env, actor, args.name, Role(args.role), tuple(args.scope), password,
                                                 now_ns))
            print(f"added hub user {user.name} ({user.role.value})")
        elif verb == "user" and args.user_verb == "disable":
            user = asyncio.run(accounts.disable_user(env, actor, args.name, now_ns))
            print(f"disabled hub user {user.name}")
        elif verb == "site" and args.site_verb == "list":
            found = sites.list_sites(env, None, now_ns)
            for s in found:
                removed_note = f"removed {s['removed_at']}" if s["removed_at"] else ""
                print(json.dumps(s) if args.json else
                      f"{s['id']:20} {s['reachability']:12} {removed_note:33} {s['url'] or '-'}  {s['name']}")
        elif verb == "site" and args.site_verb == "remove":
            removed = sites.remove_site(env, actor, args.site_id, now_ns)
            print(f"removed site {removed['id']}; the broker's ACL no longer lists it")
        elif verb == "broker-config":
            from vigil.hub.sites import active_sites

            print(write_broker_config(config, env.keys, active_sites(env)))
        else:
            raise VigilError(f"unknown hub verb {verb}")
    finally:
        close_hub(env)
    return 0
