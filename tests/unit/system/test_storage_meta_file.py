"""The recordings meta file is read with the bounded JSON parser (core.json_text): a recording
disk is plugged in from outside, and a file nested too deeply is an unreadable meta file (a
StorageError naming it), not a RecursionError out of the storage check."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.core.errors import StorageError
from vigil.record.storage import META_NAME, read_meta


@pytest.mark.parametrize(("text", "why"), [("[" * 100_000, "nested"), ('{"format": NaN}', "NaN is not JSON"),
                                           ("{", "Expecting property name")])
def test_a_bad_meta_file_is_named(tmp_path: Path, text: str, why: str) -> None:
    (tmp_path / META_NAME).write_text(text)
    with pytest.raises(StorageError) as caught:
        read_meta(tmp_path)
    assert f"{tmp_path / META_NAME}: unreadable meta file" in str(caught.value)
    assert why in str(caught.value)


def test_a_good_meta_file_is_read(tmp_path: Path) -> None:
    (tmp_path / META_NAME).write_text('{"format": 1, "db_uuid": "db-1", "dir_uuid": "dir-1"}')
    meta = read_meta(tmp_path)
    assert meta is not None and meta["db_uuid"] == "db-1" and meta["dir_uuid"] == "dir-1"
