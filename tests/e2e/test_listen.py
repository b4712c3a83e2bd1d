"""Listening: the real daemon, sim cameras with a 440 Hz tone, real WebRTC peers.

An aiortc peer hears a G.711 camera in its own codec and an AAC camera as Opus (decoded audio has
the tone's frequency, FFT within 2 %); a camera without audio answers the offer's audio section
inactive and still plays; the camera list names each camera's audio. Headless Chromium plays a
PCMA camera with the sound switched on and its received audio is not silence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.browser import chromium, wait_decoding
from tests.support.camsim import CameraServer
from tests.support.http_call import free_port
from tests.support.live_peer import LivePeer, ServedDaemon, bearer, served
from tests.support.netns import requires_test_namespace
from tests.support.tone import peak_hz, rms
from tests.support.vigil_proc import run_vigil, wait_for, write_config
from tests.support.webapp import check_axe, new_page, screenshot
from vigil.sim.camera_server import TONE_HZ

pytestmark = [requires_test_namespace, pytest.mark.slow]  # ~40 s: one daemon, four cameras, real peers

BASE = "width=320,height=240,fps=15,gop=15,bitrate=300"
CAMERAS = {"pcmu-cam": "pcmu", "pcma-cam": "pcma", "aac-cam": "aac", "mute-cam": ""}
LISTEN_S = 3.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDaemon]:
    tmp = tmp_path_factory.mktemp("listen")
    port = free_port()
    specs = [f"name={name},{BASE}" + (f",audio={audio}" if audio else "") for name, audio in CAMERAS.items()]
    with CameraServer(*specs) as cams:
        http = f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://127.0.0.1:{port}"'
        config = write_config(tmp, {name: cams.url(name) for name in CAMERAS}, http)
        with served(config, port) as d:

            def audio_known() -> bool:
                status, cameras = d.get("/api/cameras")
                return status == 200 and all(c["audio"] for c in cameras if c["id"] != "mute-cam")

            wait_for(audio_known, 30, "every camera's audio")
            yield d


async def listen(d: ServedDaemon, camera: str, seconds: float) -> LivePeer:
    """A peer asking for video and sound, listening for `seconds`."""
    listener = LivePeer(d.base, d.ssl(), want_audio=True)
    try:
        await listener.open(camera, bearer(d.token))
        await asyncio.sleep(seconds)
    finally:
        await listener.close()
    return listener


@pytest.mark.parametrize(("camera", "codec"), [("pcmu-cam", "PCMU/8000"), ("aac-cam", "opus/48000/2")])
async def test_listener_hears_the_tone(daemon: ServedDaemon, camera: str, codec: str) -> None:
    """G.711 goes out in its own codec (forwarded); AAC is re-encoded to Opus."""
    listener = await listen(daemon, camera, LISTEN_S)
    section = listener.audio_section()
    assert "a=sendonly" in section and f"a=rtpmap:{'0' if codec.startswith('PCMU') else '96'} {codec}" in section
    assert listener.frames > 10  # the video still plays
    samples = np.concatenate(listener.audio)
    heard_s = samples.size / listener.audio_rate
    assert heard_s > LISTEN_S - 2, heard_s  # less the connection set-up
    assert rms(samples) > 500  # the sim's sine at volume 0.1 (about 2300 in 16 bits), not silence
    assert peak_hz(samples, listener.audio_rate) == pytest.approx(TONE_HZ, rel=0.02)


async def test_camera_without_audio_answers_video_only(daemon: ServedDaemon) -> None:
    listener = await listen(daemon, "mute-cam", 2.0)
    assert "a=inactive" in listener.audio_section() and "a=sendonly" not in listener.audio_section()
    assert listener.frames > 5 and listener.audio == []


def test_camera_list_names_the_audio_and_the_audit_the_route(daemon: ServedDaemon) -> None:
    status, cameras = daemon.get("/api/cameras")
    assert status == 200
    assert {c["id"]: c["audio"] for c in cameras} == {"pcmu-cam": "pcmu", "pcma-cam": "pcma", "aac-cam": "aac",
                                                       "mute-cam": None}
    status, entries = daemon.get("/api/audit?limit=1000")
    views = {e["target"]: e["detail"].get("audio") for e in entries if e["action"] == "live.view"}
    assert views == {"camera:pcmu-cam": "pcmu", "camera:aac-cam": "opus from aac", "camera:mute-cam": None}


AUDIO_STATS_JS = """
async () => {
  const out = [];
  for (const pc of window.vigilPeers || []) {
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        out.push({energy: r.totalAudioEnergy || 0, level: r.audioLevel || 0, samples: r.totalSamplesReceived || 0,
                  codec: (stats.get(r.codecId) || {}).mimeType || null, state: pc.connectionState});
      }
    });
  }
  return out;
}
"""


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_browser_plays_pcma_with_sound_on(daemon: ServedDaemon, size: str) -> None:
    link = run_vigil("link", "create", "--reason", "listen test", "--camera", "pcma-cam", "--camera", "mute-cam",
                     "--config", str(daemon.config))
    assert link.returncode == 0, link.stderr
    with chromium() as browser:
        page, console = new_page(browser, size)
        page.goto(link.stdout.strip())
        page.goto(f"{daemon.base}/live/pcma-cam?quality=main")
        wait_decoding(page, 15.0)
        video = page.locator("video[data-camera='pcma-cam']")
        assert video.evaluate("v => v.muted") is True  # muted until asked
        sound = page.get_by_role("button", name="Sound")
        assert sound.get_attribute("aria-pressed") == "false"
        sound.focus()
        page.keyboard.press("Enter")  # keyboard reachable
        assert sound.get_attribute("aria-pressed") == "true"
        assert video.evaluate("v => v.muted") is False

        def heard() -> bool:
            stats = page.evaluate(AUDIO_STATS_JS)
            return bool(stats) and stats[0]["energy"] > 0 and stats[0]["level"] > 0.01

        wait_for(heard, 10, "audible audio in the browser")
        (first,) = page.evaluate(AUDIO_STATS_JS)
        time.sleep(1.0)
        (later,) = page.evaluate(AUDIO_STATS_JS)
        assert later["codec"] == "audio/PCMA"  # forwarded as it is
        assert later["energy"] > first["energy"] and later["samples"] > first["samples"]  # and it keeps coming
        check_axe(page)
        screenshot(page, f"live-sound-on-{size}")
        assert console.csp_violations() == []
        # A camera without audio offers no sound button.
        page.goto(f"{daemon.base}/live/mute-cam?quality=main")
        wait_for(lambda: page.locator("video[data-camera='mute-cam']").count() == 1, 10, "the mute camera's player")
        assert page.get_by_role("button", name="Sound").count() == 0
