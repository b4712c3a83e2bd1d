"""The evidence manifest: what an export package holds, as canonical JSON. Pure.

Canonical JSON is UTF-8, keys sorted, no insignificant whitespace, no floats (every time is an
integer in ns or 90 kHz ticks, with an ISO 8601 copy for people), one trailing newline. The
same inputs give the same bytes, so the detached signature covers exactly these bytes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.core.timebase import wall_ns_to_iso

FORMAT = "vigil-evidence/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
SEGMENTS_DIR = "segments/"
MIN_GAP_NS = 1_000_000  # holes shorter than 1 ms are rounding between segments, not gaps (as for clips)


def canonical_json(value: Any) -> bytes:
    """The one byte form of a manifest (floats are refused: they have no single spelling)."""

    def refuse(obj: Any) -> Any:
        raise TypeError(f"{type(obj).__name__} has no canonical JSON form")

    def check(obj: Any) -> None:
        if isinstance(obj, float):
            raise TypeError("floats have no canonical JSON form; use integers")
        if isinstance(obj, dict):
            for key, item in obj.items():
                if not isinstance(key, str):
                    raise TypeError("object keys must be strings")
                check(item)
        elif isinstance(obj, list | tuple):
            for item in obj:
                check(item)

    check(value)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=refuse,
                      allow_nan=False)
    return text.encode() + b"\n"


@dataclass(frozen=True)
class CameraInfo:
    id: str
    name: str
    building: str
    building_name: str


@dataclass(frozen=True)
class SegmentInfo:
    """One recorded segment as the index knows it; `sha256` is the hash taken when it was written."""

    id: int
    camera_id: str
    run_id: int
    seq: int
    path: str  # relative to the recordings dir; the package holds it at segments/<path>
    start_wall_ns: int
    end_wall_ns: int
    media_start_90k: int  # where the segment starts in its run's media time
    media_duration_90k: int
    frame_count: int
    size_bytes: int
    sha256: str
    codec: str
    width: int
    height: int
    recovered: bool

    @property
    def package_name(self) -> str:
        return SEGMENTS_DIR + self.path


@dataclass(frozen=True)
class Gap:
    camera_id: str
    start_wall_ns: int
    end_wall_ns: int
    reason: str | None  # the first camera event inside the gap (camera_down's cause, overflow, ...)


@dataclass(frozen=True)
class ClipInfo:
    """One camera's player-friendly clip: the recorded frames of the range, stream-copied."""

    file: str
    frame_count: int
    first_frame_wall_ns: int  # the keyframe at or before the range start
    end_wall_ns: int  # just after its last frame
    stopped_at_wall_ns: int | None  # the codec parameters changed here; the clip ends before

    def json(self) -> dict[str, Any]:
        return {"file": self.file, "frame_count": self.frame_count, "first_frame_wall_ns": self.first_frame_wall_ns,
                "first_frame": wall_ns_to_iso(self.first_frame_wall_ns), "end_wall_ns": self.end_wall_ns,
                "stopped_at_wall_ns": self.stopped_at_wall_ns}


@dataclass(frozen=True)
class FileInfo:
    name: str  # path inside the package
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class ExportFacts:
    """Everything about an export that is not a file."""

    export_id: int
    appliance_id: str
    site: str | None  # [appliance] site_id, set by provisioning
    hostname: str
    exporter: str
    reason: str
    case_id: str | None
    start_wall_ns: int
    end_wall_ns: int
    exported_wall_ns: int
    software_version: str
    public_key_pem: str
    public_key_fingerprint: str


def find_gaps(camera_id: str, spans: Sequence[tuple[int, int]], events: Iterable[tuple[int, str | None]],
              start_wall_ns: int, end_wall_ns: int) -> list[Gap]:
    """Holes in [start, end) not covered by any (start, end) span, each with the reason of the
    first event (wall_ns, reason) inside it (or just before, for a hole at the range start)."""
    holes: list[tuple[int, int]] = []
    cursor = start_wall_ns
    for span_start, span_end in sorted(spans):
        if span_start > cursor:
            holes.append((cursor, min(span_start, end_wall_ns)))
        cursor = max(cursor, span_end)
        if cursor >= end_wall_ns:
            break
    if cursor < end_wall_ns:
        holes.append((cursor, end_wall_ns))
    ordered = sorted(events)
    gaps = []
    for hole_start, hole_end in holes:
        if hole_end - hole_start < MIN_GAP_NS:
            continue
        inside = [reason for at, reason in ordered if hole_start <= at < hole_end and reason]
        before = [reason for at, reason in ordered if at < hole_start and reason]
        reason = inside[0] if inside else (before[-1] if before and hole_start == start_wall_ns else None)
        gaps.append(Gap(camera_id, hole_start, hole_end, reason))
    return gaps


