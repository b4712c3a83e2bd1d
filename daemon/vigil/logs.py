"""Logging set-up: stderr, or native journald entries under systemd; secrets redacted everywhere."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable

from vigil.core.log_budget import LogBudget
from vigil.system.journal import journal_handler, stderr_is_journal

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
_TOKEN = re.compile(r"(?P<kind>vigil_[slt]_)[A-Za-z0-9_-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Text with URL credentials, vigil tokens and every known secret replaced by '***'."""
    text = _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)
    text = _TOKEN.sub(lambda m: m.group("kind") + "***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record's final message before any handler sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback is formatted by the handler; fold it into the message redacted.
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = redact(message, self.secrets)
        record.args = None
        return True


class RateLimitFilter(logging.Filter):
    """Drops records of a kind over its budget (core.log_budget); the next one of that kind says
    how many were dropped. Runs before the RedactingFilter, which replaces the message template."""

    def __init__(self, budget: LogBudget | None = None, clock_s: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.budget = budget or LogBudget()
        self.clock_s = clock_s

    def filter(self, record: logging.LogRecord) -> bool:
        template = str(record.msg)
        if record.name == "aiohttp.access":  # one line per request, formatted already: per client instead
            template = f"request from {getattr(record, 'remote_address', '?')}"
        kind = (record.name, record.levelno, record.threadName or "", template)
        now_s = self.clock_s()
        verdict = self.budget.admit(kind, now_s)
        if verdict.emit and verdict.suppressed_before:
            # no '%' in the note: the template keeps working with the record's arguments
            record.msg = (f"{record.msg} [{verdict.suppressed_before} similar messages suppressed in the last"
                          f" {now_s - verdict.suppressed_since_s:.0f} s]")
        return verdict.emit


def setup_logging(level: str = "info", secrets: Iterable[str] = ()) -> None:
    handler: logging.Handler | None = None
    if stderr_is_journal(os.environ, sys.stderr.fileno()):  # under systemd: native journald entries
        handler = journal_handler()
        if handler is not None:
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RateLimitFilter())  # first: it keys on the message template
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def add_secrets(secrets: Iterable[str]) -> None:
    """Teach the root handlers' redaction new secrets (a reload added camera passwords)."""
    new = tuple(s for s in secrets if s)
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                f.secrets = tuple(dict.fromkeys(f.secrets + new))
