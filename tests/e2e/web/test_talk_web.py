"""Push-to-talk in Chromium against the real daemon: the fake microphone plays a 440 Hz tone
(a WAV written by the test), the button is held for 3 s once it says "Talking…", and the
simulated ONVIF loudspeaker (vigil.sim.backchannel_camera, its own process) hears G.711 whose
decoded audio has the tone's frequency (FFT peak within 2 %) for 3 s (within 10 %). By keyboard
too (Space held). A second talker is told who talks; a viewer has no button and the API refuses
them; a camera whose device has no backchannel gets the button's clear message; a browser that
refuses the microphone says so. axe and screenshots at 390x844 and desktop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright

from tests.support.browser import CHROMIUM, FLAGS
from tests.support.g711_tone import peak_hz
from tests.support.netns import requires_test_namespace
from tests.support.tone import sine
from tests.support.vigil_proc import wait_for
from tests.support.webapp import WebApp, check_axe, new_page, running_webapp, screenshot
from vigil.core.media import AudioCodec

pytestmark = [requires_test_namespace, pytest.mark.slow]

TONE_HZ = 440.0
HOLD_S = 3.0


def write_tone_wav(path: Path, freq_hz: float, seconds: float, silence_s: float = 0.0, rate: int = 48000) -> Path:
    """A mono 16-bit WAV: `silence_s` of silence, then the tone (Chromium loops the file)."""
    samples = np.concatenate([np.zeros(int(silence_s * rate), np.int16), sine(freq_hz, seconds, rate)]).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@contextmanager
def loudspeaker(dump: Path, *extra: str) -> Iterator[str]:
    """The simulated ONVIF loudspeaker in its own process; its URL."""
    process = subprocess.Popen([sys.executable, "-m", "vigil.sim.backchannel_camera", "--port", "0", "--codec",
                                "pcmu", "--dump", str(dump), *extra], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        assert line[:1] == ["READY"], line
        yield f"rtsp://127.0.0.1:{line[1]}/onvif/backchannel"
    finally:
        process.terminate()
        process.wait(10)


def heard(dump: Path) -> bytes:
    if not dump.exists():
        return b""
    lines = [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]
    return b"".join(bytes.fromhex(p["payload"]) for p in lines)


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("talk-dumps")


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory, dumps: Path) -> Iterator[WebApp]:
    """East Entrance talks through the loudspeaker; Gym Lobby's device offers no backchannel."""
    with loudspeaker(dumps / "east.jsonl") as east, \
            loudspeaker(dumps / "gym.jsonl", "--fault", "no-backchannel") as gym, \
            running_webapp(tmp_path_factory.mktemp("talk")) as app:
        text = app.config.read_text()
        text = text.replace('id = "hs-east"\n', f'id = "hs-east"\ntalk = "onvif"\ntalk_url = "{east}"\n')
        text = text.replace('id = "hs-gym"\n', f'id = "hs-gym"\ntalk = "onvif"\ntalk_url = "{gym}"\n')
        app.config.write_text(text)
        app.json("POST", "/api/config/reload", {})
        talks = {"hs-east": True, "hs-gym": True, "ms-front": False}
        wait_for(lambda: {c["id"]: c["talk"] for c in app.json("GET", "/api/cameras")} == talks, 10,
                 "talk configured")
        yield app


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose microphone is the tone WAV, granted without a prompt."""
    wav = write_tone_wav(tmp_path_factory.mktemp("wav") / "tone.wav", TONE_HZ, 10.0)
    flags = [*FLAGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={wav}"]
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        yield b
    finally:
        b.close()


def hold_talk_key(page: Page, camera: str, key: str, state: str) -> Locator:
    """Focuses `camera`'s talk button, holds `key` down and waits for the talk state to show `state`;
    the button."""
    button = page.locator(f"button[data-talk='{camera}']")
    button.focus()
    page.keyboard.down(key)
    page.locator(f"#talk-state-{camera}").filter(has_text=state).wait_for(timeout=15_000)
    return button


def test_holding_the_button_talks_through_the_loudspeaker(webapp: WebApp, browser: Browser, dumps: Path) -> None:
    page, console = new_page(browser, "desktop")
    webapp.sign_in(page, "hs-admin", "#/live/hs-east")
    button = page.locator("button[data-talk='hs-east']")
    state = page.locator("#talk-state-hs-east")
    box = button.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    state.filter(has_text="Talking…").wait_for(timeout=15_000)
    talking_from = time.monotonic()
    before = len(heard(dumps / "east.jsonl"))
    screenshot(page, "talk-desktop")
    check_axe(page)
    time.sleep(max(0.0, talking_from + HOLD_S - time.monotonic()))
    page.mouse.up()
    held_s = time.monotonic() - talking_from
    assert abs(held_s - HOLD_S) < 0.1, held_s  # the screenshot and axe fit in the hold
    wait_for(lambda: button.get_attribute("aria-pressed") == "false", 5, "the button released")
    time.sleep(0.5)
    audio = heard(dumps / "east.jsonl")[before:]
    seconds = len(audio) / 8000
    assert abs(seconds - HOLD_S) <= 0.1 * HOLD_S, seconds
    assert abs(peak_hz(audio, AudioCodec.PCMU) - TONE_HZ) <= 0.02 * TONE_HZ
    # the microphone is released at once: no live audio track left in the page
    assert page.evaluate("() => (window.vigilTalks || []).every(pc => pc.connectionState === 'closed')")
    assert page.evaluate("() => document.querySelector('button[data-talk]').getAttribute('aria-pressed')") == "false"
    assert not console.csp_violations()
    audit = webapp.json("GET", "/api/audit?action=talk.end")
    assert any(e["action"] == "talk.end" and e["actor"] == "user:hs-admin" for e in audit), audit
    page.context.close()  # its live video too: the machine is small


def test_space_held_talks_and_a_second_talker_is_told_who(webapp: WebApp, browser: Browser, dumps: Path) -> None:
    first, _ = new_page(browser, "phone")
    webapp.sign_in(first, "hs-admin", "#/live/hs-east")
    second, _ = new_page(browser, "desktop")
    webapp.sign_in(second, "district", "#/live/hs-east")
    button = hold_talk_key(first, "hs-east", " ", "Talking…")
    screenshot(first, "talk-phone")
    check_axe(first)
    hold_talk_key(second, "hs-east", "Enter", "hs-admin is talking")
    second.keyboard.up("Enter")
    screenshot(second, "talk-busy-desktop")
    first.keyboard.up(" ")
    wait_for(lambda: button.get_attribute("aria-pressed") == "false", 5, "the button released")
    first.context.close()
    second.context.close()


def test_a_device_without_backchannel_and_a_viewer(webapp: WebApp, browser: Browser) -> None:
    page, _ = new_page(browser, "phone")
    webapp.sign_in(page, "hs-admin", "#/live/hs-gym")
    hold_talk_key(page, "hs-gym", " ", "This camera cannot take audio")
    page.keyboard.up(" ")
    screenshot(page, "talk-unsupported-phone")
    check_axe(page)
    viewer, _ = new_page(browser, "desktop")
    webapp.sign_in(viewer, "hs-viewer", "#/live/hs-east")
    viewer.locator("figure.live video").wait_for()
    assert viewer.locator("button[data-talk]").count() == 0
    status, body, _ = webapp.request("POST", "/api/cameras/hs-east/talk", b"v=0\r\n", "hs-viewer",
                                     {"Content-Type": "application/sdp"})
    assert status == 403, body
    page.context.close()
    viewer.context.close()


def test_a_refused_microphone_says_so(webapp: WebApp, playwright: Playwright) -> None:
    # a microphone, but no fake UI: the permission prompt is refused (as a user's "Block" would)
    refusing = playwright.chromium.launch(executable_path=CHROMIUM,
                                          args=[*FLAGS, "--use-fake-device-for-media-stream"])
    try:
        page, _ = new_page(refusing, "desktop")
        webapp.sign_in(page, "hs-admin", "#/live/hs-east")
        page.locator("button[data-talk='hs-east']").focus()
        page.keyboard.down(" ")
        page.locator("#talk-state-hs-east").filter(has_text="Microphone blocked").wait_for(timeout=15_000)
        page.keyboard.up(" ")
        screenshot(page, "talk-mic-blocked-desktop")
        check_axe(page)
    finally:
        refusing.close()
