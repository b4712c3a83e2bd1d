"""The route table: the only place routes are declared, each with the permission it needs.

`build_app` registers exactly these routes; a test walks the table to check every route
declares a policy and that the app has no other route."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from vigil.api import (  # bookmarks, holds, timeline, storage
    admin_schemas,
    appliance_update,
    audit,
    camera_config,
    camera_config_schemas,
    camera_setup,
    camera_setup_schemas,
    cameras,
    clips,
    devices,
    district,
    district_schemas,
    door_events,
    exports,
    health,
    holds,
    holds_schemas,
    incident_report,
    incidents,
    incidents_schemas,
    links,
    live,
    motion,
    pages,
    plans,
    plans_schemas,
    playback,
    schemas,
    search,
    search_schemas,
    session,
    storage,
    talk,
    timeline,
    users,
    wall_views,
)
from vigil.api.context import SERVICES, Ctx, Services, authenticate
from vigil.api.openapi import openapi_document
from vigil.api.problems import problem_middleware
from vigil.core.permissions import Action, Target
from vigil.services.caller import Via
from vigil.services.env import mark_serving_request

Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


class Scope(enum.Enum):
    """What the route's permission is checked against before the handler runs."""

    APPLIANCE = "appliance"  # Target() — listings are filtered by the handler
    CAMERA = "camera"  # the {camera_id} in the path (unknown camera: 404)
    CAMERA_RANGE = "camera_range"  # the camera and the ?start=&end= range
    CAMERA_MOMENT = "camera_moment"  # the camera and the ?at= moment (a range of one nanosecond)
    # The role must have the action; then a service decides for each item the request names or
    # reads (a link's buildings, a hold's cameras, ...): `per_item` says which function and why
    # the path alone cannot decide.
    PER_ITEM = "per_item"
    PUBLIC = "public"  # no credentials needed: the reason is given in `public_reason`
    # a bearer token whose role has the action, or a request signed with the site's webhook secret
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: schemas.Schema = field(default_factory=lambda: dict(schemas.STR))
    required: bool = False


@dataclass(frozen=True)
class PerItem:
    """Where a PER_ITEM route's permission is decided, item by item."""

    decided_by: str  # the deciding function, dotted under `vigil.`: "services.holds.create_hold"
    why: str  # what the decision needs that the path does not carry


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    action: Action | None
    scope: Scope
    summary: str
    response: schemas.Schema | None  # JSON body of the success response (None: not JSON)
    status: int = 200
    content_type: str = "application/json"
    query: tuple[Param, ...] = ()
    body: schemas.Schema | None = None
    body_content_type: str = "application/json"
    audit: str | None = None  # audit action recorded on success (every use by a link is audited too)
    public_reason: str | None = None
    byte_ranges: bool = False  # answers `Range` requests: 206 with the part, 416 outside the body
    per_item: PerItem | None = None  # PER_ITEM routes only (and always)


TIME_HELP = "ISO 8601 (UTC unless an offset is given) or Unix seconds"
RANGE = (Param("start", f"range start, {TIME_HELP}; default end - 24 h"),
         Param("end", f"range end, {TIME_HELP}; default now"))

_CONFIG = camera_config_schemas
_IN_BUILDING = "the body or the configured camera names its building (moving one: both buildings)"
_EVERY_BUILDING = "for district admins and installers of every building, not building-scoped users"

