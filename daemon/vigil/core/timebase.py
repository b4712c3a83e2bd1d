"""Units of time. Media time is integer 90 kHz ticks; wall time is integer nanoseconds since the
Unix epoch (UTC). The two are never mixed without one of the named conversions below."""

from __future__ import annotations

import datetime as dt
import decimal

TICKS_PER_SECOND = 90_000
NS_PER_SECOND = 1_000_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Wall times taken from clients are bounded to [1970-01-01, 2200-01-01): well inside SQLite's int64
# nanoseconds (which end 2262-04-11T23:47:16Z), with room left for the durations added to them
# (a day's default range, a hold's post-roll, a link's lifetime) to stay inside it too.
MAX_WALL_NS = 7_258_118_400 * 1_000_000_000  # 2200-01-01T00:00:00Z
_RANGE_TEXT = "1970 to 2199"


def ticks_to_ns(ticks_90k: int) -> int:
    """A media duration in 90 kHz ticks as nanoseconds (rounded to nearest)."""
    return (ticks_90k * NS_PER_SECOND + TICKS_PER_SECOND // 2) // TICKS_PER_SECOND


def ns_to_ticks(duration_ns: int) -> int:
    """A duration in nanoseconds as 90 kHz ticks (rounded to nearest)."""
    return (duration_ns * TICKS_PER_SECOND + NS_PER_SECOND // 2) // NS_PER_SECOND


def seconds_to_ticks(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def wall_ns_to_iso(wall_ns: int) -> str:
    """UTC ISO 8601 with millisecond precision, e.g. 2026-11-28T18:00:00.123Z."""
    # Whole seconds in integers: a float of the ns would round the last half microsecond before a
    # second up to the next one, and with the ms below printed a time one second late.
    moment = dt.datetime.fromtimestamp(wall_ns // NS_PER_SECOND, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(wall_ns // 1_000_000) % 1000:03d}Z"


def parse_time_ns(text: str) -> int:
    """Parse an ISO 8601 time (naive means UTC) or Unix seconds into wall nanoseconds, in
    [1970-01-01, 2200-01-01) (`MAX_WALL_NS`): the one parser of wall times from clients.

    Raises ValueError with a message naming the text when it is neither, or out of that range."""
    stripped = text.strip()
    try:
        seconds = decimal.Decimal(stripped)
    except decimal.InvalidOperation:
        pass
    else:
        if seconds.is_finite() and 0 <= seconds < MAX_WALL_NS // NS_PER_SECOND:
            return int(seconds * NS_PER_SECOND)
        raise ValueError(f"{text!r} is out of range ({_RANGE_TEXT})")
    try:
        moment = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither ISO 8601 nor Unix seconds") from None
    return datetime_to_ns(moment, text)


def datetime_to_ns(moment: dt.datetime, text: str) -> int:
    """A datetime (naive means UTC) as wall nanoseconds, or ValueError naming `text` when it is
    outside [1970-01-01, 2200-01-01)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - _EPOCH
    wall_ns = (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000
    if not 0 <= wall_ns < MAX_WALL_NS:
        raise ValueError(f"{text!r} is out of range ({_RANGE_TEXT})")
    return wall_ns


_DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration_s(text: str) -> float:
    """'90s', '30m', '2h', '1d' or plain seconds. Raises ValueError naming the text."""
    stripped = text.strip().lower()
    unit = _DURATION_UNITS_S.get(stripped[-1:])
    number = stripped[:-1] if unit else stripped
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration like 90s, 30m, 2h or 1d") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a positive duration")
    return value
