"""Native journald logging, received for real: in a private mount namespace a tmpfs hides
/run/systemd, a datagram socket is bound where libsystemd sends journal entries, and the
daemon's logging set-up (with $JOURNAL_STREAM naming its stderr) logs through systemd-python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.vigil_proc import DAEMON_DIR

SCRIPT = r'''
import json, logging, os, socket, subprocess, sys, threading
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
os.makedirs("/run/systemd/journal")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/run/systemd/journal/socket")
sock.settimeout(5)
st = os.fstat(2)
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
from vigil.logs import setup_logging
setup_logging("info", ["s3cret-pass"])
log = logging.getLogger("vigil.record.recorder")
t = threading.Thread(target=lambda: log.warning("recorder cam-1/main: cannot write rtsp://u:s3cret-pass@cam/x"),
                     name="rec-cam-1")
t.start(); t.join()
logging.getLogger("vigil.app").info("API listening")

def parse(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1); fields[k.decode()] = v.decode(); i = nl + 1
        else:
            size = int.from_bytes(data[nl + 1:nl + 9], "little")
            fields[line.decode()] = data[nl + 9:nl + 9 + size].decode(); i = nl + 9 + size + 1
    return fields

print(json.dumps([parse(sock.recv(65536)) for _ in range(2)]))
'''


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root for a mount namespace")
def test_log_records_become_journal_entries_with_fields() -> None:
    pytest.importorskip("systemd.journal")
    env = dict(os.environ, PYTHONPATH=str(DAEMON_DIR))
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", SCRIPT],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    warning, info = json.loads(done.stdout)
    assert warning["MESSAGE"] == "vigil.record.recorder: recorder cam-1/main: cannot write rtsp://***@cam/x"
    assert (warning["PRIORITY"], warning["CAMERA"], warning["SYSLOG_IDENTIFIER"]) == ("4", "cam-1", "vigil")
    assert warning["LOGGER"] == "vigil.record.recorder" and warning["THREAD_NAME"] == "rec-cam-1"
    assert info["PRIORITY"] == "6" and "CAMERA" not in info
    assert "s3cret" not in done.stdout + done.stderr  # redacted in the entry; nothing went to stderr either
    assert done.stderr == ""
