"""The evidence signing key on a real filesystem: made once (0600, atomically), never replaced;
what `--key` accepts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vigil.core.errors import BadRequestError, StorageError
from vigil.exports.signing import (
    ensure_signing_key,
    expected_fingerprint,
    public_info,
    sign,
    signature_valid,
    signing_key_path,
)


def test_made_once_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = signing_key_path(tmp_path / "data")
    key = ensure_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    pem = path.read_bytes()
    again = ensure_signing_key(path)
    assert path.read_bytes() == pem
    assert public_info(again.public_key()) == public_info(key.public_key())
    signature = sign(key, b"manifest bytes")
    assert signature_valid(public_info(again.public_key()), b"manifest bytes", signature)
    assert not signature_valid(public_info(again.public_key()), b"manifest bytez", signature)


def test_a_damaged_key_is_reported_not_replaced(tmp_path: Path) -> None:
    path = signing_key_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a key")
    with pytest.raises(StorageError, match="not a PEM private key"):
        ensure_signing_key(path)
    assert path.read_bytes() == b"not a key"


def test_key_given_as_fingerprint_pem_file_or_raw_base64(tmp_path: Path) -> None:
    info = public_info(ensure_signing_key(tmp_path / "k.pem").public_key())
    pem_file = tmp_path / "pub.pem"
    pem_file.write_text(info.pem)
    for given in (info.fingerprint, info.fingerprint.upper(), str(pem_file), info.pem, info.raw_base64):
        assert expected_fingerprint(given) == info.fingerprint
    for bad in ("abc", "", "AAAA", str(tmp_path / "missing.pem")):
        with pytest.raises(BadRequestError):
            expected_fingerprint(bad)


def test_the_daemon_uses_the_key_provisioning_installs(tmp_path: Path) -> None:
    from vigil.system.provision import ProvisionPaths

    assert signing_key_path(tmp_path) == ProvisionPaths(state_dir=tmp_path).signing_key
