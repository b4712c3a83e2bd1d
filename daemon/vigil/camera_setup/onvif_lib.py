"""onvif-zeep-async, imported without its side effect: `onvif/client.py` calls
`logging.basicConfig(level=INFO)` at import, which (when nothing has configured logging yet, as in
the CLI and the tests) adds a root handler and turns on every INFO record (aiohttp's access log
with responder-link tokens in its paths, among others). The root logger is put back as it was.

Also tightens zeep's settings shared by every ONVIF service (onvif.settings.DEFAULT_SETTINGS):
no DTD, no entities, no external references, no huge trees."""

from __future__ import annotations

import logging

_root = logging.getLogger()
_handlers, _level = list(_root.handlers), _root.level

from onvif import ONVIFCamera  # noqa: E402
from onvif.exceptions import ONVIFError, ONVIFTimeoutError  # noqa: E402
from onvif.settings import DEFAULT_SETTINGS  # noqa: E402

for _handler in list(_root.handlers):
    if _handler not in _handlers:
        _root.removeHandler(_handler)
_root.setLevel(_level)

DEFAULT_SETTINGS.forbid_dtd = True
DEFAULT_SETTINGS.forbid_entities = True
DEFAULT_SETTINGS.forbid_external = True
DEFAULT_SETTINGS.xml_huge_tree = False
logging.getLogger("onvif").setLevel(logging.WARNING)
logging.getLogger("zeep").setLevel(logging.WARNING)

__all__ = ["DEFAULT_SETTINGS", "ONVIFCamera", "ONVIFError", "ONVIFTimeoutError"]
