"""`[storage]`: where the index and the recordings live, and how much they may take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.config.model import DEFAULT_MIN_FREE_BYTES, DEFAULT_SEGMENT_S, StorageConfig
from vigil.config.reader import NUMBER, Reader, between, not_negative, positive
from vigil.core.retention import KEEP_NEWEST_S


def read_storage(r: Reader, data: Any) -> StorageConfig:
    if not isinstance(data, dict):
        r.problem("storage", "missing [storage] table" if data is None else "expected a table")
        return StorageConfig(path=Path(), recordings_path=Path())
    allowed = {"path", "recordings_path", "max_bytes", "retain_days", "min_free_bytes", "require_mount",
               "segment_duration_s", "retention_interval_s", "keep_newest_s"}
    r.table(data, "storage", allowed)
    path = Path(r.get(data, "storage", "path", str, ".", required=True))
    if not path.is_absolute():
        path = (r.source.parent / path).resolve()
    recordings = r.get(data, "storage", "recordings_path", str)
    recordings_path = path / "recordings" if recordings is None else Path(recordings)
    if not recordings_path.is_absolute():
        recordings_path = (r.source.parent / recordings_path).resolve()
    max_bytes = r.get(data, "storage", "max_bytes", int, check=positive)
    retain_days = r.get(data, "storage", "retain_days", NUMBER, check=positive)
    return StorageConfig(
        path=path,
        recordings_path=recordings_path,
        max_bytes=max_bytes,
        retain_days=None if retain_days is None else float(retain_days),
        min_free_bytes=r.get(data, "storage", "min_free_bytes", int, DEFAULT_MIN_FREE_BYTES, check=not_negative),
        require_mount=r.get(data, "storage", "require_mount", bool, False),
        segment_duration_s=float(r.get(data, "storage", "segment_duration_s", NUMBER, DEFAULT_SEGMENT_S,
                                       check=between(2, 600, "seconds"))),
        retention_interval_s=float(r.get(data, "storage", "retention_interval_s", NUMBER, 10.0,
                                         check=between(1, 3600, "seconds"))),
        keep_newest_s=float(r.get(data, "storage", "keep_newest_s", NUMBER, KEEP_NEWEST_S,
                                  check=between(0, 86_400, "seconds"))),
    )
