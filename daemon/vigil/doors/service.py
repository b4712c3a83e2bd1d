"""DoorEventService: the `DoorEventSink` every adapter hands its events to.

For each event: de-duplicate on (source, event id) → map the access point to a door → run the
flag rules → store it (with, when flagged at a mapped door, a bookmark and an evidence hold on the
door's cameras from pre to post seconds, all in one transaction) → push flagged events to the
alert feed. Adapter outages become `device_offline`/`device_online` events; a periodic tick flags
an adapter that stays down longer than the site's limit. Calls are serialized by one lock so the
rules see events in the order they were stored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.config import Config
from vigil.core.door_events import DoorEventKind, IncomingDoorEvent, check_occurred
from vigil.core.door_map import DoorMap
from vigil.core.door_record import credential_hash, to_record
from vigil.core.door_rules import Flagging, FlagRules, RuleInput, adapter_offline, skew_is_large
from vigil.core.errors import DiskFullError, IndexBusyError
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.doors.alerts import AlertHub, door_event_body
from vigil.doors.sink import Alert, AlertKind, Submitted
from vigil.store.door_events import DoorStore

log = logging.getLogger(__name__)

TICK_S = 5.0


@dataclass(frozen=True)
class StoredDoorEvent:
    """A new door event at a mapped door, as told to `DoorEventService.stored_listeners` (the
    incidents' door rule) after it was stored."""

    id: int
    kind: DoorEventKind
    flagging: Flagging
    door_id: str
    door_name: str
    building: str


class DoorEventService:
    def __init__(self, config: Config, store: DoorStore, alerts: AlertHub, credential_key: bytes,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.settings = config.door_events
        self.map = DoorMap(config.doors)
        self.rules = FlagRules(self.settings.rules)
        self.store = store
        self.alerts = alerts
        self._key = credential_key
        self.clock_ns = clock_ns
        self._lock = asyncio.Lock()
        # told of each new event at a mapped door; on the event loop, must not block (a queue's put_nowait)
        self.stored_listeners: list[Callable[[StoredDoorEvent], None]] = []
        self._skew_alerted: set[str] = set()
        self._unmapped_logged: set[tuple[str, str | None]] = set()
        buildings: dict[str, set[str]] = {}
        for door in config.doors:
            for point in door.access_points:
                buildings.setdefault(point.source, set()).add(door.building)
        self._source_buildings = {source: sorted(b) for source, b in buildings.items()}

    # --- DoorEventSink -----------------------------------------------------------------------

    async def submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        """Raises OccurredOutOfWindowError (a BadRequestError) for an event dated outside the window."""
        check_occurred(event.occurred_wall_ns, received_wall_ns, self.settings.occurred_max_past_s,
                       self.settings.occurred_max_future_s)
        async with self._lock:
            return await self._submit(event, received_wall_ns)

    async def source_down(self, source: str, reason: str, wall_ns: int) -> None:
        try:
            await self._source_down(source, reason, wall_ns)
        except DiskFullError as error:  # an adapter's outage is not worth ending the daemon; noted next time
            log.error("door adapter %s: down (%s), not recorded: %s", source, reason, error)

    async def source_up(self, source: str, wall_ns: int) -> None:
        try:
            await self._source_up(source, wall_ns)
        except DiskFullError as error:
            log.error("door adapter %s: up, not recorded: %s", source, error)

    async def _source_down(self, source: str, reason: str, wall_ns: int) -> None:
        async with self._lock:
            state = await asyncio.to_thread(self.store.adapter, source)
            if state.down_since_wall_ns is not None:
                return
            offline = IncomingDoorEvent(source, f"vigil:offline:{wall_ns}", wall_ns, DoorEventKind.DEVICE_OFFLINE,
                                        None, reason=reason)
            submitted = await self._submit(offline, wall_ns)
            await asyncio.to_thread(self.store.set_down, source, wall_ns, reason, submitted.id)
        log.warning("door adapter %s: down (%s)", source, reason)
        self._health(source, "down", reason, wall_ns)

    async def _source_up(self, source: str, wall_ns: int) -> None:
        async with self._lock:
            state = await asyncio.to_thread(self.store.adapter, source)
            if state.down_since_wall_ns is None:
                return
            down_s = (wall_ns - state.down_since_wall_ns) / NS_PER_SECOND
            online = IncomingDoorEvent(source, f"vigil:online:{wall_ns}", wall_ns, DoorEventKind.DEVICE_ONLINE, None,
                                       reason=f"down for {down_s:.1f} s")
            await self._submit(online, wall_ns)
            await asyncio.to_thread(self.store.set_up, source)
        log.info("door adapter %s: up (down for %.1f s)", source, down_s)
        self._health(source, "up", None, wall_ns)

    async def load_cursor(self, source: str) -> str | None:
        return await asyncio.to_thread(self.store.load_cursor, source)

    async def save_cursor(self, source: str, cursor: str) -> None:
        await asyncio.to_thread(self.store.save_cursor, source, cursor)

    # --- the periodic rules ------------------------------------------------------------------

    async def tick(self, now_wall_ns: int) -> None:
        """Flag adapters down longer than the site's limit (once per outage)."""
        async with self._lock:
            for state in await asyncio.to_thread(self.store.adapters_down):
                if state.offline_flagged or state.down_since_wall_ns is None or state.offline_event_id is None:
                    continue
                flagging = adapter_offline(state.down_since_wall_ns, now_wall_ns, self.settings.rules)
                if not flagging.flagged:
                    continue
                await asyncio.to_thread(self.store.flag, state.offline_event_id, flagging.reasons,
                                        flagging.severity.label)
                await asyncio.to_thread(self.store.set_offline_flagged, state.source)
                row = await asyncio.to_thread(self.store.get, state.offline_event_id)
                log.warning("door adapter %s: %s", state.source, flagging.reasons[0])
                self._flagged_alert(row.source, door_event_body(row))

    async def recall_recent(self, now_wall_ns: int) -> int:
        """Feed the windowed rules the denials stored within their lookback (call once at start,
        before events are taken); returns how many were recalled."""
        since = now_wall_ns - round(self.rules.lookback_s() * NS_PER_SECOND)
        rows = await asyncio.to_thread(self.store.events, since, None, kind=DoorEventKind.ACCESS_DENIED.value)
        for row in rows:
            self.rules.recall(RuleInput(row.kind, row.occurred_wall_ns, row.door_id, row.credential_hash))
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                await self.tick(self.clock_ns())
            except (IndexBusyError, DiskFullError) as error:  # the next tick tries again; never end the daemon for it
                log.warning("door events: %s", error)
            await asyncio.sleep(TICK_S)

    # --- internals ---------------------------------------------------------------------------

    async def _submit(self, event: IncomingDoorEvent, received_wall_ns: int) -> Submitted:
        existing = await asyncio.to_thread(self.store.find, event.dedupe_key)
        if existing is not None:
            row = await asyncio.to_thread(self.store.get, existing)
            return Submitted(existing, True, row.flagged)
        mapped = self.map.lookup(event.source, event.access_point)
        hashed = None if event.credential is None else credential_hash(self._key, event.credential)
        flagging = self.rules.evaluate(RuleInput(event.kind, event.occurred_wall_ns,
                                                 None if mapped is None else mapped.door_id, hashed))
        record = to_record(event, received_wall_ns, mapped, hashed, flagging,
                           store_cardholder=self.settings.store_cardholder, raw_max_bytes=self.settings.raw_max_bytes)
        hold = None if mapped is None or not flagging.flagged else mapped.hold_range(event.occurred_wall_ns)
        inserted = await asyncio.to_thread(self.store.insert, record, hold, self.clock_ns())
        if inserted.duplicate:
            row = await asyncio.to_thread(self.store.get, inserted.id)
            return Submitted(inserted.id, True, row.flagged)
        if record.unmapped and (event.source, event.access_point) not in self._unmapped_logged:
            self._unmapped_logged.add((event.source, event.access_point))
            log.warning("door events from %s at access point %r are not in the door map (kept as unmapped)",
                        event.source, event.access_point)
        self._check_skew(event.source, record.skew_ns)
        if mapped is not None:
            stored = StoredDoorEvent(inserted.id, event.kind, flagging, mapped.door_id, mapped.door_name,
                                     mapped.building)
            for listener in list(self.stored_listeners):
                listener(stored)
        if record.flagged:
            log.info("door event %d flagged: %s at %s (%s); %d holds", inserted.id, event.kind.value,
                     record.door_id or event.access_point, "; ".join(record.flag_reasons), len(inserted.hold_ids))
            row = await asyncio.to_thread(self.store.get, inserted.id)
            self._flagged_alert(event.source, door_event_body(row))
        return Submitted(inserted.id, False, record.flagged)

    def _check_skew(self, source: str, skew_ns: int) -> None:
        if source in self._skew_alerted or not skew_is_large(skew_ns, self.settings.skew_alert_s):
            return
        self._skew_alerted.add(source)
        skew_s = round(skew_ns / NS_PER_SECOND, 1)
        log.warning("door events from %s arrive %.1f s after their device time (clock skew or delay)", source,
                    skew_s)
        self.alerts.publish(Alert(AlertKind.ADAPTER_HEALTH, {
            "source": source, "state": "clock_skew", "skew_s": skew_s,
            "buildings": self._source_buildings.get(source, [])}))

    def _flagged_alert(self, source: str, body: dict[str, object]) -> None:
        if body.get("building") is None:
            body = {**body, "buildings": self._source_buildings.get(source, [])} if body.get("kind") in (
                DoorEventKind.DEVICE_OFFLINE.value, DoorEventKind.DEVICE_ONLINE.value) else body
        self.alerts.publish(Alert(AlertKind.DOOR_EVENT_FLAGGED, body))

    def _health(self, source: str, state: str, reason: str | None, wall_ns: int) -> None:
        self.alerts.publish(Alert(AlertKind.ADAPTER_HEALTH, {
            "source": source, "state": state, "reason": reason, "at": wall_ns_to_iso(wall_ns),
            "buildings": self._source_buildings.get(source, [])}))
