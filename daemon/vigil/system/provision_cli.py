"""The `vigil provision` verb (see vigil.system.provision)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from vigil.core.errors import VigilError
from vigil.system.provision import Owner, Provisioner, ProvisionPaths
from vigil.system.provision_input import parse_provision_input
from vigil.system.provision_sources import (
    BOOT_PATHS,
    ProvisionSource,
    credential_dirs,
    find_source,
    read_input_file,
    usb_device_nodes,
)


def add_provision_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("provision", help="first-boot set-up of an appliance (idempotent; never replaces keys)")
    defaults = ProvisionPaths()
    p.add_argument("--input", type=Path, help="read this provisioning TOML instead of searching the sources")
    p.add_argument("--boot-file", type=Path, action="append",
                   help=f"boot partition path(s) to look at (default: {', '.join(map(str, BOOT_PATHS))})")
    p.add_argument("--no-usb", action="store_true", help="do not look for a VIGIL-PROV USB stick")
    p.add_argument("--usb-wait-s", type=float, default=20.0,
                   help="with no other input, wait this long for a VIGIL-PROV stick to appear (default 20)")
    p.add_argument("--config-out", type=Path, default=defaults.config_file, help="the configuration to write")
    p.add_argument("--state-dir", type=Path, default=defaults.state_dir, help="the daemon's state directory")
    p.add_argument("--recordings-disk", type=Path, default=defaults.recordings_disk,
                   help="mount point of the recording disk")
    p.add_argument("--console", type=Path, help="where the admin's one-time password goes (default: stdout)")


def run_provision(args: argparse.Namespace) -> int:
    try:
        return _provision(args)
    except VigilError as error:
        if args.console is not None:  # the installer at the box sees why nothing happened
            with contextlib.suppress(OSError), args.console.open("a") as console:
                print(f"\n*** Vigil provisioning failed: {error}\n", file=console, flush=True)
        raise


def _provision(args: argparse.Namespace) -> int:
    if args.input is not None:
        source = ProvisionSource("file", str(args.input), read_input_file(args.input))
    else:
        source = find_source(credential_dirs(), args.boot_file or BOOT_PATHS,
                             (lambda: []) if args.no_usb else usb_device_nodes,
                             usb_wait_s=0.0 if args.no_usb else args.usb_wait_s)
    spec = parse_provision_input(source.text, source.where)
    paths = ProvisionPaths(args.config_out, args.state_dir, args.recordings_disk)
    with contextlib.ExitStack() as stack:
        console = sys.stdout if args.console is None else stack.enter_context(args.console.open("a"))
        Provisioner(paths, Owner.service_user(), sys.stdout, console).run(spec, source)
    return 0
