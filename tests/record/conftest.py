"""Real H.264 access units (encoded by ffmpeg) for the recording unit tests."""

from __future__ import annotations

import av
import pytest

from vigil.sim.clips import make_h264_clip


@pytest.fixture(scope="session")
def h264_units(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[bytes, bool]]:
    """4 s of 320x240 15 fps H.264 with a 1 s GOP, as (Annex-B access unit, is keyframe)."""
    clip = make_h264_clip(tmp_path_factory.mktemp("clip") / "c.h264", 320, 240, 15, 4.0, 15, 300)
    with av.open(str(clip), format="h264") as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]
