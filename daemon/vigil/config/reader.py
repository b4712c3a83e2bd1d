"""Walking parsed TOML: every problem collected with its key path, and the checks the sections share.

The reader never stops at the first problem: each section reads what it can, substitutes the
default for what is wrong, and the caller raises once with every problem listed, so an installer
fixes a file in one pass. Messages name keys, never secret values."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from vigil.core.camera_modes import parse_choice

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)
Check = Callable[[Any], str | None]

TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true/false", list: "a list",
              dict: "a table"}
NUMBER = (int, float)


class Reader:
    """Walks the parsed TOML of one file, collecting every problem with its key path."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.problems: list[str] = []
        self.keyed: list[tuple[str, str]] = []  # the same problems as (key path, message)

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key}: {message}")
        self.keyed.append((key, message))

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        for name in data:
            if name not in allowed:
                self.problem(f"{key}.{name}" if key else name, "unknown key")

    def get(
        self,
        data: Mapping[str, Any],
        prefix: str,
        name: str,
        kind: type[T] | tuple[type, ...],
        default: T | None = None,
        *,
        required: bool = False,
        check: Check | None = None,
    ) -> Any:
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if required:
                self.problem(key, "missing (required)")
            return default
        value = data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are not numbers here.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            wanted = " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.problem(key, f"expected {wanted}, got {TYPE_NAMES.get(type(value), type(value).__name__)}")
            return default
        if check is not None:
            message = check(value)
            if message:
                self.problem(key, message)
                return default
        return value

    def choice(self, data: Mapping[str, Any], prefix: str, name: str, kind: type[E], default: E,
               message: str) -> E:
        """A string that must be one of `kind`'s values, as that member; else `message` and the default."""
        text = self.get(data, prefix, name, str, default.value,
                        check=lambda v: None if parse_choice(kind, v) is not None else message)
        return parse_choice(kind, text) or default

    def items(self, raw: Mapping[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
        """The tables of an array `[[name]]`, each with its key path (`name[i]`)."""
        items = raw.get(name, [])
        if not isinstance(items, list):
            self.problem(name, f"expected [[{name}]] tables")
            return []
        out = []
        for i, item in enumerate(items):
            key = f"{name}[{i}]"
            if not isinstance(item, dict):
                self.problem(key, "expected a table")
                continue
            out.append((key, item))
        return out

    def strings(self, item: Mapping[str, Any], key: str, name: str) -> tuple[str, ...]:
        """A list of strings (empty when absent or wrong, the problem noted)."""
        value = self.get(item, key, name, list, [])
        if any(not isinstance(v, str) for v in value):
            self.problem(f"{key}.{name}", "expected a list of strings")
            return ()
        return tuple(value)

    def secret(self, item: Mapping[str, Any], key: str, name: str) -> str | None:
        """A secret given as `name` or, better, `name_file` (a path beside the config; read once at
        load, trailing newline dropped), not both. Messages name the key, never the value."""
        value: str | None = self.get(item, key, name, str)
        path = self.get(item, key, f"{name}_file", str)
        if value is not None and path is not None:
            self.problem(key, f"set {name!r} or {name + '_file'!r}, not both")
            return None
        if path is None:
            return value
        file = Path(path) if Path(path).is_absolute() else self.source.parent / path
        try:
            text = file.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as error:
            self.problem(f"{key}.{name}_file", f"cannot read {file}: {getattr(error, 'strerror', None) or 'not UTF-8'}")
            return None
        if not text:
            self.problem(f"{key}.{name}_file", f"{file} is empty")
        return text


def id_check(value: str) -> str | None:
    if ID_PATTERN.match(value):
        return None
    return f"{value!r} is not a valid id (lowercase letters, digits, '-', '_'; at most 63)"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def between(low: float, high: float, unit: str = "") -> Check:
    """`must be between LOW and HIGH[ UNIT]` outside [low, high]."""
    suffix = f" {unit}" if unit else ""
    return lambda value: None if low <= value <= high else f"must be between {low} and {high}{suffix}"
