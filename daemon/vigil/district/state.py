"""What an enrolled appliance keeps about its district hub (design/district.md), under
`<storage>/keys/district/`: `hub.json` (core.district_site.HubInfo), the district CA `ca.crt`, this
site's client certificate `site.crt` and its key `site.key` (0600). Enrolled means hub.json is
there; every reader reads it again (a few hundred bytes), so `vigil district enroll|leave` on
the command line takes effect in the running daemon without a restart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigil.core.district_site import EnrolAnswer, HubInfo, hub_info_json, parse_hub_info
from vigil.core.errors import BadRequestError, StorageError
from vigil.district.tokens import public_key_from_text
from vigil.record.storage import fsync_dir, write_durably

DISTRICT_RELPATH = Path("keys") / "district"


@dataclass(frozen=True)
class DistrictFiles:
    dir: Path

    @property
    def hub_json(self) -> Path:
        return self.dir / "hub.json"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.dir / "site.crt"

    @property
    def key(self) -> Path:
        return self.dir / "site.key"


def district_files(storage_path: Path) -> DistrictFiles:
    return DistrictFiles(storage_path / DISTRICT_RELPATH)


@dataclass(frozen=True)
class Enrolment:
    info: HubInfo
    public_key: Ed25519PublicKey  # the hub's token key
    files: DistrictFiles


def load_enrolment(storage_path: Path) -> Enrolment | None:
    """The enrolment, or None when this appliance is not enrolled (blocking: a file read)."""
    files = district_files(storage_path)
    try:
        text = files.hub_json.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StorageError(f"{files.hub_json}: unreadable ({getattr(error, 'strerror', None) or error})") from None
    try:
        info = parse_hub_info(text)
        return Enrolment(info, public_key_from_text(info.token_public_key), files)
    except (BadRequestError, ValueError) as error:
        raise StorageError(f"{files.hub_json}: {error}") from None



def write_enrolment(files: DistrictFiles, answer: EnrolAnswer, key_pem: bytes) -> None:
    """Write the key and certificates first and hub.json last: hub.json present means the rest is."""
    files.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    files.dir.chmod(0o700)
    write_durably(files.key, key_pem, 0o600)
    write_durably(files.cert, answer.cert_pem.encode(), 0o644)
    write_durably(files.ca, answer.ca_pem.encode(), 0o644)
    write_durably(files.hub_json, hub_info_json(answer.info).encode(), 0o644)
    fsync_dir(files.dir)


def write_text_file(path: Path, text: str) -> None:
    """The bridge configuration (readable by mosquitto; it names files, holds no secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, text.encode(), 0o644)


def remove_enrolment(files: DistrictFiles) -> list[Path]:
    """Remove hub.json first (then the appliance is no longer enrolled), then the rest; what was removed."""
    removed = []
    for path in (files.hub_json, files.key, files.cert, files.ca):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


# --- an enrolment asked for by provisioning, done once the network is up ------------------------

PENDING_NAME = "pending-enrolment.json"


@dataclass(frozen=True)
class PendingEnrolment:
    hub_url: str
    enrol_code: str = field(repr=False)  # a one-time secret: the file is 0600 and removed once used
    site_id: str | None
    url: str | None


def pending_path(files: DistrictFiles) -> Path:
    return files.dir / PENDING_NAME


def write_pending(files: DistrictFiles, pending: PendingEnrolment) -> Path:
    files.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = pending_path(files)
    write_durably(path, json.dumps({"hub_url": pending.hub_url, "enrol_code": pending.enrol_code,
                             "site_id": pending.site_id, "url": pending.url}).encode(), 0o600)
    return path


def read_pending(files: DistrictFiles) -> PendingEnrolment | None:
    try:
        value = json.loads(pending_path(files).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise StorageError(f"{pending_path(files)}: unreadable ({error})") from None
    texts = (value.get("hub_url"), value.get("enrol_code")) if isinstance(value, dict) else (None, None)
    if not all(isinstance(t, str) for t in texts):
        raise StorageError(f"{pending_path(files)}: no hub_url or enrol_code")
    site_id, url = value.get("site_id"), value.get("url")
    return PendingEnrolment(str(texts[0]), str(texts[1]), site_id if isinstance(site_id, str) else None,
                            url if isinstance(url, str) else None)


def remove_pending(files: DistrictFiles) -> None:
    pending_path(files).unlink(missing_ok=True)
