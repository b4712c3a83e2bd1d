"""config/edit.py: tables added, changed and removed with the operator's comments kept; problems
named by field; config/files.py: the atomic replacement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vigil.config.edit import add_item, field_errors, ids, item_values, remove_item, update_item, validated
from vigil.config.files import ConfigFile
from vigil.core.errors import ConfigNotWritableError, NotFoundError, ValidationError

TEXT = """# Springfield district: maintained by facilities (ticket 42)
[storage]
path = "/var/lib/vigil"  # the index

[[buildings]]
id = "hs"
name = "High School"

# Cameras: north wing first
[[cameras]]
id = "gym"  # replaced 2026-03
building = "hs"
url = "rtsp://10.0.0.5/main"

[[cameras]]
id = "hall"
building = "hs"
url = "rtsp://10.0.0.6/main"
username = "viewer"
password = "s3cret-pw"

[log]
level = "info"  # the district's firewall allows this one
"""


def test_update_keeps_comments_and_order() -> None:
    edit = update_item(TEXT, "cameras", "gym", {"url": "rtsp://10.0.0.7/main", "name": "Gym"})
    assert edit.index == 0
    assert "# replaced 2026-03" in edit.text and "# the district's firewall allows this one" in edit.text
    assert "# Cameras: north wing first" in edit.text and edit.text.startswith("# Springfield district")
    assert 'url = "rtsp://10.0.0.7/main"' in edit.text and "rtsp://10.0.0.5" not in edit.text
    assert edit.text.index("[[buildings]]") < edit.text.index('id = "gym"') < edit.text.index("[log]")
    config = validated(edit, Path("/x.toml"))
    first = config.cameras[0]
    assert (first.id, first.name, first.url) == ("gym", "Gym", "rtsp://10.0.0.7/main")


def test_none_removes_a_key() -> None:
    edit = update_item(TEXT, "cameras", "hall", {"username": None, "password": None})
    assert "s3cret-pw" not in edit.text and "viewer" not in edit.text
    assert validated(edit, Path("/x.toml")).cameras[1].password is None


def test_add_and_remove() -> None:
    added = add_item(TEXT, "cameras", {"id": "lab", "building": "hs", "url": "rtsp://10.0.0.8/main",
                                        "motion_mask": [[0, 0, 0.5, 0.5]], "substream_url": None})
    assert ids(added.text, "cameras") == ["gym", "hall", "lab"] and added.index == 2
    config = validated(added, Path("/x.toml"))
    assert config.cameras[2].motion_mask == ((0.0, 0.0, 0.5, 0.5),)
    assert config.log.level == "info"  # the section after the cameras is still itself
    removed = remove_item(added.text, "cameras", "gym")
    assert ids(removed.text, "cameras") == ["hall", "lab"] and "# Springfield district" in removed.text
    with pytest.raises(NotFoundError):
        remove_item(TEXT, "cameras", "nope")


def test_add_to_a_file_without_the_section() -> None:
    edit = add_item('[storage]\npath = "/x"\n', "buildings", {"id": "ms", "name": "Middle"})
    assert ids(edit.text, "buildings") == ["ms"]


def test_problems_are_named_by_field() -> None:
    edit = update_item(TEXT, "cameras", "hall", {"url": "http://10.0.0.6/x", "transport": "sctp", "password": None})
    with pytest.raises(ValidationError) as raised:
        validated(edit, Path("/x.toml"))
    fields = dict(raised.value.errors)
    assert fields["url"] == "must be an rtsp:// or rtsps:// URL"
    assert fields["transport"] == "must be 'tcp' or 'udp'"
    assert "username" in fields["password"]  # both or neither
    assert "s3cret" not in str(raised.value)


def test_problems_elsewhere_keep_their_key() -> None:
    edit = update_item(TEXT, "cameras", "gym", {"name": "Gym"})
    assert field_errors((("cameras[1].url", "bad"), ("cameras[0].url", "worse"), ("doors[0].cameras", "x")), edit) == (
        ("cameras[1].url", "bad"), ("url", "worse"), ("doors[0].cameras", "x"))


def test_item_values() -> None:
    assert item_values(TEXT, "cameras", "hall")["password"] == "s3cret-pw"


def test_atomic_replace_mode_and_lock(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(TEXT)
    path.chmod(0o644)
    file = ConfigFile(path)
    assert file.not_writable_reason() is None
    inode = path.stat().st_ino
    with file.locked():
        file.replace(TEXT + "\n# more\n")
    assert path.read_text().endswith("# more\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_ino != inode  # a new file, renamed
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_read_only_file_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(TEXT)
    path.chmod(0o444)
    file = ConfigFile(path)
    assert "read-only" in (file.not_writable_reason() or "")
    with pytest.raises(ConfigNotWritableError), file.locked():
        pass
    assert os.access(path, os.R_OK)


@pytest.mark.parametrize("value", ["bad \ud800 text", [[0, None]], [None]])
def test_values_a_file_cannot_hold_are_422(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        update_item(TEXT, "cameras", "gym", {"name": value})
    assert raised.value.errors[0][0] == "name"
