"""`vigil update verify|apply|status|backend`: A/B image updates through RAUC (design/appliance.md,
"Updates").

- `verify BUNDLE`: the bundle's signature against the appliance's keyring (`rauc info`), and
  its compatible and version; nothing is written.
- `apply BUNDLE|URL`: a URL is downloaded onto the data partition first (a truncated download
  fails the signature check, never reaches a slot); verified; then `rauc install` writes the
  inactive slot and makes it primary with 3 tries (the custom backend below); `--reboot now`
  reboots at once, `--reboot HH:MM` at that time (a systemd timer), `never` leaves it to you.
  `apply --request FILE` installs what the daemon requested (vigil-update.service, as root:
  the bundle checked again, progress and outcome in result.json beside the request).
- `status`: the booted slot, the primary, each slot's state, and an update that rolled back;
  `--write` also leaves it where the daemon's health reads it (vigil-update-status.service at boot).
- `trial-check`: on a boot systemd-boot is counting, wait until vigil records (core/trial_boot.py);
  boot-complete.target requires it, and its failure reboots (vigil-trial-check.service).
- `backend get-primary|set-primary|get-state|set-state`: RAUC's custom bootloader backend
  (system.conf `bootloader-custom-backend`), over systemd-boot's entries (core/boot_entries.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction
from dataclasses import asdict
from pathlib import Path

from vigil.config.model import ApplianceConfig
from vigil.core.boot_entries import SLOTS, BootEntryError, SlotState, boot_order, booted_slot, can_fall_back
from vigil.core.errors import BadRequestError, VigilError
from vigil.core.trial_boot import DaemonView, Verdict, decide
from vigil.core.update_request import UpdateState, check_reboot, check_source
from vigil.record.storage import write_durably
from vigil.services.updates import RESULT_NAME, download
from vigil.system.boot_loader import SLOTS_FILE, UPDATE_STATUS, BootLoader
from vigil.system.rauc import UpdateError, install_bundle, verify_bundle

KEYRING = ApplianceConfig.update_keyring  # what the image installs (image-build/build.sh)
DOWNLOADS = Path("/var/lib/vigil/updates")  # the data partition: never a slot an update writes


def add_update_verbs(verbs: _SubParsersAction[ArgumentParser]) -> None:
    update = verbs.add_parser("update", help="A/B image updates (RAUC bundles)").add_subparsers(
        dest="update_verb", required=True, metavar="ACTION")
    verify = update.add_parser("verify", help="check a bundle's signature, compatible and version")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--keyring", type=Path, default=KEYRING)
    apply = update.add_parser("apply", help="install a bundle (file or https URL) into the inactive slot")
    apply.add_argument("source", nargs="?", help="a .raucb file or an http(s) URL")
    apply.add_argument("--request", type=Path, help="install what the daemon requested (vigil-update.service)")
    apply.add_argument("--reboot", default="never", help="now, HH:MM (local time) or never (default)")
    apply.add_argument("--keyring", type=Path, default=KEYRING)
    status = update.add_parser("status", help="slots, the primary, and a rolled-back update")
    status.add_argument("--esp", type=Path, default=Path("/efi"))
    status.add_argument("--write", type=Path, help=f"also write it here (the daemon reads {UPDATE_STATUS})")
    trial = update.add_parser("trial-check", help="on a counted boot: wait until vigil records, or fail")
    trial.add_argument("--timeout-s", type=float, default=300.0)
    trial.add_argument("--esp", type=Path, default=Path("/efi"))
    backend = update.add_parser("backend", help="RAUC's custom bootloader backend (called by rauc)")
    backend.add_argument("backend_verb", metavar="VERB",
                         choices=["get-primary", "set-primary", "get-state", "set-state"])
    backend.add_argument("slot", nargs="?", choices=SLOTS)
    backend.add_argument("state", nargs="?", choices=[s.value for s in SlotState])
    backend.add_argument("--esp", type=Path, default=Path("/efi"))
    backend.add_argument("--slots-file", type=Path, default=SLOTS_FILE, help="the image's boot facts")


def run_update(args: Namespace) -> int:
    if args.update_verb == "backend":
        return _backend(BootLoader(args.esp, args.slots_file), args.backend_verb, args.slot, args.state)
    if args.update_verb == "status":
        status = update_status(BootLoader(args.esp), Path("/proc/cmdline").read_text())
        print(json.dumps(status, indent=2))
        if args.write is not None:
            write_durably(args.write, json.dumps(status).encode(), 0o644)
        back = status.get("rolled_back")
        if isinstance(back, dict):
            print(f"UPDATE ROLLED BACK: {back['title']} failed {back['tries']} boot tries; "
                  f"running slot {status['booted']}", file=sys.stderr)
        return 0
    if args.update_verb == "trial-check":
        return _trial_check(args.timeout_s, BootLoader(args.esp))
    if args.update_verb == "verify":
        print(json.dumps(asdict(verify_bundle(args.bundle, args.keyring)), indent=2))
        return 0
    if args.request is not None:
        return apply_request(args.request, args.keyring)
    if args.source is None:
        raise BadRequestError("apply: a bundle file or URL, or --request FILE")
    return _apply(args.source, args.keyring, check_reboot(args.reboot))


def _backend(loader: BootLoader, verb: str, slot: str | None, state: str | None) -> int:
    if verb == "get-primary":
        print(loader.get_primary())
        return 0
    if slot is None:
        raise BadRequestError(f"{verb}: which slot ({', '.join(SLOTS)})?")
    if verb == "set-primary":
        loader.set_primary(slot)
    elif verb == "get-state":
        print(loader.get_state(slot).value)
    else:
        if state is None:
            raise BadRequestError("set-state: good or bad?")
        loader.set_state(slot, SlotState(state))
    return 0


def update_status(loader: BootLoader, cmdline: str) -> dict[str, object]:
    try:
        entries = loader.entries()
        rollback = loader.rollback(cmdline)
    except (OSError, BootEntryError) as error:
        return {"error": str(error)}
    return {
        "booted": booted_slot(cmdline),
        "order": [{"slot": e.slot, "title": e.title, "generation": e.generation, "tries_left": e.tries_left,
                   "state": e.state}
                  for e in boot_order(entries)],
        "rolled_back": None if rollback is None else {
            "slot": rollback.from_slot, "title": rollback.title, "tries": rollback.tries_done},
    }


def _daemon_view() -> DaemonView:
    done = subprocess.run(["systemctl", "show", "vigil.service", "-p", "ActiveState", "-p", "NRestarts",
                           "-p", "StatusText"], capture_output=True, text=True, check=True, timeout=30)
    props = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    return DaemonView(props.get("ActiveState", ""), int(props.get("NRestarts") or 0), props.get("StatusText", ""))


def _trial_check(timeout_s: float, loader: BootLoader) -> int:
    booted = booted_slot(Path("/proc/cmdline").read_text())
    started = time.monotonic()
    last = ""
    while True:
        decision = decide(_daemon_view(), time.monotonic() - started, timeout_s)
        if decision.reason != last:
            print(f"trial boot: {decision.verdict.value}: {decision.reason}", flush=True)
            last = decision.reason
        if decision.verdict is Verdict.COMMIT:
            return 0
        if decision.verdict is Verdict.FAIL and (booted is None or not can_fall_back(loader.entries(), booted)):
            print(f"trial boot failed ({decision.reason}) but no other slot can boot: committing this one",
                  file=sys.stderr, flush=True)
            return 0
        if decision.verdict is Verdict.FAIL:
            print("trial boot FAILED: rebooting spends one of this slot's tries; the old slot boots when "
                  "they run out", file=sys.stderr, flush=True)
            return 1
        time.sleep(2.0)


def _download(url: str) -> Path:
    """A URL onto the data partition, as the API's update does (services/updates.download)."""
    target = DOWNLOADS / check_source(url, "never").file_name
    download(url, target)
    return target


