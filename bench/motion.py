"""Motion detection: CPU per camera in both modes, and precision/recall on a scripted scene.

    .venv/bin/python bench/motion.py [--cameras 1,8,16] [--seconds 30] [--repeats 3] [--modes keyframes,substream]
                                     [--skip-cpu] [--skip-accuracy] [--clips DIR] [--seed 1]

**CPU.** For each mode and camera count N, the same N simulated cameras are recorded by
``vigil run`` twice per repeat, once with ``motion = MODE`` and once with ``motion = "off"``
(alternating which goes first), each run with a fresh camera server and its own data dir. The
cost of motion is vigil's CPU (utime + stime of all threads, /proc) with motion on minus with
motion off, per camera, over a ``--seconds`` window that starts ``--warmup`` s after every camera
has written data; the per-repeat differences of adjacent runs are reported as medians.

* keyframes: each camera is a 1080p15 ~4 Mb/s main stream with a 1 s GOP (a 10 s
  ``make_h264_clip`` replayed by ``vigil.sim.camera_server``'s ``file=`` mode): motion decodes its
  keyframes, i.e. one 1080p intra picture per second. Intra decode cost depends on the content
  (testsrc2 here: sharp edges, text, a gradient), so the figure is content-dependent.
* substream: the same main stream plus a 640x360 15 fps ~0.8 Mb/s substream (``substream_url``,
  also ``file=``): motion decodes every substream frame. The "off" run also ingests the
  substream (the daemon does for live viewing), so the difference is the motion work alone.

Every run must exit 0 after SIGTERM with a segment for every camera; the "on" runs must have a
``motion_started`` event per camera; ``motion_skipped`` events (the worker fell behind and the
fan-out dropped its packets) are counted and reported.

**Accuracy.** ``vigil.sim.scenes.long_scene(seed)`` (~5 min, 20 movers, lighting steps) is
rendered at 1920x1080 (main) and 640x360 (substream), served as two cameras in one ``vigil run``
(cam0: keyframes mode on the 1080p main; cam1: substream mode, 1080p main + 360p substream), and
recorded once for the scene's length. ``vigil motion --json`` gives the detected intervals. The
clip starts when the daemon's client connects; the worker's time origin is the first packet it
analyses (its ``motion_started`` event carries that packet's arrival time), so detected times are
taken relative to that event. The first packet seen need not be the clip's first frame (the
simulator can drop the first frames before the client's PLAY). Keyframes mode: the first sample is
the first keyframe, which is also the first recorded frame; the harness identifies which clip frame
that is from its sensor noise (the frames are deterministic) and shifts by it ("identified").
Substream mode (the substream is not recorded): the best shift within +-1.5 s is searched
("best"). Unshifted results are printed too. Frames missing from the recording (dropped by the
simulator) are counted. A detection is correct if it overlaps a ground-truth interval (closed
intervals: a one-sample detection inside a truth interval counts); a truth interval is found if a
detection overlaps it. The stricter IoU >= 0.3 rule is reported too. Targets: recall >= 0.95 and
precision >= 0.9; CPU <= 2% of one core per camera in substream mode, <= 3% in keyframes mode.

Exit status: 0 targets met, 1 a target missed, 2 the benchmark could not measure.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import av
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
DAEMON_DIR = ROOT / "daemon"
sys.path.insert(0, str(DAEMON_DIR))

from procstat import (  # noqa: E402 (bench/ is the script's directory)
    CLK_TCK,
    BenchError,
    SimCameras,
    child_env,
    cpu_ticks,
    log,
    machine_busy_ticks,
    stop,
    ticks_between,
    workdir,
)
from vigil.sim.clips import make_h264_clip  # noqa: E402
from vigil.sim.scenes import Scene, ground_truth, long_scene, render_scene, scene_frames  # noqa: E402

FPS = 15
CLIP_SECONDS = 10.0
MAIN_KBPS = 4000
SUB_KBPS = 800
MODES = ("keyframes", "substream")
TARGET_PCT = {"keyframes": 3.0, "substream": 2.0}
TARGET_RECALL = 0.95
TARGET_PRECISION = 0.9
MIN_IOU = 0.3
SHIFT_RANGE_S = 1.5
SHIFT_STEP_S = 0.05

Interval = tuple[float, float]


# --------------------------------------------------------------------------------------------
# /proc accounting and processes: bench/procstat.py


def verify_vigil(config: Path, count: int) -> None:
    """Raises unless `vigil segments --json` lists a non-empty segment for each of cam0..cam{count-1}."""
    result = subprocess.run([sys.executable, "-m", "vigil", "segments", "--config", str(config), "--json"],
                            capture_output=True, text=True, check=False, env=child_env())
    if result.returncode != 0:
        raise BenchError(f"vigil segments failed ({result.returncode}): {result.stderr.strip()}")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    cams = {r["camera_id"] for r in rows if r["size_bytes"] and Path(r["path"]).is_file()}
    missing = sorted({f"cam{i}" for i in range(count)} - cams)
    if missing:
        raise BenchError(f"vigil: no non-empty segment listed for {missing[:5]} ({len(missing)} cameras)")


# --------------------------------------------------------------------------------------------
# matching (pure)


def overlaps(a: Interval, b: Interval) -> bool:
    """Closed intervals share at least a point."""
    return a[0] <= b[1] and b[0] <= a[1]


def iou(a: Interval, b: Interval) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    union = max(a[1], b[1]) - min(a[0], b[0])
    return max(inter, 0.0) / union if union > 0 else 0.0


@dataclass(frozen=True)
class Score:
    detections: int
    truths: int
    correct: int  # detections matching some truth interval
    found: int  # truth intervals matched by some detection
    split: int  # truth intervals matched by more than one detection

    @property
    def precision(self) -> float:
        return self.correct / self.detections if self.detections else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.truths if self.truths else 1.0


def score(detected: Sequence[Interval], truth: Sequence[Interval], min_iou: float | None = None) -> Score:
    """Precision/recall: a pair matches when it overlaps (``min_iou=None``) or has IoU >= min_iou."""

    def match(d: Interval, t: Interval) -> bool:
        return overlaps(d, t) if min_iou is None else iou(d, t) >= min_iou

    hits = [sum(match(d, t) for d in detected) for t in truth]
    correct = sum(any(match(d, t) for t in truth) for d in detected)
    return Score(len(detected), len(truth), correct, sum(h > 0 for h in hits), sum(h > 1 for h in hits))


def shifted(intervals: Sequence[Interval], by: float) -> list[Interval]:
    return [(a + by, b + by) for a, b in intervals]


def best_shift(detected: Sequence[Interval], truth: Sequence[Interval]) -> float:
    """The shift (s, within +-SHIFT_RANGE_S) of the detections that maximizes the time they share
    with the truth minus the time they do not (ties: the smallest shift)."""

    def agreement(by: float) -> float:
        total = 0.0
        for a, b in shifted(detected, by):
            inside = sum(max(0.0, min(b, tb) - max(a, ta)) for ta, tb in truth)
            total += inside - ((b - a) - inside)
        return total

    steps = round(SHIFT_RANGE_S / SHIFT_STEP_S)
    candidates = sorted((i * SHIFT_STEP_S for i in range(-steps, steps + 1)), key=abs)
    return max(candidates, key=agreement)


# --------------------------------------------------------------------------------------------
# processes


@dataclass(frozen=True)
class Cam:
    id: str
    url: str
    sub_url: str | None
    motion: str  # keyframes, substream or off


class Vigil:
    """``vigil run`` over a fresh data dir (API on a free loopback port, plain HTTP)."""

    def __init__(self, work: Path, cams: list[Cam]) -> None:
        self.data = work / "data"
        lines = [
            "[storage]", f'path = "{self.data}"', "min_free_bytes = 0", "segment_duration_s = 60", "",
            "[http]", 'listen = "127.0.0.1:0"', "tls = false", "",
            "[[buildings]]", 'id = "bench"', 'name = "Bench"',
        ]  # fmt: skip
        for cam in cams:
            lines += ["", "[[cameras]]", f'id = "{cam.id}"', 'building = "bench"', f'url = "{cam.url}"',
                      f'motion = "{cam.motion}"']
            if cam.sub_url is not None:
                lines.append(f'substream_url = "{cam.sub_url}"')
        self.config = work / "vigil.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.cams = cams
        self.log_path = work / "vigil.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--config", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=child_env())

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"vigil exited early with {self.proc.returncode}; log tail:\n{self.log_tail()}")

    def events(self, kind: str) -> list[tuple[str, int, str | None]]:
        """(camera_id, wall_ns, detail) of the index's events of this kind (read-only)."""
        path = self.data / "index.sqlite3"
        if not path.exists():
            return []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT camera_id, wall_ns, detail FROM events WHERE kind = ? ORDER BY wall_ns",
                                (kind,)).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            conn.close()
        return [(str(r[0]), int(r[1]), r[2]) for r in rows]

    def cameras_with_data(self) -> set[str]:
        seen: set[str] = set()
        root = self.data / "recordings"
        if root.exists():
            for f in root.rglob("*.mp4"):
                with contextlib.suppress(FileNotFoundError):
                    if f.stat().st_size > 0:
                        seen.add(f.relative_to(root).parts[0])
        return seen

    def wait(self, ids: set[str], timeout_s: float, motion: bool) -> None:
        """Until every camera has written data (and, with motion, has started analysing)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            missing = ids - self.cameras_with_data()
            if motion:
                missing |= ids - {cam for cam, _, _ in self.events("motion_started")}
            if not missing:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"after {timeout_s:.0f} s, no data or no motion_started for {sorted(missing)[:8]}; "
                                 f"log tail:\n{self.log_tail()}")
            time.sleep(0.25)

    def stop(self) -> None:
        try:
            code = stop(self.proc, 60)
        finally:
            self._log.close()
        if code != 0:
            raise BenchError(f"vigil exited {code} after SIGTERM; log tail:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def motion(self, camera: str, start_s: float, end_s: float) -> dict[str, object]:
        result = subprocess.run(
            [sys.executable, "-m", "vigil", "motion", "--config", str(self.config), "--camera", camera,
             "--start", f"{start_s:.3f}", "--end", f"{end_s:.3f}", "--json"],
            capture_output=True, text=True, check=False, env=child_env())
        if result.returncode != 0:
            raise BenchError(f"vigil motion failed ({result.returncode}): {result.stderr.strip()}")
        out: dict[str, object] = json.loads(result.stdout)
        return out


# --------------------------------------------------------------------------------------------
# CPU


@dataclass(frozen=True)
class Window:
    mode: str
    motion: bool
    cameras: int
    wall_s: float
    cpu_s: float
    camsrv_s: float
    other_s: float
    skipped_events: int

    @property
    def core_pct(self) -> float:
        return 100 * self.cpu_s / self.wall_s


def cpu_window(mode: str, motion: bool, count: int, clips: dict[str, Path], work: Path, warmup_s: float,
               seconds: float) -> Window:
    work.mkdir(parents=True)
    specs = [f"name=cam{i},file={clips['main']}" for i in range(count)]
    if mode == "substream":
        specs += [f"name=cam{i}-sub,file={clips['sub']}" for i in range(count)]
    camsrv = SimCameras(specs, work / "camsrv.log")
    try:
        cams = [Cam(f"cam{i}", camsrv.url(f"cam{i}"), camsrv.url(f"cam{i}-sub") if mode == "substream" else None,
                    mode if motion else "off") for i in range(count)]
        vigil = Vigil(work, cams)
        try:
            vigil.wait({c.id for c in cams}, 60 + 2 * count, motion)
            time.sleep(warmup_s)
            vigil.check_alive()
            pids, cam_pids = [vigil.proc.pid], [camsrv.proc.pid]
            c0, m0, busy0, t0 = cpu_ticks(pids), cpu_ticks(cam_pids), machine_busy_ticks(), time.monotonic()
            deadline = t0 + seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 1.0))
                vigil.check_alive()
            c1, m1, busy1, t1 = cpu_ticks(pids), cpu_ticks(cam_pids), machine_busy_ticks(), time.monotonic()
            vigil.stop()
        except BaseException:
            vigil.kill()
            raise
    finally:
        camsrv.close()
    verify_vigil(vigil.config, count)
    started = {cam for cam, _, _ in vigil.events("motion_started")}
    if motion and len(started) != count:
        raise BenchError(f"{mode}: motion_started for {len(started)}/{count} cameras")
    if not motion and started:
        raise BenchError(f"motion = 'off' but motion_started events for {sorted(started)[:4]}")
    side, cam = ticks_between(c0, c1), ticks_between(m0, m1)
    return Window(mode, motion, count, t1 - t0, side / CLK_TCK, cam / CLK_TCK, (busy1 - busy0 - side - cam) / CLK_TCK,
                  len(vigil.events("motion_skipped")))


@dataclass(frozen=True)
class CpuRow:
    mode: str
    cameras: int
    on: list[Window]
    off: list[Window]

    @property
    def diffs_pct(self) -> list[float]:
        """Per repeat: (on - off) % of one core per camera."""
        return [(a.core_pct - b.core_pct) / self.cameras for a, b in zip(self.on, self.off, strict=True)]

    @property
    def per_camera_pct(self) -> float:
        return statistics.median(self.diffs_pct)

    def markdown(self) -> str:
        on = statistics.median(w.core_pct for w in self.on)
        off = statistics.median(w.core_pct for w in self.off)
        cam = statistics.median(100 * w.camsrv_s / w.wall_s for w in self.on + self.off)
        other = statistics.median(100 * w.other_s / w.wall_s for w in self.on + self.off)
        reps = ", ".join(f"{d:.2f}" for d in self.diffs_pct)
        skipped = sum(w.skipped_events for w in self.on)
        return (f"| {self.mode} | {self.cameras} | {off:.1f} | {on:.1f} | **{self.per_camera_pct:.2f}** ({reps}) "
                f"| {TARGET_PCT[self.mode]:.0f} | {cam:.1f} | {other:.1f} | {skipped} |")


CPU_HEADER = (
    "| mode | cameras | vigil % of one core, motion off | motion on | motion % of one core per camera (per repeat) "
    "| target % | camera server % | other load % | motion_skipped events |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


# --------------------------------------------------------------------------------------------
# accuracy


@dataclass(frozen=True)
class Accuracy:
    mode: str
    detected: list[Interval]  # clip seconds, relative to the motion_started event
    truth: list[Interval]
    shift_s: float  # best shift within +-SHIFT_RANGE_S
    known_shift_s: float | None = None  # clip time of the worker's first sample, when identified

    def line(self, by: float, min_iou: float | None) -> str:
        s = score(shifted(self.detected, by), self.truth, min_iou)
        rule = "overlap" if min_iou is None else f"IoU>={min_iou}"
        return (f"| {self.mode} | {by:+.2f} | {rule} | {s.detections} | {s.truths} | **{s.precision:.2f}** "
                f"| **{s.recall:.2f}** | {s.split} |")


ACC_HEADER = (
    "| mode | shift s | match rule | detections | truth intervals | precision | recall | truths split |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|"
)


def scene_clips(scene: Scene, seed: int, clips_dir: Path) -> tuple[Path, Path]:
    out = []
    for w, h, kbps in ((1920, 1080, MAIN_KBPS), (640, 360, SUB_KBPS)):
        path = clips_dir / f"long-s{seed}-{w}x{h}.mp4"
        if not path.is_file():
            log(f"rendering {path} ({scene.seconds:.0f} s)")
            render_scene(scene, path.with_suffix(".tmp.mp4"), w, h, FPS, FPS, kbps).rename(path)
        out.append(path)
    return out[0], out[1]


def identify_frame(picture: npt.NDArray[np.uint8], scene: Scene, width: int, height: int, search: int
                   ) -> tuple[int, float]:
    """Which of the scene's first ``search`` frames a decoded picture is: the frames differ only by
    their (deterministic) sensor noise, so correlate the picture's residual with each frame's."""
    frames = [f.astype(np.float32) for f in itertools.islice(scene_frames(scene, width, height, FPS), search)]
    background = np.mean(frames, axis=0)
    residual = (picture.astype(np.float32) - background).ravel()
    corr = [float(np.corrcoef(residual, (f - background).ravel())[0, 1]) for f in frames]
    best = int(np.argmax(corr))
    return best, corr[best]


def recording_gaps(config: Path, camera: str) -> tuple[Path, int, int]:
    """(first segment, frames missing inside segments, keyframes missing) of a camera's recording,
    from the segments' timestamps (1 frame = 1/FPS s; keyframes every FPS frames)."""
    result = subprocess.run([sys.executable, "-m", "vigil", "segments", "--config", str(config), "--camera", camera,
                             "--json"], capture_output=True, text=True, check=True, env=child_env())
    rows = sorted((json.loads(line) for line in result.stdout.splitlines() if line.strip()),
                  key=lambda r: r["start_wall_ns"])
    missing = missing_keys = 0
    for row in rows:
        with av.open(row["path"]) as container:
            stream = container.streams.video[0]
            packets = [(round(float(p.pts * stream.time_base) * FPS), p.is_keyframe)
                       for p in container.demux(stream) if p.size and p.pts is not None]
        frames = {i for i, _ in packets}
        keys = {i for i, k in packets if k}
        if frames:
            missing += (max(frames) - min(frames) + 1) - len(frames)
            expected = {i for i in range(min(keys), max(frames) + 1) if (i - min(keys)) % FPS == 0}
            missing_keys += len(expected - keys)
    return Path(rows[0]["path"]), missing, missing_keys


