"""Talking to the device (issue 18): how long `open_talk` takes to set a talk session up, and what
one talk costs the appliance's CPU, each side by side with a peer in the same run.

* setup: `open_talk` against the simulated loudspeakers, each in a process of its own on
  loopback: ONVIF (vigil.sim.backchannel_camera, Digest: OPTIONS, DESCRIBE 401 + DESCRIBE, SETUP,
  PLAY) and VAPIX (vigil.sim.vapix_speaker, Digest: empty POST 401 + empty POST, streaming POST
  started). Peer: one bare RTSP exchange (connect, OPTIONS, answer) with the same camera: the
  floor of any RTSP client.
* send: CPU time of this process (time.process_time) to hand 10 s of G.711 to the sink in 20 ms
  chunks (not paced) and close it (VAPIX writes its queued body meanwhile), per chunk; peer: the
  same RTP-in-`$` frames, built beforehand, written by hand on a plain asyncio stream to the
  same camera.

Run from the repository root (network namespace: loopback only):

    unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python bench/talk_device.py --runs 9'

No target was set; the figures go to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "daemon"), str(REPO)]

from vigil.config import CameraConfig  # noqa: E402
from vigil.core.backchannel_sdp import RtpPacketizer  # noqa: E402
from vigil.core.camera_modes import TalkPath  # noqa: E402
from vigil.core.rtsp_messages import encode_interleaved, encode_request  # noqa: E402
from vigil.intercom.device import open_talk  # noqa: E402

SECONDS = 10.0
CHUNK = 160


def _start(module: str, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args], stdout=subprocess.PIPE, cwd=REPO / "daemon"
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"{module} did not start: {line!r}")
    return proc, int(line.split()[1])


def _camera(talk: TalkPath, url: str) -> CameraConfig:
    return CameraConfig(id="c", building="b", name="c", url="rtsp://127.0.0.1:1/", username="u", password="p",  # noqa: S106
                        talk=talk, talk_url=url)


async def _options_round_trip(port: int) -> float:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_request("OPTIONS", f"rtsp://127.0.0.1:{port}/x", 1))
    await reader.readuntil(b"\r\n\r\n")
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed


async def _setup(camera: CameraConfig) -> float:
    start = time.perf_counter()
    sink = await open_talk(camera, timeout_s=5.0)
    elapsed = time.perf_counter() - start
    await sink.aclose()
    return elapsed


async def _send_cpu(camera: CameraConfig, audio: bytes) -> float:
    sink = await open_talk(camera, timeout_s=5.0)
    start = time.process_time()
    for i in range(0, len(audio), CHUNK):
        await sink.send(audio[i : i + CHUNK])
    await sink.aclose()  # VAPIX: until the queued body has been written
    elapsed = time.process_time() - start
    return elapsed / (len(audio) / CHUNK)


async def _raw_send_cpu(port: int, audio: bytes) -> float:
    packetizer = RtpPacketizer(0, 1, 0, 0)
    frames = [encode_interleaved(0, p) for p in packetizer.packets(audio)]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.process_time()
    for frame in frames:
        writer.write(frame)
        await writer.drain()
    writer.close()
    await writer.wait_closed()
    elapsed = time.process_time() - start
    return elapsed / len(frames)


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def main(runs: int) -> None:
    audio = bytes([0xFF, 0x7F] * int(SECONDS * 4000))
    onvif, onvif_port = _start("vigil.sim.backchannel_camera", "--auth", "u:p")
    vapix, vapix_port = _start("vigil.sim.vapix_speaker", "--auth", "u:p")
    bare, bare_port = _start("vigil.sim.backchannel_camera")
    try:
        onvif_cam = _camera(TalkPath.ONVIF, f"rtsp://127.0.0.1:{onvif_port}/onvif")
        vapix_cam = _camera(TalkPath.VAPIX, f"http://127.0.0.1:{vapix_port}")
        bare_cam = _camera(TalkPath.ONVIF, f"rtsp://127.0.0.1:{bare_port}/onvif")
        await _setup(onvif_cam), await _setup(vapix_cam), await _options_round_trip(onvif_port)  # warm-up
        setup: dict[str, list[float]] = {"onvif": [], "vapix": [], "options": []}
        send: dict[str, list[float]] = {"onvif": [], "vapix": [], "raw": []}
        for _ in range(runs):  # interleaved, so that a busy moment hits all alike
            setup["onvif"].append(await _setup(onvif_cam))
            setup["vapix"].append(await _setup(vapix_cam))
            setup["options"].append(await _options_round_trip(onvif_port))
        for _ in range(max(1, runs // 3)):
            send["onvif"].append(await _send_cpu(bare_cam, audio))
            send["vapix"].append(await _send_cpu(vapix_cam, audio))
            send["raw"].append(await _raw_send_cpu(bare_port, audio))
    finally:
        for proc in (onvif, vapix, bare):
            proc.terminate()
            proc.wait(5)
    floor = _median_ms(setup["options"])
    print(f"setup, median of {runs} (ms): ONVIF {_median_ms(setup['onvif']):.1f} "
          f"({_median_ms(setup['onvif']) / floor:.1f}x one OPTIONS round trip), "
          f"VAPIX {_median_ms(setup['vapix']):.1f} ({_median_ms(setup['vapix']) / floor:.1f}x), "
          f"bare OPTIONS {floor:.2f}")
    raw_us = statistics.median(send["raw"]) * 1e6
    for name in ("onvif", "vapix"):
        us = statistics.median(send[name]) * 1e6
        print(f"send {name}: {us:.1f} us CPU per 20 ms chunk = {us / 20000 * 100:.2f} % of a core in real time "
              f"({us / raw_us:.1f}x hand-framed writes, {raw_us:.1f} us)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    asyncio.run(main(parser.parse_args().runs))
