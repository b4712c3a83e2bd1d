"""Configuring cameras and buildings: the operator's TOML edited, validated like `vigil check`,
written atomically with its audit entry, then applied to the running daemon without touching
the other cameras (design/cameras.md). The API, the CLI and SIGHUP all end in `reload`'s path.

Permissions (Action.CONFIGURE_CAMERAS, per building): a building admin or an installer with
buildings edits cameras of their buildings only and cannot move one out of them; creating and
deleting buildings and reloading the whole file are for district admins and installers of every
building. Passwords are never returned nor audited: audit entries say "set"/"changed"/"cleared"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.camera_setup.reach import check_camera_url
from vigil.config.edit import Edit, add_item, field_errors, ids, item_values, remove_item, update_item, validated
from vigil.config.files import ConfigFile
from vigil.config.load import load_config
from vigil.config.model import BuildingConfig, CameraConfig, Config
from vigil.config.sections.cameras import CAMERA_KEYS, http_url_check, rtsp_url_check
from vigil.core.camera_changes import ReloadResult
from vigil.core.errors import (
    AddressNotAllowedError,
    ConfigError,
    ConflictError,
    DuplicateIdError,
    NotFoundError,
    PermissionDeniedError,
    UnreachableError,
    ValidationError,
)
from vigil.core.permissions import Action, Target, UserSubject, decide
from vigil.core.probe_networks import parse_networks
from vigil.services.authorize import audit_denial_sync, require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in

log = logging.getLogger(__name__)

CAMERA_REQUIRED = ("id", "building", "name", "url")
CAMERA_BODY = frozenset(CAMERA_KEYS)  # what a body may set: the configuration's camera keys
READ_ONLY = frozenset({"password_set"})  # shown in answers; ignored when a form sends it back
BUILDING_BODY = frozenset({"id", "name"})


@dataclass(frozen=True)
class CameraList:
    cameras: tuple[CameraConfig, ...]
    writable: bool
    read_only_reason: str | None


@dataclass(frozen=True)
class BuildingList:
    buildings: tuple[BuildingConfig, ...]
    writable: bool
    read_only_reason: str | None


@dataclass(frozen=True)
class Applied:
    result: ReloadResult
    camera: CameraConfig | None = None
    building: BuildingConfig | None = None


def _file(env: ServiceEnv) -> ConfigFile:
    return ConfigFile(env.config.source)


def _may(caller: Caller, building: str) -> bool:
    if caller.is_appliance:
        return True
    return decide(caller.require_subject(), Action.CONFIGURE_CAMERAS, Target(building=building), caller.now_ns).allowed


async def _require_every_building(env: ServiceEnv, caller: Caller, what: str) -> None:
    """Creating/deleting buildings and reloading the whole file: not for building-scoped users."""
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    subject = caller.subject
    if isinstance(subject, UserSubject) and subject.buildings:
        reason = f"{what} is for district admins and installers of every building"
        await env.run(lambda: audit_denial_sync(env, caller, Action.CONFIGURE_CAMERAS.value, "appliance", reason))
        raise PermissionDeniedError(f"not allowed: {reason}")


def _check_body(body: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = sorted(set(body) - allowed - READ_ONLY)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}", tuple((k, "unknown field") for k in unknown))
    return {k: v for k, v in body.items() if k not in READ_ONLY}


def _masked(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Old and new values for the audit log, the password shown only as set/changed/cleared."""
    before, after = dict(old or {}), dict(new or {})
    had, has = before.pop("password", None), after.pop("password", None)
    if had is not None:
        before["password"] = "set"  # noqa: S105 (what the audit says, not a password)
    if has is not None:
        after["password"] = "set" if had is None else ("changed" if has != had else "set")
    elif had is not None and new is not None:
        after["password"] = "cleared"  # noqa: S105 (what the audit says, not a password)
    return before, after


async def _apply(env: ServiceEnv, config: Config) -> ReloadResult:
    """Apply what is now in the file; shielded: a change written is applied even if the request
    that made it goes away meanwhile (the file and the running daemon never disagree for long)."""
    return await asyncio.shield(env.live.apply(config))


async def _change(env: ServiceEnv, caller: Caller, action: str, target: str, make: Callable[[str], Edit],
                  item: tuple[str, str]) -> ReloadResult:
    """Write the change (`_write`) and apply it, one change at a time in this daemon: two edits
    are applied in the order they were written, so the running cameras end as the file says."""
    async with env.live.editing():
        config = await env.run(lambda: _write(env, caller, action, target, make, item))
        return await _apply(env, config)


