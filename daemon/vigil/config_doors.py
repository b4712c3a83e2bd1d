"""The door map (`[[doors]]`) and the site's door-event settings (`[door_events]`) in the TOML.

Called from config.parse_config with its problem collector, so door problems are reported with the
file and key path like every other problem. The webhook secret never appears in a message or repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.core.door_events import Direction, DoorEventKind

if TYPE_CHECKING:
    from vigil.config import _Reader

DEFAULT_PRE_S = 30.0
DEFAULT_POST_S = 60.0
# Kinds that are flagged on their own (the site may narrow or widen the list).
DEFAULT_FLAG_KINDS = (DoorEventKind.ACCESS_DENIED, DoorEventKind.DOOR_FORCED_OPEN, DoorEventKind.DOOR_HELD_OPEN,
                      DoorEventKind.DURESS, DoorEventKind.TAMPER)


@dataclass(frozen=True)
class AccessPointConfig:
    source: str  # the adapter instance (webhook, mqtt, onguard, ...)
    id: str  # the access point's id in that source system
    direction: Direction = Direction.BOTH


@dataclass(frozen=True)
class DoorConfig:
    id: str
    name: str
    building: str
    cameras: tuple[str, ...]
    access_points: tuple[AccessPointConfig, ...]
    cameras_in: tuple[str, ...] = ()  # when set, entries (direction "in") link these instead of `cameras`
    cameras_out: tuple[str, ...] = ()
    pre_s: float = DEFAULT_PRE_S
    post_s: float = DEFAULT_POST_S

    def cameras_for(self, direction: Direction) -> tuple[str, ...]:
        if direction is Direction.IN and self.cameras_in:
            return self.cameras_in
        if direction is Direction.OUT and self.cameras_out:
            return self.cameras_out
        if direction is Direction.BOTH:
            return tuple(dict.fromkeys((*self.cameras, *self.cameras_in, *self.cameras_out)))
        return self.cameras


@dataclass(frozen=True)
class FlagRulesConfig:
    kinds: frozenset[DoorEventKind] = frozenset(DEFAULT_FLAG_KINDS)
    repeat_denials: int = 3  # this many denials at one door, or by one credential ...
    repeat_window_s: float = 60.0  # ... within this many seconds
    denied_then_forced_s: float = 30.0  # a denial followed by forced open at the same door within this
    offline_after_s: float = 120.0  # an adapter down this long is flagged


@dataclass(frozen=True)
class DoorEventsConfig:
    store_cardholder: bool = False  # opt-in: names of badge holders are personal data
    raw_max_bytes: int = 4096  # the raw payload is kept up to this size
    skew_alert_s: float = 120.0  # |receive time - device time| above this is alerted (once per source)
    webhook_secret: str | None = field(default=None, repr=False)  # HMAC-SHA256 key for signed webhooks
    signature_max_age_s: float = 300.0  # signed requests older or newer than this are refused
    max_body_bytes: int = 65_536
    # Events whose device time is further than this from the appliance's clock are refused: a
    # week back covers adapter outages and the OnGuard backfill; a few minutes ahead, device clocks.
    occurred_max_past_s: float = 7 * 86_400.0
    occurred_max_future_s: float = 300.0
    rules: FlagRulesConfig = FlagRulesConfig()

    @property
    def secrets(self) -> tuple[str, ...]:
        return () if self.webhook_secret is None else (self.webhook_secret,)


def _clip_seconds(value: float) -> str | None:
    return None if 0 <= value <= 3600 else "must be between 0 and 3600 seconds"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _strings(r: _Reader, item: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = r.get(item, key, name, list, [])
    if any(not isinstance(v, str) for v in value):
        r.problem(f"{key}.{name}", "expected a list of strings")
        return ()
    return tuple(value)


def _check_cameras(r: _Reader, key: str, cameras: tuple[str, ...], building: str | None,
                   camera_buildings: dict[str, str]) -> None:
    for camera in cameras:
        if camera not in camera_buildings:
            r.problem(key, f"{camera!r} is not a camera id declared in [[cameras]]")
        elif building is not None and camera_buildings[camera] != building:
            r.problem(key, f"camera {camera!r} is in building {camera_buildings[camera]!r}, not {building!r}")


def _read_access_points(r: _Reader, item: dict[str, Any], key: str,
                        seen: dict[tuple[str, str], str]) -> tuple[AccessPointConfig, ...]:
    raw = item.get("access_points", [])
    if not isinstance(raw, list):
        r.problem(f"{key}.access_points", "expected a list of {source, id, direction} tables")
        return ()
    points = []
    for i, point in enumerate(raw):
        pkey = f"{key}.access_points[{i}]"
        if not isinstance(point, dict):
            r.problem(pkey, "expected a table {source = ..., id = ..., direction = ...}")
            continue
        r.table(point, pkey, {"source", "id", "direction"})
        source = r.get(point, pkey, "source", str, "", required=True)
        point_id = r.get(point, pkey, "id", str, "", required=True)
        direction = r.get(point, pkey, "direction", str, "both",
                          check=lambda v: None if v in ("in", "out", "both") else "must be in, out or both")
        if source and point_id:
            if (source, point_id) in seen:
                r.problem(f"{pkey}.id", f"access point {point_id!r} of source {source!r} is already mapped by"
                                        f" {seen[(source, point_id)]}")
            seen[(source, point_id)] = pkey
        points.append(AccessPointConfig(source, point_id, Direction(direction)))
    return tuple(points)


def read_doors(r: _Reader, raw: dict[str, Any], id_check: Any, building_ids: set[str],
               camera_buildings: dict[str, str]) -> tuple[DoorConfig, ...]:
    """`[[doors]]`: every camera must exist and sit in the door's building; an access point
    (source, id) belongs to one door only."""
    items = raw.get("doors", [])
    if not isinstance(items, list):
        r.problem("doors", "expected [[doors]] tables")
        return ()
    doors: list[DoorConfig] = []
    seen_points: dict[tuple[str, str], str] = {}
    allowed = {"id", "name", "building", "cameras", "cameras_in", "cameras_out", "pre_s", "post_s", "access_points"}
    for i, item in enumerate(items):
        key = f"doors[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table")
            continue
        r.table(item, key, allowed)
        door_id = r.get(item, key, "id", str, "", required=True, check=id_check)
        if door_id and door_id in {d.id for d in doors}:
            r.problem(f"{key}.id", f"duplicate door id {door_id!r}")
        building = r.get(item, key, "building", str, None, required=True)
        if building is not None and building not in building_ids:
            r.problem(f"{key}.building", f"{building!r} is not a building id declared in [[buildings]]")
            building = None
        cameras = {name: _strings(r, item, key, name) for name in ("cameras", "cameras_in", "cameras_out")}
        for name, ids in cameras.items():
            _check_cameras(r, f"{key}.{name}", ids, building, camera_buildings)
        doors.append(DoorConfig(
            id=door_id, name=r.get(item, key, "name", str, door_id), building=building or "",
            cameras=cameras["cameras"], cameras_in=cameras["cameras_in"], cameras_out=cameras["cameras_out"],
            pre_s=float(r.get(item, key, "pre_s", (int, float), DEFAULT_PRE_S, check=_clip_seconds)),
            post_s=float(r.get(item, key, "post_s", (int, float), DEFAULT_POST_S, check=_clip_seconds)),
            access_points=_read_access_points(r, item, key, seen_points),
        ))
    return tuple(doors)


def _read_rules(r: _Reader, data: Any) -> FlagRulesConfig:
    if data is None:
        return FlagRulesConfig()
    if not isinstance(data, dict):
        r.problem("door_events.rules", "expected a table")
        return FlagRulesConfig()
    key = "door_events.rules"
    r.table(data, key, {"kinds", "repeat_denials", "repeat_window_s", "denied_then_forced_s", "offline_after_s"})
    kinds = FlagRulesConfig.kinds
    if "kinds" in data:
        names = _strings(r, data, key, "kinds")
        known = {k.value for k in DoorEventKind}
        unknown = [n for n in names if n not in known]
        if unknown:
            r.problem(f"{key}.kinds", f"unknown kinds {unknown} (known: {', '.join(sorted(known))})")
        kinds = frozenset(DoorEventKind(n) for n in names if n in known)
    number = (int, float)
    return FlagRulesConfig(
        kinds=kinds,
        repeat_denials=r.get(data, key, "repeat_denials", int, 3,
                             check=lambda v: None if v >= 2 else "must be at least 2"),
        repeat_window_s=float(r.get(data, key, "repeat_window_s", number, 60.0, check=_positive)),
        denied_then_forced_s=float(r.get(data, key, "denied_then_forced_s", number, 30.0, check=_positive)),
        offline_after_s=float(r.get(data, key, "offline_after_s", number, 120.0, check=_positive)),
    )


def read_secret(r: _Reader, item: dict[str, Any], key: str, name: str) -> str | None:
    """A secret given as `name` or, better, `name_file` (a path beside the config; read once at load,
    trailing newline dropped), not both. Messages name the key, never the value."""
    value = r.get(item, key, name, str)
    path = r.get(item, key, f"{name}_file", str)
    if value is not None and path is not None:
        r.problem(key, f"set {name!r} or {name + '_file'!r}, not both")
        return None
    if path is None:
        return value  # type: ignore[no-any-return]
    file = Path(path) if Path(path).is_absolute() else r.source.parent / path
    try:
        text = file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        r.problem(f"{key}.{name}_file", f"cannot read {file}: {getattr(error, 'strerror', None) or 'not UTF-8'}")
        return None
    if not text:
        r.problem(f"{key}.{name}_file", f"{file} is empty")
    return text


def _read_webhook_secret(r: _Reader, data: dict[str, Any]) -> str | None:
    value = read_secret(r, data, "door_events", "webhook_secret")
    if value is not None and len(value) < 16:
        named = "webhook_secret_file" if "webhook_secret_file" in data else "webhook_secret"
        r.problem(f"door_events.{named}", "the secret must be at least 16 characters")
        return None
    return value


def read_door_events(r: _Reader, data: Any) -> DoorEventsConfig:
    if data is None:
        return DoorEventsConfig()
    if not isinstance(data, dict):
        r.problem("door_events", "expected a table")
        return DoorEventsConfig()
    r.table(data, "door_events", {"store_cardholder", "raw_max_bytes", "skew_alert_s", "webhook_secret",
                                  "webhook_secret_file", "signature_max_age_s", "max_body_bytes", "rules",
                                  "occurred_max_past_s", "occurred_max_future_s"})
    number = (int, float)
    return DoorEventsConfig(
        store_cardholder=r.get(data, "door_events", "store_cardholder", bool, False),
        raw_max_bytes=r.get(data, "door_events", "raw_max_bytes", int, 4096,
                            check=lambda v: None if 0 <= v <= 1_000_000 else "must be between 0 and 1000000"),
        skew_alert_s=float(r.get(data, "door_events", "skew_alert_s", number, 120.0,
                                 check=lambda v: None if v > 0 else "must be greater than 0")),
        webhook_secret=_read_webhook_secret(r, data),
        signature_max_age_s=float(r.get(data, "door_events", "signature_max_age_s", number, 300.0,
                                        check=lambda v: None if 10 <= v <= 3600 else "must be 10 to 3600 seconds")),
        max_body_bytes=r.get(data, "door_events", "max_body_bytes", int, 65_536,
                             check=lambda v: None if 1024 <= v <= 10_000_000 else "must be 1024 to 10000000"),
        occurred_max_past_s=float(r.get(data, "door_events", "occurred_max_past_s", number, 7 * 86_400.0,
                                        check=lambda v: None if 60 <= v <= 366 * 86_400 else
                                        "must be 60 seconds to 366 days (31622400)")),
        occurred_max_future_s=float(r.get(data, "door_events", "occurred_max_future_s", number, 300.0,
                                          check=lambda v: None if 0 <= v <= 86_400 else "must be 0 to 86400 seconds")),
        rules=_read_rules(r, data.get("rules")),
    )
