"""Importing the ONVIF library leaves logging as it was (onvif/client.py calls basicConfig(INFO) at
import, which turned on aiohttp's access log, responder-link tokens in its paths included) and
leaves zeep refusing DTDs and entities."""

from __future__ import annotations

import subprocess
import sys

from tests.support.camsim import DAEMON_DIR

CHECK = """
import logging
import vigil.camera_setup.onvif_lib as lib
root = logging.getLogger()
assert not root.handlers, root.handlers
assert root.level == logging.WARNING, root.level
s = lib.DEFAULT_SETTINGS
assert s.forbid_dtd and s.forbid_entities and s.forbid_external and not s.xml_huge_tree
print("ok")
"""


def test_import_has_no_logging_side_effect() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False,
                          env={"PYTHONPATH": str(DAEMON_DIR), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
