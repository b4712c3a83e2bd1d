"""The admin verbs (users, tokens, links) and the first admin of `vigil provision` and `vigil demo`:
when the audit entry cannot be written, the change does not remain either (one transaction, issue 13).
The audit log is made to refuse writes by a trigger; the verbs run in this process."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from tests.support.audit_failure import break_audit, rows
from tests.support.vigil_proc import CLI_CONFIG as CONFIG
from vigil.cli.main import main
from vigil.demo import _demo_user
from vigil.store.index import Index

PASSWORD = "a long enough password\n"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[str, str], Path]:
    """(the --config arguments, the index path) with user alice, her API token and link 1 in place."""
    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data"))
    c = ("--config", str(config))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD))
    assert main(["user", "add", "alice", "--role", "district_admin", "--password-stdin", *c]) == 0
    assert main(["token", "create", "alice", *c]) == 0
    assert main(["link", "create", "--camera", "hs-cam", "--reason", "incident 42", *c]) == 0
    index = tmp_path / "data" / "index.sqlite3"
    break_audit(index)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD))
    return c, index


def _fails(*argv: str) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="the audit write failed"):
        main(list(argv))


def test_user_add(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    _fails("user", "add", "bob", "--role", "viewer", "--building", "hs", "--password-stdin", *c)
    assert rows(index, "SELECT name FROM users") == [("alice",)]


def test_user_passwd(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    before = rows(index, "SELECT password_hash FROM users")
    _fails("user", "passwd", "alice", "--password-stdin", *c)
    assert rows(index, "SELECT password_hash FROM users") == before


def test_user_disable(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    _fails("user", "disable", "alice", *c)
    assert rows(index, "SELECT disabled FROM users") == [(0,)]
    assert rows(index, "SELECT revoked_wall_ns FROM credentials") == [(None,)]


def test_token_create(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    _fails("token", "create", "alice", *c)
    assert len(rows(index, "SELECT id FROM credentials")) == 1


def test_link_create(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    _fails("link", "create", "--building", "hs", "--reason", "incident 43", *c)
    assert rows(index, "SELECT id FROM links") == [(1,)]


def test_link_revoke(setup: tuple[tuple[str, str], Path]) -> None:
    c, index = setup
    _fails("link", "revoke", "1", *c)
    assert rows(index, "SELECT revoked_wall_ns FROM links") == [(None,)]


def test_provision_first_admin(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _new_index(state / "index.sqlite3")
    break_audit(state / "index.sqlite3")
    spec = tmp_path / "input.toml"
    spec.write_text('site_id = "springfield"\n[building]\nid = "hs"\nname = "High School"\n')
    _fails("provision", "--input", str(spec), "--no-usb", "--config-out", str(tmp_path / "etc/vigil.toml"),
           "--state-dir", str(state), "--console", str(tmp_path / "console"))
    assert rows(state / "index.sqlite3", "SELECT name FROM users") == []
    assert not (tmp_path / "etc/vigil.toml").exists()  # not provisioned: a re-run creates the admin


def test_demo_admin(tmp_path: Path) -> None:
    config = _demo_like_config(tmp_path, tmp_path / "demo")
    _new_index(tmp_path / "demo" / "index.sqlite3")
    break_audit(tmp_path / "demo" / "index.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="the audit write failed"):
        _demo_user(config)
    assert rows(tmp_path / "demo" / "index.sqlite3", "SELECT name FROM users") == []


def _new_index(path: Path) -> None:
    Index.open(path, 0).close()


def _demo_like_config(tmp_path: Path, data: Path) -> Path:
    config = tmp_path / "vigil-demo.toml"
    config.write_text(CONFIG.format(data=data))
    return config
