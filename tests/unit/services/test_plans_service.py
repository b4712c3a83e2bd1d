"""services/plans.py over a real index: who may upload plans and place pins, who sees them, each
change with its audit entry in one transaction, images refused by their bytes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.audit_failure import count, fail_audit_writes
from tests.support.plan_images import SVG, jpeg_bytes, png_bytes
from tests.support.service_env import NOW, appliance, hs_link, user
from vigil.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedMediaTypeError,
)
from vigil.core.permissions import Role, UserSubject
from vigil.core.placements import PlanRequest
from vigil.services import plans
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv

CAMPUS = PlanRequest(None, "campus", "Campus", 0)
HS1 = PlanRequest("hs", "1", "HS ground", 0)
HS2 = PlanRequest("hs", "2", "HS upstairs", 1)
MS1 = PlanRequest("ms", "1", "MS ground", 0)


def hs_installer() -> Caller:
    return Caller(UserSubject(9, "hs-installer", Role.INSTALLER, frozenset({"hs"})), Via.TOKEN, NOW, remote="192.0.2.7")


def pin(plan: int, kind: str, item: str, **more: Any) -> dict[str, Any]:
    return {"plan": plan, "kind": kind, "item": item, "x": 100, "y": 50} | more


async def test_upload_serve_and_who_may(env: ServiceEnv) -> None:
    district = user("district")
    campus = await plans.create_plan(env, district, CAMPUS, png_bytes(640, 400))
    hs1 = await plans.create_plan(env, user("hs-admin"), HS1, jpeg_bytes(320, 200), "image/jpeg")
    hs2 = await plans.create_plan(env, hs_installer(), HS2, png_bytes())
    ms1 = await plans.create_plan(env, district, MS1, png_bytes())
    assert (campus.building_id, campus.width_px, campus.height_px, campus.content_type) == (
        None, 640, 400, "image/png")
    assert (hs1.content_type, hs1.width_px) == ("image/jpeg", 320)
    content_type, _, image = await plans.plan_image(env, user("hs-viewer"), hs1.id)
    assert (content_type, image) == ("image/jpeg", jpeg_bytes(320, 200))
    for caller, req in ((user("hs-admin"), MS1), (user("hs-admin"), CAMPUS), (hs_installer(), CAMPUS),
                        (user("hs-viewer"), HS1), (hs_link(NOW), HS1)):
        with pytest.raises(PermissionDeniedError):
            await plans.create_plan(env, caller, req, png_bytes())
    with pytest.raises(PermissionDeniedError):  # another building's plan: neither shown nor served
        await plans.plan_image(env, user("hs-viewer"), ms1.id)
    with pytest.raises(PermissionDeniedError):
        await plans.plan_image(env, hs_link(NOW), ms1.id)
    with pytest.raises(NotFoundError):
        await plans.plan_image(env, district, 999)
    assert [p.id for p in await plans.list_plans(env, district)] == [campus.id, hs1.id, hs2.id, ms1.id]
    assert [p.id for p in await plans.list_plans(env, user("hs-viewer"))] == [campus.id, hs1.id, hs2.id]
    assert [p.id for p in await plans.list_plans(env, hs_link(NOW))] == [campus.id, hs1.id, hs2.id]
    assert [p.id for p in await plans.list_plans(env, district, "ms")] == [ms1.id]
    with pytest.raises(ConflictError, match="floor '1' of hs already has a plan"):
        await plans.create_plan(env, district, HS1, png_bytes())
    log = [(e.actor, e.action, e.target, e.outcome) for e in env.audit.entries() if e.outcome == "ok"]
    assert log == [("user:district", "plan.create", f"plan:{campus.id}", "ok"),
                   ("user:hs-admin", "plan.create", f"plan:{hs1.id}", "ok"),
                   ("user:hs-installer", "plan.create", f"plan:{hs2.id}", "ok"),
                   ("user:district", "plan.create", f"plan:{ms1.id}", "ok")]
    assert env.audit.entries(action="plan.create")[1].detail | {"sha256": "-"} == {
        "building": "hs", "floor": "1", "level": 0, "name": "HS ground", "content_type": "image/jpeg",
        "width_px": 320, "height_px": 200, "size_bytes": len(jpeg_bytes(320, 200)), "sha256": "-",
        "via": "token", "remote": "192.0.2.7"}
    denied = [(e.actor, e.target) for e in env.audit.entries() if e.outcome == "denied"]
    assert ("user:hs-viewer", f"plan:{ms1.id}") in denied and ("link:7", f"plan:{ms1.id}") in denied


async def test_images_are_judged_by_their_bytes(env: ServiceEnv) -> None:
    district = user("district")
    with pytest.raises(UnsupportedMediaTypeError, match="an SVG document"):
        await plans.create_plan(env, district, HS1, SVG, "image/png")
    with pytest.raises(UnsupportedMediaTypeError, match="is a PNG image but was sent as image/jpeg"):
        await plans.create_plan(env, district, HS1, png_bytes(), "image/jpeg")
    good = png_bytes(64, 48)
    damaged = good[:40] + bytes(len(good) - 40)  # a valid header over garbage: only decoding tells
    with pytest.raises(UnsupportedMediaTypeError, match="does not decode"):
        await plans.create_plan(env, district, HS1, damaged)
    lying = good[:16] + (65).to_bytes(4, "big") + good[20:]  # a header that misstates the width (CRC kept)
    with pytest.raises(UnsupportedMediaTypeError, match="does not decode"):
        await plans.create_plan(env, district, HS1, lying)
    jpeg = jpeg_bytes()
    with pytest.raises(UnsupportedMediaTypeError, match="does not decode"):  # FFmpeg would conceal the rest
        await plans.create_plan(env, district, HS1, jpeg[:len(jpeg) // 2])
    assert count(env.index, "SELECT COUNT(*) FROM plans") == 0
    assert [e.action for e in env.audit.entries()] == []


async def test_pins_placed_moved_seen_and_removed(env: ServiceEnv) -> None:
    district, hs_admin = user("district"), user("hs-admin")
    campus = await plans.create_plan(env, district, CAMPUS, png_bytes(640, 400))
    hs1 = await plans.create_plan(env, district, HS1, png_bytes())
    ms1 = await plans.create_plan(env, district, MS1, png_bytes())
    cam = await plans.place(env, hs_admin, pin(hs1.id, "camera", "hs-cam", rotation_deg=45, fov_deg=70))
    moved = await plans.place(env, hs_installer(), pin(hs1.id, "camera", "hs-cam", x=200, y=150))
    assert moved.id == cam.id and (moved.x_px, moved.y_px, moved.rotation_deg) == (200.0, 150.0, 0.0)
    door = await plans.place(env, hs_admin, pin(hs1.id, "door", "hs-front"))
    ms_cam = await plans.place(env, district, pin(ms1.id, "camera", "ms-cam"))
    on_campus = [await plans.place(env, district, pin(campus.id, "building", b)) for b in ("hs", "ms")]
    outdoor = await plans.place(env, district, pin(campus.id, "camera", "ms-cam"))
    for caller, body in ((hs_admin, pin(ms1.id, "camera", "ms-cam")), (hs_admin, pin(campus.id, "building", "hs")),
                         (user("hs-viewer"), pin(hs1.id, "door", "hs-front")),
                         (hs_link(NOW), pin(hs1.id, "door", "hs-front"))):
        with pytest.raises(PermissionDeniedError):
            await plans.place(env, caller, body)
    for body, message in ((pin(hs1.id, "camera", "ms-cam"), "is in building 'ms', not on a plan of 'hs'"),
                          (pin(hs1.id, "building", "hs"), "on the campus plan"),
                          (pin(hs1.id, "door", "nope"), "no door 'nope'"),
                          (pin(hs1.id, "camera", "hs-cam", x=10_000), "must lie on the plan")):
        with pytest.raises(BadRequestError, match=message):
            await plans.place(env, district, body)
    with pytest.raises(NotFoundError):
        await plans.place(env, district, pin(999, "camera", "hs-cam"))

    every = [cam.id, door.id, ms_cam.id, on_campus[0].id, on_campus[1].id, outdoor.id]
    assert sorted(p.id for p in await plans.list_placements(env, district)) == sorted(every)
    hs_sees = {(p.kind.value, p.item_id) for p in await plans.list_placements(env, user("hs-viewer"))}
    assert hs_sees == {("camera", "hs-cam"), ("door", "hs-front"), ("building", "hs")}
    assert {p.item_id for p in await plans.list_placements(env, hs_link(NOW), campus.id)} == {"hs"}

    with pytest.raises(PermissionDeniedError):
        await plans.remove_placement(env, hs_admin, ms_cam.id)
    assert (await plans.remove_placement(env, hs_admin, door.id)).item_id == "hs-front"
    with pytest.raises(NotFoundError):
        await plans.remove_placement(env, hs_admin, door.id)
    with pytest.raises(PermissionDeniedError):
        await plans.delete_plan(env, hs_admin, campus.id)
    assert (await plans.delete_plan(env, hs_admin, hs1.id)).id == hs1.id
    assert not [p for p in await plans.list_placements(env, district) if p.plan_id == hs1.id]
    actions = [e.action for e in env.audit.entries() if e.outcome == "ok"]
    assert actions == ["plan.create"] * 3 + ["placement.set"] * 7 + ["placement.delete", "plan.delete"]
    assert env.audit.entries(action="placement.set")[0].detail == {
        "plan": hs1.id, "kind": "camera", "item": "hs-cam", "x": 100.0, "y": 50.0, "rotation_deg": 45.0,
        "fov_deg": 70.0, "range_px": 48.0, "via": "token", "remote": "192.0.2.7"}
    assert env.audit.entries(action="plan.delete")[0].detail["pins_removed"] == 1


async def test_a_failing_entry_leaves_plans_and_pins_as_they_were(env: ServiceEnv) -> None:
    cli = appliance(NOW)
    kept = await plans.create_plan(env, cli, HS1, png_bytes())
    placed = await plans.place(env, cli, pin(kept.id, "camera", "hs-cam"))
    for action in ("plan.create", "placement.set", "placement.delete", "plan.delete"):
        fail_audit_writes(env.index, action)
        with pytest.raises(Exception, match="the audit write failed"):
            if action == "plan.create":
                await plans.create_plan(env, cli, HS2, png_bytes())
            elif action == "placement.set":
                await plans.place(env, cli, pin(kept.id, "camera", "hs-cam", x=300))
            elif action == "placement.delete":
                await plans.remove_placement(env, cli, placed.id)
            else:
                await plans.delete_plan(env, cli, kept.id)
    assert count(env.index, "SELECT COUNT(*) FROM plans") == 1
    assert [(p.id, p.x_px) for p in await plans.list_placements(env, cli)] == [(placed.id, 100.0)]
    assert [e.action for e in env.audit.entries()] == ["plan.create", "placement.set"]


async def test_doors_listed_by_what_the_caller_sees(env: ServiceEnv) -> None:
    assert [d["id"] for d in plans.list_doors(env, user("district"))] == ["hs-front", "ms-front"]
    assert plans.list_doors(env, user("hs-viewer")) == [
        {"id": "hs-front", "name": "hs-front", "building": "hs", "cameras": ["hs-cam"]}]
    assert [d["id"] for d in plans.list_doors(env, hs_link(NOW))] == ["hs-front"]