def accuracy_run(scene: Scene, main: Path, sub: Path, work: Path) -> list[Accuracy]:
    work.mkdir(parents=True)
    camsrv = SimCameras([f"name=kf,file={main}", f"name=ss,file={main}", f"name=ss-sub,file={sub}"],
                     work / "camsrv.log")
    try:
        cams = [Cam("cam0", camsrv.url("kf"), None, "keyframes"),
                Cam("cam1", camsrv.url("ss"), camsrv.url("ss-sub"), "substream")]
        vigil = Vigil(work, cams)
        try:
            vigil.wait({"cam0", "cam1"}, 60, True)
            starts = {cam: wall for cam, wall, _ in reversed(vigil.events("motion_started"))}  # the first one
            end = max(starts.values()) / 1e9 + scene.seconds - 0.5  # before the clip loops
            log(f"accuracy: recording {scene.seconds:.0f} s of the scene")
            while time.time() < end:
                time.sleep(min(1.0, max(end - time.time(), 0.01)))
                vigil.check_alive()
            vigil.stop()
        except BaseException:
            vigil.kill()
            raise
    finally:
        camsrv.close()
    verify_vigil(vigil.config, 2)
    if len(vigil.events("motion_started")) != 2:
        raise BenchError(f"expected one motion session per camera: {vigil.events('motion_started')}")
    skipped = vigil.events("motion_skipped")
    if skipped:
        log(f"accuracy: motion_skipped events: {skipped}")
    truth = ground_truth(scene)
    # Keyframes mode: the worker's first sample is the first keyframe it got, which is also the
    # first frame recorded (check: the segment starts at the motion_started time): identify it.
    first, missing, missing_keys = recording_gaps(vigil.config, "cam0")
    with av.open(str(first)) as container:
        picture = np.asarray(next(container.decode(video=0)).to_ndarray(format="gray"), dtype=np.uint8)
    index, corr = identify_frame(picture, scene, picture.shape[1], picture.shape[0], 3 * FPS)
    segments = subprocess.run([sys.executable, "-m", "vigil", "segments", "--config", str(vigil.config), "--camera",
                               "cam0", "--json"], capture_output=True, text=True, check=True, env=child_env())
    seg_start = min(json.loads(line)["start_wall_ns"] for line in segments.stdout.splitlines() if line.strip())
    log(f"accuracy: cam0's first recorded frame is clip frame {index} (correlation {corr:.2f}); segment start - "
         f"motion_started = {(seg_start - starts['cam0']) / 1e6:.1f} ms; recording gaps: {missing} frames missing, "
         f"{missing_keys} of them keyframes")
    known = index / FPS if corr > 0.3 and abs(seg_start - starts["cam0"]) < 50_000_000 else None
    results = []
    for cam, mode in (("cam0", "keyframes"), ("cam1", "substream")):
        origin = starts[cam] / 1e9
        result = vigil.motion(cam, origin - 60, time.time() + 60)
        intervals = result["intervals"]
        assert isinstance(intervals, list)
        detected = [((i["start_wall_ns"] / 1e9 - origin), (i["end_wall_ns"] / 1e9 - origin)) for i in intervals]
        (work / f"motion-{cam}.json").write_text(json.dumps(result, indent=1))
        results.append(Accuracy(mode, detected, truth, best_shift(detected, truth),
                                known if cam == "cam0" else None))
    return results


