"""Push-to-talk: mouth-to-camera latency and the daemon's CPU per talk session, beside GStreamer
doing the same G.711 transcode.

    unshare --net -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo \\
        && exec .venv/bin/python bench/intercom.py [--presses 5] [--seconds 20]'

Runs only inside a loopback-only network namespace. The daemon (`python -m vigil run`, the web
app's test set-up: tests/support/webapp.py, three simulated cameras recording) talks through the
simulated ONVIF loudspeaker (vigil.sim.backchannel_camera, in this process, PCMA: the browser
sends PCMU, so the daemon converts), which stamps each RTP packet with its receive time.
Headless Debian Chromium's fake microphone plays a WAV of 1.5 s silence then a 440 Hz tone.

1. Mouth to camera: an init script taps the microphone stream with a WebAudio analyser (5 ms
   windows, polled every 2 ms) and notes the wall time (performance.timeOrigin + now) when the
   tone starts; the loudspeaker notes when the first loud packet arrives (same machine clock).
   Also the press's set-up: Space down to the page showing "Talking…". `--presses` presses.
2. CPU: the daemon's utime+stime (/proc, all threads) over `--seconds` idle, then over
   `--seconds` while one talk session runs: the difference is one session's cost. Beside it,
   `gst-launch-1.0` running the same work on a live 8 kHz tone (mu-law encode, RTP pay, depay,
   decode, A-law encode, RTP pay) over the same time.

Exit 0 = median latency within the 250 ms target, 1 = missed, 2 = could not measure."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS  # noqa: E402
from tests.support.netns import in_test_namespace  # noqa: E402
from tests.support.vigil_proc import wait_for  # noqa: E402
from tests.support.webapp import WebApp, new_page, running_webapp  # noqa: E402

from procstat import CLK_TCK, cpu_ticks, ticks_between  # noqa: E402 (bench/ is the script's directory)
from vigil.core import g711  # noqa: E402
from vigil.core.media import AudioCodec  # noqa: E402
from vigil.core.rtsp_messages import InterleavedFrame  # noqa: E402
from vigil.sim.backchannel_camera import BackchannelCamera  # noqa: E402

TARGET_MS = 250.0
SILENCE_S = 1.5
LOUD_RMS = 2000.0

ONSET_JS = """(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.vigilToneOnsets = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 256;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      if (Math.sqrt(sum / samples.length) > 0.05) {
        window.vigilToneOnsets.push(performance.timeOrigin + performance.now());
        clearInterval(timer);
        context.close();
      }
    }, 2);
    return stream;
  };
})();"""


class TimedLoudspeaker(BackchannelCamera):
    """The simulated loudspeaker, noting the wall time (ms) of each loud packet it receives."""

    loud_ms: list[float]

    def _record(self, frame: InterleavedFrame) -> None:
        super()._record(frame)
        if frame.channel == 0 and len(frame.data) > 12:
            samples = g711.decode(frame.data[12:], AudioCodec.PCMA).astype(np.float64)
            if np.sqrt(np.mean(samples**2)) > LOUD_RMS:
                self.loud_ms.append(time.time_ns() / 1e6)


def start_loudspeaker() -> TimedLoudspeaker:
    speaker = TimedLoudspeaker(codec="pcma")
    speaker.loud_ms = []
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(speaker.start(), loop).result(10)
    return speaker


def tone_wav(path: Path, rate: int = 48000) -> Path:
    t = np.arange(int(10 * rate)) / rate
    samples = np.concatenate([np.zeros(int(SILENCE_S * rate)), 0.5 * 32767 * np.sin(2 * np.pi * 440 * t)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def press(page: Page, speaker: TimedLoudspeaker) -> tuple[float, float]:
    """(set-up ms: key down to "Talking…", mouth to camera ms) of one press."""
    onsets = len(page.evaluate("() => window.vigilToneOnsets"))
    heard = len(speaker.loud_ms)
    page.locator("button[data-talk='hs-east']").focus()
    down_s = time.monotonic()
    page.keyboard.down(" ")
    page.locator("#talk-state-hs-east").filter(has_text="Talking…").wait_for(timeout=15_000)
    setup_ms = (time.monotonic() - down_s) * 1000
    wait_for(lambda: len(page.evaluate("() => window.vigilToneOnsets")) > onsets and len(speaker.loud_ms) > heard,
             10, "the tone at both ends")
    time.sleep(0.5)
    page.keyboard.up(" ")
    onset_ms = page.evaluate("() => window.vigilToneOnsets")[onsets]
    first_heard_ms = speaker.loud_ms[heard]
    time.sleep(1.0)
    return setup_ms, first_heard_ms - onset_ms


def cpu_s(pid: int, seconds: float) -> float:
    before = cpu_ticks([pid])
    time.sleep(seconds)
    return ticks_between(before, cpu_ticks([pid])) / CLK_TCK


def gst_cpu_s(seconds: float) -> float:
    pipeline = ("audiotestsrc is-live=true freq=440 samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1,"
                "format=S16LE ! mulawenc ! rtppcmupay ! rtppcmudepay ! mulawdec ! alawenc ! rtppcmapay ! fakesink")
    process = subprocess.Popen(["gst-launch-1.0", "-q", *pipeline.split()])
    try:
        time.sleep(1.0)
        return cpu_s(process.pid, seconds)
    finally:
        process.terminate()
        process.wait(10)


def configure(app: WebApp, speaker: TimedLoudspeaker) -> None:
    talk = f'id = "hs-east"\ntalk = "onvif"\ntalk_url = "{speaker.url}"\n'
    text = app.config.read_text().replace('id = "hs-east"\n', talk)
    app.config.write_text(text)
    app.json("POST", "/api/config/reload", {})
    wait_for(lambda: any(c["talk"] for c in app.json("GET", "/api/cameras")), 10, "talk configured")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if not in_test_namespace():
        print("run inside a loopback-only network namespace (see the docstring)", file=sys.stderr)
        return 2
    speaker = start_loudspeaker()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-talk-") as tmp, running_webapp(Path(tmp)) as app, \
            sync_playwright() as p:
        configure(app, speaker)
        wav = tone_wav(Path(tmp) / "tone.wav")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            *FLAGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"])
        page, _ = new_page(browser, "desktop")
        page.add_init_script(ONSET_JS)
        app.sign_in(page, "hs-admin", "#/live/hs-east")
        results = [press(page, speaker) for _ in range(args.presses)]
        setups, latencies = [r[0] for r in results], [r[1] for r in results]
        pid = app.vigil.proc.pid
        idle_s = cpu_s(pid, args.seconds)
        page.locator("button[data-talk='hs-east']").focus()
        page.keyboard.down(" ")
        page.locator("#talk-state-hs-east").filter(has_text="Talking…").wait_for(timeout=15_000)
        talking_s = cpu_s(pid, args.seconds)
        page.keyboard.up(" ")
        browser.close()
    gst_s = gst_cpu_s(args.seconds)
    session_pct = (talking_s - idle_s) / args.seconds * 100
    gst_pct = gst_s / args.seconds * 100
    print(f"presses: {args.presses}; set-up (key down to 'Talking…') ms: {[round(s) for s in setups]}, "
          f"median {statistics.median(setups):.0f}")
    print(f"mouth to camera ms: {[round(v, 1) for v in latencies]}, median {statistics.median(latencies):.1f}"
          f" (target <= {TARGET_MS:.0f})")
    print(f"daemon CPU over {args.seconds:.0f} s: idle {idle_s:.2f} s, talking {talking_s:.2f} s -> one talk session"
          f" {session_pct:.2f} % of a core; gst-launch same transcode {gst_pct:.2f} % of a core;"
          f" ratio {session_pct / gst_pct if gst_pct else float('nan'):.1f}")
    return 0 if statistics.median(latencies) <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
