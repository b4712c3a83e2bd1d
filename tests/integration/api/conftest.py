"""Fixtures of the API tests (the app in api_harness) and the recordings the clip and playback
tests read (written by the recorder's own writer, tests/support/clip_recordings.py)."""

from pathlib import Path

import av
import pytest

from tests.support.api_harness import Api, api, config, index, password_hash
from tests.support.clip_recordings import T0, Recordings, Units
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.sim.clips import make_h264_clip

__all__ = ["api", "config", "index", "password_hash", "q", "recorded", "units"]

S = NS_PER_SECOND


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Units:
    clip = make_h264_clip(tmp_path_factory.mktemp("clip") / "c.h264", 320, 240, 15, 4.0, 15, 300)
    with av.open(str(clip), format="h264") as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.fixture
def recorded(api: Api, units: Units, tmp_path: Path) -> Recordings:
    """hs-cam: 0-4 s and 4-8 s, then a 4 s outage, then 12-16 s (T0-relative)."""
    rec = Recordings(tmp_path, api.services.env.index, "hs-cam")
    rec.add(T0, units)
    rec.add(T0 + 4 * S, units)
    rec.add(T0 + 12 * S, units, new_run=True)
    return rec


def q(start_s: float, end_s: float) -> str:
    """The ?start=&end= of a range in seconds after T0."""
    return f"?start={wall_ns_to_iso(T0 + int(start_s * S))}&end={wall_ns_to_iso(T0 + int(end_s * S))}"
