"""`vigil reload --config F`: check the file as `vigil check` does, then ask the running daemon to
re-read it (SIGHUP to the pid in `<storage.path>/vigil.pid`) and print what it applied, from the
daemon's `config.reload` audit entry (design/cameras.md)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time

from vigil.config import Config
from vigil.core.errors import VigilError
from vigil.services import audit as audit_service
from vigil.services.caller import cli_caller
from vigil.services.env import service_env
from vigil.system.pid_file import pid_path, running_pid

WAIT_S = 30.0  # a reload that stops cameras waits for their open segments to finish
POLL_S = 0.2


def add_reload_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser],
                    common: argparse.ArgumentParser) -> None:
    verbs.add_parser("reload", parents=[common],
                     help="check the configuration, then have the running daemon apply it (as SIGHUP)")


def _outcome(config: Config, since_ns: int) -> str | None:
    """The daemon's `config.reload` entry after `since_ns`, said in words (None: not yet)."""
    now = time.time_ns()
    with service_env(config, now, readonly=True) as env:
        query = audit_service.AuditQuery(start_ns=since_ns, action="config.reload")
        entries = asyncio.run(audit_service.entries(env, cli_caller(now), query))
    for entry in entries:
        if entry.actor != "sighup":
            continue
        detail = entry.detail
        if entry.outcome != "ok":
            return f"the daemon refused the configuration, nothing changed: {detail.get('error')}"
        parts = [f"{name}: {', '.join(detail.get(name) or []) or '-'}"
                 for name in ("added", "removed", "restarted", "updated")]
        text = "applied; " + "; ".join(parts) + f"; unchanged: {detail.get('unchanged')}"
        if detail.get("restart_needed"):
            text += f"; changed but not applied until a restart: {', '.join(detail['restart_needed'])}"
        return text
    return None


def run_reload(config: Config) -> int:
    """`config` was loaded (and so checked) by the caller: an invalid file never reaches here."""
    pid = running_pid(pid_path(config.storage.path))
    since = time.time_ns()
    try:
        os.kill(pid, signal.SIGHUP)
    except PermissionError:
        raise VigilError(f"not allowed to signal the daemon (pid {pid}): run as root or the vigil account") from None
    print(f"{config.source}: ok; asked the daemon (pid {pid}) to reload it")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        outcome = _outcome(config, since)
        if outcome is not None:
            print(outcome)
            return 0 if outcome.startswith("applied") else 1
        time.sleep(POLL_S)
    print(f"no answer from the daemon within {WAIT_S:.0f} s: see its log (journalctl -u vigil)")
    return 1
