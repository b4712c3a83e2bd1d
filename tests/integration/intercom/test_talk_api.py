"""Push-to-talk through the API (api/talk.py, webrtc/talk.py): an aiortc peer plays the browser, the
simulated ONVIF loudspeaker (vigil.sim.backchannel_camera) is the device, the API and index are
real (tests/support/api_harness.py). What the loudspeaker heard is judged by CPython's audioop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.api_harness import CONFIG, Api
from tests.support.door_sink import eventually
from tests.support.g711_tone import decode, peak_hz
from tests.support.talk_peer import ToneMicrophone, answer, talk_offer
from vigil.config import Config, parse_config
from vigil.core.media import AudioCodec
from vigil.sim.backchannel_camera import BackchannelCamera

TONE_HZ = 440.0
TONE_S = 3.0
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture
async def device() -> AsyncIterator[BackchannelCamera]:
    """A loudspeaker that takes A-law: the peer sends μ-law, so the appliance converts."""
    async with BackchannelCamera(codec="pcma", auth=("admin", "s3cret")) as camera:
        yield camera


@pytest.fixture
def config(tmp_path: Path, device: BackchannelCamera) -> Config:
    """hs-cam talks through the simulated loudspeaker; ms-cam has talk off."""
    text = CONFIG.format(path=tmp_path / "data").replace(
        'url = "rtsp://127.0.0.1:1/hs"\n',
        f'url = "rtsp://127.0.0.1:1/hs"\ntalk = "onvif"\ntalk_url = "{device.url}"\n'
        'username = "admin"\npassword = "s3cret"\n')
    source = tmp_path / "vigil.toml"
    source.write_text(text, encoding="utf-8")
    source.chmod(0o600)
    return parse_config(text, source)


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    rows = api.services.env.index.query("SELECT actor, outcome, detail FROM audit WHERE action = ? ORDER BY id",
                                        (action,))
    return [{"actor": r["actor"], "outcome": r["outcome"], **json.loads(r["detail"])} for r in rows]


async def _start(api: Api, who: dict[str, str], camera: str = "hs-cam", tone_s: float = TONE_S,
                 codecs: tuple[str, ...] = ("audio/PCMU",)) -> tuple[Any, str]:
    pc, offer = await talk_offer(ToneMicrophone(TONE_HZ, tone_s), codecs)
    response = await api.client.post(f"/api/cameras/{camera}/talk", data=offer, headers=who | SDP)
    assert response.status == 201, await response.text()
    await answer(pc, await response.text())
    return pc, response.headers["Location"]


async def _until(condition: Callable[[], bool], what: str) -> None:
    await eventually(condition, 10.0, what)


def _tone_seconds(heard: bytes, codec: AudioCodec) -> float:
    """How long the heard audio is not silence, in 20 ms packets."""
    samples = decode(heard, codec)
    loud = [np.sqrt(np.mean(samples[i:i + 160] ** 2)) > 1000 for i in range(0, len(samples) - 159, 160)]
    return float(sum(loud) * 0.02)


async def test_a_tone_reaches_the_loudspeaker_converted_to_its_law(api: Api, device: BackchannelCamera) -> None:
    cameras = await (await api.client.get("/api/cameras", headers=api.auth("hs-admin"))).json()
    assert {c["id"]: c["talk"] for c in cameras} == {"hs-cam": True}
    viewer_cameras = await (await api.client.get("/api/cameras", headers=api.auth("hs-viewer"))).json()
    assert {c["id"]: c["talk"] for c in viewer_cameras} == {"hs-cam": False}
    pc, location = await _start(api, api.auth("hs-admin"))
    try:
        await _until(lambda: len(device.payload()) >= (TONE_S + 0.5) * 8000, "the tone and some silence")
    finally:
        ended = await api.client.delete(location, headers=api.auth("hs-admin"))
        await pc.close()
    assert ended.status == 200
    heard = device.payload()
    assert {p.payload_type for p in device.received} == {8}  # A-law, as the device asked
    assert abs(peak_hz(heard, AudioCodec.PCMA) - TONE_HZ) <= 0.02 * TONE_HZ
    assert abs(_tone_seconds(heard, AudioCodec.PCMA) - TONE_S) <= 0.1 * TONE_S
    await _until(lambda: device.teardowns == 1, "the device's session torn down")
    start, = _audit(api, "talk.start")
    assert (start["actor"], start["outcome"], start["codec"], start["device_codec"], start["path"]) == (
        "user:hs-admin", "ok", "PCMU", "PCMA", "onvif")
    end, = _audit(api, "talk.end")
    assert end["actor"] == "user:hs-admin" and end["reason"] == "released by its talker"
    assert end["session"] == start["session"] and end["duration_s"] >= TONE_S
    assert not api.services.talk.sessions  # type: ignore[union-attr]


async def test_one_talker_at_a_time_and_the_second_is_told_who(api: Api, device: BackchannelCamera) -> None:
    pc, location = await _start(api, api.auth("hs-admin"), tone_s=30)
    try:
        second, offer = await talk_offer(ToneMicrophone(TONE_HZ, 1))
        busy = await api.client.post("/api/cameras/hs-cam/talk", data=offer, headers=api.auth("district") | SDP)
        await second.close()
        problem = await busy.json()
        assert busy.status == 409 and problem["type"].endswith("talk-busy"), problem
        assert problem["detail"].startswith("user:hs-admin is talking through camera hs-cam")
        failed = _audit(api, "talk.start")[-1]
        assert (failed["actor"], failed["outcome"], failed["error"]) == ("user:district", "failed", "talk-busy")
        # a district admin may end someone else's session (manage_links there); the viewer may not
        denied = await api.client.delete(location, headers=api.auth("hs-viewer"))
        assert denied.status == 403
        ended = await api.client.delete(location, headers=api.auth("district"))
        assert ended.status == 200
        assert _audit(api, "talk.end")[-1]["reason"] == "ended by user:district"
    finally:
        await pc.close()
    again, location = await _start(api, api.auth("district"), tone_s=0.2)  # the floor is free again
    await api.client.delete(location, headers=api.auth("district"))
    await again.close()


async def test_who_may_talk_and_what_is_refused(api: Api, device: BackchannelCamera) -> None:
    pc, offer = await talk_offer(ToneMicrophone(TONE_HZ, 1))
    await pc.close()
    viewer = await api.client.post("/api/cameras/hs-cam/talk", data=offer, headers=api.auth("hs-viewer") | SDP)
    assert viewer.status == 403
    off = await api.client.post("/api/cameras/ms-cam/talk", data=offer, headers=api.auth("district") | SDP)
    assert off.status == 409 and (await off.json())["type"].endswith("talk-unsupported")
    video_only = offer.replace("m=audio", "m=video")
    bad = await api.client.post("/api/cameras/hs-cam/talk", data=video_only, headers=api.auth("hs-admin") | SDP)
    assert bad.status == 400 and "no audio section" in (await bad.json())["detail"]
    json_body = await api.client.post("/api/cameras/hs-cam/talk", json={}, headers=api.auth("hs-admin"))
    assert json_body.status == 415
    gone = await api.client.delete("/api/talk/nothing", headers=api.auth("hs-admin"))
    assert gone.status == 404
    assert not device.methods  # nothing reached the device
    assert api.services.talk.floors.holder("hs-cam") is None  # type: ignore[union-attr]


async def _link(api: Api, talk: bool) -> str:
    response = await api.client.post("/api/links", headers=api.auth("hs-admin"), json={
        "cameras": ["hs-cam"], "reason": "door", "live": True, "talk": talk})
    body = await response.json()
    assert response.status == 201 and body["talk"] is talk, body
    return str(body["url"]).rsplit("/", 1)[1]


async def test_a_link_talks_only_when_made_with_talk_and_ends_when_revoked(api: Api,
                                                                          device: BackchannelCamera) -> None:
    no_talk = {"Authorization": f"Bearer {await _link(api, False)}"}
    pc, offer = await talk_offer(ToneMicrophone(TONE_HZ, 1))
    await pc.close()
    refused = await api.client.post("/api/cameras/hs-cam/talk", data=offer, headers=no_talk | SDP)
    assert refused.status == 403
    token = await _link(api, True)
    links = await (await api.client.get("/api/links", headers=api.auth("hs-admin"))).json()
    assert [link["talk"] for link in links] == [False, True]
    with_talk = {"Authorization": f"Bearer {token}"}
    me = await (await api.client.get("/api/me", headers=with_talk)).json()
    assert me["talk"] is True and me["can"]["talk"] == ["hs"]
    pc, _ = await _start(api, with_talk, tone_s=30)
    talk, watch = api.services.talk, api.services.credential_watch
    assert talk is not None and watch is not None
    try:
        revoked = await api.client.delete(f"/api/links/{links[1]['id']}", headers=api.auth("hs-admin"))
        assert revoked.status == 200
        await watch.check()  # its loop does not run in the harness
        await _until(lambda: not talk.sessions and bool(_audit(api, "talk.end")), "the session ended and audited")
    finally:
        await pc.close()
    end = _audit(api, "talk.end")[-1]
    assert end["actor"] == "system" and end["reason"] == "its link was revoked", end
    # a link cannot grant talk without live, nor be made by someone who could not talk there
    no_live = await api.client.post("/api/links", headers=api.auth("district"), json={
        "cameras": ["hs-cam"], "reason": "door", "live": False, "playback": True, "talk": True})
    assert no_live.status == 400 and "talk needs live" in (await no_live.json())["detail"]


async def test_a_device_that_drops_mid_talk_ends_the_session(api: Api, device: BackchannelCamera) -> None:
    device.fault = "drop=25"  # half a second of audio, then the connection closes
    talk = api.services.talk
    assert talk is not None
    pc, location = await _start(api, api.auth("hs-admin"), tone_s=30)
    try:
        await _until(lambda: not talk.sessions and bool(_audit(api, "talk.end")), "the session ended and audited")
    finally:
        await pc.close()
    end = _audit(api, "talk.end")[-1]
    assert end["actor"] == "system" and end["reason"].startswith("the device dropped the session"), end
    assert api.services.talk.floors.holder("hs-cam") is None  # type: ignore[union-attr]
    late = await api.client.delete(location, headers=api.auth("hs-admin"))
    assert late.status == 404


async def test_a_browser_that_hangs_up_without_delete_ends_the_session(api: Api, device: BackchannelCamera) -> None:
    talk = api.services.talk
    assert talk is not None
    pc, _ = await _start(api, api.auth("hs-admin"), tone_s=30)
    await _until(lambda: len(device.payload()) > 8000, "a second of audio")
    await pc.close()  # a closed tab: DTLS close_notify, no DELETE
    await _until(lambda: not talk.sessions and bool(_audit(api, "talk.end")), "the session ended and audited")
    end = _audit(api, "talk.end")[-1]
    assert end["actor"] == "system" and end["reason"] in (
        "the browser's connection closed", "the browser's connection failed", "the browser stopped sending audio"), end
    await _until(lambda: device.teardowns == 1, "the device's session torn down")
    assert talk.floors.holder("hs-cam") is None


async def test_a_reload_that_turns_talk_off_ends_the_session(api: Api, config: Config,
                                                             device: BackchannelCamera) -> None:
    talk = api.services.talk
    assert talk is not None
    live = api.services.env.live
    live.on_applied.append(talk.config_applied)  # as app.py's talk_sessions part does
    pc, _ = await _start(api, api.auth("hs-admin"), tone_s=30)
    try:
        text = config.source.read_text().replace(f'talk = "onvif"\ntalk_url = "{device.url}"\n', "")
        assert "talk_url" not in text
        await live.apply(parse_config(text, config.source))
        await _until(lambda: not talk.sessions and bool(_audit(api, "talk.end")), "the session ended and audited")
    finally:
        await pc.close()
    end = _audit(api, "talk.end")[-1]
    assert end["actor"] == "system" and end["reason"] == "its camera's talk settings changed", end
    assert talk.floors.holder("hs-cam") is None
