"""What the appliance publishes for its district (issue 17, design/district.md), decided purely:
the `data` of each SiteMessage kind (the contract's fields), which camera changes are news, and
the publisher's bounded queue. district/publisher.py does the I/O.

The queue never blocks whoever offers (the recorder's status, the door path, incidents): it
holds at most `max_events` event messages; when full, the OLDEST event is dropped and counted
(the hub sees the gap in `seq`). Health and inventory are not queued: only the latest of each
waits (a newer one supersedes it), and they go out before the events."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.core.district import SiteTopic

MAX_EVENTS = 1000
LATEST_ONLY = (SiteTopic.INVENTORY, SiteTopic.HEALTH)  # in this order, before any event


@dataclass(frozen=True)
class Pending:
    kind: SiteTopic
    seq: int
    at_ns: int
    data: Mapping[str, Any]


@dataclass
class PublishQueue:
    """Not thread-safe: the event loop's only."""

    max_events: int = MAX_EVENTS
    dropped: int = 0
    _seq: int = 0
    _events: deque[Pending] = field(default_factory=deque)
    _latest: dict[SiteTopic, Pending] = field(default_factory=dict)

    def offer(self, kind: SiteTopic, at_ns: int, data: Mapping[str, Any]) -> Pending:
        """Queue a message (seq from 1, in offer order); never blocks, never raises."""
        self._seq += 1
        item = Pending(kind, self._seq, at_ns, data)
        if kind in LATEST_ONLY:
            self._latest[kind] = item
            return item
        if len(self._events) >= self.max_events:
            self._events.popleft()
            self.dropped += 1
        self._events.append(item)
        return item

    def peek(self) -> Pending | None:
        """The next message to send (it stays queued until `done`)."""
        for kind in LATEST_ONLY:
            if kind in self._latest:
                return self._latest[kind]
        return self._events[0] if self._events else None

    def done(self, item: Pending) -> None:
        """`item` was acknowledged by the broker: take it off (unless superseded or dropped meanwhile)."""
        if item.kind in LATEST_ONLY:
            if self._latest.get(item.kind) is item:
                del self._latest[item.kind]
        elif self._events and self._events[0] is item:
            self._events.popleft()

    def __len__(self) -> int:
        return len(self._events) + len(self._latest)

    def clear(self) -> None:
        self._events.clear()
        self._latest.clear()


@dataclass(frozen=True)
class CameraLine:
    camera: str
    building: str
    state: str  # starting, up, down (api.context.CameraStatus.state)
    reason: str | None


def camera_news(reported: Mapping[str, str], now: Iterable[CameraLine]) -> tuple[dict[str, str], list[CameraLine]]:
    """(what is reported after this look, the changes to publish). A camera is news when it goes
    down, or comes up after having been reported down; its first "up" is not (the inventory and
    health say it); "starting" is no state of its own."""
    after, news = dict(reported), []
    for line in now:
        if line.state not in ("up", "down"):
            continue
        before = reported.get(line.camera)
        if before == line.state:
            continue
        after[line.camera] = line.state
        if before is not None or line.state == "down":
            news.append(line)
    return after, news


def camera_data(line: CameraLine) -> dict[str, Any]:
    return {"camera": line.camera, "building": line.building, "state": line.state, "reason": line.reason}


def health_data(version: str, cameras: Sequence[CameraLine], free_bytes: int | None, storage_problem: str | None,
                uptime_s: float) -> dict[str, Any]:
    up = sum(1 for c in cameras if c.state == "up")
    state = "ok" if up == len(cameras) and storage_problem is None else "degraded"
    return {"state": state, "version": version, "cameras_up": up, "cameras_total": len(cameras),
            "storage": {"free_bytes": free_bytes, "problem": storage_problem}, "uptime_s": round(uptime_s, 1)}


def inventory_data(url: str | None, buildings: Iterable[tuple[str, str]], cameras: Iterable[tuple[str, str, str]],
                   doors: Iterable[tuple[str, str, str]], plans: Iterable[tuple[str | None, int]]) -> dict[str, Any]:
    """buildings (id, name); cameras and doors (id, name, building); plans (building or None for the
    campus plan, plan id)."""
    return {"url": url, "buildings": [{"id": i, "name": n} for i, n in buildings],
            "cameras": [{"id": i, "name": n, "building": b} for i, n, b in cameras],
            "doors": [{"id": i, "name": n, "building": b} for i, n, b in doors],
            "plans": [{"building": b, "id": i} for b, i in plans]}


def door_event_data(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """A flagged door event (the alert feed's body, doors/alerts.door_event_body) as the district
    sees it; None for one at no door (an unmapped access point, an adapter outage). The badge is
    its last 4 characters only, as everywhere outside the appliance's own database."""
    if body.get("door") is None:
        return None
    reasons = body.get("flag_reasons") or []
    out = {"id": body.get("id"), "door": body.get("door"), "building": body.get("building"), "kind": body.get("kind"),
           "flag": "; ".join(str(r) for r in reasons) or str(body.get("severity") or "flagged"),
           "at": body.get("occurred_at")}
    if body.get("credential_last4"):
        out["badge"] = body["credential_last4"]
    return out


def incident_data(incident: int, building: str, what: str, reason: str, drill: bool) -> dict[str, Any]:
    return {"incident": incident, "building": building, "what": what, "reason": reason, "drill": drill}


def storage_data(problem: str | None, detail: str | None) -> dict[str, Any]:
    return {"problem": problem, "detail": detail}
