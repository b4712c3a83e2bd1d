"""Open a proposed stream once, as the recorder would (PyAV, demux on a thread), and report what
actually arrives: codec, size, frame rate, GOP, B-frames, and a JPEG of the first keyframe.

Bounded: FFmpeg's socket timeout, and the reading stops at the second keyframe or `max_s`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import av

from vigil.core.errors import NotVideoError, RtspUnauthorizedError, UnreachableError
from vigil.core.failure import classify_failure
from vigil.core.media import DownReason
from vigil.ingest.rtsp import url_with_credentials
from vigil.ingest.snapshot import frame_jpeg

SNAPSHOT_WIDTH = 640


@dataclass(frozen=True)
class Received:
    codec: str  # h264, hevc, ... (FFmpeg's name)
    width: int
    height: int
    fps: float | None
    gop_frames: int | None  # frames from one keyframe to the next (None: only one keyframe seen)
    bframes: bool
    jpeg: bytes | None


def inspect_stream(url: str, username: str | None, password: str | None, transport: str, timeout_s: float,
                   max_s: float) -> Received:
    """Blocking: run on a thread. Raises the contract's errors (RTSP 401, not video, unreachable)."""
    options = {"rtsp_transport": transport, "timeout": str(int(timeout_s * 1_000_000)), "analyzeduration": "0",
               "probesize": "32", "fflags": "nobuffer"}
    started = time.monotonic()
    try:
        container = av.open(url_with_credentials(url, username, password), options=options, timeout=timeout_s)
    except av.error.FFmpegError as error:
        reason = classify_failure(error.errno, type(error).__name__, str(error.strerror or ""))
        if reason is DownReason.AUTH:
            raise RtspUnauthorizedError("the stream refused the user name or password (RTSP 401)") from None
        if reason in (DownReason.BAD_STREAM, DownReason.NOT_FOUND):
            raise NotVideoError(f"the stream URL does not give video ({reason.value})") from None
        raise UnreachableError(f"the stream cannot be opened ({reason.value})") from None
    with container:
        if not container.streams.video:
            raise NotVideoError("the stream URL answers, but with no video track")
        video = container.streams.video[0]
        ctx = video.codec_context
        keyframes: list[int] = []
        frames = 0
        pts_seen: list[int] = []
        bframes = False
        jpeg: bytes | None = None
        try:
            for packet in container.demux(video):
                if packet.size == 0:
                    continue
                if packet.pts is not None and packet.dts is not None and packet.pts != packet.dts:
                    bframes = True
                if packet.is_keyframe:
                    keyframes.append(frames)
                    if jpeg is None:
                        jpeg = _jpeg(ctx, packet)
                if keyframes:
                    frames += 1
                    if packet.pts is not None:
                        pts_seen.append(packet.pts)
                if len(keyframes) >= 2 or time.monotonic() - started > max_s:
                    break
        except av.error.FFmpegError:
            pass  # what arrived so far is the report
        width, height = ctx.width or 0, ctx.height or 0
        if not width and jpeg is None:
            raise NotVideoError(f"the stream's track ({ctx.name}) gave no picture")
        fps = None
        if len(pts_seen) >= 3 and video.time_base:
            span = (max(pts_seen) - min(pts_seen)) * float(video.time_base)
            fps = round((len(pts_seen) - 1) / span, 1) if span > 0 else None
        if fps is None and video.average_rate:
            fps = round(float(video.average_rate), 1)
        gop = keyframes[1] - keyframes[0] if len(keyframes) >= 2 else None
        return Received(ctx.name, width, height, fps, gop, bframes, jpeg)


def _jpeg(ctx: Any, packet: Any) -> bytes | None:
    try:
        for frame in ctx.decode(packet):
            if isinstance(frame, av.VideoFrame):
                return frame_jpeg(frame, SNAPSHOT_WIDTH)
    except av.error.FFmpegError:
        return None
    return None