def _write(env: ServiceEnv, caller: Caller, action: str, target: str, make: Callable[[str], Edit],
           item: tuple[str, str]) -> Config:
    """On a database thread: under the file lock, edit the current text, validate it, and replace
    the file and append the audit entry as one: the entry's transaction commits only after the
    rename, and the old file is put back if it does not."""
    file = _file(env)
    with file.locked():
        old_text = file.read()
        edit = make(old_text)
        config = validated(edit, file.path)
        section, item_id = item
        old_values = _values_or_none(old_text, section, item_id)
        new_values = _values_or_none(edit.text, section, item_id)
        before, after = _masked(old_values, new_values)
        replaced = False
        try:
            with env.index.transaction() as c:
                file.replace(edit.text)
                replaced = True
                append_in(c, caller.now_ns, caller.actor, action, target, "ok",
                          caller.audit_detail({"old": before or None, "new": after or None}))
        except BaseException:
            if replaced:
                file.replace(old_text)
                log.warning("%s %s: the audit entry could not be written; the previous configuration is back",
                            action, target)
            raise
    return config


def _values_or_none(text: str, section: str, item_id: str) -> dict[str, Any] | None:
    try:
        return item_values(text, section, item_id)
    except NotFoundError:
        return None


async def url_not_allowed(config: Config, url: str) -> str | None:
    """Why a camera URL saved through the API may not be reached under the probe network policy
    (`[camera_setup] probe_networks`: the host must resolve inside them), or None. Hand-edited
    files are not checked (`vigil check` reads no DNS)."""
    try:
        await check_camera_url(url, parse_networks(config.camera_setup.probe_networks))
    except (AddressNotAllowedError, UnreachableError) as error:
        return str(error)
    return None


async def _check_url_policy(env: ServiceEnv, values: Mapping[str, Any]) -> None:
    """The saved URLs under the probe network policy: a 422 naming each field refused. A URL that
    is not an RTSP URL at all is left to the file's validation, which names it with the others."""
    errors = []
    for name in ("url", "substream_url", "talk_url"):  # talk_url: rtsp (ONVIF) or http(s) (VAPIX)
        url = values.get(name)
        is_url = isinstance(url, str) and (rtsp_url_check(url) is None
                                           or (name == "talk_url" and http_url_check(url) is None))
        if isinstance(url, str) and is_url:
            why = await url_not_allowed(env.config, url)
            if why is not None:
                errors.append((name, why))
    if errors:
        raise ValidationError("; ".join(f"{f}: {m}" for f, m in errors), tuple(errors))


def _require_fields(values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    missing = [k for k in names if values.get(k) is None]
    if missing:
        raise ValidationError(f"missing {', '.join(missing)}", tuple((k, "required") for k in missing))


async def _add(env: ServiceEnv, caller: Caller, table: str, noun: str, item_id: str,
               values: Mapping[str, Any]) -> ReloadResult:
    """A new `[[table]]` item (a camera or a building), refused when its id is taken."""
    def make(text: str) -> Edit:
        if item_id in ids(text, table):
            raise DuplicateIdError(f"a {noun} {item_id!r} already exists")
        return add_item(text, table, values)

    return await _change(env, caller, f"{noun}.create", f"{noun}:{item_id}", make, (table, item_id))


def _camera(env: ServiceEnv, camera_id: str) -> CameraConfig:
    found = next((c for c in env.config.cameras if c.id == camera_id), None)
    if found is None:
        raise NotFoundError(f"no camera {camera_id!r}")
    return found


# --- cameras ------------------------------------------------------------------------------------

async def list_cameras(env: ServiceEnv, caller: Caller) -> CameraList:
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    reason = await env.run(_file(env).not_writable_reason)
    cameras = tuple(c for c in env.config.cameras if _may(caller, c.building))
    return CameraList(cameras, reason is None, reason)


async def create_camera(env: ServiceEnv, caller: Caller, body: Mapping[str, Any]) -> Applied:
    values = _check_body(body, CAMERA_BODY)
    building = values.get("building")
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target(building=building if isinstance(building, str)
                                                                 else None))
    _require_fields(values, CAMERA_REQUIRED)
    camera_id = str(values["id"])
    await _check_url_policy(env, values)
    result = await _add(env, caller, "cameras", "camera", camera_id, values)
    return Applied(result, camera=_camera(env, camera_id))


async def update_camera(env: ServiceEnv, caller: Caller, camera_id: str, body: Mapping[str, Any]) -> Applied:
    values = _check_body(body, CAMERA_BODY)
    current = _camera(env, camera_id)
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target(building=current.building, camera=camera_id))
    building = values.get("building")
    if isinstance(building, str) and building != current.building:  # moving it: the new building's too
        await require(env, caller, Action.CONFIGURE_CAMERAS, Target(building=building))
    if "id" in values and values["id"] != camera_id:
        raise ValidationError("a camera's id cannot be changed", (("id", "cannot be changed"),))
    for name in CAMERA_REQUIRED:
        if name in values and values[name] is None:
            raise ValidationError(f"{name} is required", ((name, "required"),))
    if "password" in values and values["password"] is None:
        values.setdefault("username", None)  # cleared together (else vigil check names both)
    await _check_url_policy(env, values)
    result = await _change(env, caller, "camera.update", f"camera:{camera_id}",
                           lambda text: update_item(text, "cameras", camera_id, values),
                           ("cameras", camera_id))
    return Applied(result, camera=_camera(env, camera_id))


