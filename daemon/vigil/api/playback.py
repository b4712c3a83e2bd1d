"""Playback over HTTP: a camera's HLS playlist of a range, the recorded files' bytes it points at
(byte ranges), and keyframe thumbnails. Parsing here; the use cases are services/playback.py's.

    GET /api/cameras/{id}/playback.m3u8?start=&end=        audited once (`playback.hls`)
    GET /api/cameras/{id}/segments/{seg}/media.mp4?start=&end=   the playlist's URIs; Range requests
    GET /api/cameras/{id}/thumbnail.jpg?at=                the nearest recorded keyframe, 320 px wide

The media URIs carry the playlist's range, so the route table checks the same camera and range for
every byte the player fetches, and a file is served only if it overlaps that range."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from aiohttp import web

from vigil.api.cameras import playback_range
from vigil.api.context import Ctx
from vigil.api.ranged import requested_range, send_range
from vigil.core.errors import BadRequestError
from vigil.core.permissions import Target
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.services import playback
from vigil.services.playback import PlaybackQuery

HLS_TYPE = "application/vnd.apple.mpegurl"
CHUNK_BYTES = 1 << 20


def unix_seconds(ns: int) -> str:
    """Wall ns as exact Unix seconds (what the API's time parameters take)."""
    return f"{ns // NS_PER_SECOND}.{ns % NS_PER_SECOND:09d}"


def playback_moment(ctx: Ctx) -> Target:
    """The camera and the `?at=` moment (default: now), as a one-nanosecond range."""
    at = ctx.time_param("at", ctx.now_ns)
    assert at is not None
    return ctx.camera_target(at, at + 1)


def _query(target: Target) -> PlaybackQuery:
    assert target.camera is not None and target.start_ns is not None and target.end_ns is not None
    return PlaybackQuery(target.camera, target.start_ns, target.end_ns)


def _read_key(ctx: Ctx, query: PlaybackQuery) -> tuple[str, str, int, int]:
    return (ctx.actor, query.camera_id, query.start_ns, query.end_ns)


async def playlist(ctx: Ctx) -> web.StreamResponse:
    query = _query(playback_range(ctx))
    suffix = f"?start={unix_seconds(query.start_ns)}&end={unix_seconds(query.end_ns)}"
    found = await playback.hls_playlist(ctx.services.env, ctx.services.playback, ctx.caller, query,
                                        lambda segment_id: f"segments/{segment_id}/media.mp4{suffix}")
    # Audited here rather than by the route table, so the bytes that follow are excused only once
    # the playlist's entry is written.
    await ctx.audit("playback.hls", f"camera:{query.camera_id}", "ok",
                    {"start_ns": query.start_ns, "end_ns": query.end_ns, "segments": len(found.segments)})
    ctx.services.playback_reads.is_new(_read_key(ctx, query), ctx.now_ns)
    return web.Response(text=found.text, content_type=HLS_TYPE, headers={
        "Cache-Control": "no-store", "Vigil-Playlist-Start": wall_ns_to_iso(found.first_wall_ns),
        "Vigil-Playlist-End": wall_ns_to_iso(found.end_wall_ns)})


def _file_chunks(path: Path, first: int, last: int) -> Generator[bytes, None, None]:
    with path.open("rb") as f:
        f.seek(first)
        left = last - first + 1
        while left > 0:
            data = f.read(min(CHUNK_BYTES, left))
            if not data:
                raise OSError(f"{path.name}: shorter than its size a moment ago")
            left -= len(data)
            yield data


async def segment_media(ctx: Ctx) -> web.StreamResponse:
    query = _query(playback_range(ctx))
    try:
        segment_id = int(ctx.request.match_info["segment_id"])
    except ValueError:
        raise BadRequestError("segment id must be an integer") from None
    media = await playback.segment_media(ctx.services.env, ctx.caller, query, segment_id)
    if ctx.services.playback_reads.is_new(_read_key(ctx, query), ctx.now_ns):
        await playback.record_segment_read(ctx.services.env, ctx.caller, query, segment_id)
    etag = f'"vigil-segment-{media.segment_id}-{media.size_bytes}"'
    byte_range, first, last = requested_range(ctx, media.size_bytes, etag)
    headers = {"Content-Type": "video/mp4", "Cache-Control": "no-store", "ETag": etag}
    # retention removed the file meanwhile: the client sees a cut
    return await send_range(ctx, byte_range, media.size_bytes, headers, _file_chunks(media.path, first, last),
                            (OSError,), f"segment {media.segment_id} of {query.camera_id}")


async def thumbnail(ctx: Ctx) -> web.StreamResponse:
    target = playback_moment(ctx)
    assert target.camera is not None and target.start_ns is not None
    found = await playback.keyframe_thumbnail(ctx.services.env, ctx.services.playback, ctx.caller, target.camera,
                                              target.start_ns)
    return web.Response(body=found.jpeg, content_type="image/jpeg", headers={
        "Cache-Control": "private, max-age=300", "Vigil-Keyframe-At": wall_ns_to_iso(found.keyframe_wall_ns),
        "Vigil-Keyframe-Wall-Ns": str(found.keyframe_wall_ns)})


__all__ = ["playback_moment", "playlist", "segment_media", "thumbnail", "unix_seconds"]
