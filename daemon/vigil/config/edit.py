"""Editing the operator's TOML (design/cameras.md "Configuration: one source of truth").

Text in, text out: one `[[cameras]]` or `[[buildings]]` table added, changed or removed with
tomlkit, every comment and the order of everything else kept. `validated` parses the result with
the same `parse_config` as `vigil check` and names each problem by the edited item's field, the
way a form shows it (`cameras[3].url: ...` -> field "url")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from vigil.config.load import parse_config
from vigil.config.model import Config
from vigil.core.errors import ConfigError, ConflictError, NotFoundError, ValidationError

_KEY = re.compile(r"^(?P<section>cameras|buildings)\[(?P<index>\d+)\](?:\.(?P<field>[A-Za-z0-9_]+))?")
# A field set to None is removed from the table (an optional setting back to its default).
Values = Mapping[str, Any]


@dataclass(frozen=True)
class Edit:
    """The new text and where the edited item is in it (for naming problems by field)."""

    text: str
    section: str  # "cameras" or "buildings"
    index: int | None  # the edited item's position; None when it was removed


def _items(doc: tomlkit.TOMLDocument, section: str) -> Any:
    items = doc.get(section)
    if items is None:
        return None
    if not isinstance(items, list):
        raise ValidationError(f"the configuration's {section!r} is not a list of tables", ((section, "not a list"),))
    return items


def _position(items: Any, item_id: str) -> int | None:
    for i, item in enumerate(items or []):
        if isinstance(item, Mapping) and item.get("id") == item_id:
            return i
    return None


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as error:  # a hand edit broke it: not the request's fault, and nothing to edit
        raise ConflictError(f"the configuration file is not valid TOML (fix it by hand first): {error}") from None


def _toml_value(name: str, value: Any) -> Any:
    try:
        tomlkit.dumps({name: value}).encode("utf-8")  # lone surrogates from JSON cannot be written
        return tomlkit.item(value)
    except (TypeError, ValueError, TOMLKitError):  # UnicodeEncodeError is a ValueError
        raise ValidationError(f"{name}: not a value a configuration can hold",
                              ((name, "not a value a configuration can hold (null inside a list?)"),)) from None


def _set(table: Any, values: Values) -> None:
    for name, value in values.items():
        if value is None:
            if name in table:
                del table[name]
        else:
            table[name] = _toml_value(name, value)


def ids(text: str, section: str) -> list[str]:
    """The ids of the section's tables, in file order."""
    return [str(item.get("id")) for item in _items(_parse(text), section) or [] if isinstance(item, Mapping)]


def add_item(text: str, section: str, values: Values) -> Edit:
    """Append a table to `[[section]]` (created at the end of the file if absent)."""
    doc = _parse(text)
    table = tomlkit.table()
    _set(table, {k: v for k, v in values.items() if v is not None})
    items = _items(doc, section)
    if items is None:
        aot = tomlkit.aot()
        aot.append(table)
        doc.append(section, aot)
        return Edit(tomlkit.dumps(doc), section, 0)
    items.append(table)
    return Edit(tomlkit.dumps(doc), section, len(items) - 1)


def update_item(text: str, section: str, item_id: str, values: Values) -> Edit:
    """Set (or, with None, remove) keys of the table whose id is `item_id`; other keys untouched."""
    doc = _parse(text)
    items = _items(doc, section)
    position = _position(items, item_id)
    if position is None:
        raise NotFoundError(f"no {section[:-1]} {item_id!r} in the configuration")
    _set(items[position], values)
    return Edit(tomlkit.dumps(doc), section, position)


def remove_item(text: str, section: str, item_id: str) -> Edit:
    doc = _parse(text)
    items = _items(doc, section)
    position = _position(items, item_id)
    if position is None:
        raise NotFoundError(f"no {section[:-1]} {item_id!r} in the configuration")
    del items[position]
    return Edit(tomlkit.dumps(doc), section, None)


def item_values(text: str, section: str, item_id: str) -> dict[str, Any]:
    """The table as written (plain values), for the audit entry's old values."""
    doc = _parse(text)
    items = _items(doc, section)
    position = _position(items, item_id)
    if position is None:
        raise NotFoundError(f"no {section[:-1]} {item_id!r} in the configuration")
    value: dict[str, Any] = items[position].unwrap()
    return value


def field_errors(problems: tuple[tuple[str, str], ...], edit: Edit) -> tuple[tuple[str, str], ...]:
    """Problems of the edited item by field name (`cameras[3].url` -> "url"; the item itself ->
    "id"); problems elsewhere in the file keep their key path (a door naming a removed camera)."""
    out: list[tuple[str, str]] = []
    for key, message in problems:
        m = _KEY.match(key)
        if m and m.group("section") == edit.section and edit.index is not None and int(m.group("index")) == edit.index:
            name = m.group("field")
            if name is None:  # a problem of the whole table: both username and password, or neither
                name = "password" if "password" in message else "id"
            out.append((name, message))
        else:
            out.append((key, message))
    return tuple(out)


def validated(edit: Edit, source: Path) -> Config:
    """The edited text parsed as `vigil check` would; a ValidationError naming each field if not."""
    try:
        return parse_config(edit.text, source)
    except ConfigError as error:
        errors = field_errors(error.problems, edit)
        summary = "; ".join(f"{f}: {m}" for f, m in errors) or str(error)
        raise ValidationError(f"invalid configuration: {summary}", errors) from None
