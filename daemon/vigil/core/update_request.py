"""An update request from the API, checked before anything is downloaded, and the states the
root side reports (design/appliance.md, "Updates"). Pure.

- The source is an http(s) URL without credentials in it (they would end up in the audit log and
  in result files); a bundle's integrity comes from its signature, not from the transport.
- `reboot` is `now`, `never` (the new version starts at the next reboot) or `HH:MM`, local time,
  the next such minute.
- One update at a time: a new request is refused (409) while one is requested or installing. An
  install reported as running before this boot began is history (a power cut stopped it: RAUC
  left the other slot marked bad, and a new request rewrites it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from vigil.core.errors import BadRequestError

MAX_URL_CHARS = 2000
_AT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_NAME = re.compile(r"[^A-Za-z0-9._+-]")
_URL = re.compile(r"^(https?)://([^/?#]*)([^?#]*)", re.IGNORECASE)


class UpdateState(Enum):
    REQUESTED = "requested"  # the bundle checked and handed to root; not picked up yet
    INSTALLING = "installing"
    INSTALLED = "installed"  # waiting for the reboot (when it was asked for)
    FAILED = "failed"


BUSY = frozenset({UpdateState.REQUESTED, UpdateState.INSTALLING})


@dataclass(frozen=True)
class UpdateSource:
    url: str
    reboot: str
    file_name: str  # where the bundle is kept under the updates directory


def check_reboot(reboot: str) -> str:
    if reboot in ("now", "never") or _AT.match(reboot):
        return reboot
    raise BadRequestError(f"reboot must be now, never or HH:MM (local time), not {reboot[:40]!r}")


def check_source(url: object, reboot: object) -> UpdateSource:
    if not isinstance(url, str) or not url:
        raise BadRequestError("url (the bundle's http or https address) is required")
    if len(url) > MAX_URL_CHARS:
        raise BadRequestError(f"url is longer than {MAX_URL_CHARS} characters")
    parts = _URL.match(url)
    if parts is None or not parts[2] or any(c.isspace() for c in url):
        raise BadRequestError("url must be an http:// or https:// address")
    if "@" in parts[2]:
        raise BadRequestError("url must not carry a user name or password")
    if not isinstance(reboot, str):
        raise BadRequestError("reboot must be a string: now, never or HH:MM")
    name = _NAME.sub("_", parts[3].rstrip("/").rpartition("/")[2])[:100].lstrip(".") or "update"
    if not name.endswith(".raucb"):
        name += ".raucb"
    return UpdateSource(url, check_reboot(reboot), name)


def update_busy(request_waiting: bool, result: dict[str, object] | None, boot_wall_ns: int) -> bool:
    """Whether a new request must wait (409): see the module docstring."""
    if request_waiting:
        return True
    if result is None or result.get("state") not in {s.value for s in BUSY}:
        return False
    at_ns = result.get("at_wall_ns")
    return not isinstance(at_ns, int) or at_ns >= boot_wall_ns