def _apply(source: str, keyring: Path, reboot: str) -> int:
    bundle = _download(source) if "://" in source else Path(source)
    info = verify_bundle(bundle, keyring)
    print(f"installing {info.compatible} {info.version} from {bundle}", flush=True)
    install_bundle(bundle)
    _reboot(reboot)
    return 0


def _reboot(reboot: str) -> None:
    if reboot == "now":
        print("rebooting into the new version", flush=True)
        subprocess.run(["systemctl", "reboot"], check=True)
    elif reboot != "never":
        subprocess.run(["systemd-run", "--unit=vigil-update-reboot", f"--on-calendar=*-*-* {reboot}:00",
                        "systemctl", "reboot"], check=True)
        print(f"installed; rebooting at {reboot}", flush=True)
    else:
        print("installed; the new version starts at the next reboot", flush=True)


def _result(directory: Path, state: UpdateState, request: dict[str, object], message: str) -> None:
    body = {"state": state.value, "version": request.get("version"), "requested_by": request.get("requested_by"),
            "reboot": request.get("reboot"), "message": message, "at_wall_ns": time.time_ns()}
    write_durably(directory / RESULT_NAME, json.dumps(body).encode(), 0o644)


def apply_request(path: Path, keyring: Path) -> int:
    """vigil-update.service (root): the daemon's request, taken (removed) first so that it runs
    once; the bundle checked again here, never trusted from the daemon's check."""
    directory = path.parent
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0  # taken already
    except ValueError as error:
        path.unlink(missing_ok=True)
        raise UpdateError(f"{path}: unreadable update request ({error})") from None
    path.unlink()
    name = str(request.get("bundle", ""))
    bundle = directory / name
    try:
        if not name or "/" in name or name.startswith("."):
            raise UpdateError(f"{path}: the bundle must be a file in {directory}")
        reboot = check_reboot(str(request.get("reboot", "never")))
        _result(directory, UpdateState.INSTALLING, request, f"installing {name}")
        if os.geteuid() == 0:  # root's now: RAUC refuses a bundle others could change while it reads
            os.chown(bundle, 0, 0)
            bundle.chmod(0o600)
        info = verify_bundle(bundle, keyring)
        print(f"installing {info.compatible} {info.version} requested by {request.get('requested_by')}", flush=True)
        install_bundle(bundle)
    except VigilError as error:
        _result(directory, UpdateState.FAILED, request, str(error))
        bundle.unlink(missing_ok=True)
        raise
    bundle.unlink(missing_ok=True)  # in the slot now; the data partition's room back
    _result(directory, UpdateState.INSTALLED, request,
            "installed" + ("" if reboot == "never" else f"; reboot {reboot}"))
    _reboot(reboot)
    return 0
