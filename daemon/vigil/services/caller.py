"""Who asks a service for something, how they came, and when: what every decision and audit
entry needs. Pure values; the API builds a Caller from the request, the CLI from the Unix
account, the workers name themselves."""

from __future__ import annotations

import enum
import os
import pwd
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import AuthenticationError
from vigil.core.permissions import Subject


class Via(enum.Enum):
    """How the caller came. The API's values are those of its credential (context.presented_token)."""

    SESSION = "session"  # a signed-in browser
    TOKEN = "token"  # an API bearer token  # noqa: S105 (a name, not a secret)
    LINK = "link"  # a responder link
    SIGNATURE = "signature"  # a signed door-event webhook: no subject
    NONE = "none"  # no credential (sign-in, link redemption)
    CLI = "cli"  # the `vigil` command on the appliance, as root or the vigil account
    WORKER = "worker"  # the daemon itself (door rules, export jobs, retention)


@dataclass(frozen=True)
class Caller:
    """subject is None for the CLI and workers (they act as the appliance: permission tables do
    not apply, the audit log names them) and for anonymous API requests."""

    subject: Subject | None
    via: Via
    now_ns: int
    remote: str | None = None  # the client's address, API only
    name: str | None = None  # who the CLI or worker caller is (`cli:root`, `system`)

    @property
    def actor(self) -> str:
        """The audit log's name for the caller."""
        if self.subject is not None:
            return self.subject.actor
        if self.name is not None:
            return self.name
        if self.via is Via.SIGNATURE:
            return f"webhook@{self.remote}"
        return f"anonymous@{self.remote}"

    @property
    def is_appliance(self) -> bool:
        """The CLI and the daemon's own workers: trusted, no permission table."""
        return self.subject is None and self.via in (Via.CLI, Via.WORKER)

    def require_subject(self) -> Subject:
        if self.subject is None:
            raise AuthenticationError("sign in first")
        return self.subject

    def audit_detail(self, detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the audit entry says about the change, plus how the caller came."""
        out = dict(detail or {})
        out.setdefault("via", self.via.value)
        if self.remote is not None:
            out.setdefault("remote", self.remote)
        return out


def cli_caller(now_ns: int) -> Caller:
    """The Unix account running the command (from the process's uid, not the environment)."""
    try:
        name = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        name = f"cli:uid-{os.getuid()}"
    return Caller(None, Via.CLI, now_ns, name=name)


def worker_caller(now_ns: int, name: str = "system") -> Caller:
    return Caller(None, Via.WORKER, now_ns, name=name)
