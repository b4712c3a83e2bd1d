"""What every handler gets: the services, the authenticated subject, the time, and helpers to
check permissions and write the audit log."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from vigil.config import Config
from vigil.core.camera_modes import Stream
from vigil.core.district import is_hub_token
from vigil.core.errors import AuthenticationError, BadRequestError, NotFoundError, PermissionDeniedError
from vigil.core.hotplug import ApplianceSource
from vigil.core.json_text import JsonTextError, parse_json
from vigil.core.media import AudioInfo, Codec, EncodedPacket, StreamInfo
from vigil.core.permissions import Action, LinkSubject, Subject, Target, UserSubject
from vigil.core.ratelimit import LoginThrottle
from vigil.core.repeat_window import RepeatWindow
from vigil.core.storage_report import BudgetProblem
from vigil.core.timebase import parse_time_ns, wall_ns_to_iso
from vigil.credential_watch import CredentialWatch
from vigil.doors.alerts import AlertHub
from vigil.doors.service import DoorEventService
from vigil.exports.jobs import ExportJobs
from vigil.ingest.fanout import Fanout
from vigil.services import accounts as accounts_service
from vigil.services import audit as audit_service
from vigil.services import authorize
from vigil.services import district as district_service
from vigil.services.caller import Caller, Via
from vigil.services.district import PublisherState
from vigil.services.env import ServiceEnv
from vigil.services.playback import PlaybackCaches
from vigil.webrtc.sessions import WhepSessions
from vigil.webrtc.talk import TalkSessions

SESSION_COOKIE, LINK_COOKIE = "vigil_session", "vigil_link"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class CameraStatus:
    state: str  # starting, up, down
    reason: str | None  # why down, or why not recording (paused_reason)
    recording: bool
    last_frame_wall_ns: int | None
    paused_reason: str | None = None  # disk_full, write_error: the recorder paused (core/write_failure.py)
    clock_skew_ms: float | None = None  # camera clock - appliance clock from RTCP (native ingest); None: unknown


@dataclass(frozen=True)
class LiveSource:
    fanout: Fanout
    codec: Codec | None  # None until the camera has been reached
    has_bframes: bool
    # The camera's audio (its main stream's, also for quality=sub) and what its latest session sent.
    audio_fanout: Fanout | None = None
    audio: AudioInfo | None = None


class CameraStatusSource(Protocol):
    def camera_status(self, camera_id: str) -> CameraStatus: ...

    def latest_keyframe(self, camera_id: str) -> tuple[StreamInfo, EncodedPacket] | None: ...

    def live_source(self, camera_id: str, quality: Stream) -> LiveSource | None: ...


@dataclass(frozen=True)
class Services:
    """Built once, with every part the daemon started (vigil.app); never changed afterwards (the
    configuration it shows is the running one: `config` reads it through the env at each use)."""

    cameras: CameraStatusSource
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock_ns: Callable[[], int] = time.time_ns
    started_wall_ns: int = field(default_factory=time.time_ns)
    whep: WhepSessions | None = None
    talk: TalkSessions | None = None  # push-to-talk sessions (webrtc/talk.py)
    # long-lived responses (live sessions, alert streams) bound to their credential
    credential_watch: CredentialWatch | None = None
    exports: ExportJobs | None = None  # evidence exports (issue 7)
    clip_downloads: RepeatWindow = field(default_factory=RepeatWindow)  # clips: one audit entry per download
    # playback (api/playback.py): fragment headers and thumbnails kept; the (caller, camera, range) of
    # audited playlists, so the player's byte-range requests that follow are not audited one by one
    playback: PlaybackCaches = field(default_factory=PlaybackCaches.new)
    playback_reads: RepeatWindow = field(default_factory=RepeatWindow)
    # door events (doors/service.py, doors/alerts.py)
    doors: DoorEventService | None = None
    alerts: AlertHub | None = None
    appliance: ApplianceSource | None = None  # the appliance layer: storage state, local cameras
    # What is wrong with the storage budget (core.storage_report.budget_problems, or retention kept newest footage).
    budget_problem: Callable[[], BudgetProblem | None] = lambda: None
    # the district publisher's state (district/publisher.py; GET /api/district)
    district_publisher: Callable[[], PublisherState] = PublisherState
    env: ServiceEnv = field(kw_only=True)  # what the services/ functions work with (the daemon closes it)

    @property
    def config(self) -> Config:
        """The running configuration (config/live.py: a reload swaps it)."""
        return self.env.config


SERVICES = web.AppKey("services", Services)


@dataclass
class Ctx:
    request: web.Request
    services: Services
    subject: Subject | None
    via: Via  # how the request came: SESSION, TOKEN, LINK, SIGNATURE (door webhook) or NONE
    now_ns: int
    token: str | None = None
    csrf_token: str | None = None  # a session's (the web app reads it from /api/me after a reload)

    @property
    def actor(self) -> str:
        return self.caller.actor

    @property
    def caller(self) -> Caller:
        """The request's caller, for services/ functions."""
        return Caller(self.subject, self.via, self.now_ns, remote=self.request.remote)

    @property
    def user_subject(self) -> Subject:
        if self.subject is None:
            raise AuthenticationError("sign in first")
        return self.subject

    async def require(self, action: Action, target: Target) -> None:
        """The route's (or a handler's) decision; a denial is audited, then 403."""
        await authorize.require(self.services.env, self.caller, action, target)

    async def audit(self, action: str, target: str, outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        await audit_service.record(self.services.env, self.caller, action, target, outcome, detail)

    def camera_target(self, start_ns: int | None = None, end_ns: int | None = None) -> Target:
        camera_id = self.request.match_info["camera_id"]
        building = self.services.config.building_of(camera_id)
        if building is None:
            raise NotFoundError(f"no camera {camera_id!r}")
        return Target(building=building, camera=camera_id, start_ns=start_ns, end_ns=end_ns)

    def time_param(self, name: str, default: int | None = None) -> int | None:
        text = self.request.query.get(name)
        if text is None:
            return default
        try:
            return parse_time_ns(text)
        except ValueError as error:
            raise BadRequestError(f"query parameter {name}: {error}") from None

    async def json_body(self) -> dict[str, Any]:
        return json_object(await self.request.read())

    def is_link(self) -> bool:
        return isinstance(self.subject, LinkSubject)

    @property
    def credential(self) -> str:
        """The SHA-256 of the token this request came with: what long-lived responses bind to."""
        if self.token is None:
            raise AuthenticationError("sign in first")
        return accounts_service.credential_digest(self.token)

    def credentials_changed(self) -> None:
        """After revoking a credential: responses bound to it end now, not at the next check."""
        if self.services.credential_watch is not None:
            self.services.credential_watch.recheck_now()


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object (core.json_text's bounded parser), or a 400."""
    try:
        value = parse_json(body.decode("utf-8"))
    except (JsonTextError, UnicodeDecodeError) as error:
        raise BadRequestError(f"request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequestError("request body must be a JSON object")
    return value



def _printable_ascii(value: str, what: str) -> str:
    """Tokens are printable ASCII. Header bytes that are not UTF-8 arrive as surrogates, which no
    encoder (the token's hash) nor `hmac.compare_digest` (the CSRF check) takes: refuse them here."""
    if not (value.isascii() and value.isprintable()):
        raise AuthenticationError(f"malformed {what}: credentials are printable ASCII")
    return value


def presented_token(request: web.Request) -> tuple[str | None, Via]:
    """(token, how it came): bearer header first, then the session cookie, then a link cookie."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'")
        return _printable_ascii(value.strip(), "bearer token"), Via.TOKEN
    if SESSION_COOKIE in request.cookies:
        return _printable_ascii(request.cookies[SESSION_COOKIE], "session cookie"), Via.SESSION
    if LINK_COOKIE in request.cookies:
        return _printable_ascii(request.cookies[LINK_COOKIE], "link cookie"), Via.LINK
    return None, Via.NONE


async def authenticate(request: web.Request, services: Services, now_ns: int) -> Ctx:
    """The request's Ctx from its credential. The lookup runs on a database thread
    (services/accounts.authenticate): this runs for every request, and SQLite blocks."""
    token, via = presented_token(request)
    if token is None:
        raise AuthenticationError("sign in, or open a valid responder link")
    anonymous = Caller(None, via, now_ns, remote=request.remote)
    if via is Via.TOKEN and is_hub_token(token):  # a district hub token (services/district.py)
        found = await district_service.authenticate_bearer(services.env, anonymous, token)
    else:
        found = await accounts_service.authenticate(services.env, anonymous, token)
    subject, csrf = found.subject, found.csrf_token
    if via is Via.LINK and not isinstance(subject, LinkSubject):
        raise AuthenticationError("the link cookie holds no responder link")
    if isinstance(subject, LinkSubject):
        via = Via.LINK
    # Cookies ride along with any cross-site request; the CSRF token only with ours.
    supplied = request.headers.get("X-CSRF-Token", "")
    if via is Via.SESSION and request.method not in SAFE_METHODS and (
            not csrf or not supplied.isascii() or not hmac.compare_digest(supplied, csrf)):
        raise PermissionDeniedError("missing or wrong X-CSRF-Token header")
    return Ctx(request, services, subject, via, now_ns, token, csrf if via is Via.SESSION else None)


def id_param(ctx: Ctx, name: str) -> int:
    """The integer id in path parameter `name` (ASCII digits only: `int()` refuses some that
    `isdigit()` accepts, such as superscripts), or a 400 naming it."""
    text = ctx.request.match_info[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise BadRequestError(f"{name.replace('_', ' ')} must be a number")
    return int(text)


def iso(ns: int | None) -> str | None:
    return None if ns is None else wall_ns_to_iso(ns)


def require_user(ctx: Ctx) -> UserSubject:
    if not isinstance(ctx.subject, UserSubject):
        raise PermissionDeniedError("responder links cannot do this")
    return ctx.subject
