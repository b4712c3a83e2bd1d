"""The OpenAPI 3.1 document, generated from the route table so the two cannot drift apart.

The table (api/routes.py) hands its routes in; this module does not import it: `Operation` is
what it reads of a route."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from vigil import __version__
from vigil.api import schemas
from vigil.core.permissions import Action


class QueryParameter(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def schema(self) -> schemas.Schema: ...
    @property
    def required(self) -> bool: ...


class PerItemDecision(Protocol):
    @property
    def decided_by(self) -> str: ...
    @property
    def why(self) -> str: ...


class Operation(Protocol):
    """What the document says of a route (api.routes.Route)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def action(self) -> Action | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def response(self) -> schemas.Schema | None: ...
    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def query(self) -> Sequence[QueryParameter]: ...
    @property
    def body(self) -> schemas.Schema | None: ...
    @property
    def body_content_type(self) -> str: ...
    @property
    def public_reason(self) -> str | None: ...
    @property
    def byte_ranges(self) -> bool: ...
    @property
    def per_item(self) -> PerItemDecision | None: ...

_ERRORS = {"400": "malformed request", "401": "no valid credentials", "403": "not allowed",
           "404": "no such resource", "409": "conflicts with the camera or appliance state",
           "413": "body too large", "415": "wrong content type",
           "422": "values that are wrong (the problem's `errors` names each field)", "429": "throttled",
           "503": "not available right now"}


def template(path: str) -> str:
    """The path as OpenAPI (and aiohttp's canonical form) writes it: `{name:regex}` -> `{name}`."""
    return re.sub(r"{(\w+):[^}]+}", r"{\1}", path)


def _operation(route: Operation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{(\w+)}", template(route.path))
    ]
    params += [{"name": p.name, "in": "query", "required": p.required, "description": p.description,
                "schema": p.schema} for p in route.query]
    content = ({route.content_type: {"schema": route.response}} if route.response is not None
               else {route.content_type: {"schema": {"type": "string"}}})
    responses: dict[str, Any] = {str(route.status): {"description": "success", "content": content}}
    errors = dict(_ERRORS)
    if route.byte_ranges:
        responses["206"] = {"description": "the one byte range asked for (Content-Range)", "content": content}
        errors["416"] = "byte range outside the body (Content-Range: bytes */size)"
    if route.path.startswith("/api/setup/"):  # camera setup: `type` is the problem's slug (core/errors.py)
        errors["403"] = "not allowed, or address-not-allowed: outside [camera_setup] probe_networks"
        errors["422"] = "onvif-unauthorized or rtsp-unauthorized: the user name or password was refused"
        errors["502"] = "unreachable, not-onvif, soap-fault, malformed-xml or not-video: the device's answer"
    for status, description in errors.items():
        error_content: dict[str, Any] = {"application/problem+json": {"schema": schemas.PROBLEM}}
        if route.content_type == "text/html":  # a page may answer a failure as a page (a dead responder link)
            error_content["text/html"] = {"schema": {"type": "string"}}
        responses[status] = {"description": description, "content": error_content}
    op: dict[str, Any] = {"summary": route.summary, "operationId": f"{route.method.lower()} {template(route.path)}",
                          "parameters": params, "responses": responses,
                          "x-vigil-permission": route.action.value if route.action else "public"}
    if route.public_reason:
        op["security"] = []
        op["description"] = f"Public: {route.public_reason}."
    if route.per_item is not None:  # the caller's role must have the action, then each item is decided
        op["description"] = f"Permission per item: {route.per_item.why}."
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {route.body_content_type: {"schema": route.body}}}
    return op


def openapi_document(routes: Sequence[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(template(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil recorder API", "version": __version__},
        "paths": paths,
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API token, session or link token"},
            "session": {"type": "apiKey", "in": "cookie", "name": "vigil_session"},
        }},
        "security": [{"bearer": []}, {"session": []}],
    }
