"""When to cut a recording into the next segment.

Segments end only where the next one can start decodable: on a keyframe. A segment is cut on the
first keyframe at or after the target length, or at once when the stream's parameter sets change
(a resolution change needs a new init segment). The first segment of each run is shortened by a
per-camera stagger so that cameras started together do not all rotate (and fsync) together.
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass


class CutReason(enum.Enum):
    DURATION = "duration"
    PARAMETERS_CHANGED = "parameters_changed"


@dataclass(frozen=True)
class RotationPolicy:
    target_90k: int

    def first_target_90k(self, camera_id: str) -> int:
        """Target of a run's first segment: between half and all of the target, fixed per camera."""
        half = self.target_90k // 2
        return half + zlib.crc32(camera_id.encode()) % max(half, 1)

    def cut_before(
        self,
        *,
        segment_target_90k: int,
        segment_start_90k: int,
        dts_90k: int,
        is_keyframe: bool,
        parameters_changed: bool,
    ) -> CutReason | None:
        """Whether the packet at `dts_90k` starts a new segment, and why."""
        if not is_keyframe:
            return None
        if parameters_changed:
            return CutReason.PARAMETERS_CHANGED
        if dts_90k - segment_start_90k >= segment_target_90k:
            return CutReason.DURATION
        return None