ROUTES: tuple[Route, ...] = (
    # --- configured cameras and buildings (issue 15; api/camera_config.py, design/cameras.md) ---
    Route("GET", "/api/config/cameras", camera_config.list_cameras, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Configured cameras of the buildings the caller may configure (never a password), and whether the"
          " configuration file can be changed here", _CONFIG.CAMERA_SETTINGS),
    Route("POST", "/api/config/cameras", camera_config.create_camera, Action.CONFIGURE_CAMERAS, Scope.PER_ITEM,
          "Add a camera: written to the configuration file (checked like `vigil check`) and started at once",
          _CONFIG.CAMERA_APPLIED, status=201, body=_CONFIG.CAMERA_CREATE,
          per_item=PerItem("services.camera_config.create_camera", _IN_BUILDING)),
    Route("PATCH", "/api/config/cameras/{camera}", camera_config.update_camera, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Change a camera's settings (only that camera restarts, and only if its stream"
          " settings changed); `password` absent: unchanged, null: cleared", _CONFIG.CAMERA_APPLIED,
          body=_CONFIG.CAMERA_PATCH, per_item=PerItem("services.camera_config.update_camera", _IN_BUILDING)),
    Route("DELETE", "/api/config/cameras/{camera}", camera_config.delete_camera, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Remove a camera: its open segment is finished; its recordings stay until retention",
          _CONFIG.APPLIED, per_item=PerItem("services.camera_config.delete_camera", _IN_BUILDING)),
    Route("GET", "/api/config/buildings", camera_config.list_buildings, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Configured buildings the caller may configure", _CONFIG.BUILDING_SETTINGS),
    Route("POST", "/api/config/buildings", camera_config.create_building, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Add a building", _CONFIG.BUILDING_APPLIED, status=201, body=_CONFIG.BUILDING,
          per_item=PerItem("services.camera_config.create_building", _EVERY_BUILDING)),
    Route("PATCH", "/api/config/buildings/{building}", camera_config.update_building, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Rename a building", _CONFIG.BUILDING_APPLIED, body=_CONFIG.BUILDING_PATCH,
          per_item=PerItem("services.camera_config.update_building", "the path names the building")),
    Route("DELETE", "/api/config/buildings/{building}", camera_config.delete_building, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Remove a building that has no cameras or doors left (409 names them)", _CONFIG.APPLIED,
          per_item=PerItem("services.camera_config.delete_building", _EVERY_BUILDING)),
    Route("POST", "/api/config/reload", camera_config.reload, Action.CONFIGURE_CAMERAS, Scope.PER_ITEM,
          "Re-read the configuration file as edited by hand and apply it (as SIGHUP and `vigil reload` do);"
          " an invalid file changes nothing (422 naming each key)", _CONFIG.APPLIED,
          per_item=PerItem("services.camera_config.reload", _EVERY_BUILDING)),
    Route("POST", "/api/login", session.login, None, Scope.PUBLIC, "Sign in; sets the session cookie",
          schemas.LOGIN, body=schemas.LOGIN_BODY, public_reason="signing in is how credentials are obtained"),
    Route("GET", "/l/{token}", links.landing, None, Scope.PUBLIC,
          "Responder link landing: sets the link cookie, then 303 to the web app's map of its building", None,
          status=303, content_type="text/html", public_reason="the capability token in the path is the credential"),
    Route("POST", "/api/logout", session.logout, Action.VIEW_STATUS, Scope.APPLIANCE, "Sign out",
          schemas.SIGNED_OUT),
    # --- the district hub (issue 17; api/district.py, services/district.py) ---
    Route("POST", "/api/district/session", district.sign_in, None, Scope.PUBLIC,
          "Sign in with a token from the district hub this appliance is enrolled with (once per token); sets the"
          " session cookie, which expires with the token (401 naming why a token is refused)",
          district_schemas.SESSION, body=district_schemas.SESSION_BODY,
          public_reason="the hub's signed token in the body is the credential (checked as a bearer token is)"),
    Route("POST", "/api/district/renew", district.renew, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Renew a session made from a hub token: the appliance asks the hub (with its site certificate) for a"
          " fresh token; 401 and the session ended when the hub refuses, 503 when it cannot be reached, 409 for"
          " any other session", district_schemas.RENEWED),
    Route("GET", "/api/district", district.status, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Whether this appliance is enrolled with a district hub, which, and its publisher's state",
          district_schemas.DISTRICT),
    Route("GET", "/api/me", session.me, Action.VIEW_STATUS, Scope.APPLIANCE, "Who the caller is", schemas.SUBJECT),
    Route("GET", "/api/health", health.health, Action.VIEW_STATUS, Scope.APPLIANCE, "Appliance health",
          schemas.HEALTH),
    Route("GET", "/api/buildings", cameras.buildings, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Buildings the caller may see", schemas.BUILDINGS),
    Route("GET", "/api/cameras", cameras.cameras, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Cameras the caller may see, with status", schemas.CAMERAS),
    Route("GET", "/api/cameras/{camera_id}/segments", cameras.segments, Action.VIEW_PLAYBACK, Scope.CAMERA_RANGE,
          "Recorded segments of a camera in a range", schemas.SEGMENTS, query=RANGE, audit="playback.index"),
    Route("GET", "/api/cameras/{camera_id}/motion", motion.motion, Action.VIEW_PLAYBACK, Scope.CAMERA_RANGE,
          "Motion intervals in a range (optionally touching a region) and the range's heatmap", schemas.MOTION,
          query=(*RANGE, Param("region", "x0,y0,x1,y1 in fractions of the picture: only motion touching it")),
          audit="playback.motion"),
    # clips (evidence): audited once per download by the handler itself, before the body is sent
    Route("GET", "/api/cameras/{camera_id}/clip.mp4", clips.clip, Action.VIEW_PLAYBACK, Scope.CAMERA_RANGE,
          "A recorded range as one MP4 (stream copy; Range requests; gaps in the Vigil-Gaps header)", None,
          content_type="video/mp4", query=RANGE, byte_ranges=True),
    # playback in the browser (api/playback.py): the playlist is audited once; the player's byte-range
    # requests of the files it names are audited only when no audited playlist of theirs came first
    Route("GET", "/api/cameras/{camera_id}/playback.m3u8", playback.playlist, Action.VIEW_PLAYBACK,
          Scope.CAMERA_RANGE, "HLS VOD playlist (RFC 8216, fMP4 byte ranges) of what a camera recorded in a range"
          " (<= 6 h); audited (playback.hls) by the handler", None, content_type="application/vnd.apple.mpegurl",
          query=RANGE),
    Route("GET", "/api/cameras/{camera_id}/segments/{segment_id}/media.mp4", playback.segment_media,
          Action.VIEW_PLAYBACK, Scope.CAMERA_RANGE,
          "A recorded segment file overlapping the range, as recorded (Range requests; a playlist's URIs)", None,
          content_type="video/mp4", query=RANGE, byte_ranges=True),
    Route("GET", "/api/cameras/{camera_id}/thumbnail.jpg", playback.thumbnail, Action.VIEW_PLAYBACK,
          Scope.CAMERA_MOMENT, "The recorded keyframe nearest a moment (within 10 s) as a small JPEG", None,
          content_type="image/jpeg", query=(Param("at", f"the moment, {TIME_HELP}; default now"),)),
    Route("GET", "/api/cameras/{camera_id}/snapshot.jpg", cameras.snapshot, Action.VIEW_LIVE, Scope.CAMERA,
          "The camera's latest keyframe as JPEG", None, content_type="image/jpeg", audit="live.snapshot"),
    Route("GET", "/api/links", links.list_links, Action.MANAGE_LINKS, Scope.PER_ITEM,
          "Responder links the caller may manage", {"type": "array", "items": schemas.LINK},
          per_item=PerItem("services.links.list_links",
                           "a listing: each link is shown only to who may manage links in all of its buildings")),
    Route("POST", "/api/links", links.create_link, Action.MANAGE_LINKS, Scope.PER_ITEM,
          "Create a responder link (a reason is required)", schemas.LINK, status=201, body=schemas.LINK_BODY,
          per_item=PerItem("services.links.create_link",
                           "the body names the buildings: manage_links is needed in each")),
    Route("DELETE", "/api/links/{link_id}", links.revoke_link, Action.MANAGE_LINKS, Scope.PER_ITEM,
          "Revoke a responder link at once", schemas.LINK,
          per_item=PerItem("services.links.revoke_link",
                           "the stored link names its buildings: manage_links is needed in each")),
    Route("GET", "/api/audit", audit.audit_entries, Action.VIEW_AUDIT, Scope.APPLIANCE, "The audit log",
          schemas.AUDIT, query=(*RANGE[:1], Param("end", f"range end, {TIME_HELP}"), Param("actor", "exact actor"),
                                Param("action", "exact action"),
                                Param("limit", "at most this many entries (1-10000)", {"type": "string"}),
                                Param("order", "oldest (default: the first `limit`, oldest first) or newest (the"
                                      " last `limit`, newest first)", {"enum": ["oldest", "newest"]})),
          audit="audit.read"),
    Route("GET", "/api/audit/verify", audit.audit_verify, Action.VIEW_AUDIT, Scope.APPLIANCE,
          "Check the audit log's hash chain: every entry's hash and link; the first broken entry",
          admin_schemas.AUDIT_CHECK, audit="audit.verify"),
    # --- users and API tokens (issue 14; api/users.py): manage_users, i.e. district admins ---
    Route("GET", "/api/users", users.list_users, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Users with their roles, buildings and state (no passwords)", admin_schemas.USERS),
    Route("POST", "/api/users", users.add_user, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Add a user (name, role, buildings, password)", admin_schemas.USER, status=201,
          body=admin_schemas.USER_BODY),
    Route("PATCH", "/api/users/{user_name}", users.change_role, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Change a user's role and buildings", admin_schemas.USER, body=admin_schemas.ROLE_BODY),
    Route("POST", "/api/users/{user_name}/disable", users.disable_user, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Disable a user: their sessions and API tokens are revoked at once", admin_schemas.USER),
    Route("GET", "/api/tokens", users.list_tokens, Action.MANAGE_USERS, Scope.APPLIANCE,
          "API tokens (never their secrets)", admin_schemas.TOKENS),
    Route("POST", "/api/tokens", users.create_token, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Create an API token for a user; its secret is in this answer only", admin_schemas.TOKEN, status=201,
          body=admin_schemas.TOKEN_BODY),
    Route("DELETE", "/api/tokens/{token_id}", users.revoke_token, Action.MANAGE_USERS, Scope.APPLIANCE,
          "Revoke an API token at once", admin_schemas.TOKEN),
    Route("GET", "/api/openapi.json", lambda ctx: _openapi(), Action.VIEW_STATUS, Scope.APPLIANCE,
          "This API's OpenAPI document", schemas.OPENAPI),
    Route("GET", "/api/cameras/{camera_id}/ice-servers", live.camera_ice_servers, Action.VIEW_LIVE, Scope.CAMERA,
          "ICE servers (STUN, TURN with fresh credentials) for a live view", schemas.ICE_SERVERS),
    Route("POST", "/api/cameras/{camera_id}/whep", live.offer, Action.VIEW_LIVE, Scope.CAMERA,
          "WHEP: an SDP offer in, the answer out (201, Location: the session; Vigil-Live-Video: passthrough,"
          " substream or transcoded)", None, status=201,
          content_type="application/sdp", query=(Param("quality", "main (default) or sub"),),
          body={"type": "string"}, body_content_type="application/sdp"),
    Route("DELETE", "/api/whep/{session_id}", live.end, Action.VIEW_STATUS, Scope.PER_ITEM,
          "End a live session (its viewer, or an admin of the camera's building)", None, content_type="text/plain",
          per_item=PerItem("api.live.end",
                           "the live session (in memory) names its viewer and camera: the viewer ends their own; "
                           "anyone else needs manage_links in the camera's building")),
    # push-to-talk (api/talk.py, webrtc/talk.py, design/intercom.md)
    Route("POST", "/api/cameras/{camera_id}/talk", talk.offer, Action.TALK, Scope.CAMERA,
          "Push-to-talk: the browser's microphone offer (a sendonly PCMU/PCMA audio track) in, the answer out"
          " (201, Location: the session); 409 talk-busy names who talks, talk-unsupported; 502 talk-device",
          None, status=201, content_type="application/sdp", body={"type": "string"},
          body_content_type="application/sdp"),
    Route("DELETE", "/api/talk/{session_id}", talk.end, Action.VIEW_STATUS, Scope.PER_ITEM,
          "End a talk session (its talker, or an admin of the camera's building)", None, content_type="text/plain",
          per_item=PerItem("api.talk.end",
                           "the talk session (in memory) names its talker and camera: the talker ends their own; "
                           "anyone else needs manage_links in the camera's building")),
    # door events (api/door_events.py)
    Route("POST", "/api/door-events", door_events.post_door_event, Action.POST_DOOR_EVENTS, Scope.WEBHOOK,
          "Take one door event (door-event/v1); 201 new, 200 a replay with duplicate: true",
          schemas.DOOR_EVENT_POSTED, status=201, body=schemas.DOOR_EVENT_BODY),
    Route("GET", "/api/door-events", door_events.list_door_events, Action.VIEW_DOOR_EVENTS, Scope.APPLIANCE,
          "Door events of the caller's buildings by device time", schemas.DOOR_EVENTS,
          query=(*RANGE, Param("door", "a door id"), Param("kind", "an event kind"),
                 Param("flagged", "true or false")), audit="door_events.read"),
    Route("POST", "/api/door-events/{event_id}/ack", door_events.ack_door_event, Action.ACK_DOOR_EVENTS,
          Scope.PER_ITEM, "Acknowledge a door event (who and when are kept)", schemas.DOOR_EVENT,
          per_item=PerItem("services.door_events.ack_door_event",
                           "the stored event names its door, and so its building")),
    Route("GET", "/api/alerts", door_events.alerts_stream, Action.VIEW_DOOR_EVENTS, Scope.APPLIANCE,
          "Server-sent events: flagged door events, adapter health and incident changes (event: incident) of the"
          " caller's buildings", None,
          content_type="text/event-stream"),
    # --- incidents (issue 16; api/incidents.py, services/incidents.py, design/incidents.md) ---
    Route("POST", "/api/incidents", incidents.declare, Action.DECLARE_INCIDENT, Scope.PER_ITEM,
          "Declare an incident for a building (or some of its cameras) with a reason: holds its footage from the"
          " look-back, makes its responder link, queues the deliveries; 201, or 200 with joined: true when the"
          " building's open incident was joined", incidents_schemas.DECLARED, status=201,
          body=incidents_schemas.DECLARE_BODY,
          per_item=PerItem("services.incidents.declare", "the body names the building or its cameras")),
    Route("GET", "/api/incidents", incidents.list_incidents, Action.VIEW_STATUS, Scope.PER_ITEM,
          "Incidents the caller may see, newest first (a responder link: its own)", incidents_schemas.INCIDENTS,
          query=(Param("state", "open, ended or all (default)", {"enum": ["open", "ended", "all"]}),),
          per_item=PerItem("services.incidents.list_incidents",
                           "a listing: each incident is shown only to who sees its building, or to its own link")),
    Route("GET", "/api/incidents/{incident_id}", incidents.get_incident, Action.VIEW_STATUS, Scope.PER_ITEM,
          "One incident with its joins and deliveries; its link's URL for who may manage links there while it is"
          " open", incidents_schemas.INCIDENT,
          per_item=PerItem("services.incidents.get_incident",
                           "the stored incident names its building and link (anyone else: not found)")),
    Route("POST", "/api/incidents/{incident_id}/end", incidents.end, Action.DECLARE_INCIDENT, Scope.PER_ITEM,
          "End an open incident with a note (409 if ended): the holds end after the tail, the link is revoked at"
          " once, the report follows", incidents_schemas.INCIDENT, body=incidents_schemas.END_BODY,
          per_item=PerItem("services.incidents.end", "the stored incident names its building")),
    Route("GET", "/api/incidents/{incident_id}/activity", incidents.activity, Action.MANAGE_LINKS,
          Scope.PER_ITEM, "The incident link's live viewers now and its audited uses since the declaration",
          incidents_schemas.ACTIVITY,
          per_item=PerItem("services.incident_activity.incident_activity",
                           "the stored incident names its building: manage_links is needed there")),
    Route("GET", "/api/incidents/{incident_id}/door_events", incidents.door_events, Action.VIEW_STATUS,
          Scope.PER_ITEM, "Door events at the incident's building since its hold's start (for its responder too)",
          incidents_schemas.DOOR_EVENTS,
          per_item=PerItem("services.incident_activity.incident_door_events",
                           "the stored incident names its building (view_door_events there) and its own link")),
    # The appliance: USB/V4L2 cameras found by hot-plug, for the installer (recording them transcodes).
    Route("GET", "/api/devices/cameras", devices.available_cameras, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Local USB/V4L2 cameras, with whether they can be added (addable, why_not: recording one needs a hardware"
          " H.264 encoder)", schemas.AVAILABLE_CAMERAS),
    # --- camera setup (issue 15; api/camera_setup.py): reaches only [camera_setup] probe_networks; the service
    # audits each use (ok or failed, the address, never a password) ---
    Route("POST", "/api/setup/discover", camera_setup.discover, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Find ONVIF cameras on the appliance's network (WS-Discovery, listens timeout_s; audited"
          " camera_setup.discover)", camera_setup_schemas.DEVICES, body=camera_setup_schemas.DISCOVER_BODY),
    Route("POST", "/api/setup/scan", camera_setup.scan, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Scan an address range (<= 256 addresses) for ONVIF devices on other networks (audited camera_setup.scan;"
          " problem types: " + camera_setup_schemas.PROBLEM_TYPES + ")", camera_setup_schemas.DEVICES,
          body=camera_setup_schemas.SCAN_BODY),
    Route("POST", "/api/setup/probe", camera_setup.probe, Action.CONFIGURE_CAMERAS, Scope.APPLIANCE,
          "Probe one ONVIF device with credentials: clock, identity, profiles, stream URIs; the proposed streams"
          " opened once (codec, size, fps, GOP as received) and a snapshot (audited camera_setup.probe; problem"
          " types: " + camera_setup_schemas.PROBLEM_TYPES + ")", camera_setup_schemas.PROBE,
          body=camera_setup_schemas.PROBE_BODY),
    Route("GET", "/", pages.index_page, None, Scope.PUBLIC, "The web app (its pages are #fragments)", None,
          content_type="text/html", public_reason="static page; every datum it shows comes from the API"),
    Route("GET", "/assets/{path:.+}", pages.asset, None, Scope.PUBLIC, "The web app's built scripts and styles",
          None, content_type="application/octet-stream",
          public_reason="static files built from daemon/web; they hold no data"),
    Route("GET", "/live/{camera_id}", pages.live_page, None, Scope.PUBLIC,
          "The older live viewer page's address: 303 to the app's live page (/#/live/<camera>)", None,
          status=303, content_type="text/plain", public_reason="a redirect; the video comes through the API"),
    # --- bookmarks, evidence holds, timeline, storage report (issue 7; api/holds.py, api/timeline.py) ---
    Route("GET", "/api/cameras/{camera_id}/timeline", timeline.timeline, Action.VIEW_PLAYBACK, Scope.CAMERA_RANGE,
          "Recorded spans, gaps with their reasons, motion, bookmarks and holds of a camera in a range (<= 31 d)",
          holds_schemas.TIMELINE, query=RANGE, audit="playback.timeline"),
    Route("GET", "/api/bookmarks", holds.list_bookmarks, Action.BOOKMARK, Scope.PER_ITEM,
          "Bookmarks (of a camera or building, in a range) on footage the caller may see",
          holds_schemas.BOOKMARKS, query=(Param("camera", "only this camera's (and its building's)"),
                                             Param("building", "only this building's"), *RANGE),
          per_item=PerItem("services.bookmarks.list_bookmarks",
                           "a listing: each bookmark is shown only if the caller may see its camera or building")),
    Route("POST", "/api/bookmarks", holds.create_bookmark, Action.BOOKMARK, Scope.PER_ITEM,
          "Bookmark a moment or range of a camera or building", holds_schemas.BOOKMARK, status=201,
          body=holds_schemas.BOOKMARK_BODY,
          per_item=PerItem("services.bookmarks.create_bookmark",
                           "the body names the camera or building")),
    Route("DELETE", "/api/bookmarks/{bookmark_id}", holds.delete_bookmark, Action.BOOKMARK, Scope.PER_ITEM,
          "Delete a bookmark (its creator, or an admin of its building)", holds_schemas.BOOKMARK,
          per_item=PerItem("services.bookmarks.delete_bookmark",
                           "the stored bookmark names its creator and building: its creator, or an admin of the "
                           "building")),
    Route("GET", "/api/holds", holds.list_holds, Action.HOLD_EVIDENCE, Scope.PER_ITEM,
          "Evidence holds the caller may manage", holds_schemas.HOLDS,
          query=(Param("camera", "only holds covering this camera"),
                 Param("state", "all (default), active, expired or released"), *RANGE),
          per_item=PerItem("services.holds.list_holds",
                           "a listing: each hold is shown only if the caller may hold evidence of its camera")),
    Route("POST", "/api/holds", holds.create_hold, Action.HOLD_EVIDENCE, Scope.PER_ITEM,
          "Hold footage from retention (a reason is required): one hold per camera", holds_schemas.HOLDS_CREATED,
          status=201, body=holds_schemas.HOLD_BODY,
          per_item=PerItem("services.holds.create_hold",
                           "the body names cameras or buildings: hold_evidence is needed on every camera")),
    Route("POST", "/api/holds/{hold_id}/release", holds.release_hold, Action.HOLD_EVIDENCE, Scope.PER_ITEM,
          "Release a hold (a reason is required): retention may then delete its footage", holds_schemas.HOLD,
          body=holds_schemas.RELEASE_BODY,
          per_item=PerItem("services.holds.release_hold",
                           "the stored hold names its camera")),
    # --- updates (issue 20; services/updates.py, design/appliance.md "Updates") ---
    Route("POST", "/api/appliance/update", appliance_update.request_update, Action.UPDATE_APPLIANCE, Scope.APPLIANCE,
          "Update the appliance: download a signed bundle from a URL, check its signature, and hand it to the"
          " installer (RAUC, as root), which reboots into it as asked; refused (400) if the signature or"
          " download is bad, 409 while another update is pending", schemas.UPDATE_REQUESTED, status=202,
          body=schemas.UPDATE_BODY, audit="appliance.update"),
    Route("GET", "/api/appliance/update", appliance_update.update_status, Action.UPDATE_APPLIANCE, Scope.APPLIANCE,
          "The last update's state and the A/B slots (booted, rolled back)", schemas.UPDATE_STATUS),
    Route("GET", "/api/storage", storage.storage, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Storage report: disk, recordings per camera, bytes under holds, budget and warning level",
          holds_schemas.STORAGE),
    # --- full-text search over bookmarks and holds (issue 14; services/text_search.py) ---
    Route("GET", "/api/search", search.search, Action.BOOKMARK, Scope.PER_ITEM,
          "Full-text search over bookmarks (headline, notes) and evidence holds (reason, case id)",
          search_schemas.SEARCH,
          query=(Param("q", "words (each matched as a word prefix, all required), or an SQLite FTS5 query",
                       required=True),
                 Param("kind", "bookmark, hold, or both (default)"),
                 Param("limit", "at most this many results (1-200, default 50)")),
          per_item=PerItem("services.text_search.search_evidence",
                           "a search: each bookmark is shown only to who may play back its camera or building, "
                           "each hold only to who may manage it")),
    # --- evidence exports (issue 7): every camera of an export is checked (services/exports.py) ---
    Route("POST", "/api/exports", exports.create_export, Action.EXPORT, Scope.PER_ITEM,
          "Start a signed evidence export of cameras (or buildings) in a range; a reason is required", schemas.EXPORT,
          status=202, body=schemas.EXPORT_BODY,
          per_item=PerItem("services.exports.create_export",
                           "the body names cameras or buildings: export is needed on every camera")),
    Route("GET", "/api/exports", exports.list_exports, Action.EXPORT, Scope.PER_ITEM,
          "Evidence exports the caller may see, newest first", search_schemas.EXPORTS,
          query=(Param("state", "only exports in this state: queued, running, done or failed"),
                 Param("limit", "at most this many (1-500, default 100)")),
          per_item=PerItem("services.exports.list_exports",
                           "a listing: each export is shown only to who may export every one of its cameras")),
    Route("GET", "/api/exports/{export_id}", exports.export_status, Action.EXPORT, Scope.PER_ITEM,
          "An export's state and progress", schemas.EXPORT,
          per_item=PerItem("services.exports.export_status",
                           "the stored export names its cameras: export is needed on every one")),
    Route("GET", "/api/exports/{export_id}/download", exports.download, Action.EXPORT, Scope.PER_ITEM,
          "The finished export package (zip)", None, content_type="application/zip",
          per_item=PerItem("services.exports.download",
                           "the stored export names its cameras: export is needed on every one")),
    # --- incident reports (issue 16; api/incident_report.py): made when an incident ends; asked again here ---
    Route("POST", "/api/incidents/{incident_id}/report", incident_report.ask_report, Action.DECLARE_INCIDENT,
          Scope.PER_ITEM, "Ask (again) for an ended incident's report: a signed export package with its door events,"
          " bookmarks, video access and the video of its report cameras (202 with the export's id)",
          incident_report.REPORT, status=202,
          per_item=PerItem("services.incident_report.request_report",
                           "the stored incident names its building: declare_incident is needed there, and export"
                           " on each camera whose video the report carries")),
    # --- saved live-wall views (issue 14; api/wall_views.py): each user's own ---
    Route("GET", "/api/views", wall_views.list_views, Action.VIEW_STATUS, Scope.PER_ITEM,
          "The caller's saved live-wall views (cameras they may not watch are shown as empty tiles)",
          schemas.WALL_VIEWS,
          per_item=PerItem("services.wall_views.list_views",
                           "a user's own views, for a role with view_live; each camera is shown only if the "
                           "caller may watch it now")),
    Route("POST", "/api/views", wall_views.create_view, Action.VIEW_STATUS, Scope.PER_ITEM,
          "Save a live-wall view (a name, a grid of 1, 4, 9 or 16 tiles, a camera per tile)", schemas.WALL_VIEW,
          status=201, body=schemas.WALL_VIEW_BODY,
          per_item=PerItem("services.wall_views.create_view",
                           "the body names cameras: view_live is needed on every one")),
    Route("GET", "/api/views/{view_id}", wall_views.get_view, Action.VIEW_STATUS, Scope.PER_ITEM,
          "One of the caller's saved views", schemas.WALL_VIEW,
          per_item=PerItem("services.wall_views.get_view",
                           "the stored view names its owner (anyone else: not found) and its cameras")),
    Route("PUT", "/api/views/{view_id}", wall_views.update_view, Action.VIEW_STATUS, Scope.PER_ITEM,
          "Replace one of the caller's views (name, layout, cameras)", schemas.WALL_VIEW,
          body=schemas.WALL_VIEW_BODY,
          per_item=PerItem("services.wall_views.update_view",
                           "the stored view names its owner; the body names cameras: view_live on every one")),
    Route("DELETE", "/api/views/{view_id}", wall_views.delete_view, Action.VIEW_STATUS, Scope.PER_ITEM,
          "Delete one of the caller's views", schemas.WALL_VIEW,
          per_item=PerItem("services.wall_views.delete_view",
                           "the stored view names its owner: only they may delete it")),
    # --- floor plans and pins (issue 14; api/plans.py, services/plans.py) ---
    Route("GET", "/api/plans", plans.list_plans, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Floor plans the caller may see (the campus plan, then each building's floors in level order)",
          plans_schemas.PLANS, query=(Param("building", "only this building's floors"),)),
    Route("POST", "/api/plans", plans.create_plan, Action.CONFIGURE_CAMERAS, Scope.PER_ITEM,
          "Upload a floor plan (the body is the PNG or JPEG image; anything else, SVG included, is refused"
          " with 415)", plans_schemas.PLAN, status=201,
          query=(Param("building", "the building (none: the campus plan)"), Param("floor", "the floor's label"),
                 Param("level", "the floor's place in the floor switcher (a whole number)"),
                 Param("name", "what the plan is called")),
          body=plans_schemas.PLAN_IMAGE_BODY, body_content_type="image/png",
          per_item=PerItem("services.plans.create_plan",
                           "the query names the building (none: the campus, about every building)")),
    Route("GET", "/api/plans/{plan_id}/image", plans.plan_image, Action.VIEW_STATUS, Scope.PER_ITEM,
          "A floor plan's image, as uploaded (image/png or image/jpeg)", None, content_type="image/png",
          per_item=PerItem("services.plans.plan_image",
                           "the stored plan names its building: the caller must see that building")),
    Route("DELETE", "/api/plans/{plan_id}", plans.delete_plan, Action.CONFIGURE_CAMERAS, Scope.PER_ITEM,
          "Delete a floor plan and every pin on it", plans_schemas.PLAN,
          per_item=PerItem("services.plans.delete_plan",
                           "the stored plan names its building (none: the campus, about every building)")),
    Route("GET", "/api/doors", plans.list_doors, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Doors of the buildings the caller may see (for the map's pins), with the cameras they see of each",
          plans_schemas.DOORS),
    Route("GET", "/api/placements", plans.list_placements, Action.VIEW_STATUS, Scope.APPLIANCE,
          "Pins (cameras with their field of view, doors, buildings) on the plans the caller may see",
          plans_schemas.PLACEMENTS, query=(Param("plan", "only this plan's pins"),)),
    Route("PUT", "/api/placements", plans.place, Action.CONFIGURE_CAMERAS, Scope.PER_ITEM,
          "Place a camera, door or building on a plan, or move it there (one pin per item per plan)",
          plans_schemas.PLACEMENT, body=plans_schemas.PLACEMENT_BODY,
          per_item=PerItem("services.plans.place",
                           "the body names the plan and the item, each in a building")),
    Route("DELETE", "/api/placements/{placement_id}", plans.remove_placement, Action.CONFIGURE_CAMERAS,
          Scope.PER_ITEM, "Take a pin off its plan", plans_schemas.PLACEMENT,
          per_item=PerItem("services.plans.remove_placement",
                           "the stored pin names its plan and item, each in a building")),
)


async def _openapi() -> web.StreamResponse:
    return web.json_response(openapi_document(ROUTES))


def _endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        mark_serving_request()  # this request's task only: its index calls get the API's short wait
        now_ns = services.clock_ns()
        if route.scope is Scope.PUBLIC:
            ctx = Ctx(request, services, None, Via.NONE, now_ns)
        elif route.scope is Scope.WEBHOOK and door_events.is_signed(request):
            ctx = await door_events.signed_ctx(request, services, now_ns)  # the signature is the credential
        else:
            ctx = await authenticate(request, services, now_ns)
        target = Target()
        if route.scope is Scope.CAMERA:
            target = ctx.camera_target()
        elif route.scope is Scope.CAMERA_RANGE:
            target = cameras.playback_range(ctx)
        elif route.scope is Scope.CAMERA_MOMENT:
            target = playback.playback_moment(ctx)
        # A signed webhook request has no subject: its checked signature is its permission.
        if route.action is not None and ctx.via is not Via.SIGNATURE:  # PER_ITEM: then per item
            await ctx.require(route.action, target)
        response = await route.handler(ctx)
        if route.audit is not None or (ctx.is_link() and route.scope is not Scope.PUBLIC):
            what = (target.camera and f"camera:{target.camera}") or "appliance"
            detail = {} if target.start_ns is None else {"start_ns": target.start_ns, "end_ns": target.end_ns}
            await ctx.audit(route.audit or f"link.use {route.method} {route.path}", what, "ok", detail)
        return response

    return endpoint


def build_app(services: Services) -> web.Application:
    app = web.Application(middlewares=[problem_middleware], client_max_size=services.config.http.max_body_bytes)
    app[SERVICES] = services
    app.on_response_prepare.append(pages.security_headers)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _endpoint(route))
    return app