async def delete_camera(env: ServiceEnv, caller: Caller, camera_id: str) -> Applied:
    current = _camera(env, camera_id)
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target(building=current.building, camera=camera_id))
    return Applied(await _change(env, caller, "camera.delete", f"camera:{camera_id}",
                                 lambda text: remove_item(text, "cameras", camera_id),
                                 ("cameras", camera_id)))


# --- buildings ----------------------------------------------------------------------------------

async def list_buildings(env: ServiceEnv, caller: Caller) -> BuildingList:
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target())
    reason = await env.run(_file(env).not_writable_reason)
    buildings = tuple(b for b in env.config.buildings if _may(caller, b.id))
    return BuildingList(buildings, reason is None, reason)


def _building(env: ServiceEnv, building_id: str) -> BuildingConfig:
    found = next((b for b in env.config.buildings if b.id == building_id), None)
    if found is None:
        raise NotFoundError(f"no building {building_id!r}")
    return found


async def create_building(env: ServiceEnv, caller: Caller, body: Mapping[str, Any]) -> Applied:
    values = _check_body(body, BUILDING_BODY)
    await _require_every_building(env, caller, "creating a building")
    _require_fields(values, ("id", "name"))
    building_id = str(values["id"])
    result = await _add(env, caller, "buildings", "building", building_id, values)
    return Applied(result, building=_building(env, building_id))


async def update_building(env: ServiceEnv, caller: Caller, building_id: str, body: Mapping[str, Any]) -> Applied:
    values = _check_body(body, BUILDING_BODY)
    _building(env, building_id)
    await require(env, caller, Action.CONFIGURE_CAMERAS, Target(building=building_id))
    if "id" in values and values["id"] != building_id:
        raise ValidationError("a building's id cannot be changed", (("id", "cannot be changed"),))
    result = await _change(env, caller, "building.update", f"building:{building_id}",
                           lambda text: update_item(text, "buildings", building_id, values),
                           ("buildings", building_id))
    return Applied(result, building=_building(env, building_id))


async def delete_building(env: ServiceEnv, caller: Caller, building_id: str) -> Applied:
    _building(env, building_id)
    await _require_every_building(env, caller, "deleting a building")
    config = env.config
    cameras = [c.id for c in config.cameras if c.building == building_id]
    doors = [d.id for d in config.doors if d.building == building_id]
    if cameras or doors:
        names = ", ".join([f"camera {c}" for c in cameras] + [f"door {d}" for d in doors])
        raise ConflictError(f"building {building_id!r} still has {names}: remove or move them first")
    return Applied(await _change(env, caller, "building.delete", f"building:{building_id}",
                                 lambda text: remove_item(text, "buildings", building_id),
                                 ("buildings", building_id)))


# --- the whole file -----------------------------------------------------------------------------

def result_detail(result: ReloadResult) -> dict[str, Any]:
    c = result.changes
    return {"added": list(c.added), "removed": list(c.removed), "restarted": list(c.restarted),
            "updated": list(c.updated), "unchanged": c.unchanged, "restart_needed": list(result.restart_needed)}


async def reload(env: ServiceEnv, caller: Caller) -> ReloadResult:
    """Re-read the file (as edited by hand), validate it like `vigil check`, apply it. An invalid
    file changes nothing: the error is logged, audited (`config.reload`, outcome error) and raised
    as a ValidationError naming each key."""
    await _require_every_building(env, caller, "reloading the configuration")
    source = env.config.source

    def audit(outcome: str, detail: dict[str, Any]) -> None:
        with env.index.transaction() as c:
            append_in(c, caller.now_ns, caller.actor, "config.reload", "appliance", outcome,
                      caller.audit_detail(detail))

    async with env.live.editing():  # after the edits before it, in order
        try:
            config = await env.run(lambda: load_config(source))
        except ConfigError as error:
            refused = error
        else:
            result = await _apply(env, config)
            await env.run(lambda: audit("ok", result_detail(result)))
            return result
    log.error("reload of %s refused, nothing changed: %s", source, refused)
    await env.run(lambda: audit("error", {"error": str(refused)}))
    errors = refused.problems or (("", str(refused)),)
    raise ValidationError(f"configuration not reloaded: {refused}", field_errors(errors, Edit("", "cameras", None)))
