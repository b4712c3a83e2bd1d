"""Users and API tokens over the API (services/accounts.py, the same functions as the CLI's
`vigil user` and `vigil token`). Every route needs `manage_users` (district admins); each change
commits with its audit entry in the service. A token's secret is in the creation's answer only."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, id_param, iso, require_user
from vigil.core.errors import BadRequestError
from vigil.core.permissions import Role
from vigil.services import accounts
from vigil.services.accounts import TokenRow, User


def user_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role.value, "buildings": list(user.buildings), "disabled": user.disabled}


def token_json(row: TokenRow) -> dict[str, Any]:
    return {"id": row.id, "user": row.user_name, "label": row.label, "created_at": iso(row.created_wall_ns),
            "revoked_at": iso(row.revoked_wall_ns), "state": "active" if row.revoked_wall_ns is None else "revoked"}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"{key} (a string) is required")
    return value


def _role(body: dict[str, Any]) -> Role:
    try:
        return Role(body.get("role"))
    except ValueError:
        raise BadRequestError(f"role must be one of {', '.join(r.value for r in Role)}") from None


def _buildings(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("buildings", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError("buildings must be a list of building ids")
    return tuple(value)


async def list_users(ctx: Ctx) -> web.StreamResponse:
    return web.json_response([user_json(u) for u in await accounts.list_users(ctx.services.env, ctx.caller)])


async def add_user(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    new = accounts.NewUser(_text(body, "name"), _role(body), _buildings(body), _text(body, "password"))
    return web.json_response(user_json(await accounts.add_user(ctx.services.env, ctx.caller, new)), status=201)


async def change_role(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    user = await accounts.change_role(ctx.services.env, ctx.caller, ctx.request.match_info["user_name"],
                                      _role(body), _buildings(body))
    ctx.credentials_changed()  # live views opened under the old role are re-checked now
    return web.json_response(user_json(user))


async def disable_user(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    user = await accounts.disable_user(ctx.services.env, ctx.caller, ctx.request.match_info["user_name"])
    ctx.credentials_changed()  # their live sessions and alert streams end now
    return web.json_response(user_json(user))


async def list_tokens(ctx: Ctx) -> web.StreamResponse:
    return web.json_response([token_json(t) for t in await accounts.list_api_tokens(ctx.services.env, ctx.caller)])


async def create_token(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    body = await ctx.json_body()
    created = await accounts.create_api_token(ctx.services.env, ctx.caller, _text(body, "user"), _text(body, "label"))
    return web.json_response(token_json(created.row) | {"token": created.token}, status=201)


async def revoke_token(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    row = await accounts.revoke_api_token(ctx.services.env, ctx.caller, id_param(ctx, "token_id"))
    ctx.credentials_changed()  # responses bound to the token end now
    return web.json_response(token_json(row))
