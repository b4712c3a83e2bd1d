"""The LenelS2 OnGuard OpenAccess protocol as the poller uses it (OpenAccess 7.5, Swagger 2.0).

- `POST /authentication` with `Application-Id` and a JSON body {user_name, password, directory_id}
  returns {session_token, token_expiration_time}; every other call sends `Application-Id` and
  `Session-Token` headers and the required `version` query parameter.
- `GET /logged_events?filter=...&page_number=N&page_size=M&version=...` returns one page:
  {item_list, page_number, page_size, total_pages, total_items, count}.
- Errors are {error: {code, message}}; HTTP 401, or an error code naming the session, means the
  session token expired or is invalid: log in again.

The poll window arithmetic lives here too: every window starts `overlap_s` before the end of the
last completed one, so an event the server logs late (a panel reconnecting and uploading its buffer)
is still fetched; the sink de-duplicates what is fetched twice.

Pure: requests are values, pages are parsed from decoded JSON, time is an argument."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.door_events import MAX_ID_CHARS, MAX_TEXT_CHARS, DoorEventKind, IncomingDoorEvent
from vigil.core.json_text import parse_json
from vigil.core.onguard_kinds import KindTable
from vigil.core.timebase import NS_PER_SECOND, datetime_to_ns

API_BASE_PATH = "/api/access/onguard/openaccess"
MAX_PAGE_SIZE = 100  # the spec's maximum for page_size
DEFAULT_VERSION = "1.0"


# --- poll windows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    start_wall_ns: int  # inclusive
    end_wall_ns: int  # exclusive; becomes the cursor once every page was handed over


def next_window(cursor_wall_ns: int | None, now_wall_ns: int, *, overlap_s: float, first_lookback_s: float,
                max_backfill_s: float) -> Window:
    """The window to fetch now. Without a cursor (first start) it reaches `first_lookback_s` back;
    after an outage it backfills from the cursor, but never more than `max_backfill_s`."""
    if cursor_wall_ns is None:
        start = now_wall_ns - int(first_lookback_s * NS_PER_SECOND)
    else:
        start = min(cursor_wall_ns, now_wall_ns) - int(overlap_s * NS_PER_SECOND)
    start = max(start, now_wall_ns - int(max_backfill_s * NS_PER_SECOND), 0)
    return Window(start, now_wall_ns)


def format_cursor(wall_ns: int) -> str:
    return json.dumps({"until_wall_ns": wall_ns})


def parse_cursor(text: str | None) -> int | None:
    """The persisted cursor, or None when there is none or it is unreadable (then the first
    lookback applies; the sink de-duplicates)."""
    if not text:
        return None
    try:
        value = parse_json(text).get("until_wall_ns")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _filter_time(wall_s: int, server_tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(wall_s, tz=server_tz).strftime("%Y-%m-%dT%H:%M:%S")


def window_filter(window: Window, server_tz: dt.tzinfo) -> str:
    """The `filter` of GET /logged_events for a window: OnGuard logs the server's local time, so the
    bounds are written in `server_tz`, at whole seconds (start rounded down, end rounded up, so
    rounding only widens the window)."""
    start_s, end_s = window.start_wall_ns // NS_PER_SECOND, -(-window.end_wall_ns // NS_PER_SECOND)
    return f'timestamp >= "{_filter_time(start_s, server_tz)}" AND timestamp < "{_filter_time(end_s, server_tz)}"'


# --- requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below the base URL (which ends in the API base path)
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: Mapping[str, str] | None = None

    def __repr__(self) -> str:  # the body holds the password, the headers the session token
        return f"Request({self.method} {self.path} {dict(self.params)!r})"


def login_request(application_id: str, user: str, password: str, directory: str | None, version: str) -> Request:
    body = {"user_name": user, "password": password}  # in the body: never in a URL
    if directory:
        body["directory_id"] = directory
    return Request("POST", "/authentication", {"version": version}, {"Application-Id": application_id}, body)


def events_request(application_id: str, session_token: str, window: Window, server_tz: dt.tzinfo,
                   page_number: int, page_size: int, version: str) -> Request:
    if not 1 <= page_size <= MAX_PAGE_SIZE or page_number < 1:
        raise ValueError(f"page_number must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    params = {"filter": window_filter(window, server_tz), "page_number": str(page_number), "page_size": str(page_size),
              "version": version}
    headers = {"Application-Id": application_id, "Session-Token": session_token}
    return Request("GET", "/logged_events", params, headers)


# --- responses ------------------------------------------------------------------------------

class ProtocolError(Exception):
    """The server answered, but not as the spec says (the message holds no secret)."""


class Failure(enum.Enum):
    SESSION = "session"  # log in again and retry once
    LOGIN = "login"  # the credentials or application id were refused: retrying will not help soon
    UNAVAILABLE = "unavailable"  # server error or overload: back off and retry
    REJECTED = "rejected"  # the request itself was refused (a bug or a version mismatch)


def classify_error(status: int, body: Any, *, during_login: bool) -> Failure:
    code = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "").lower()
    if during_login and status in (400, 401, 403):
        return Failure.LOGIN
    if status == 401 or (status in (400, 403) and "session" in code):
        return Failure.SESSION
    if status >= 500 or status in (408, 429):
        return Failure.UNAVAILABLE
    return Failure.REJECTED


def error_text(body: Any) -> str:
    """The server's error code and message, for the log (shortened)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return f"{error.get('code', '?')}: {str(error.get('message', ''))[:200]}"
    return "no error body"


