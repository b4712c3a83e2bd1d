"""Motion against ground truth: a scripted scene (known movers, a lighting step, movement in a
masked corner) served by a real RTSP camera, analysed by the running daemon in both modes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from camsim import CameraServer
from vigil.sim.scenes import ground_truth, render_scene, standard_scene
from vigil_proc import VigilProcess, index_of, run_vigil, wait_for, write_config

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
