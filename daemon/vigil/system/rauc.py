"""RAUC, the update engine (design/appliance.md, "Updates"): a bundle's signature check and its
install, through the `rauc` program."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vigil.core.errors import BadRequestError

CHECK_TIMEOUT_S = 300.0
INSTALL_TIMEOUT_S = 3600.0


class UpdateError(BadRequestError):
    """RAUC refused a bundle or failed to install it; the running slot is unchanged."""


@dataclass(frozen=True)
class BundleInfo:
    compatible: str
    version: str


def verify_bundle(bundle: Path, keyring: Path) -> BundleInfo:
    """The bundle's compatible and version once its signature checks out against `keyring`
    (`rauc info`: reads the signature and manifest only; the verity format checks the rest as
    the install reads it). Blocking."""
    if not bundle.is_file():
        raise BadRequestError(f"{bundle}: no such bundle")
    done = subprocess.run(["rauc", "info", "--keyring", str(keyring), "--output-format=json", str(bundle)],
                          capture_output=True, text=True, check=False, timeout=CHECK_TIMEOUT_S)
    if done.returncode != 0:
        reason = " ".join(line.strip() for line in done.stderr.splitlines()
                          if line.strip() and "rauc-Message" not in line)[-400:]
        raise UpdateError(f"{bundle.name}: refused: {reason or 'rauc info failed'}")
    info = json.loads(done.stdout)
    return BundleInfo(str(info.get("compatible")), str(info.get("version")))


def install_bundle(bundle: Path) -> None:
    """`rauc install` (through RAUC's D-Bus service): the inactive slot written and made primary.
    Blocking; RAUC's progress goes to our stdout (the journal)."""
    done = subprocess.run(["rauc", "install", str(bundle)], check=False, timeout=INSTALL_TIMEOUT_S)
    if done.returncode != 0:
        raise UpdateError(f"rauc install {bundle.name} failed (exit {done.returncode}); the running slot is unchanged")
