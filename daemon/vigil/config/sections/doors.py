"""`[[doors]]` (the door map) and `[door_events]` (the site's door-event settings and flag rules).

Every camera of a door must exist and sit in the door's building; an access point (source, id)
belongs to one door only. The webhook secret never appears in a message or repr."""

from __future__ import annotations

from typing import Any

from vigil.config.model import DoorEventsConfig
from vigil.config.reader import NUMBER, Reader, id_check, positive
from vigil.core.door_config import DEFAULT_POST_S, DEFAULT_PRE_S, AccessPointConfig, DoorConfig, FlagRulesConfig
from vigil.core.door_events import Direction, DoorEventKind

DOOR_KEYS = {"id", "name", "building", "cameras", "cameras_in", "cameras_out", "pre_s", "post_s", "access_points"}


def _clip_seconds(value: float) -> str | None:
    return None if 0 <= value <= 3600 else "must be between 0 and 3600 seconds"


def _check_cameras(r: Reader, key: str, cameras: tuple[str, ...], building: str | None,
                   camera_buildings: dict[str, str]) -> None:
    for camera in cameras:
        if camera not in camera_buildings:
            r.problem(key, f"{camera!r} is not a camera id declared in [[cameras]]")
        elif building is not None and camera_buildings[camera] != building:
            r.problem(key, f"camera {camera!r} is in building {camera_buildings[camera]!r}, not {building!r}")


def _read_access_points(r: Reader, item: dict[str, Any], key: str,
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


def read_doors(r: Reader, raw: dict[str, Any], building_ids: set[str],
               camera_buildings: dict[str, str]) -> tuple[DoorConfig, ...]:
    items = raw.get("doors", [])
    if not isinstance(items, list):
        r.problem("doors", "expected [[doors]] tables")
        return ()
    doors: list[DoorConfig] = []
    seen_points: dict[tuple[str, str], str] = {}
    for i, item in enumerate(items):
        key = f"doors[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "expected a table")
            continue
        r.table(item, key, DOOR_KEYS)
        door_id = r.get(item, key, "id", str, "", required=True, check=id_check)
        if door_id and door_id in {d.id for d in doors}:
            r.problem(f"{key}.id", f"duplicate door id {door_id!r}")
        building = r.get(item, key, "building", str, None, required=True)
        if building is not None and building not in building_ids:
            r.problem(f"{key}.building", f"{building!r} is not a building id declared in [[buildings]]")
            building = None
        cameras = {name: r.strings(item, key, name) for name in ("cameras", "cameras_in", "cameras_out")}
        for name, ids in cameras.items():
            _check_cameras(r, f"{key}.{name}", ids, building, camera_buildings)
        doors.append(DoorConfig(
            id=door_id, name=r.get(item, key, "name", str, door_id), building=building or "",
            cameras=cameras["cameras"], cameras_in=cameras["cameras_in"], cameras_out=cameras["cameras_out"],
            pre_s=float(r.get(item, key, "pre_s", NUMBER, DEFAULT_PRE_S, check=_clip_seconds)),
            post_s=float(r.get(item, key, "post_s", NUMBER, DEFAULT_POST_S, check=_clip_seconds)),
            access_points=_read_access_points(r, item, key, seen_points),
        ))
    return tuple(doors)


def _read_rules(r: Reader, data: Any) -> FlagRulesConfig:
    if data is None:
        return FlagRulesConfig()
    if not isinstance(data, dict):
        r.problem("door_events.rules", "expected a table")
        return FlagRulesConfig()
    key = "door_events.rules"
    r.table(data, key, {"kinds", "repeat_denials", "repeat_window_s", "denied_then_forced_s", "offline_after_s"})
    kinds = FlagRulesConfig.kinds
    if "kinds" in data:
        names = r.strings(data, key, "kinds")
        known = {k.value for k in DoorEventKind}
        unknown = [n for n in names if n not in known]
        if unknown:
            r.problem(f"{key}.kinds", f"unknown kinds {unknown} (known: {', '.join(sorted(known))})")
        kinds = frozenset(DoorEventKind(n) for n in names if n in known)
    return FlagRulesConfig(
        kinds=kinds,
        repeat_denials=r.get(data, key, "repeat_denials", int, 3,
                             check=lambda v: None if v >= 2 else "must be at least 2"),
        repeat_window_s=float(r.get(data, key, "repeat_window_s", NUMBER, 60.0, check=positive)),
        denied_then_forced_s=float(r.get(data, key, "denied_then_forced_s", NUMBER, 30.0, check=positive)),
        offline_after_s=float(r.get(data, key, "offline_after_s", NUMBER, 120.0, check=positive)),
    )


def _read_webhook_secret(r: Reader, data: dict[str, Any]) -> str | None:
    value = r.secret(data, "door_events", "webhook_secret")
    if value is not None and len(value) < 16:
        named = "webhook_secret_file" if "webhook_secret_file" in data else "webhook_secret"
        r.problem(f"door_events.{named}", "the secret must be at least 16 characters")
        return None
    return value


def read_door_events(r: Reader, data: Any) -> DoorEventsConfig:
    if data is None:
        return DoorEventsConfig()
    if not isinstance(data, dict):
        r.problem("door_events", "expected a table")
        return DoorEventsConfig()
    r.table(data, "door_events", {"store_cardholder", "raw_max_bytes", "skew_alert_s", "webhook_secret",
                                  "webhook_secret_file", "signature_max_age_s", "max_body_bytes", "rules",
                                  "occurred_max_past_s", "occurred_max_future_s"})
    return DoorEventsConfig(
        store_cardholder=r.get(data, "door_events", "store_cardholder", bool, False),
        raw_max_bytes=r.get(data, "door_events", "raw_max_bytes", int, 4096,
                            check=lambda v: None if 0 <= v <= 1_000_000 else "must be between 0 and 1000000"),
        skew_alert_s=float(r.get(data, "door_events", "skew_alert_s", NUMBER, 120.0, check=positive)),
        webhook_secret=_read_webhook_secret(r, data),
        signature_max_age_s=float(r.get(data, "door_events", "signature_max_age_s", NUMBER, 300.0,
                                        check=lambda v: None if 10 <= v <= 3600 else "must be 10 to 3600 seconds")),
        max_body_bytes=r.get(data, "door_events", "max_body_bytes", int, 65_536,
                             check=lambda v: None if 1024 <= v <= 10_000_000 else "must be 1024 to 10000000"),
        occurred_max_past_s=float(r.get(data, "door_events", "occurred_max_past_s", NUMBER, 7 * 86_400.0,
                                        check=lambda v: None if 60 <= v <= 366 * 86_400 else
                                        "must be 60 seconds to 366 days (31622400)")),
        occurred_max_future_s=float(r.get(data, "door_events", "occurred_max_future_s", NUMBER, 300.0,
                                          check=lambda v: None if 0 <= v <= 86_400 else "must be 0 to 86400 seconds")),
        rules=_read_rules(r, data.get("rules")),
    )
