"""Floor plans and pins against the running daemon over HTTP: a plan larger than the JSON body
limit is taken and served back byte for byte with its content type; SVG and other non-images are
refused with a problem+json 415 that says what is accepted; an oversized plan gets 413; a pin
survives a restart; every change is in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.http_call import call, free_port
from tests.support.plan_images import SVG, jpeg_bytes, png_bytes
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.plan_image import MAX_PLAN_BYTES


def _json(status_body: tuple[int, bytes, dict[str, str]]) -> tuple[int, Any, dict[str, str]]:
    status, body, headers = status_body
    return status, json.loads(body), headers


def _up(base: str, auth: dict[str, str]) -> bool:
    try:
        return call(f"{base}/api/health", headers=auth)[0] == 200
    except OSError:  # not listening yet
        return False


def test_plans_upload_serve_refuse_and_pins_survive_a_restart(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, {"hs-cam": "rtsp://127.0.0.1:9/none"},
                          f'[http]\nlisten = "127.0.0.1:{port}"\ntls = false')
    c = ("--config", str(config))
    assert vigil_stdin("a long enough password\n", "user", "add", "chief", "--role", "district_admin",
                       "--password-stdin", *c).returncode == 0
    auth = {"Authorization": f"Bearer {run_vigil('token', 'create', 'chief', *c).stdout.strip()}"}
    base = f"http://127.0.0.1:{port}"
    noise = np.random.default_rng(14).integers(0, 256, (600, 1000, 3), dtype=np.uint8)
    big_png = png_bytes(picture=noise)  # incompressible: more than the 1 MB JSON body limit
    assert len(big_png) > 1_000_000

    vigil = VigilProcess(config)
    try:
        wait_for(lambda: _up(base, auth), 30, "the API")
        status, plan, _ = _json(call(f"{base}/api/plans?building=hs&floor=1&name=Ground", "POST", big_png,
                                     auth | {"Content-Type": "image/png"}))
        assert status == 201, plan
        assert (plan["building"], plan["floor"], plan["width_px"], plan["height_px"]) == ("hs", "1", 1000, 600)
        status, image, headers = call(f"{base}{plan['image']}", headers=auth)
        assert (status, image) == (200, big_png)
        assert headers["Content-Type"] == "image/png" and headers["X-Content-Type-Options"] == "nosniff"
        status, campus, _ = _json(call(f"{base}/api/plans", "POST", jpeg_bytes(),
                                       auth | {"Content-Type": "image/jpeg"}))
        assert status == 201 and campus["building"] is None, campus
        assert call(f"{base}{campus['image']}", headers=auth)[2]["Content-Type"] == "image/jpeg"

        for body, content_type, says in ((SVG, "image/svg+xml", "this request says image/svg+xml"),
                                         (SVG, "image/png", "this upload is an SVG document"),
                                         (b"GIF89a" + bytes(64), "image/png", "a GIF image")):
            status, problem, headers = _json(call(f"{base}/api/plans?building=hs&floor=2", "POST", body,
                                                  auth | {"Content-Type": content_type}))
            assert status == 415 and headers["Content-Type"].startswith("application/problem+json"), problem
            assert problem["title"] == "Unsupported Media Type"
            assert "must be a PNG or JPEG image" in problem["detail"] and says in problem["detail"], problem
        status, problem, _ = _json(call(f"{base}/api/plans?building=hs&floor=2", "POST",
                                        big_png + bytes(MAX_PLAN_BYTES), auth | {"Content-Type": "image/png"}))
        assert status == 413, problem

        status, pin, _ = _json(call(f"{base}/api/placements", "PUT", json.dumps({
            "plan": plan["id"], "kind": "camera", "item": "hs-cam", "x": 640.5, "y": 200, "rotation_deg": 135,
            "fov_deg": 60, "range_px": 180}).encode(), auth | {"Content-Type": "application/json"}))
        assert status == 200, pin
        status, problem, _ = _json(call(f"{base}/api/placements", "PUT", json.dumps({  # more than SQLite holds
            "plan": 2**65, "kind": "camera", "item": "hs-cam", "x": 1, "y": 1}).encode(),
            auth | {"Content-Type": "application/json"}))
        assert status == 400 and problem["detail"] == "plan must be a plan id", problem
    finally:
        vigil.close()

    vigil = VigilProcess(config)
    try:
        wait_for(lambda: _up(base, auth), 30, "the API after a restart")
        status, plans, _ = _json(call(f"{base}/api/plans", headers=auth))
        assert [(p["id"], p["building"]) for p in plans] == [(campus["id"], None), (plan["id"], "hs")]
        status, pins, _ = _json(call(f"{base}/api/placements?plan={plan['id']}", headers=auth))
        assert [(p["item"], p["x"], p["y"], p["rotation_deg"], p["fov_deg"], p["range_px"]) for p in pins] == [
            ("hs-cam", 640.5, 200.0, 135.0, 60.0, 180.0)]
        status, entries, _ = _json(call(f"{base}/api/audit?actor=user:chief", headers=auth))
        actions = [e["action"] for e in entries if e["action"].startswith(("plan", "placement"))]
        assert actions == ["plan.create", "plan.create", "placement.set"], actions
    finally:
        vigil.close()
