"""Errors as JSON problem details (RFC 9457). The status comes from core.errors' one table;
nothing else (no stack trace, no internals) ever reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from vigil.core.errors import RangeNotSatisfiableError, VigilError, http_status

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable", 416: "Range Not Satisfiable",
           422: "Unprocessable Content", 502: "Bad Gateway"}


def problem(status: int, detail: str, errors: tuple[tuple[str, str], ...] = (),
            kind: str = "about:blank") -> web.Response:
    """`kind`: the problem's `type` (a slug for the errors that have one, e.g. onvif-unauthorized)."""
    body: dict[str, object] = {"type": kind, "title": _TITLES.get(status, "Error"), "status": status,
                               "detail": detail}
    if errors:  # which field of the request is wrong, and why (forms show each beside its field)
        body["errors"] = [{"field": field, "message": message} for field, message in errors]
    response = web.json_response(body, status=status, content_type="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
    return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VigilError as error:
        response = problem(http_status(error), str(error), error.errors,
                           getattr(error, "problem_type", "about:blank"))
        if isinstance(error, RangeNotSatisfiableError):  # RFC 9110 §15.5.17: say how big the body is
            response.headers["Content-Range"] = f"bytes */{error.total_bytes}"
        if error.retry_after_s is not None:  # RFC 9110 §10.2.3: when to ask again
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        detail = {404: "no such resource", 405: f"method {request.method} not allowed here",
                  413: "request body too large"}.get(error.status, error.reason)
        response = problem(error.status, detail)
        if "Allow" in error.headers:  # RFC 9110: a 405 names the methods that are allowed
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.rel_url.path)
        return problem(500, "internal error; the appliance log has the details")
