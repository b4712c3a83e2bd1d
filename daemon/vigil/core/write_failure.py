"""What a failed write to the recording disk (or the index beside it) means, and when to try again.

Pure: the recorder (record/recorder.py) hands in the error's errno / SQLite code, the free bytes it
measured and the monotonic time; it acts on the answers. Rules:

- ENOSPC, EDQUOT and SQLite's SQLITE_FULL mean the disk is full: the camera pauses with reason
  `disk_full` and resumes only once the disk has `resume_free_bytes` free again (room for a
  while of recording, so it does not flap at the edge of full).
- Any other write error (EIO, EROFS, ...) pauses the camera with reason `write_error`; it tries
  again at the next check (the disk may have been remounted, a cable reseated).
- Checks back off (`core.backoff`: 1 s, 2 s, 4 s ... up to 30 s, with jitter), so a disk that
  stays full costs one statvfs every 30 s per camera, never a busy loop.
- Neither pause ever ends the daemon: the API stays up, so an admin can release holds.
"""

from __future__ import annotations

import enum
import errno as errno_codes
from dataclasses import dataclass, field

from vigil.core.backoff import BackoffPolicy

SQLITE_FULL = 13  # sqlite3.SQLITE_FULL; extended codes carry it in the low byte

_FULL_ERRNOS = frozenset({errno_codes.ENOSPC, errno_codes.EDQUOT})


class WriteFailure(enum.Enum):
    DISK_FULL = "disk_full"
    WRITE_ERROR = "write_error"


def classify_write_error(errno: int | None, sqlite_code: int | None = None) -> WriteFailure:
    if errno in _FULL_ERRNOS or (sqlite_code is not None and sqlite_code & 0xFF == SQLITE_FULL):
        return WriteFailure.DISK_FULL
    return WriteFailure.WRITE_ERROR


RESUME_FREE_BYTES = 16 << 20


@dataclass(frozen=True)
class ResumePolicy:
    backoff: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(first_delay_s=1.0, max_delay_s=30.0))
    resume_free_bytes: int = RESUME_FREE_BYTES

    def may_resume(self, failure: WriteFailure, free_bytes: int) -> bool:
        """Whether a paused camera may start recording again, given the free bytes measured now."""
        return failure is WriteFailure.WRITE_ERROR or free_bytes >= self.resume_free_bytes


@dataclass(frozen=True)
class Pause:
    """A camera not recording because writes failed: why, since when, when to look again."""

    failure: WriteFailure
    since_wall_ns: int
    detail: str
    attempt: int = 0  # checks done so far
    next_check_monotonic_s: float = 0.0

    def checked(self, now_monotonic_s: float, policy: ResumePolicy, jitter_fraction: float) -> Pause:
        """The pause after a check that did not end it."""
        delay_s = policy.backoff.delay_s(self.attempt, jitter_fraction)
        return Pause(self.failure, self.since_wall_ns, self.detail, self.attempt + 1, now_monotonic_s + delay_s)

    def due(self, now_monotonic_s: float) -> bool:
        return now_monotonic_s >= self.next_check_monotonic_s
