"""GET /api/cameras/{id}/clip.mp4?start=&end=: a recorded range as one MP4, with byte ranges.

The plan (clips/clip.py) fixes every byte before the first goes out, so the answer carries a
Content-Length, honours one `Range` (206, or 416 with `Content-Range: bytes */size`), and streams
from disk in chunks read on a worker thread. What the clip holds is told in headers:
`Vigil-Clip-Start`/`Vigil-Clip-End` (first frame, just after the last), `Vigil-Clip-Frames`,
`Vigil-Gaps` (unrecorded stretches inside the request, the first 100; `Vigil-Gaps-Count`) and
`Vigil-Clip-Stopped` (codec change). The segment still being written is included up to its last
complete fragment; a range being recorded with nothing in a complete fragment yet is 409 with
Retry-After (clips/clip.py), never 404 "nothing recorded".

Audit: one `playback.clip` entry per download, written before the body is sent. Requests for the
same clip (same bytes: same ETag) by the same caller within 10 minutes of the previous one are the
same download (a player's Range requests while it plays and seeks) and are not audited again."""

from __future__ import annotations

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx
from vigil.api.ranged import requested_range, send_range
from vigil.clips.boxes import ClipSourceError
from vigil.clips.clip import ClipPlan, iter_clip_bytes
from vigil.core.errors import BadRequestError
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.services import clips

MAX_CLIP_NS = 24 * 3600 * NS_PER_SECOND
MAX_GAPS_IN_HEADER = 100  # ~5 kB of header; Vigil-Gaps-Count has the total


def clip_headers(plan: ClipPlan) -> dict[str, str]:
    """What the clip holds, as response headers (ISO 8601 UTC, millisecond precision)."""
    headers = {
        "Vigil-Clip-Start": wall_ns_to_iso(plan.first_frame_wall_ns),
        "Vigil-Clip-End": wall_ns_to_iso(plan.end_wall_ns),
        "Vigil-Clip-Frames": str(plan.frame_count),
        "Vigil-Clip-Segments": ",".join(str(s.segment_id) for s in plan.segments),
    }
    if plan.gaps:
        headers["Vigil-Gaps"] = ", ".join(f"{wall_ns_to_iso(a)}/{wall_ns_to_iso(b)}"
                                          for a, b in plan.gaps[:MAX_GAPS_IN_HEADER])
        headers["Vigil-Gaps-Count"] = str(len(plan.gaps))  # more than listed: ask for shorter clips
    if plan.stopped_at_wall_ns is not None:
        headers["Vigil-Clip-Stopped"] = f"{wall_ns_to_iso(plan.stopped_at_wall_ns)}; reason=codec-change"
    return headers


def _filename(plan: ClipPlan) -> str:
    stamp = wall_ns_to_iso(plan.first_frame_wall_ns).replace("-", "").replace(":", "")[:15]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in plan.camera_id)
    return f"{safe}-{stamp}Z.mp4"


async def clip(ctx: Ctx) -> web.StreamResponse:
    target = playback_range(ctx)
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    if target.end_ns - target.start_ns > MAX_CLIP_NS:
        raise BadRequestError("a clip covers at most 24 hours; ask for several")
    plan = await clips.plan_download(ctx.services.env, target.camera, target.start_ns, target.end_ns)
    byte_range, first, last = requested_range(ctx, plan.size_bytes, plan.etag)
    key = (ctx.actor, plan.camera_id, plan.requested_start_wall_ns, plan.requested_end_wall_ns, plan.etag)
    if ctx.services.clip_downloads.is_new(key, ctx.now_ns):
        await clips.record_download(ctx.services.env, ctx.caller, plan, target.start_ns, target.end_ns, first, last)
    headers = {"Content-Type": "video/mp4", "ETag": plan.etag, "Cache-Control": "no-store",
               "Content-Disposition": f'inline; filename="{_filename(plan)}"', **clip_headers(plan)}
    # a segment that vanished or is damaged midway: the client sees a cut
    return await send_range(ctx, byte_range, plan.size_bytes, headers, iter_clip_bytes(plan, first, last),
                            (OSError, ClipSourceError), f"clip of {plan.camera_id}")
