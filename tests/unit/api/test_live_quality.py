"""The live view's `quality` query parameter is checked where the request is parsed: the camera
source is asked for a Stream member, never for the raw text."""

from __future__ import annotations

import pytest

from tests.support.api_harness import Api, FakeCameras
from vigil.core.camera_modes import Stream

OFFER = "v=0\r\n"


async def _offer(api: Api, query: str) -> tuple[int, str]:
    response = await api.client.post(f"/api/cameras/hs-cam/whep{query}", data=OFFER,
                                     headers={**api.auth("hs-viewer"), "Content-Type": "application/sdp"})
    return response.status, await response.text()


@pytest.mark.parametrize(("query", "stream"), [("", Stream.MAIN), ("?quality=main", Stream.MAIN),
                                               ("?quality=sub", Stream.SUB)])
async def test_quality_arrives_as_a_stream(api: Api, query: str, stream: Stream) -> None:
    cameras = api.services.cameras
    assert isinstance(cameras, FakeCameras)
    status, text = await _offer(api, query)
    assert status == 404
    assert f"camera hs-cam has no {stream.value} stream configured" in text  # the message shows the text
    assert cameras.live_asked == [("hs-cam", stream)]
    assert type(cameras.live_asked[0][1]) is Stream


@pytest.mark.parametrize("quality", ["SUB", "high", "", "main ", "substream"])
async def test_other_quality_is_refused_before_the_camera_is_asked(api: Api, quality: str) -> None:
    cameras = api.services.cameras
    assert isinstance(cameras, FakeCameras)
    status, text = await _offer(api, f"?quality={quality}")
    assert status == 400
    assert "quality must be main or sub" in text
    assert cameras.live_asked == []
