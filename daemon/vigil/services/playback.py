"""Playback of recorded footage in the browser: an HLS VOD playlist of a camera's recorded
fragments over a range, the recorded files' bytes it points at, and keyframe thumbnails.

The route table checked VIEW_PLAYBACK on the camera and range before; each function checks again
(the CLI or a worker may call it). What is audited: the playlist (the route's `playback.hls`
entry) names the camera and range once; the player's many byte-range requests for the files are
not audited again while they follow an audited playlist of the same caller, camera and range
(`record_segment_read` is for those that do not). Thumbnails are not footage the caller can play
and are not audited one by one (the timeline they hover over was)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.clips.recorded_files import RecordedFileCache, recorded_files
from vigil.clips.thumbnail import ThumbnailCache
from vigil.core.errors import BadRequestError, NotFoundError
from vigil.core.hls_playlist import Playlist, build_playlist, nearest_keyframe
from vigil.core.permissions import Action, Target
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.store.timeline import segment_by_id

__all__ = ["MAX_PLAYLIST_NS", "PlaybackCaches", "PlaybackQuery", "Playlist", "SegmentMedia", "Thumbnail",
           "hls_playlist", "keyframe_thumbnail", "record_segment_read", "segment_media"]

MAX_PLAYLIST_NS = 6 * 3600 * NS_PER_SECOND
THUMBNAIL_REACH_NS = 10 * NS_PER_SECOND  # the nearest keyframe within this of the moment asked for


@dataclass(frozen=True)
class PlaybackQuery:
    camera_id: str
    start_ns: int
    end_ns: int


@dataclass
class PlaybackCaches:
    """Kept for the daemon's life (api Services): parsed fragment headers and decoded thumbnails."""

    files: RecordedFileCache
    thumbnails: ThumbnailCache

    @classmethod
    def new(cls) -> PlaybackCaches:
        return cls(RecordedFileCache(), ThumbnailCache())


@dataclass(frozen=True)
class SegmentMedia:
    segment_id: int
    camera_id: str
    path: Path
    size_bytes: int  # on disk now (a segment being written grows)
    complete: bool


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    keyframe_wall_ns: int
    segment_id: int


def _building(env: ServiceEnv, camera_id: str) -> str:
    building = env.config.building_of(camera_id)
    if building is None:
        raise NotFoundError(f"no camera {camera_id!r}")
    return building


async def _require_range(env: ServiceEnv, caller: Caller, query: PlaybackQuery) -> None:
    building = _building(env, query.camera_id)
    if query.end_ns <= query.start_ns:
        raise BadRequestError("end must be after start")
    await require(env, caller, Action.VIEW_PLAYBACK, Target(building=building, camera=query.camera_id,
                                                              start_ns=query.start_ns, end_ns=query.end_ns))


async def hls_playlist(env: ServiceEnv, caches: PlaybackCaches, caller: Caller, query: PlaybackQuery,
                       uri_for: Callable[[int], str]) -> Playlist:
    """The HLS playlist of what the camera recorded in [start, end) (at most 6 hours): 404 when
    nothing was. uri_for(segment_id) is the URI of a recorded file's bytes."""
    if query.end_ns - query.start_ns > MAX_PLAYLIST_NS:
        raise BadRequestError("a playlist covers at most 6 hours; ask for several")
    await _require_range(env, caller, query)
    # File reads as well as the index: the loop's default threads, as clips do.
    found = await asyncio.to_thread(recorded_files, env.index, caches.files, query.camera_id, query.start_ns,
                                    query.end_ns)
    playlist = build_playlist([f for _, _, f in found], query.start_ns, query.end_ns, uri_for)
    if playlist is None:
        raise NotFoundError(f"nothing recorded by camera {query.camera_id!r} between"
                            f" {wall_ns_to_iso(query.start_ns)} and {wall_ns_to_iso(query.end_ns)}")
    return playlist


async def segment_media(env: ServiceEnv, caller: Caller, query: PlaybackQuery, segment_id: int) -> SegmentMedia:
    """A recorded file of the camera that overlaps the range the caller may play back (else 404)."""
    await _require_range(env, caller, query)
    row = await env.run(lambda: segment_by_id(env.index, segment_id))
    if (row is None or row.camera_id != query.camera_id or row.start_wall_ns >= query.end_ns
            or (row.end_wall_ns is not None and row.end_wall_ns <= query.start_ns)):
        raise NotFoundError(f"camera {query.camera_id!r} has no segment {segment_id} in that range")
    path = (await env.run(env.index.storage_dir_paths))[row.dir_id] / row.path
    try:
        size = (await asyncio.to_thread(os.stat, path)).st_size
    except FileNotFoundError:
        raise NotFoundError(f"segment {segment_id} is no longer on disk (retention removed it)") from None
    return SegmentMedia(row.id, row.camera_id, path, size, row.state == "complete")


async def record_segment_read(env: ServiceEnv, caller: Caller, query: PlaybackQuery, segment_id: int) -> None:
    """One `playback.segment` entry: recorded bytes read without an audited playlist before them."""
    detail = {"start_ns": query.start_ns, "end_ns": query.end_ns, "segment": segment_id}

    def write() -> None:
        with env.index.transaction() as c:
            append_in(c, caller.now_ns, caller.actor, "playback.segment", f"camera:{query.camera_id}", "ok",
                      caller.audit_detail(detail))

    await env.run(write)


async def keyframe_thumbnail(env: ServiceEnv, caches: PlaybackCaches, caller: Caller, camera_id: str,
                             at_ns: int) -> Thumbnail:
    """The recorded keyframe nearest `at_ns` (within 10 s) as a small JPEG; 404 in a gap."""
    await _require_range(env, caller, PlaybackQuery(camera_id, at_ns, at_ns + 1))

    def find_and_decode() -> Thumbnail:
        found = recorded_files(env.index, caches.files, camera_id, at_ns - THUMBNAIL_REACH_NS,
                               at_ns + THUMBNAIL_REACH_NS)
        nearest = nearest_keyframe([f for _, _, f in found], at_ns)
        if nearest is None or abs(nearest[1].wall_start_ns - at_ns) > THUMBNAIL_REACH_NS:
            raise NotFoundError(f"nothing recorded by camera {camera_id!r} near {wall_ns_to_iso(at_ns)}")
        file, fragment = nearest
        path = next(p for _, p, f in found if f is file)
        return Thumbnail(caches.thumbnails.jpeg(path, file, fragment), fragment.wall_start_ns, file.segment_id)

    return await asyncio.to_thread(find_and_decode)
