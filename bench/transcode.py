"""Live transcode: CPU of the appliance's transcoder (webrtc/transcode.py) beside `ffmpeg` doing the
same transcode of the same camera.

    .venv/bin/python bench/transcode.py [--seconds 20] [--warmup 5] [--repeats 3] [--cameras hevc,bframes]

Cameras (vigil.sim.camera_server, one server, videotestsrc `smpte`: bars and a moving noise
patch): ``hevc`` = 1920x1080 15 fps H.265 (x265), 1 s GOP, 4 Mbit/s; ``bframes`` = the same size
in H.264 with 2 B-frames. For each camera and repeat, two runs one after the other (which goes first
alternates), each reading the camera over RTSP/TCP on its own, so the camera is the same for both:

* **ours**: ``bench/transcode.py --child URL``: the daemon's RtspIngest -> Fanout -> Transcoder
  (decode, scale to 1280x720, libx264 with `x264_options`) -> a Fanout with one subscriber
  (what a viewer's CameraTrack reads), in a process of its own;
* **ffmpeg**: ``ffmpeg -rtsp_transport tcp -i URL -an -vf scale=1280:720 -c:v libx264 -profile:v
  baseline -tune zerolatency -preset veryfast -crf 25 -maxrate 2000000 -bufsize 2000000 -g 15 -bf 0
  -forced-idr 1 -f null -`.

Measured: process CPU seconds per wall second (utime + stime of all its threads, /proc) over
``--seconds`` after ``--warmup``; and frames encoded per second (ours: its count; ffmpeg: its
``-progress`` output), so a run that falls behind shows, and CPU ms per frame encoded (the figure
that does not depend on how many frames the camera managed to send). Medians over repeats; ratios
ours/ffmpeg. Ours also reports the delay it adds (camera packet in -> re-encoded frame out, per
frame, matched by display time): median and p90 over the window, medians over repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))

from procstat import CLK_TCK, SimCameras, child_env, cpu_ticks, log, ticks_between, workdir

CAMERAS = {
    "hevc": "name=hevc,width=1920,height=1080,fps=15,gop=15,bitrate=4000,pattern=smpte,codec=h265",
    "bframes": "name=bframes,width=1920,height=1080,fps=15,gop=15,bitrate=4000,pattern=smpte,bframes=2",
}

DELAYS: list[tuple[float, float]] = []  # ours: (median, p90) ms added per run


def child(url: str) -> None:
    """Our transcoder alone in this process. On each stdin line it prints the frames encoded so far
    and the delay it added to the frames of the last window (ms, median and p90): from the camera's
    packet with that display time reaching the fan-out to the re-encoded frame reaching a viewer's
    queue (decode, including FFmpeg's frame-thread delay and B-frame reordering, scale, encode)."""
    from vigil.config import CameraConfig
    from vigil.core.camera_modes import Stream
    from vigil.core.media import EncodedPacket
    from vigil.ingest.fanout import Fanout, Subscription
    from vigil.ingest.rtsp import RtspIngest
    from vigil.webrtc.transcode import TranscodeKey, Transcoder

    camera = CameraConfig("bench", "hs", "bench", url)
    fanout = Fanout()
    ingest = RtspIngest(camera, url, Stream.MAIN, fanout, lambda t: None)
    threading.Thread(target=ingest.run, daemon=True).start()
    transcoder = Transcoder(TranscodeKey("bench", Stream.MAIN), fanout, 1280, 720)
    arrived: dict[int, int] = {}  # pts_90k -> when the camera's packet reached the fan-out
    delays_ms: list[float] = []

    def source_times(sub: Subscription) -> None:
        while True:
            item = sub.get(1.0)
            if isinstance(item, EncodedPacket):
                arrived[item.pts_90k] = item.received_wall_ns

    def viewer(sub: Subscription) -> None:
        while True:
            item = sub.get(1.0)
            if isinstance(item, EncodedPacket) and item.pts_90k in arrived:
                delays_ms.append((time.time_ns() - arrived.pop(item.pts_90k)) / 1e6)

    threading.Thread(target=source_times, args=(fanout.subscribe("times", 900),), daemon=True).start()
    threading.Thread(target=viewer, args=(transcoder.output.subscribe("viewer", 90),), daemon=True).start()
    transcoder.start()
    for _ in sys.stdin:
        window, delays_ms[:] = sorted(delays_ms), []
        p50 = window[len(window) // 2] if window else 0.0
        p90 = window[int(len(window) * 0.9)] if window else 0.0
        print(transcoder.frames_encoded, f"{p50:.1f}", f"{p90:.1f}", flush=True)


def ffmpeg_command(url: str) -> list[str]:
    from vigil.webrtc.transcode import x264_options

    o = x264_options(1280, 720)
    return ["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-an", "-vf", "scale=1280:720",
            "-c:v", "libx264", "-profile:v", "baseline", "-tune", o["tune"], "-preset", o["preset"], "-crf", o["crf"],
            "-maxrate", o["maxrate"], "-bufsize", o["bufsize"], "-g", "15", "-bf", "0", "-forced-idr", "1",
            "-x264-params", o["x264-params"], "-progress", "pipe:1", "-f", "null", "-"]


def _ffmpeg_frames(lines: list[str]) -> int:
    frames = [int(line.split("=", 1)[1]) for line in lines if line.startswith("frame=")]
    return frames[-1] if frames else 0


def measure(kind: str, url: str, warmup_s: float, seconds: float) -> tuple[float, float]:
    """(CPU s per wall s, frames encoded per s) of one run; ours also appends its added delay
    (median, p90 ms, over the measured window) to `DELAYS`."""
    delays: list[tuple[float, float]] = []
    if kind == "ours":
        proc = subprocess.Popen([sys.executable, __file__, "--child", url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=child_env())
        assert proc.stdin is not None and proc.stdout is not None

        def frames() -> int:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            count, p50, p90 = proc.stdout.readline().split()
            delays.append((float(p50), float(p90)))
            return int(count)
    else:
        proc = subprocess.Popen(ffmpeg_command(url), stdout=subprocess.PIPE, text=True)
        lines: list[str] = []
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
        reader.start()

        def frames() -> int:
            return _ffmpeg_frames(lines)
    try:
        time.sleep(warmup_s)
        before, frames_before, start = cpu_ticks([proc.pid]), frames(), time.monotonic()
        time.sleep(seconds)
        after, frames_after, wall = cpu_ticks([proc.pid]), frames(), time.monotonic() - start
    finally:
        proc.terminate()
        proc.wait(10)
    if delays:
        DELAYS.append(delays[-1])
    return ticks_between(before, after) / CLK_TCK / wall, (frames_after - frames_before) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cameras", default="hevc,bframes")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    names = args.cameras.split(",")
    with workdir(keep=False, prefix="vigil-bench-transcode-") as tmp:
        cams = SimCameras([CAMERAS[n] for n in names], tmp / "cameras.log")
        try:
            print("| camera | ours CPU s/s | ffmpeg CPU s/s | ratio | ours fps | ffmpeg fps | ours ms/frame |"
                  " ffmpeg ms/frame | ratio per frame |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for name in names:
                runs: dict[str, list[tuple[float, float]]] = {"ours": [], "ffmpeg": []}
                for repeat in range(args.repeats):
                    for kind in (("ours", "ffmpeg") if repeat % 2 == 0 else ("ffmpeg", "ours")):
                        cpu, fps = measure(kind, cams.url(name), args.warmup, args.seconds)
                        log(f"{name} {kind} #{repeat}: {cpu:.3f} CPU s/s, {fps:.1f} fps")
                        runs[kind].append((cpu, fps))
                ours = statistics.median(c for c, _ in runs["ours"])
                theirs = statistics.median(c for c, _ in runs["ffmpeg"])
                # CPU per frame encoded: the figure that does not depend on how many frames the camera managed
                ours_ms = statistics.median(1000 * c / f for c, f in runs["ours"] if f)
                theirs_ms = statistics.median(1000 * c / f for c, f in runs["ffmpeg"] if f)
                delay = (statistics.median(m for m, _ in DELAYS), statistics.median(p for _, p in DELAYS))
                DELAYS.clear()
                log(f"{name}: our transcoder added {delay[0]:.0f} ms (median; p90 {delay[1]:.0f} ms)")
                print(f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | "
                      f"{statistics.median(f for _, f in runs['ours']):.1f} | "
                      f"{statistics.median(f for _, f in runs['ffmpeg']):.1f} | {ours_ms:.1f} | {theirs_ms:.1f} | "
                      f"{ours_ms / theirs_ms:.2f} |", flush=True)
        finally:
            cams.close()


if __name__ == "__main__":
    main()
