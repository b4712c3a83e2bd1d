"""Motion against ground truth: a scripted scene (known movers, a lighting step, movement in a
masked corner) served by a real RTSP camera, analysed by the running daemon in both modes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import pytest

from tests.support.camsim import CameraServer
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, wait_for, write_config
from vigil.core.timebase import ticks_to_ns
from vigil.sim.scenes import Mover, Scene, ground_truth, render_scene, standard_scene

MASK = (0.0, 0.0, 0.3, 0.3)
NS = 1_000_000_000


def test_scripted_scene_in_substream_and_keyframe_modes(tmp_path: Path) -> None:
    scene = standard_scene()
    clip = render_scene(scene, tmp_path / "scene.h264", width=640, height=360, fps=15, gop=15)
    specs = (f"name=scene1,file={clip}", f"name=scene2,file={clip}",
             "name=live,width=320,height=240,fps=15,gop=15,bitrate=300")
    with CameraServer(*specs) as cams:
        config = write_config(tmp_path, {"kf": cams.url("scene1"), "ss": cams.url("live")},
                              camera_extra=f"motion_mask = [[{', '.join(map(str, MASK))}]]")
        text = config.read_text().replace(f'url = "{cams.url("live")}"',
                                          f'url = "{cams.url("live")}"\nsubstream_url = "{cams.url("scene2")}"')
        config.write_text(text)
        vigil = VigilProcess(config)
        try:
            wait_for(lambda: len(index_of(config).events(kind="motion_started")) == 2, 30, "both analyses")
            time.sleep(scene.seconds - 1)
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
    truth = ground_truth(scene, masked=(MASK,))
    assert [(round(a, 1), round(b, 1)) for a, b in truth] == [(5.0, 12.0), (25.0, 28.0)]
    for camera, tolerance_s in (("ss", 1.0), ("kf", 1.0 + 1.0)):  # keyframe mode: one sample per 1 s GOP
        (start,) = index_of(config).events(camera, "motion_started")
        t0 = start.wall_ns
        out = run_vigil("motion", "--config", str(config), "--camera", camera, "--start", str(t0 / NS - 1),
                        "--end", str(t0 / NS + scene.seconds), "--json")
        assert out.returncode == 0, out.stderr
        found = [((i["start_wall_ns"] - t0) / NS, (i["end_wall_ns"] - t0) / NS) for i in json.loads(out.stdout)
                 ["intervals"]]
        where = f"{camera}: detected {[(round(a, 1), round(b, 1)) for a, b in found]}, script {truth}"
        # Exactly the scripted movement: the lighting step (18 s) and the masked corner (14.5-16.5 s) add nothing.
        assert len(found) == len(truth), where
        for (a, b), (ta, tb) in zip(found, truth, strict=True):
            assert abs(a - ta) <= tolerance_s and abs(b - tb) <= tolerance_s, where
        # Region search: the first mover crosses at 70 % of the height, the second at 62 %.
        low = run_vigil("motion", "--config", str(config), "--camera", camera, "--start", str(t0 / NS - 1),
                        "--end", str(t0 / NS + scene.seconds), "--region", "0,0.69,1,1", "--json")
        intervals = json.loads(low.stdout)["intervals"]
        assert len(intervals) == 1 and abs((intervals[0]["start_wall_ns"] - t0) / NS - 5.0) <= tolerance_s, where
        top = run_vigil("motion", "--config", str(config), "--camera", camera, "--start", str(t0 / NS - 1),
                        "--end", str(t0 / NS + scene.seconds), "--region", "0,0,1,0.5", "--json")
        assert json.loads(top.stdout)["intervals"] == [], where
    bad = run_vigil("motion", "--config", str(config), "--camera", "ss", "--start", "0", "--end", "10",
                    "--region", "0.5,0,0.2,1")
    assert bad.returncode == 2 and "region" in bad.stderr


# Cameras unlike the simulators' defaults, in keyframe mode (one sample per GOP), through the
# real camera server and daemon: H.264 Main with B-frames (a 1 s GOP), and keyframes 2 s apart.
# The truth is what the recording shows: the camera server may drop the first frames before the
# daemon plays, so the scene's clock is not the session's.
BFRAMES_SCENE = Scene(seconds=14.0, movers=(Mover(5.5, 10.0, y_frac=0.65, size_frac=0.08),))
LONG_GOP_SCENE = Scene(seconds=16.0, movers=(Mover(4.0, 12.0, y_frac=0.65, size_frac=0.08),))
Span = tuple[int, int]


def recorded_mover_spans(config: Path, camera: str, mover: Mover) -> list[Span]:
    """(first, last) wall ns of each run of recorded frames (decoded with FFmpeg, in display
    order) that show the mover: a dark square (darker than any background pixel) in its band."""
    shown: list[tuple[int, bool]] = []
    for seg in index_of(config).segments(camera):
        with av.open(str(config.parent / "data" / "recordings" / seg.path)) as container:
            frames = sorted(((f.pts or 0, f.to_ndarray(format="gray")) for f in container.decode(video=0)),
                            key=lambda pair: pair[0])
        first_pts = frames[0][0]
        for pts, gray in frames:
            side = mover.size_frac * gray.shape[0]
            band = gray[int(mover.y_frac * gray.shape[0] - side / 2):int(mover.y_frac * gray.shape[0] + side / 2)]
            shown.append((seg.start_wall_ns + ticks_to_ns(pts - first_pts), int((band < 30).sum()) > side * side / 4))
    spans: list[Span] = []
    for (wall, visible), (_, before) in zip(shown, [(0, False), *shown], strict=False):
        if visible and not before:
            spans.append((wall, wall))
        elif visible:
            spans[-1] = (spans[-1][0], wall)
    return spans


@pytest.fixture(scope="module")
def real_camera_motion(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Span, list[Span]]]:
    """camera -> (the mover's first pass on the recording, motion intervals found around it)."""
    tmp = tmp_path_factory.mktemp("real-cameras")
    scenes = {"bframes": (BFRAMES_SCENE, 15, 2), "gop2s": (LONG_GOP_SCENE, 30, 0)}
    clips = {camera: render_scene(scene, tmp / f"{camera}.mp4", fps=15, gop=gop, bframes=bframes)
             for camera, (scene, gop, bframes) in scenes.items()}
    with CameraServer(*(f"name={camera},file={clip}" for camera, clip in clips.items())) as cams:
        config = write_config(tmp, {camera: cams.url(camera) for camera in scenes})
        vigil = VigilProcess(config)
        try:
            wait_for(lambda: len(index_of(config).events(kind="motion_started")) == 2, 30, "both analyses")
            time.sleep(max(scene.seconds for scene, _, _ in scenes.values()))
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()
    found = {}
    for camera, (scene, _, _) in scenes.items():
        (start,) = index_of(config).events(camera, "motion_started")
        assert start.detail == "keyframes"
        first, *_ = recorded_mover_spans(config, camera, scene.movers[0])
        out = run_vigil("motion", "--config", str(config), "--camera", camera, "--start", str(first[0] / NS - 3),
                        "--end", str(first[1] / NS + 3), "--json")
        assert out.returncode == 0, out.stderr
        found[camera] = (first, [(i["start_wall_ns"], i["end_wall_ns"]) for i in json.loads(out.stdout)["intervals"]])
    return found


def _relative(truth: Span, found: list[Span]) -> str:
    def seconds(span: Span) -> tuple[float, float]:
        return round((span[0] - truth[0]) / NS, 2), round((span[1] - truth[0]) / NS, 2)
    return f"detected {[seconds(f) for f in found]}, recorded {seconds(truth)} (s from the first frame showing it)"


@pytest.mark.slow
def test_b_frames_motion_starts_within_one_keyframe_of_the_truth(
        real_camera_motion: dict[str, tuple[Span, list[Span]]]) -> None:
    """The decoder returns each keyframe two keyframes late; the interval must not be."""
    truth, found = real_camera_motion["bframes"]
    gop_ns = NS
    assert len(found) == 1, _relative(truth, found)
    ((start, end),) = found
    assert abs(start - truth[0]) <= gop_ns, _relative(truth, found)
    assert abs(end - truth[1]) <= 2 * gop_ns, _relative(truth, found)


@pytest.mark.slow
def test_2_s_keyframes_give_one_interval_for_one_movement(
        real_camera_motion: dict[str, tuple[Span, list[Span]]]) -> None:
    truth, found = real_camera_motion["gop2s"]
    gop_ns = 2 * NS
    assert len(found) == 1, _relative(truth, found)
    ((start, end),) = found
    assert abs(start - truth[0]) <= gop_ns and abs(end - truth[1]) <= 2 * gop_ns, _relative(truth, found)
