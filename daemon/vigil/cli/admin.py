"""Installer and script verbs: users, API tokens, responder links, audit verification.

Every change is written to the audit log with the actor `cli:<unix user>`."""

from __future__ import annotations

import os
import pwd
import socket
import sys
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction

from vigil.api.links import grant_detail
from vigil.config import Config
from vigil.core.errors import BadRequestError
from vigil.core.links import make_grant
from vigil.core.permissions import Role
from vigil.core.timebase import parse_duration_s, wall_ns_to_iso
from vigil.passwords import hash_password
from vigil.store.accounts import Accounts
from vigil.store.audit_log import AuditLog
from vigil.store.index import Index


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
    revoke = link.add_parser("revoke", help="revoke a link at once", parents=[common])
    revoke.add_argument("id", type=int)
    audit = verb("audit", "the audit log").add_subparsers(dest="audit_verb", required=True, metavar="ACTION")
    audit.add_parser("verify", help="check the audit chain; exit 1 naming the first broken entry", parents=[common])


def _actor() -> str:
    """The Unix account running the command (from the process's uid, not the environment)."""
    try:
        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"cli:uid-{os.getuid()}"


def _password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise BadRequestError("no password on standard input")
    return password


def run_admin(config: Config, args: Namespace) -> int:
    index = Index.open(config.storage.index_path, time.time_ns())
    try:
        return _dispatch(config, args, Accounts(index), AuditLog(index))
    finally:
        index.close()


def _dispatch(config: Config, args: Namespace, accounts: Accounts, audit: AuditLog) -> int:
    now = time.time_ns()
    if args.verb == "user":
        if args.user_verb == "add":
            unknown = sorted(set(args.building) - {b.id for b in config.buildings})
            if unknown:
                raise BadRequestError(f"unknown buildings {unknown}")
            role = Role(args.role)
            if role in (Role.BUILDING_ADMIN, Role.VIEWER) and not args.building:
                raise BadRequestError(f"a {role.value} needs at least one --building")
            accounts.add_user(args.name, role, tuple(args.building), hash_password(_password()), now)
            audit.append(now, _actor(), "user.add", f"user:{args.name}", "ok",
                         {"role": role.value, "buildings": sorted(args.building)})
            print(f"added {args.name} ({role.value})")
        elif args.user_verb == "passwd":
            accounts.set_password(args.name, hash_password(_password()))
            audit.append(now, _actor(), "user.passwd", f"user:{args.name}", "ok")
            print(f"password of {args.name} changed")
        elif args.user_verb == "disable":
            accounts.set_disabled(args.name, True, now)
            audit.append(now, _actor(), "user.disable", f"user:{args.name}", "ok")
            print(f"{args.name} disabled; their sessions and tokens are revoked")
        else:
            for u in accounts.users():
                state = "disabled" if u.disabled else "active"
                print(f"{u.name:24} {u.role.value:15} {state:9} {','.join(u.buildings) or '-'}")
        return 0
    if args.verb == "token":
        user = accounts.user(args.name)
        token, _ = accounts.create_credential(user.id, "api_token", args.label, now, None)
        audit.append(now, _actor(), "token.create", f"user:{args.name}", "ok", {"label": args.label})
        print(token)
        return 0
    if args.verb == "link":
        if args.link_verb == "revoke":
            accounts.revoke_link(args.id, now)
            audit.append(now, _actor(), "link.revoke", f"link:{args.id}", "ok")
            print(f"link {args.id} revoked")
            return 0
        return _create_link(config, args, accounts, audit, now)
    check = audit.verify()
    if check.ok:
        print(f"audit chain intact: {check.entries} entries, head {check.head_hash}")
        return 0
    print(f"audit chain BROKEN at entry {check.first_broken_id}: {check.problem}"
          f" ({check.entries} entries before it verify)")
    return 1


def _create_link(config: Config, args: Namespace, accounts: Accounts, audit: AuditLog, now: int) -> int:
    access = config.access
    try:
        seconds = parse_duration_s(args.expires) if args.expires else access.link_default_hours * 3600
    except ValueError as error:
        raise BadRequestError(f"--expires: {error}") from None
    grant = make_grant(
        cameras=args.camera, buildings=args.building, reason=args.reason, live=not args.no_live,
        playback=args.playback, playback_start_ns=None, playback_end_ns=None, expires_in_s=seconds,
        known_cameras={c.id for c in config.cameras}, known_buildings={b.id for b in config.buildings},
        max_hours=access.link_max_hours, now_ns=now)
    link_id, token = accounts.create_link(grant, _actor(), now)
    audit.append(now, _actor(), "link.create", f"link:{link_id}", "ok", grant_detail(grant))
    http = config.http
    base = http.public_url or f"{'https' if http.tls else 'http'}://{socket.gethostname()}:{http.port}"
    print(f"{base}/l/{token}")
    print(f"link {link_id}, expires {wall_ns_to_iso(grant.expires_ns)}", file=sys.stderr)
    return 0
