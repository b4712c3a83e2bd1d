"""The route table says, for every route whose permission is decided item by item, which function
decides and why the path alone cannot; the OpenAPI document is made from the table without
importing it."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import vigil
from vigil.api.openapi import openapi_document
from vigil.api.routes import ROUTES, Route, Scope

PER_ITEM = [r for r in ROUTES if r.scope is Scope.PER_ITEM]


def test_only_per_item_routes_name_a_per_item_decision() -> None:
    assert {s.name for s in Scope} == {"APPLIANCE", "CAMERA", "CAMERA_RANGE", "CAMERA_MOMENT", "PER_ITEM", "PUBLIC",
                                       "WEBHOOK"}
    for route in ROUTES:
        assert (route.per_item is not None) == (route.scope is Scope.PER_ITEM), f"{route.method} {route.path}"


@pytest.mark.parametrize("route", PER_ITEM, ids=lambda r: f"{r.method} {r.path}")
def test_per_item_route_says_who_decides_and_why(route: Route) -> None:
    assert route.per_item is not None and route.action is not None
    assert re.fullmatch(r"(services|api)\.\w+\.\w+", route.per_item.decided_by), route.per_item.decided_by
    assert len(route.per_item.why) >= 20, route.per_item.why


@pytest.mark.parametrize("route", PER_ITEM, ids=lambda r: f"{r.method} {r.path}")
def test_the_deciding_function_exists(route: Route) -> None:
    """The module and function the table names exist (a rename must update the table)."""
    assert route.per_item is not None
    module_name, _, function = f"vigil.{route.per_item.decided_by}".rpartition(".")
    module = importlib.import_module(module_name)
    assert inspect.isfunction(getattr(module, function, None)), f"{module_name} has no function {function}"


def test_openapi_describes_per_item_permissions() -> None:
    document = openapi_document(ROUTES)
    for route in PER_ITEM:
        assert route.per_item is not None and route.action is not None
        operation = document["paths"][route.path][route.method.lower()]
        assert route.per_item.why in operation["description"]
        assert operation["x-vigil-permission"] == route.action.value


def _imports(module_path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module_path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "must_not_import"), [
    ("api/openapi.py", "vigil.api.routes"),  # the table hands its routes in
    ("system/wiring.py", "vigil.app"),  # the appliance sees the cameras through system.wiring.Recording
])
def test_no_cycle(module: str, must_not_import: str) -> None:
    assert must_not_import not in _imports(Path(vigil.__file__).parent / module)
