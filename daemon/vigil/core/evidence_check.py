"""What `vigil verify` concludes from what it found in a package. Pure: the shell (exports/verify.py)
reads the zip, hashes files, checks the signature and compares frames; this decides.

Every problem names its kind, so a person (and a test) can tell a wrong key from an altered
video from a missing file."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.core.evidence_manifest import FORMAT, MANIFEST_NAME, SIGNATURE_NAME, canonical_json
from vigil.core.json_text import parse_json


class ProblemKind(enum.Enum):
    UNREADABLE = "unreadable"  # not a zip, or no manifest/signature in it
    MANIFEST = "manifest"  # not valid or not canonical, or inconsistent in itself
    SIGNATURE = "signature"  # the signature does not verify over the manifest bytes
    KEY = "key"  # signed by another key than the expected one, or the embedded fingerprint is wrong
    MISSING_FILE = "missing_file"
    EXTRA_FILE = "extra_file"
    FILE_SIZE = "file_size"
    FILE_HASH = "file_hash"
    SEGMENT_HASH = "segment_hash"  # a segment's bytes are not those hashed when it was recorded
    CLIP_FRAMES = "clip_frames"  # a clip's frames are not exactly the recorded frames


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"


@dataclass(frozen=True)
class FileSeen:
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Verdict:
    problems: tuple[Problem, ...]
    key_pinned: bool  # the signing key was compared with one the verifier trusts
    summary: tuple[str, ...] = ()  # what the package is about, for people (an incident report's incident)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 verified against the expected key; 1 any problem; 3 intact but no key to compare with."""
        if self.problems:
            return 1
        return 0 if self.key_pinned else 3


def parse_manifest(data: bytes) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The manifest as JSON, or None and why not. Non-canonical bytes are a problem of their own."""
    try:
        value = parse_json(data.decode())
    except (UnicodeDecodeError, ValueError) as error:
        return None, [Problem(ProblemKind.MANIFEST, f"{MANIFEST_NAME} is not valid JSON: {error}")]
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        return None, [Problem(ProblemKind.MANIFEST, f"{MANIFEST_NAME} is not a {FORMAT} manifest")]
    problems = []
    try:
        canonical = canonical_json(value) == data
    except TypeError:
        canonical = False
    if not canonical:
        problems.append(Problem(ProblemKind.MANIFEST, f"{MANIFEST_NAME} is not in canonical form"))
    return value, problems


def _listed(manifest: Mapping[str, Any]) -> dict[str, FileSeen] | None:
    files = manifest.get("files")
    if not isinstance(files, list):
        return None
    out = {}
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("size_bytes"), int) and isinstance(entry.get("sha256"), str)):
            return None
        out[entry["name"]] = FileSeen(entry["size_bytes"], entry["sha256"])
    return out


def check_key(embedded_fingerprint: str, computed_fingerprint: str, expected_fingerprint: str | None) -> list[Problem]:
    """The manifest's fingerprint must be its key's; the key must be the expected one if given."""
    problems = []
    if embedded_fingerprint.lower() != computed_fingerprint.lower():
        problems.append(Problem(ProblemKind.KEY, f"the manifest's key fingerprint {embedded_fingerprint} is not its"
                                                 f" key's ({computed_fingerprint})"))
    if expected_fingerprint is not None and expected_fingerprint.lower() != computed_fingerprint.lower():
        problems.append(Problem(ProblemKind.KEY, f"signed by key {computed_fingerprint}, not the expected key"
                                                 f" {expected_fingerprint.lower()}"))
    return problems


def check_files(manifest: Mapping[str, Any], seen: Mapping[str, FileSeen]) -> list[Problem]:
    """Listed files against the package's files; segments against their record-time hashes."""
    listed = _listed(manifest)
    if listed is None:
        return [Problem(ProblemKind.MANIFEST, "the manifest's file list is malformed")]
    problems = []
    for name, want in sorted(listed.items()):
        got = seen.get(name)
        if got is None:
            problems.append(Problem(ProblemKind.MISSING_FILE, f"{name} is listed in the manifest but missing"))
        elif got.size_bytes != want.size_bytes:
            problems.append(Problem(ProblemKind.FILE_SIZE, f"{name} has {got.size_bytes} bytes, the manifest says"
                                                           f" {want.size_bytes}"))
        elif got.sha256 != want.sha256:
            problems.append(Problem(ProblemKind.FILE_HASH, f"{name} has SHA-256 {got.sha256}, the manifest says"
                                                           f" {want.sha256}"))
    for name in sorted(set(seen) - set(listed) - {MANIFEST_NAME, SIGNATURE_NAME}):
        problems.append(Problem(ProblemKind.EXTRA_FILE, f"{name} is in the package but not in the manifest"))
    segments = manifest.get("segments")
    if not isinstance(segments, list):
        return [*problems, Problem(ProblemKind.MANIFEST, "the manifest's segment list is malformed")]
    for segment in segments:
        file_name = segment.get("file") if isinstance(segment, dict) else None
        recorded = segment.get("sha256_at_record") if isinstance(segment, dict) else None
        if not isinstance(file_name, str) or not isinstance(recorded, str) or file_name not in listed:
            problems.append(Problem(ProblemKind.MANIFEST,
                                    f"segment entry {file_name!r} is malformed or not a listed file"))
            continue
        if listed[file_name].sha256 != recorded:
            problems.append(Problem(ProblemKind.SEGMENT_HASH, f"{file_name}: listed SHA-256 differs from the hash taken"
                                                              f" when it was recorded ({recorded})"))
        elif file_name in seen and seen[file_name].sha256 != recorded:
            problems.append(Problem(ProblemKind.SEGMENT_HASH, f"{file_name}: its bytes are not those recorded"
                                                              f" (record-time SHA-256 {recorded})"))
    rng = manifest.get("range")
    if not (isinstance(rng, dict) and _is_int(rng.get("start_wall_ns")) and _is_int(rng.get("end_wall_ns"))):
        problems.append(Problem(ProblemKind.MANIFEST, "the manifest's range is malformed"))
    cameras = manifest.get("cameras")
    if not isinstance(cameras, list) or not all(isinstance(c, dict) for c in cameras):
        return [*problems, Problem(ProblemKind.MANIFEST, "the manifest's camera list is malformed")]
    for camera in cameras:
        clip = camera.get("clip")
        clip_name = clip.get("file") if isinstance(clip, dict) else None
        if clip is not None and (not isinstance(clip_name, str) or clip_name not in listed):
            problems.append(Problem(ProblemKind.MANIFEST, f"clip {clip_name!r} is not a listed file"))
        elif isinstance(clip, dict) and not (clip.get("stopped_at_wall_ns") is None
                                             or _is_int(clip.get("stopped_at_wall_ns"))):
            problems.append(Problem(ProblemKind.MANIFEST, f"clip {clip_name!r}: stopped_at_wall_ns is malformed"))
    return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verdict(problem_lists: Sequence[Sequence[Problem]], key_pinned: bool, summary: Sequence[str] = ()) -> Verdict:
    return Verdict(tuple(p for problems in problem_lists for p in problems), key_pinned, tuple(summary))
