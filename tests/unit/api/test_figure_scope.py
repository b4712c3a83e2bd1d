"""/api/storage and /api/health figures per caller (issue 12, finding 10).

Expected outcomes come from the explicit table below (what each caller may be shown), not from
core.figure_scope, so a wrong decision fails here. Both buildings hold recordings and a hold."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_harness import Api
from tests.support.index_rows import MB, T0, record
from vigil.core.figure_scope import FigureScope, live_sessions_shown
from vigil.core.permissions import Role

S = 1_000_000_000

# caller -> (appliance-wide figures and the disk path?, cameras whose bytes it is shown)
SHOWN: dict[str, tuple[bool, list[str]]] = {
    "district": (True, ["hs-cam", "ms-cam"]),
    "installer": (True, ["hs-cam", "ms-cam"]),  # installer of every building (none assigned)
    "hs-installer": (False, ["hs-cam"]),
    "hs-admin": (False, ["hs-cam"]),
    "hs-viewer": (False, ["hs-cam"]),
    "hs-link": (False, ["hs-cam"]),
    "ms-cam-link": (False, ["ms-cam"]),
}
# recorded / held bytes per camera, as set up below
RECORDED = {"hs-cam": 2 * MB, "ms-cam": 3 * MB}
HELD = {"hs-cam": MB, "ms-cam": 3 * MB}


async def _headers(api: Api, caller: str) -> dict[str, str]:
    if caller in api.tokens:
        return api.auth(caller)
    if caller == "hs-installer":
        user_id = api.services.env.accounts.add_user(caller, Role.INSTALLER, ("hs",), "unused", api.clock.now_ns)
        token, _ = api.services.env.accounts.create_credential(user_id, "api_token", "t", api.clock.now_ns, None)
        return {"Authorization": f"Bearer {token}"}
    grant = {"hs-link": {"buildings": ["hs"]}, "ms-cam-link": {"cameras": ["ms-cam"]}}[caller]
    response = await api.client.post("/api/links", headers=api.auth("district"), json=grant | {
        "reason": "figures", "live": True, "playback": True})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {str((await response.json())['url']).rsplit('/', 1)[1]}"}


async def _get(api: Api, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await api.client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


@pytest.mark.parametrize("caller", list(SHOWN))
async def test_storage_and_health_figures_are_scoped_to_the_caller(api: Api, caller: str) -> None:
    index = api.services.env.index
    record(index, "hs-cam", T0, [60, 60], "shutdown")
    record(index, "ms-cam", T0, [60, 60, 60], "shutdown")
    index.add_hold("hs-cam", T0, T0 + 60 * S, "case hs", "user:district", api.clock.now_ns)
    index.add_hold("ms-cam", T0, T0 + 180 * S, "case ms", "user:district", api.clock.now_ns)
    appliance_wide, cameras = SHOWN[caller]
    headers = await _headers(api, caller)

    report = await _get(api, "/api/storage", headers)
    assert [c["id"] for c in report["cameras"]] == cameras
    assert [(c["recorded_bytes"], c["held_bytes"]) for c in report["cameras"]] == [
        (RECORDED[c], HELD[c]) for c in cameras]
    text = str(report)
    data_dir = str(api.services.config.storage.path)
    if appliance_wide:
        assert (report["recorded_bytes"], report["held_bytes"]) == (5 * MB, 4 * MB)
        assert report["disks"][0]["path"].startswith(data_dir) and report["budget_bytes"] is not None
        assert "MiB" in report["warning"]["message"]
    else:
        assert (report["recorded_bytes"], report["held_bytes"]) == (
            sum(RECORDED[c] for c in cameras), sum(HELD[c] for c in cameras))
        assert report["disks"] == [] and data_dir not in text
        assert report["budget_bytes"] is None and report["min_free_bytes"] is None and report["max_bytes"] is None
        assert report["warning"]["held_fraction"] is None and "MiB" not in report["warning"]["message"]
        assert report["warning"]["level"] in ("ok", "warning", "critical")
    assert report["scope"] == ("appliance" if appliance_wide else "caller")

    health = await _get(api, "/api/health", headers)
    assert health["cameras"]["total"] == len(cameras) and health["live_sessions"] == 0
    assert ("tasks" in health) is appliance_wide
    assert health["scope"] == report["scope"]


def test_live_sessions_are_counted_for_the_cameras_shown() -> None:
    on = ["hs-cam", "hs-cam", "ms-cam"]
    assert live_sessions_shown(FigureScope.APPLIANCE, on, {"hs-cam"}) == 3
    assert live_sessions_shown(FigureScope.CALLER, on, {"hs-cam"}) == 2
    assert live_sessions_shown(FigureScope.CALLER, on, set()) == 0

