"""Sending a body that answers `Range` requests (clips, recorded segment files): the one part
asked for (206), or all of it; a stale `If-Range` gets the whole new body. The bytes come from a
generator run on a thread; when it fails midway (a file removed by retention, a damaged segment)
the connection is cut, so the client sees a cut and never a short body taken for a whole one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator, Mapping

from aiohttp import web

from vigil.api.context import Ctx
from vigil.core.byte_range import ByteRange, parse_range

log = logging.getLogger(__name__)


def requested_range(ctx: Ctx, size_bytes: int, etag: str) -> tuple[ByteRange | None, int, int]:
    """The byte range the request asks for (None: the whole body) and its first and last byte."""
    if_range = ctx.request.headers.get("If-Range")
    byte_range = None
    if if_range is None or if_range.strip() == etag:
        byte_range = parse_range(ctx.request.headers.get("Range"), size_bytes)
    first, last = (0, size_bytes - 1) if byte_range is None else (byte_range.first, byte_range.last)
    return byte_range, first, last


async def send_range(ctx: Ctx, byte_range: ByteRange | None, size_bytes: int, headers: Mapping[str, str],
                     chunks: Generator[bytes, None, None], failures: tuple[type[Exception], ...], what: str,
                     ) -> web.StreamResponse:
    """Streams `chunks` (the bytes of `byte_range`, or of the whole body) with `headers`."""
    first, last = (0, size_bytes - 1) if byte_range is None else (byte_range.first, byte_range.last)
    response = web.StreamResponse(status=200 if byte_range is None else 206,
                                  headers={"Accept-Ranges": "bytes", **headers})
    if byte_range is not None:
        response.headers["Content-Range"] = byte_range.content_range(size_bytes)
    response.content_length = last - first + 1
    await response.prepare(ctx.request)
    try:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            await response.write(chunk)
    except failures as error:
        log.error("%s cut short: %s", what, error)
        if ctx.request.transport is not None:
            ctx.request.transport.close()
        return response
    finally:
        with contextlib.suppress(ValueError):  # still running on its thread after a cancel: it closes itself
            chunks.close()
    await response.write_eof()
    return response
