"""The door map as a lookup: (source, access point) → door, direction, cameras, pre/post seconds.

Pure. Built once from the config's `[[doors]]`; an access point that is not in the map gives None
(the event is stored as unmapped, never dropped)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vigil.core.door_config import DoorConfig
from vigil.core.door_events import Direction
from vigil.core.timebase import NS_PER_SECOND


@dataclass(frozen=True)
class MappedPoint:
    door_id: str
    door_name: str
    building: str
    direction: Direction
    cameras: tuple[str, ...]
    pre_s: float
    post_s: float

    def hold_range(self, occurred_wall_ns: int) -> tuple[int, int]:
        """[start, end) wall ns of footage to protect around an event at `occurred_wall_ns`."""
        return (occurred_wall_ns - round(self.pre_s * NS_PER_SECOND),
                occurred_wall_ns + round(self.post_s * NS_PER_SECOND))


class DoorMap:
    def __init__(self, doors: Iterable[DoorConfig]) -> None:
        self.doors = {d.id: d for d in doors}
        self._points: dict[tuple[str, str], MappedPoint] = {}
        for door in self.doors.values():
            for point in door.access_points:
                self._points[(point.source, point.id)] = MappedPoint(
                    door.id, door.name, door.building, point.direction, door.cameras_for(point.direction),
                    door.pre_s, door.post_s)

    def lookup(self, source: str, access_point: str | None) -> MappedPoint | None:
        if access_point is None:
            return None
        return self._points.get((source, access_point))

    def building_of(self, door_id: str) -> str | None:
        door = self.doors.get(door_id)
        return None if door is None else door.building
