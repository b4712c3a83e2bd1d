"""How many log records of one kind reach the journal: a client (or a failing resource) must not
be able to turn the log into the thing that fills the disk or hides everything else. Pure: time
is an argument.

Rules:
- Records are of one kind when they come from the same logger, level, thread and message
  template (before its arguments are filled in): "camera %s: up" of two cameras' threads are two
  kinds, "http: refused a connection from %s ..." for a thousand clients is one. The HTTP access
  log formats its lines itself: there the client address stands for the template, so each client
  has its own budget (vigil.logs).
- Each kind may log `burst` records per `window_s`; later ones in that window are suppressed and
  counted. The first record of the kind after that says how many were suppressed, and since when.
- At most `max_kinds` kinds are remembered (the oldest forgotten first), so the budget itself is
  bounded however many distinct messages there are."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

LogKind = tuple[str, int, str, str]  # logger, level, thread, message template


@dataclass
class _Window:
    start_s: float
    emitted: int = 0
    suppressed: int = 0
    suppressed_since_s: float = 0.0


@dataclass(frozen=True)
class Verdict:
    emit: bool
    suppressed_before: int = 0  # records of this kind suppressed since `suppressed_since_s`
    suppressed_since_s: float = 0.0


class LogBudget:
    def __init__(self, burst: int = 20, window_s: float = 10.0, max_kinds: int = 1000) -> None:
        self.burst, self.window_s, self.max_kinds = burst, window_s, max_kinds
        self._windows: OrderedDict[LogKind, _Window] = OrderedDict()

    def admit(self, kind: LogKind, now_s: float) -> Verdict:
        window = self._windows.get(kind)
        if window is None:
            window = self._windows[kind] = _Window(now_s)
            while len(self._windows) > self.max_kinds:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(kind)
        carried, since = 0, 0.0
        if now_s - window.start_s >= self.window_s:  # a new window; what was suppressed is told now
            carried, since = window.suppressed, window.suppressed_since_s
            window.start_s, window.emitted, window.suppressed = now_s, 0, 0
        if window.emitted >= self.burst:
            if window.suppressed == 0:
                window.suppressed_since_s = now_s
            window.suppressed += 1
            return Verdict(False)
        window.emitted += 1
        return Verdict(True, carried, since)