def parse_session_token(body: Any) -> str:
    token = body.get("session_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ProtocolError("POST /authentication: no session_token in the response")
    return token


@dataclass(frozen=True)
class EventsPage:
    items: tuple[dict[str, Any], ...]
    page_number: int
    total_pages: int

    @property
    def last(self) -> bool:
        return not self.items or self.page_number >= self.total_pages


def _int(doc: Mapping[str, Any], key: str, default: int) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"GET /logged_events: {key!r} is not an integer")
    return value


def parse_events_page(body: Any, requested_page: int) -> EventsPage:
    if not isinstance(body, dict):
        raise ProtocolError("GET /logged_events: the response is not a JSON object")
    items = body.get("item_list", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ProtocolError("GET /logged_events: 'item_list' is not a list of objects")
    page_number = _int(body, "page_number", requested_page)
    if page_number != requested_page:
        raise ProtocolError(f"GET /logged_events: asked for page {requested_page}, got {page_number}")
    return EventsPage(tuple(items), page_number, _int(body, "total_pages", page_number))


# --- vendor records -> door events ------------------------------------------------------------

def _timestamp_ns(text: str, server_tz: dt.tzinfo) -> int:
    """Raises ValueError when it is not a date-time, or outside the times vigil stores (timebase)."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:  # OnGuard servers may log local time without an offset
        moment = moment.replace(tzinfo=server_tz)
    return datetime_to_ns(moment, text[:40])


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or not text.strip():
        return None
    return text[:limit]


def to_door_event(item: Mapping[str, Any], source: str, kinds: KindTable, server_tz: dt.tzinfo) -> IncomingDoorEvent:
    """One `LoggedEvents` record as a door event. Raises ProtocolError when it cannot be identified
    (no timestamp or serial number).

    event_id is "<controller_id>/<serial_number>/<timestamp>" (serial numbers are per panel and wrap);
    the access point is "<controller_id>.<device_id>" (OnGuard's panel and reader ids)."""
    timestamp, serial = item.get("timestamp"), item.get("serial_number")
    if not isinstance(timestamp, str) or not isinstance(serial, int) or isinstance(serial, bool):
        raise ProtocolError("logged event without a timestamp or serial_number")
    try:
        occurred_ns = _timestamp_ns(timestamp, server_tz)
    except ValueError:
        raise ProtocolError(f"logged event {serial}: timestamp {timestamp[:40]!r} is not a date-time"
                            " from 1970 to 2199") from None
    controller, device = item.get("controller_id"), item.get("device_id")
    description = item.get("description") if isinstance(item.get("description"), str) else ""
    assert isinstance(description, str)
    kind = DoorEventKind.DURESS if item.get("duress") is True else kinds.kind_of(description)
    event_text = item.get("event_text") if isinstance(item.get("event_text"), str) else None
    reason = None
    if kind in (DoorEventKind.ACCESS_DENIED, DoorEventKind.OTHER, DoorEventKind.DURESS):
        reason = _clip(" - ".join(t for t in (description, event_text) if t), MAX_TEXT_CHARS)
    badge = item.get("badge_id_str") or item.get("badge_id")
    credential = None if badge in (None, "", 0) else str(badge)
    names = [item.get("cardholder_first_name"), item.get("cardholder_last_name")]
    cardholder = " ".join(n for n in names if isinstance(n, str) and n.strip()) or None
    return IncomingDoorEvent(
        source=source,
        event_id=f"{controller}/{serial}/{timestamp.strip()}"[:MAX_ID_CHARS],
        occurred_wall_ns=occurred_ns,
        kind=kind,
        access_point=None if controller is None or device is None else f"{controller}.{device}",
        reason=reason,
        credential=_clip(credential, MAX_ID_CHARS),
        cardholder=_clip(cardholder, MAX_TEXT_CHARS),
        raw=json.dumps(item, sort_keys=True),
    )
