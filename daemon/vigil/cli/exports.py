"""Evidence verbs: `vigil key show` (the appliance's public signing key) and `vigil verify`.

`vigil verify PACKAGE [--key K]` exit codes: 0 the package is intact and signed by the expected
key; 1 it is not (each problem printed with its kind); 2 usage error (no such file, unusable
--key); 3 intact and self-consistent, but no --key was given, so who signed it is not checked."""

from __future__ import annotations

import sys
from argparse import ArgumentParser, Namespace, _SubParsersAction
from pathlib import Path

from vigil.config import Config
from vigil.core.errors import VigilError


def add_evidence_verbs(verbs: _SubParsersAction[ArgumentParser], common: ArgumentParser) -> None:
    key = verbs.add_parser("key", help="the evidence signing key").add_subparsers(
        dest="key_verb", required=True, metavar="ACTION")
    key.add_parser("show", help="print the public key (PEM, raw base64) and its SHA-256 fingerprint", parents=[common])
    verify = verbs.add_parser("verify", help="check an evidence export package offline (exit 0 ok, 1 tampered,"
                                             " 2 usage, 3 ok but --key not given)")
    verify.add_argument("package", type=Path, help="the export zip")
    verify.add_argument("--key", help="the appliance's public key: a PEM file, raw base64, or its SHA-256 fingerprint")


def run_key(config: Config, args: Namespace) -> int:
    from vigil.exports.signing import load_signing_key, public_info, signing_key_path

    path = signing_key_path(config.storage.path)
    if not path.exists():
        raise VigilError(f"{path}: no signing key yet; it is made when the daemon first starts")
    info = public_info(load_signing_key(path).public_key())
    print(info.pem, end="")
    print(f"raw (base64): {info.raw_base64}")
    print(f"fingerprint (SHA-256 of the raw key): {info.fingerprint}")
    return 0


def run_verify(args: Namespace) -> int:
    from vigil.exports.signing import expected_fingerprint
    from vigil.exports.verify import verify_package

    try:
        expected = None if args.key is None else expected_fingerprint(args.key)
        result = verify_package(args.package, expected)
    except VigilError as error:
        print(f"vigil verify: {error}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"FAIL {problem}")
    for line in result.summary:  # an incident report: which incident (signed with the manifest)
        print(f"INCIDENT {line}" if result.ok else f"INCIDENT (not verified) {line}")
    if result.ok and result.key_pinned:
        print(f"OK {args.package}: signature, key {expected}, every file and every clip frame verified")
    elif result.ok:
        print(f"INTACT {args.package}: consistent and signed by the key it embeds, but no --key was given: compare"
              " that key's fingerprint with the appliance's (`vigil key show`)")
    return result.exit_code
