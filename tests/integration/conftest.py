"""Real H.264 access units (encoded by ffmpeg) for the recording unit tests."""

from __future__ import annotations

import av
import pytest

from vigil.sim.clips import make_h264_clip

Units = list[tuple[bytes, bool]]


def _units(tmp: pytest.TempPathFactory, width: int, height: int) -> Units:
    clip = make_h264_clip(tmp.mktemp("clip") / "c.h264", width, height, 15, 4.0, 15, 300)
    with av.open(str(clip), format="h264") as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.fixture(scope="session")
def h264_units(tmp_path_factory: pytest.TempPathFactory) -> Units:
    """4 s of 320x240 15 fps H.264 with a 1 s GOP, as (Annex-B access unit, is keyframe)."""
    return _units(tmp_path_factory, 320, 240)


@pytest.fixture(scope="session")
def h264_units_360p(tmp_path_factory: pytest.TempPathFactory) -> Units:
    """The same at 640x360: a camera that changes resolution switches to these."""
    return _units(tmp_path_factory, 640, 360)
