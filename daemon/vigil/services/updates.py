"""Updating the appliance from the API (design/appliance.md, "Updates").

The daemon (user vigil) never installs. It downloads the bundle onto the data partition
(`<storage path>/updates/`), checks its signature against the appliance's keyring (`rauc info`:
a refusal with RAUC's reason, before root is involved), and writes `updates/request.json` in the
same transaction as its audit entry. `vigil-update.path` then starts `vigil-update.service`
(root), which checks the bundle again, installs it with RAUC and reboots as asked, reporting in
`updates/result.json`. One update at a time; a refused or failed download leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from vigil.config import Config
from vigil.core.errors import BadRequestError, ConflictError, PayloadTooLargeError
from vigil.core.permissions import Action, Target
from vigil.core.update_request import BUSY, UpdateSource, UpdateState, check_source, update_busy
from vigil.record.storage import write_durably
from vigil.services import audit
from vigil.services.authorize import require
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.store.audit_log import append_in
from vigil.system.boot_loader import read_update_status
from vigil.system.rauc import UpdateError, verify_bundle

REQUEST_NAME = "request.json"
RESULT_NAME = "result.json"
MAX_BUNDLE_BYTES = 4 << 30
FREE_AFTER_BYTES = 1 << 30  # left free on the data partition after a download (index, recordings)
DOWNLOAD_TIMEOUT_S = 60.0  # per read, not for the whole download


def updates_dir(config: Config) -> Path:
    return config.storage.path / "updates"


def read_result(directory: Path) -> dict[str, Any] | None:
    try:
        result = json.loads((directory / RESULT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _boot_wall_ns() -> int:
    """When this boot began (the kernel's btime), so that a state written before it is history."""
    for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) * 1_000_000_000
    return 0


def _busy(directory: Path) -> bool:
    return update_busy((directory / REQUEST_NAME).exists(), read_result(directory), _boot_wall_ns())


def download(url: str, target: Path) -> None:
    """`url` into `target` (blocking), refusing what would not fit: a part file renamed at the end."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310 (http(s) checked)
            free = shutil.disk_usage(target.parent).free
            room = min(MAX_BUNDLE_BYTES, free - FREE_AFTER_BYTES)
            announced = int(response.headers.get("Content-Length") or 0)
            if announced > room:
                raise PayloadTooLargeError(f"the bundle ({announced} bytes) does not fit: {max(room, 0)} bytes free"
                                           " for updates")
            written = 0
            with partial.open("wb") as out:
                while block := response.read(1 << 20):
                    written += len(block)
                    if written > room:
                        raise PayloadTooLargeError(f"the bundle does not fit: {max(room, 0)} bytes free for updates")
                    out.write(block)
        partial.replace(target)
    except urllib.error.HTTPError as error:
        raise BadRequestError(f"cannot download the bundle: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise BadRequestError(f"cannot download the bundle: {getattr(error, 'reason', None) or error}") from None
    finally:
        partial.unlink(missing_ok=True)


async def request_update(env: ServiceEnv, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    await require(env, caller, Action.UPDATE_APPLIANCE, Target())
    source = check_source(body.get("url"), body.get("reboot", "never"))
    directory = updates_dir(env.config)
    if await asyncio.to_thread(_busy, directory):
        raise ConflictError("an update is already requested or installing; wait for its result")
    bundle = directory / source.file_name
    try:
        await asyncio.to_thread(download, source.url, bundle)
        info = await asyncio.to_thread(verify_bundle, bundle, env.config.appliance.update_keyring)
    except (BadRequestError, UpdateError) as refused:
        await asyncio.to_thread(bundle.unlink, True)
        await audit.record(env, caller, "appliance.update", source.url, "refused", {"reason": str(refused)})
        raise
    return await env.run(lambda: _hand_over(env, caller, source, bundle, info.version, directory))


def _hand_over(env: ServiceEnv, caller: Caller, source: UpdateSource, bundle: Path, version: str,
               directory: Path) -> dict[str, Any]:
    """The request file written inside the audit entry's transaction: both or neither."""
    request = {"bundle": bundle.name, "version": version, "reboot": source.reboot, "url": source.url,
               "requested_by": caller.actor, "requested_wall_ns": caller.now_ns}
    with env.index.transaction() as c:
        append_in(c, caller.now_ns, caller.actor, "appliance.update", source.url, "ok",
                  caller.audit_detail({"version": version, "reboot": source.reboot}))
        write_durably(directory / REQUEST_NAME, json.dumps(request).encode(), 0o640)
    return {"state": UpdateState.REQUESTED.value, "version": version, "reboot": source.reboot}


async def update_status(env: ServiceEnv, caller: Caller) -> dict[str, Any]:
    await require(env, caller, Action.UPDATE_APPLIANCE, Target())
    directory = updates_dir(env.config)
    result, slots, pending = await asyncio.to_thread(
        lambda: (read_result(directory), read_update_status(), (directory / REQUEST_NAME).exists()))
    if pending and (result is None or result.get("state") not in {s.value for s in BUSY}):
        result = {"state": UpdateState.REQUESTED.value}
    return {"update": result, "slots": slots}
