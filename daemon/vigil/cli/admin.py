"""Installer and script verbs: users, API tokens, responder links, audit verification.

The same services as the API (services/accounts.py, links.py, audit.py), called as the appliance:
every change commits with its audit entry, whose actor is `cli:<unix user>`."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction
from dataclasses import replace

from vigil.config import Config
from vigil.core.errors import BadRequestError
from vigil.core.links import make_grant
from vigil.core.permissions import Role
from vigil.core.timebase import parse_duration_s, wall_ns_to_iso
from vigil.services import accounts, audit, links
from vigil.services.caller import Caller, cli_caller
from vigil.services.env import ServiceEnv, service_env


def add_admin_verbs(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    """`common` holds --config; every leaf verb takes it (after its own arguments too)."""

    def verb(name: str, help_text: str) -> ArgumentParser:
        return verbs.add_parser(name, help=help_text)

    user = verb("user", "manage users").add_subparsers(dest="user_verb", required=True, metavar="ACTION")
    add = user.add_parser("add", help="add a user (password read from stdin)", parents=[common])
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--building", action="append", default=[], help="a building the user is scoped to")
    add.add_argument("--password-stdin", action="store_true", required=True)
    passwd = user.add_parser("passwd", help="set a user's password (read from stdin)", parents=[common])
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    disable = user.add_parser("disable", help="disable a user and revoke their sessions and tokens", parents=[common])
    disable.add_argument("name")
    user.add_parser("list", help="list users", parents=[common])
    token = verb("token", "API tokens").add_subparsers(dest="token_verb", required=True, metavar="ACTION")
    create = token.add_parser("create", help="print a new bearer token for a user", parents=[common])
    create.add_argument("name")
    create.add_argument("--label", default="script")
    link = verb("link", "responder links").add_subparsers(dest="link_verb", required=True, metavar="ACTION")
    new = link.add_parser("create", help="print a responder URL", parents=[common])
    new.add_argument("--camera", action="append", default=[])
    new.add_argument("--building", action="append", default=[])
    new.add_argument("--reason", required=True, help="incident number or text")
    new.add_argument("--expires", help="e.g. 2h (default and maximum from [access])")
    new.add_argument("--playback", action="store_true", help="also grant recorded footage")
    new.add_argument("--no-live", action="store_true", help="do not grant live video")
    new.add_argument("--talk", action="store_true",
                     help="also grant talking through the link's cameras' loudspeakers (needs live)")
    revoke = link.add_parser("revoke", help="revoke a link at once", parents=[common])
    revoke.add_argument("id", type=int)
    audit = verb("audit", "the audit log").add_subparsers(dest="audit_verb", required=True, metavar="ACTION")
    audit.add_parser("verify", help="check the audit chain; exit 1 naming the first broken entry", parents=[common])


def _password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise BadRequestError("no password on standard input")
    return password


def run_admin(config: Config, args: Namespace) -> int:
    now = time.time_ns()
    with service_env(config, now) as env:
        return asyncio.run(_dispatch(env, args, cli_caller(now)))


async def _dispatch(env: ServiceEnv, args: Namespace, caller: Caller) -> int:
    if args.verb == "user":
        if args.user_verb == "add":
            new = accounts.NewUser(args.name, Role(args.role), tuple(args.building), "")
            accounts.check_new_user(env, new)  # before reading the password: say what is wrong first
            user = await accounts.add_user(env, caller, replace(new, password=_password()))
            print(f"added {user.name} ({user.role.value})")
        elif args.user_verb == "passwd":
            await accounts.set_password(env, caller, args.name, _password())
            print(f"password of {args.name} changed")
        elif args.user_verb == "disable":
            await accounts.disable_user(env, caller, args.name)
            print(f"{args.name} disabled; their sessions and tokens are revoked")
        else:
            for u in await accounts.list_users(env, caller):
                state = "disabled" if u.disabled else "active"
                print(f"{u.name:24} {u.role.value:15} {state:9} {','.join(u.buildings) or '-'}")
        return 0
    if args.verb == "token":
        print((await accounts.create_api_token(env, caller, args.name, args.label)).token)
        return 0
    if args.verb == "link":
        if args.link_verb == "revoke":
            await links.revoke_link(env, caller, args.id)
            print(f"link {args.id} revoked")
            return 0
        return await _create_link(env, args, caller)
    check = await audit.verify(env, caller)
    if check.ok:
        print(f"audit chain intact: {check.entries} entries, head {check.head_hash}")
        return 0
    print(f"audit chain BROKEN at entry {check.first_broken_id}: {check.problem}"
          f" ({check.entries} entries before it verify)")
    return 1


async def _create_link(env: ServiceEnv, args: Namespace, caller: Caller) -> int:
    config, access = env.config, env.config.access
    try:
        seconds = parse_duration_s(args.expires) if args.expires else access.link_default_hours * 3600
    except ValueError as error:
        raise BadRequestError(f"--expires: {error}") from None
    grant = make_grant(
        cameras=args.camera, buildings=args.building, reason=args.reason, live=not args.no_live,
        playback=args.playback, playback_start_ns=None, playback_end_ns=None, expires_in_s=seconds,
        known_cameras={c.id for c in config.cameras}, known_buildings={b.id for b in config.buildings},
        max_hours=access.link_max_hours, now_ns=caller.now_ns, talk=args.talk)
    created = await links.create_link(env, caller, grant)
    http = config.http
    base = http.public_url or f"{'https' if http.tls else 'http'}://{socket.gethostname()}:{http.port}"
    print(f"{base}/l/{created.token}")
    print(f"link {created.link.id}, expires {wall_ns_to_iso(grant.expires_ns)}", file=sys.stderr)
    return 0
