"""How much of the appliance's own figures (storage report, health) a caller sees. Pure.

Footage is scoped by building everywhere; figures about it must be too. Bytes recorded and held
per building tell another building's story (a hold is an open case), the disk path and totals
describe the appliance, the live-session and task counts tell who else is watching. So:

| caller | scope | why |
|---|---|---|
| district admin | appliance | runs the appliance: every building, the disk, every viewer |
| installer with no buildings assigned | appliance | installs and configures every camera and the disk |
| building admin, viewer, installer of some buildings | caller | their buildings' cameras only |
| responder link | caller | only the cameras or buildings the link names |

With `caller` scope the storage report gives the caller's cameras' bytes and held bytes (their
sums as the totals), the storage warning's level with a message free of figures, and no disk path,
capacity, free space or budget; health counts the live sessions of cameras the caller may see and
leaves out the daemon's task count. Whether recording storage is there at all (`storage`: ok,
missing, foreign) is shown to everyone: it says whether their cameras are being recorded."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from vigil.core.permissions import LinkSubject, Role, Subject


class FigureScope(enum.Enum):
    APPLIANCE = "appliance"  # the whole appliance's figures, disk paths included
    CALLER = "caller"  # only what concerns the cameras the caller may see


@dataclass(frozen=True)
class ScopeDecision:
    scope: FigureScope
    reason: str


def figures_scope(subject: Subject) -> ScopeDecision:
    """The scope of the storage and health figures shown to `subject` (the table above)."""
    if isinstance(subject, LinkSubject):
        return ScopeDecision(FigureScope.CALLER, "a responder link sees only the cameras it names")
    if subject.role is Role.DISTRICT_ADMIN:
        return ScopeDecision(FigureScope.APPLIANCE, "district admins run the whole appliance")
    if subject.role is Role.INSTALLER and not subject.buildings:
        return ScopeDecision(FigureScope.APPLIANCE, "an installer of every building sets up the disk and cameras")
    return ScopeDecision(FigureScope.CALLER, f"role {subject.role.value} sees only its buildings' cameras")


def live_sessions_shown(scope: FigureScope, session_cameras: Iterable[str], visible_cameras: Collection[str]) -> int:
    """How many live sessions the caller is told of: all of them with appliance scope, else those
    on cameras the caller may see."""
    cameras = list(session_cameras)
    if scope is FigureScope.APPLIANCE:
        return len(cameras)
    return sum(camera in visible_cameras for camera in cameras)
