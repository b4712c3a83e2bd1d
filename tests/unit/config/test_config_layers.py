"""The configuration sits above core and below everything that uses it: core imports nothing
outside core, config imports only core and itself (no cycle through doors/ or system/), and no
module takes a private name (`_x`) out of config. Read from the source, so a new import that
breaks this fails here before the import-linter contracts run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vigil

PACKAGE = Path(vigil.__file__).parent


def _imports(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(module, names) of every `import`/`from ... import` of a vigil module in `path`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("vigil"):
            yield node.module, tuple(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vigil"):
                    yield alias.name, ()


def _modules(under: str) -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def test_core_imports_only_core() -> None:
    found = [(str(p.relative_to(PACKAGE)), m) for p in _modules("core") for m, _ in _imports(p)
             if not m.startswith("vigil.core")]
    assert found == []


def test_config_imports_only_core_and_itself() -> None:
    modules = _modules("config")
    assert len(modules) >= 5  # reader, model, load, sections/...
    found = [(str(p.relative_to(PACKAGE)), m) for p in modules for m, _ in _imports(p)
             if not m.startswith(("vigil.core", "vigil.config"))]
    assert found == []


def test_no_private_name_is_taken_from_config() -> None:
    found = [(str(p.relative_to(PACKAGE)), m, name) for p in sorted(PACKAGE.rglob("*.py"))
             for m, names in _imports(p) if m.startswith("vigil.config") for name in names
             if name.startswith("_")]
    assert found == []


def test_the_old_modules_are_gone() -> None:
    for old in ("config.py", "config_doors.py", "config_http.py", "doors/adapter_config.py"):
        assert not (PACKAGE / old).exists(), old
