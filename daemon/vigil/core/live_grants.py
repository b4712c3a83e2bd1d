"""Live sessions and the credentials they were opened with: who may keep watching, and how many
may watch at once. Pure: the daemon passes what the index says now and the time.

Rules:
- Every live session (and every other long-lived response: the door alert stream) is bound to
  the credential that opened it: a browser session, an API token or a responder link, named by
  the SHA-256 of its token (the key the index stores).
- It may go on only while that credential would still authenticate and still grant the action
  (`view_live` on the session's camera): it exists, is not revoked (sign-out, `DELETE
  /api/links/{id}`, `vigil link revoke`, `vigil user disable`), has not expired, its user is not
  disabled, and the permission table still allows it.
- At most `max_viewers` sessions on the appliance and at most `max_per_credential` on any one
  credential (one leaked link must not take every viewer slot). Sessions still being set up
  count: a slot is taken before the first await and given back if the setup fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import TooManyRequestsError
from vigil.core.permissions import Action, LinkSubject, Subject, Target, decide


@dataclass(frozen=True)
class CredentialState:
    """What the index says now about one credential (a session, an API token or a link)."""

    kind: str  # session, api_token or link
    subject: Subject  # whom it would authenticate as now
    revoked_wall_ns: int | None
    expires_wall_ns: int | None
    user_disabled: bool = False


def why_session_ends(state: CredentialState | None, action: Action, target: Target, now_ns: int) -> str | None:
    """None while a response opened with this credential may go on doing `action` on `target`;
    else why it must end."""
    if state is None:
        return "its credential no longer exists"
    what = "link" if isinstance(state.subject, LinkSubject) else state.kind.replace("_", " ")
    if state.revoked_wall_ns is not None:
        return f"its {what} was revoked"
    if state.user_disabled:
        return "its user was disabled"
    if state.expires_wall_ns is not None and state.expires_wall_ns <= now_ns:
        return f"its {what} expired"
    decision = decide(state.subject, action, target, now_ns)
    if not decision.allowed:
        return f"{action.value} is no longer allowed: {decision.reason}"
    return None


@dataclass(frozen=True)
class ViewerLimits:
    max_viewers: int
    max_per_credential: int  # a sign-in or API token (a live wall holds up to 16)
    max_per_link: int  # a responder link: shared by people outside the district, so fewer


def admit_viewer(limits: ViewerLimits, open_total: int, open_for_credential: int, link: bool) -> None:
    """TooManyRequestsError naming the limit when one more session would exceed it; counts
    include sessions still being set up."""
    if open_total >= limits.max_viewers:
        raise TooManyRequestsError(f"this appliance serves at most {limits.max_viewers} live viewers at once"
                                   " ([webrtc] max_viewers)")
    if link and open_for_credential >= limits.max_per_link:
        raise TooManyRequestsError(f"one link may hold at most {limits.max_per_link} live sessions"
                                   " at once ([webrtc] max_viewers_per_link); close one first")
    if not link and open_for_credential >= limits.max_per_credential:
        raise TooManyRequestsError(f"one sign-in may hold at most {limits.max_per_credential} live sessions"
                                   " at once ([webrtc] max_viewers_per_credential); close one first")
