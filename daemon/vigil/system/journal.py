"""Native journald logging (when $JOURNAL_STREAM says stderr is the journal): each record as a
journal entry with its priority and fields, CAMERA= included when the record concerns a camera.
The RedactingFilter of vigil.logs runs before this handler, as it does before the stderr one."""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

SYSLOG_IDENTIFIER = "vigil"
# Threads of a camera are named rec-<id>, rtsp-<id>, rtsp-<id>-sub, motion-<id> (vigil.pipelines),
# transcode-<id>[-sub] (vigil.webrtc.transcode).
_CAMERA_THREAD = re.compile(r"^(?:rec|rtsp|motion|transcode)-(?P<camera>.+?)(?:-sub)?$")
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def journal_priority(levelno: int) -> int:
    """syslog priority of a logging level (debug 7 ... critical 2)."""
    return next((prio for level, prio in _PRIORITY if levelno >= level), 7)


def camera_of(record: logging.LogRecord) -> str | None:
    explicit = getattr(record, "camera", None)
    if isinstance(explicit, str):
        return explicit
    match = _CAMERA_THREAD.match(record.threadName or "")
    return match.group("camera") if match else None


def stderr_is_journal(environ: Mapping[str, str], stderr_fd: int) -> bool:
    """$JOURNAL_STREAM is "<dev>:<inode>" of the stream systemd connected; only if stderr is that
    stream (not redirected by someone) do we speak the native protocol."""
    dev, _, ino = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isascii() and ino.isascii() and dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stderr_fd)
    except OSError:
        return False
    return int(dev) == st.st_dev and int(ino) == st.st_ino


class JournalHandler(logging.Handler):
    def __init__(self, send: Callable[..., Any] | None = None) -> None:
        super().__init__()
        if send is None:
            # By name: the repository's systemd/ directory of unit files shadows the module for mypy.
            send = importlib.import_module("systemd.journal").send
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {
                "PRIORITY": str(journal_priority(record.levelno)), "SYSLOG_IDENTIFIER": SYSLOG_IDENTIFIER,
                "LOGGER": record.name, "THREAD_NAME": record.threadName or "", "CODE_FILE": record.pathname,
                "CODE_LINE": record.lineno, "CODE_FUNC": record.funcName,
            }
            camera = camera_of(record)
            if camera:
                fields["CAMERA"] = camera
            self._send(self.format(record), **fields)
        except Exception:  # logging must never take the daemon down
            self.handleError(record)


def journal_handler() -> logging.Handler | None:
    """The native handler, or None when systemd-python is not installed."""
    try:
        return JournalHandler()
    except ImportError:
        return None
