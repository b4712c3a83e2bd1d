"""`vigil verify PACKAGE`: checks an export package offline, with only the package and the key.

Reads the zip, checks the signature over the exact manifest bytes with the embedded Ed25519 key
and that key against the expected one, hashes every file, and demuxes each clip and its
camera's segments (PyAV) to compare frames. The conclusions are core.evidence_check's."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import av

from vigil.core.clip_frames import Frame, RecordedSegment, compare_clip
from vigil.core.errors import BadRequestError
from vigil.core.evidence_check import (
    FileSeen,
    Problem,
    ProblemKind,
    Verdict,
    check_files,
    check_key,
    parse_manifest,
    verdict,
)
from vigil.core.evidence_manifest import MANIFEST_NAME, SIGNATURE_NAME
from vigil.core.incident_report import member_problems, summary_lines
from vigil.core.timebase import TICKS_PER_SECOND
from vigil.exports.signing import parse_public_pem, signature_valid

CHUNK_BYTES = 1 << 20


def _to_90k(value: int, numerator: int, denominator: int) -> int:
    """A time in the stream's time base as 90 kHz ticks, rounded to nearest."""
    return (value * numerator * TICKS_PER_SECOND + denominator // 2) // denominator


def read_frames(f: IO[bytes]) -> list[Frame]:
    """The video packets of an MP4 in decode order; times in 90 kHz ticks from the first packet."""
    frames: list[Frame] = []
    with av.open(f, mode="r", format="mp4") as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        first: int | None = None
        for packet in container.demux(stream):
            if packet.size == 0 or packet.dts is None:
                continue
            dts_90k = _to_90k(packet.dts, tb.numerator, tb.denominator)
            first = dts_90k if first is None else first
            frames.append(Frame(hashlib.sha256(packet).digest(), packet.size, dts_90k - first,
                                _to_90k(packet.duration or 0, tb.numerator, tb.denominator), bool(packet.is_keyframe)))
    return frames


class _StoredEntry(io.RawIOBase):
    """A stored (uncompressed) zip entry's bytes, read and seeked in place in the zip file.

    zipfile's own reader re-reads from the start on every backward seek (the MP4 demuxer seeks
    a lot), and raises on a CRC mismatch, where the verifier wants the bytes to hash them."""

    def __init__(self, package: Path, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._f = package.open("rb")
        self._f.seek(info.header_offset)
        header = self._f.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            self._f.close()
            raise zipfile.BadZipFile(f"{info.filename}: no local header where the directory says")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        self._start, self._size, self._pos = info.header_offset + 30 + name_len + extra_len, info.compress_size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._f.close()
        super().close()


def _open_entry(zf: zipfile.ZipFile, package: Path, name: str) -> IO[bytes]:
    info = zf.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        return io.BufferedReader(_StoredEntry(package, info), CHUNK_BYTES)
    return zf.open(info)


def _hash_entries(zf: zipfile.ZipFile, package: Path) -> dict[str, FileSeen]:
    seen = {}
    for info in zf.infolist():
        digest, size = hashlib.sha256(), 0
        try:
            with _open_entry(zf, package, info.filename) as f:
                while chunk := f.read(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            digest = hashlib.sha256(b"unreadable entry")  # its hash then matches nothing
        seen[info.filename] = FileSeen(size, digest.hexdigest())
    return seen


def _clip_problems(zf: zipfile.ZipFile, package: Path, manifest: Mapping[str, Any], names: set[str]) -> list[Problem]:
    problems = []
    rng = manifest.get("range") or {}
    for camera in manifest.get("cameras") or []:
        clip_info = camera.get("clip") or {}
        clip, stopped = clip_info.get("file"), clip_info.get("stopped_at_wall_ns")
        if clip is None or clip not in names:
            continue  # a missing clip is reported by the file checks
        segments = [s for s in manifest["segments"] if s.get("camera") == camera.get("id") and s.get("file") in names]
        try:
            with _open_entry(zf, package, clip) as f:
                clip_frames = read_frames(f)
            recorded = []
            for s in segments:
                with _open_entry(zf, package, s["file"]) as f:
                    recorded.append(RecordedSegment(int(s["start_wall_ns"]), int(s["end_wall_ns"]),
                                                    tuple(read_frames(f))))
        except (av.FFmpegError, IndexError, KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as error:
            problems.append(Problem(ProblemKind.CLIP_FRAMES, f"{clip}: cannot be read as video: {error}"))
            continue
        for message in compare_clip(clip_frames, recorded, int(rng["start_wall_ns"]), int(rng["end_wall_ns"]),
                                    None if stopped is None else int(stopped)):
            problems.append(Problem(ProblemKind.CLIP_FRAMES, f"{clip}: {message}"))
    return problems


def verify_package(package: Path, expected_fingerprint: str | None) -> Verdict:
    """What the package's checks found; an incident report's summary lines (for people) in `summary`."""
    pinned = expected_fingerprint is not None
    if not package.is_file():
        raise BadRequestError(f"{package}: no such file")
    try:
        zf = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError) as error:
        return verdict([[Problem(ProblemKind.UNREADABLE, f"{package} is not a readable zip: {error}")]], pinned)
    with zf:
        names = [i.filename for i in zf.infolist()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            return verdict([[Problem(ProblemKind.EXTRA_FILE, f"{duplicates[0]} is in the package more than once")]],
                           pinned)
        if MANIFEST_NAME not in names or SIGNATURE_NAME not in names:
            missing = MANIFEST_NAME if MANIFEST_NAME not in names else SIGNATURE_NAME
            return verdict([[Problem(ProblemKind.MISSING_FILE, f"{missing} is missing")]], pinned)
        data, signature = zf.read(MANIFEST_NAME), zf.read(SIGNATURE_NAME)
        manifest, problems = parse_manifest(data)
        if manifest is None:
            return verdict([problems], pinned)
        key = manifest.get("signing_key") or {}
        try:
            public = parse_public_pem(str(key.get("public_key_pem")))
        except BadRequestError as error:
            return verdict([problems, [Problem(ProblemKind.KEY, f"the manifest's signing key: {error}")]], pinned)
        key_problems = check_key(str(key.get("fingerprint_sha256")), public.fingerprint, expected_fingerprint)
        if not signature_valid(public, data, signature):
            key_problems.append(Problem(ProblemKind.SIGNATURE, "the signature does not match the manifest's bytes"
                                                               " (the manifest was altered, or signed by another key)"))
        seen = _hash_entries(zf, package)
        file_problems = check_files(manifest, seen)
        file_problems += [Problem(ProblemKind.MANIFEST, message) for message in member_problems(manifest)]
        clip_problems = _clip_problems(zf, package, manifest, set(names)) if not file_problems else []
        return verdict([key_problems, problems, file_problems, clip_problems], pinned, summary_lines(manifest))