def _segment_json(s: SegmentInfo) -> dict[str, Any]:
    return {"file": s.package_name, "segment_id": s.id, "camera": s.camera_id, "run": s.run_id, "seq": s.seq,
            "start_wall_ns": s.start_wall_ns, "end_wall_ns": s.end_wall_ns, "start": wall_ns_to_iso(s.start_wall_ns),
            "end": wall_ns_to_iso(s.end_wall_ns), "media_start_90k": s.media_start_90k,
            "media_duration_90k": s.media_duration_90k,
            "frame_count": s.frame_count, "size_bytes": s.size_bytes, "sha256_at_record": s.sha256,
            "codec": s.codec, "width": s.width, "height": s.height, "recovered_after_crash": s.recovered}


def build_manifest(facts: ExportFacts, cameras: Sequence[CameraInfo], segments: Sequence[SegmentInfo],
                   gaps: Sequence[Gap], files: Sequence[FileInfo], clips: Mapping[str, ClipInfo],
                   members: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest as a JSON value. `files` lists every file of the package but the manifest and
    its signature; `clips` maps camera id -> its clip; `members`: more top-level members (an
    incident report's `incident`), which may not replace the standard ones."""
    names = [f.name for f in files]
    if len(set(names)) != len(names) or {MANIFEST_NAME, SIGNATURE_NAME} & set(names):
        raise ValueError("package file names must be unique and not the manifest's")
    buildings = sorted({(c.building, c.building_name) for c in cameras})
    manifest = _standard_members(facts, cameras, segments, gaps, files, clips, buildings)
    for key, value in (members or {}).items():
        if key in manifest:
            raise ValueError(f"manifest member {key!r} is a standard one")
        manifest[key] = value
    return manifest


def _standard_members(facts: ExportFacts, cameras: Sequence[CameraInfo], segments: Sequence[SegmentInfo],
                      gaps: Sequence[Gap], files: Sequence[FileInfo], clips: Mapping[str, ClipInfo],
                      buildings: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "export_id": facts.export_id,
        "appliance": {"id": facts.appliance_id, "site": facts.site, "hostname": facts.hostname,
                      "software_version": facts.software_version},
        "buildings": [{"id": b, "name": n} for b, n in buildings],
        "cameras": [{"id": c.id, "name": c.name, "building": c.building,
                     "clip": clips[c.id].json() if c.id in clips else None}
                    for c in sorted(cameras, key=lambda c: c.id)],
        "range": {"start_wall_ns": facts.start_wall_ns, "end_wall_ns": facts.end_wall_ns,
                  "start": wall_ns_to_iso(facts.start_wall_ns), "end": wall_ns_to_iso(facts.end_wall_ns)},
        "gaps": [{"camera": g.camera_id, "start_wall_ns": g.start_wall_ns, "end_wall_ns": g.end_wall_ns,
                  "start": wall_ns_to_iso(g.start_wall_ns), "end": wall_ns_to_iso(g.end_wall_ns), "reason": g.reason}
                 for g in sorted(gaps, key=lambda g: (g.camera_id, g.start_wall_ns))],
        "segments": [_segment_json(s) for s in sorted(segments, key=lambda s: (s.camera_id, s.start_wall_ns, s.id))],
        "exporter": facts.exporter,
        "reason": facts.reason,
        "case_id": facts.case_id,
        "exported_wall_ns": facts.exported_wall_ns,
        "exported": wall_ns_to_iso(facts.exported_wall_ns),
        "signing_key": {"algorithm": "Ed25519", "public_key_pem": facts.public_key_pem,
                        "fingerprint_sha256": facts.public_key_fingerprint},
        "files": [{"name": f.name, "size_bytes": f.size_bytes, "sha256": f.sha256}
                  for f in sorted(files, key=lambda f: f.name)],
    }
