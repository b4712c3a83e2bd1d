"""Clip downloads (GET /api/cameras/{id}/clip.mp4): the plan of the bytes, and the download's
audit entry. The route checked VIEW_PLAYBACK on the camera and range before."""

from __future__ import annotations

import asyncio
from typing import Any

from vigil.clips.clip import ClipPlan, plan_clip
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in

__all__ = ["ClipPlan", "plan_download", "record_download"]


async def plan_download(env: ServiceEnv, camera_id: str, start_ns: int, end_ns: int) -> ClipPlan:
    """Plan the clip off the loop. It reads the segments' files as well as the index, so it runs
    on the loop's default threads, not on the few database threads the other services share."""
    return await asyncio.to_thread(plan_clip, env.index, camera_id, start_ns, end_ns)


async def record_download(env: ServiceEnv, caller: Caller, plan: ClipPlan, start_ns: int, end_ns: int,
                          first_byte: int, last_byte: int) -> None:
    """One `playback.clip` entry (the API calls this once per download, before the body is sent)."""
    detail: dict[str, Any] = {
        "start_ns": start_ns, "end_ns": end_ns, "first_frame_ns": plan.first_frame_wall_ns,
        "end_frame_ns": plan.end_wall_ns, "frames": plan.frame_count, "size_bytes": plan.size_bytes,
        "bytes": f"{first_byte}-{last_byte}", "segments": [s.segment_id for s in plan.segments],
        "gaps": len(plan.gaps), "etag": plan.etag}

    def write() -> None:
        with env.index.transaction() as c:
            append_in(c, caller.now_ns, caller.actor, "playback.clip", f"camera:{plan.camera_id}", "ok",
                      caller.audit_detail(detail))

    await env.run(write)