# --------------------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", default="1,8,16", help="comma-separated camera counts (default 1,8,16)")
    parser.add_argument("--modes", default=",".join(MODES), help="keyframes,substream")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured wall time per run")
    parser.add_argument("--repeats", type=int, default=3, help="on/off pairs per mode and camera count")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every camera wrote data")
    parser.add_argument("--seed", type=int, default=1, help="long_scene seed for the accuracy run")
    parser.add_argument("--clips", type=Path, help="directory caching the rendered scene clips")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.cameras.split(",") if c.strip()]
    modes = [m for m in args.modes.split(",") if m]
    if not counts or min(counts) < 1 or args.repeats < 1 or args.seconds <= 0 or set(modes) - set(MODES):
        parser.error("need camera counts >= 1, --repeats >= 1, --seconds > 0, modes among keyframes,substream")
    if shutil.which("ffmpeg") is None:
        parser.error("ffmpeg must be on PATH")

    rows: list[CpuRow] = []
    accuracy: list[Accuracy] = []
    log(f"load average at start: {_load()}")
    with workdir(args.keep, "vigil-bench-motion-") as work:
        if not args.skip_accuracy:
            scene = long_scene(args.seed)
            main_clip, sub_clip = scene_clips(scene, args.seed, args.clips or work / "clips")
            accuracy = accuracy_run(scene, main_clip, sub_clip, work / "accuracy")
            for a in accuracy:
                log(f"accuracy {a.mode}: {len(a.detected)} detections, best shift {a.shift_s:+.2f} s")
        if not args.skip_cpu:
            clips = {"main": make_h264_clip(work / "main.mp4", 1920, 1080, FPS, CLIP_SECONDS, FPS, MAIN_KBPS),
                     "sub": make_h264_clip(work / "sub.mp4", 640, 360, FPS, CLIP_SECONDS, FPS, SUB_KBPS)}
            for mode in modes:
                for count in counts:
                    on: list[Window] = []
                    off: list[Window] = []
                    for rep in range(args.repeats):
                        for motion in (True, False) if rep % 2 == 0 else (False, True):
                            tag = f"{mode}-n{count}-r{rep}-{'on' if motion else 'off'}"
                            w = cpu_window(mode, motion, count, clips, work / tag, args.warmup, args.seconds)
                            (on if motion else off).append(w)
                            log(f"{tag:24}: vigil {w.cpu_s:6.2f} CPU s in {w.wall_s:.1f} s = {w.core_pct:5.1f}% core; "
                                 f"camsrv {100 * w.camsrv_s / w.wall_s:.1f}%, other {100 * w.other_s / w.wall_s:.1f}%"
                                 + (f"; {w.skipped_events} motion_skipped events" if w.skipped_events else ""))
                    rows.append(CpuRow(mode, count, on, off))
                    log(f"{mode} N={count}: {rows[-1].per_camera_pct:.2f}% of one core per camera")

    now = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"\n{os.cpu_count()} CPUs, {now}, load average at end {_load()}\n")
    met: list[tuple[str, bool]] = []
    if rows:
        print(f"CPU ({args.seconds:g} s windows, {args.repeats} on/off pairs, medians)\n")
        print(CPU_HEADER)
        for row in rows:
            print(row.markdown())
            met.append((f"{row.mode}, {row.cameras} cameras: {row.per_camera_pct:.2f}% <= {TARGET_PCT[row.mode]:.0f}% "
                        "of one core per camera", row.per_camera_pct <= TARGET_PCT[row.mode]))
        print()
    if accuracy:
        print(f"Accuracy on long_scene({args.seed}) ({len(accuracy[0].truth)} truth intervals)\n")
        print(ACC_HEADER)
        for a in accuracy:
            for by in sorted({0.0, a.shift_s} | ({a.known_shift_s} if a.known_shift_s is not None else set())):
                for rule in (None, MIN_IOU):
                    print(a.line(by, rule))
            by = a.known_shift_s if a.known_shift_s is not None else a.shift_s
            how = "identified" if a.known_shift_s is not None else "best"
            s = score(shifted(a.detected, by), a.truth)
            met.append((f"{a.mode}: recall {s.recall:.2f} >= {TARGET_RECALL} (overlap, {how} shift {by:+.2f} s)",
                        s.recall >= TARGET_RECALL))
            met.append((f"{a.mode}: precision {s.precision:.2f} >= {TARGET_PRECISION} (overlap, {how} shift "
                        f"{by:+.2f} s)", s.precision >= TARGET_PRECISION))
        print()
        for a in accuracy:
            print(f"{a.mode} detections (clip s): " + ", ".join(f"{x:.1f}-{y:.1f}" for x, y in a.detected))
        print("truth (clip s): " + ", ".join(f"{x:.1f}-{y:.1f}" for x, y in accuracy[0].truth))
        print()
    for text, ok in met:
        print(f"- target {'MET' if ok else 'MISSED'}: {text}")
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/motion.py: FAILED: {error}", file=sys.stderr)
        sys.exit(2)
