"""The district (issue 17, design/district.md): what a hub token says and when an appliance takes
one; the MQTT topics sites publish on, the broker ACL the hub generates and the bridge each
appliance dials out with; the one-time enrolment code. Pure: keys, clocks and sockets are the
callers'.

Hub tokens (`vh1.<payload>.<signature>`, base64url without padding): the payload is canonical
JSON of `HubClaims`; the signature is Ed25519 by the hub's key over `TOKEN_CONTEXT + payload`.
An appliance accepts a token only when (`accept_claims`):
- it was issued by the hub it was enrolled with (`hub`) for this appliance (`site`, the audience),
- it is not expired and was not issued in the future, each allowing `skew_s` for clocks that
  differ (a site whose clock is off by more is refused with the difference named),
- its lifetime is at most `max_lifetime_s` (a hub cannot mint long-lived tokens),
- its role is one an appliance grants to district users and not above the site's `max_role`.
The appliance then decides and audits every request itself with the token's role and buildings
(core/permissions): a token carries no permission of its own.

Topics: the daemon publishes `district/<kind>` on the appliance's own broker; the bridge remaps
them to `vigil/<site>/<kind>` on the district broker (QoS 1, persistent session, TLS with the
site's certificate, dialing out). Health and inventory are retained. The hub's ACL lets each site
write only below `vigil/<site>/`, and only the hub read `vigil/#`.

Enrolment codes (`<id>-<secret>`, Crockford base32): the hub prints one per site; the appliance
sends the id in clear and proves it holds the secret by an HMAC over its request; the hub answers
with an HMAC over its answer, so each side knows the other holds the code before trusting keys
from it. A code works once and expires."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import AuthenticationError, BadRequestError
from vigil.core.permissions import Role
from vigil.core.timebase import NS_PER_SECOND

TOKEN_PREFIX = "vh1."  # noqa: S105 - a prefix, not a secret
TOKEN_CONTEXT = b"vigil-hub-token/1\n"
MAX_TOKEN_CHARS = 4096
SITE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
HUB_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Roles a hub may hand out; installers and door systems are local to a building.
DISTRICT_ROLES = (Role.DISTRICT_ADMIN, Role.BUILDING_ADMIN, Role.VIEWER)
_RANK = {Role.VIEWER: 0, Role.BUILDING_ADMIN: 1, Role.DISTRICT_ADMIN: 2}
# The appliance's local user for a hub user: ':' is not allowed in local names, so none collides.
SHADOW_PREFIX = "hub:"


class DistrictTokenError(AuthenticationError):
    """A hub token that is malformed, forged, expired, for another appliance or too powerful."""


@dataclass(frozen=True)
class HubClaims:
    hub: str  # the issuing hub's id
    site: str  # the audience: one appliance
    user: str  # the hub user's name
    role: Role
    buildings: tuple[str, ...]  # building ids at `site`; () with district_admin means all
    issued_ns: int
    expires_ns: int
    token_id: str  # unique per token: a sign-in with it is taken once

    @property
    def shadow_user(self) -> str:
        return SHADOW_PREFIX + self.user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise DistrictTokenError("malformed hub token: not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DistrictTokenError("malformed hub token: not base64url") from None


def claims_payload(claims: HubClaims) -> bytes:
    """Canonical JSON of the claims (what is signed)."""
    value = {"hub": claims.hub, "site": claims.site, "user": claims.user, "role": claims.role.value,
             "buildings": list(claims.buildings), "iat": claims.issued_ns, "exp": claims.expires_ns,
             "jti": claims.token_id}
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def signed_message(payload: bytes) -> bytes:
    return TOKEN_CONTEXT + payload


def join_token(payload: bytes, signature: bytes) -> str:
    return f"{TOKEN_PREFIX}{_b64(payload)}.{_b64(signature)}"


def split_token(token: str) -> tuple[bytes, bytes]:
    """(payload, signature) of a token; the signature is not checked here."""
    if len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        raise DistrictTokenError("not a hub token")
    parts = token[len(TOKEN_PREFIX):].split(".")
    if len(parts) != 2:
        raise DistrictTokenError("malformed hub token: expected payload.signature")
    return _unb64(parts[0]), _unb64(parts[1])


def is_hub_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def parse_claims(payload: bytes) -> HubClaims:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DistrictTokenError("malformed hub token: payload is not JSON") from None
    if not isinstance(value, dict):
        raise DistrictTokenError("malformed hub token: payload is not an object")
    try:
        buildings = value["buildings"]
        ints = (value["iat"], value["exp"])
        texts = (value["hub"], value["site"], value["user"], value["role"], value["jti"])
    except KeyError as missing:
        raise DistrictTokenError(f"malformed hub token: no {missing}") from None
    if (not all(isinstance(t, str) for t in texts) or not all(type(i) is int for i in ints)
            or not isinstance(buildings, list) or not all(isinstance(b, str) for b in buildings)):
        raise DistrictTokenError("malformed hub token: a claim has the wrong type")
    try:
        role = Role(value["role"])
    except ValueError:
        raise DistrictTokenError(f"hub token has an unknown role {value['role']!r}") from None
    return HubClaims(hub=value["hub"], site=value["site"], user=value["user"], role=role,
                     buildings=tuple(buildings), issued_ns=value["iat"], expires_ns=value["exp"],
                     token_id=value["jti"])


@dataclass(frozen=True)
class TokenPolicy:
    """What an appliance accepts from its hub ([district] in its configuration)."""

    hub: str
    site: str
    skew_s: float = 60.0
    max_lifetime_s: float = 900.0
    max_role: Role = Role.DISTRICT_ADMIN


def accept_claims(claims: HubClaims, policy: TokenPolicy, now_ns: int) -> None:
    """Raise DistrictTokenError naming why, unless this appliance may take the (verified) claims."""
    skew_ns = round(policy.skew_s * NS_PER_SECOND)
    if claims.hub != policy.hub:
        raise DistrictTokenError(f"hub token from hub {claims.hub!r}; this appliance is enrolled with {policy.hub!r}")
    if claims.site != policy.site:
        raise DistrictTokenError(f"hub token is for {claims.site!r}, not this appliance ({policy.site!r})")
    if claims.expires_ns <= claims.issued_ns:
        raise DistrictTokenError("hub token expires before it was issued")
    if claims.expires_ns - claims.issued_ns > round(policy.max_lifetime_s * NS_PER_SECOND):
        raise DistrictTokenError(f"hub token lives longer than the {policy.max_lifetime_s:g} s this appliance allows")
    if claims.issued_ns > now_ns + skew_ns:
        ahead_s = (claims.issued_ns - now_ns) / NS_PER_SECOND
        raise DistrictTokenError(f"hub token issued {ahead_s:.0f} s in this appliance's future: check both clocks")
    if claims.expires_ns + skew_ns <= now_ns:
        raise DistrictTokenError("hub token expired")
    if claims.role not in DISTRICT_ROLES:
        raise DistrictTokenError(f"a hub cannot grant role {claims.role.value}")
    if _RANK[claims.role] > _RANK[policy.max_role]:
        raise DistrictTokenError(f"hub token role {claims.role.value} is above this appliance's "
                                 f"max_role {policy.max_role.value}")
    if claims.role is not Role.DISTRICT_ADMIN and not claims.buildings:
        raise DistrictTokenError(f"hub token for role {claims.role.value} names no building")
    if not HUB_USER.fullmatch(claims.user) or not claims.token_id:
        raise DistrictTokenError("hub token has a malformed user or token id")


def local_buildings(claims: HubClaims, known: Iterable[str]) -> tuple[str, ...]:
    """The token's buildings that exist here (a district admin's: none, meaning all)."""
    if claims.role is Role.DISTRICT_ADMIN:
        return ()
    here = set(known)
    return tuple(sorted(b for b in set(claims.buildings) if b in here))


# --- topics ------------------------------------------------------------------------------------

class SiteTopic(enum.Enum):
    """What a site publishes, below `district/` locally and `vigil/<site>/` at the district."""

    HEALTH = "health"  # retained: state, cameras up/down counts, storage, version
    INVENTORY = "inventory"  # retained: buildings, cameras, doors, plans (ids and names), the appliance URL
    CAMERA = "camera"  # a camera went up or down
    DOOR_EVENT = "door_event"  # a flagged door event
    INCIDENT = "incident"  # declared, joined, ended
    STORAGE = "storage"  # a storage warning or its end
    BRIDGE = "bridge"  # "1"/"0": the bridge's own notification (its will says "0" when the link drops)


RETAINED = frozenset({SiteTopic.HEALTH, SiteTopic.INVENTORY, SiteTopic.BRIDGE})
LOCAL_PREFIX = "district/"
HUB_PREFIX = "vigil/"
MESSAGE_VERSION = 1
BRIDGE_QUEUE_MESSAGES = 100_000  # what a site's broker keeps for the bridge while the link is down


def local_topic(kind: SiteTopic) -> str:
    return LOCAL_PREFIX + kind.value


def hub_topic(site: str, kind: SiteTopic) -> str:
    return f"{HUB_PREFIX}{site}/{kind.value}"


def parse_hub_topic(topic: str) -> tuple[str, SiteTopic] | None:
    """(site, kind) of a district topic, or None for anything else."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] + "/" != HUB_PREFIX or not SITE_ID.fullmatch(parts[1]):
        return None
    try:
        return parts[1], SiteTopic(parts[2])
    except ValueError:
        return None


@dataclass(frozen=True)
class SiteMessage:
    """One message a site publishes (not BRIDGE, which is mosquitto's "0"/"1"). `boot` names the
    daemon's run and `seq` counts its messages from 1, so the hub sees order and gaps."""

    kind: SiteTopic
    site: str
    boot: str
    seq: int
    at_ns: int  # when it happened, the appliance's clock
    data: Mapping[str, Any]


def message_bytes(message: SiteMessage) -> bytes:
    return json.dumps({"v": MESSAGE_VERSION, "kind": message.kind.value, "site": message.site,
                       "boot": message.boot, "seq": message.seq, "at_ns": message.at_ns,
                       "data": dict(message.data)}, separators=(",", ":")).encode()


def parse_message(site: str, kind: SiteTopic, payload: bytes) -> SiteMessage:
    """A site's message as the hub reads it; BadRequestError naming what is wrong. The topic's
    site is the truth (the ACL made sure of it): a body claiming another site is refused."""
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("site message is not JSON") from None
    if not isinstance(value, dict) or value.get("v") != MESSAGE_VERSION:
        raise BadRequestError("site message has no version 1")
    if value.get("site") != site or value.get("kind") != kind.value:
        raise BadRequestError(f"site message names {value.get('site')!r}/{value.get('kind')!r} "
                              f"on topic of {site!r}/{kind.value!r}")
    boot, seq, at_ns, data = value.get("boot"), value.get("seq"), value.get("at_ns"), value.get("data")
    if not isinstance(boot, str) or type(seq) is not int or type(at_ns) is not int or not isinstance(data, dict):
        raise BadRequestError("site message has a malformed boot, seq, at_ns or data")
    return SiteMessage(kind, site, boot, seq, at_ns, data)


def broker_acl(sites: Iterable[str], hub_user: str) -> str:
    """The district broker's acl_file: each site (its certificate's CN is its user name) writes
    only its own topics; the hub reads all of them. Anything not listed is denied."""
    lines = ["# generated by `vigil hub`: every change of the site list rewrites it", "",
             f"user {hub_user}", f"topic read {HUB_PREFIX}#", ""]
    for site in sorted(set(sites)):
        if not SITE_ID.fullmatch(site):
            raise ValueError(f"bad site id {site!r}")
        lines += [f"user {site}", f"topic write {HUB_PREFIX}{site}/#", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class BridgeSettings:
    site: str
    broker_host: str  # the district broker, as the site reaches it
    broker_port: int
    ca_file: str  # the hub's CA: the broker's certificate must chain to it
    cert_file: str  # the site's certificate (CN = site id) and key
    key_file: str


def bridge_conf(settings: BridgeSettings) -> str:
    """A mosquitto conf.d file for the appliance's broker: dial out to the district broker and
    forward `district/#` as `vigil/<site>/#` at QoS 1, keeping a persistent session so that
    what is published while the link is down is delivered, in order, when it returns."""
    site = settings.site
    if not SITE_ID.fullmatch(site):
        raise ValueError(f"bad site id {site!r}")
    return "\n".join([
        "# generated by `vigil district enroll`: the bridge to the district hub's broker",
        f"connection vigil-district-{site}",
        f"address {settings.broker_host}:{settings.broker_port}",
        f"remote_clientid site-{site}",
        "cleansession false",
        "bridge_protocol_version mqttv311",
        f"bridge_cafile {settings.ca_file}",
        f"bridge_certfile {settings.cert_file}",
        f"bridge_keyfile {settings.key_file}",
        "bridge_insecure false",
        "try_private true",
        "notifications true",
        f"notification_topic {hub_topic(site, SiteTopic.BRIDGE)}",
        "restart_timeout 2 30",
        "keepalive_interval 30",
        f"topic # out 1 {LOCAL_PREFIX} {HUB_PREFIX}{site}/",
        # mosquitto keeps at most 1000 QoS 1 messages for a client by default, the bridge included,
        # and drops the rest: a long cut would lose events. Global in mosquitto; the appliance's
        # broker serves only the appliance. 100 000 messages of ~0.5 KB: ~50 MB at worst.
        f"max_queued_messages {BRIDGE_QUEUE_MESSAGES}",
        "",
    ])


# --- enrolment codes ---------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE = re.compile(r"^([0-9A-Z]{4})-([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$")
ENROL_REQUEST, ENROL_ANSWER = b"vigil-enrol-request/1\n", b"vigil-enrol-answer/1\n"


@dataclass(frozen=True)
class EnrolCode:
    code_id: str  # 4 characters, sent in clear
    secret: str  # 16 characters (80 bits), never sent

    @property
    def text(self) -> str:
        return f"{self.code_id}-{self.secret}"


def _crockford(data: bytes, chars: int) -> str:
    number = int.from_bytes(data, "big")
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(chars)))


def make_enrol_code(random_bytes: bytes) -> EnrolCode:
    """A code from 15 random bytes (the caller's `secrets.token_bytes(15)`)."""
    if len(random_bytes) != 15:
        raise ValueError("an enrolment code needs 15 random bytes")
    secret = _crockford(random_bytes[5:], 16)
    return EnrolCode(_crockford(random_bytes[:5], 8)[:4], "-".join(secret[i:i + 4] for i in range(0, 16, 4)))


def parse_enrol_code(text: str) -> EnrolCode:
    """The code as an installer types it: case, spaces and the look-alikes I/L/O are forgiven."""
    cleaned = text.strip().upper().replace(" ", "").translate(str.maketrans("ILO", "110"))
    match = _CODE.fullmatch(cleaned)
    if match is None:
        raise BadRequestError("an enrolment code looks like XXXX-XXXX-XXXX-XXXX-XXXX")
    return EnrolCode(match.group(1), match.group(2))


def enrol_mac(code: EnrolCode, context: bytes, body: bytes) -> str:
    """HMAC-SHA256 (hex) of a request (ENROL_REQUEST) or answer (ENROL_ANSWER) body under the code."""
    return hmac.new(code.secret.encode(), context + body, hashlib.sha256).hexdigest()


def enrol_mac_ok(code: EnrolCode, context: bytes, body: bytes, mac: str) -> bool:
    return hmac.compare_digest(enrol_mac(code, context, body).encode(), mac.encode("utf-8", "replace"))


# --- what the hub shows of a site ----------------------------------------------------------------

class Reachability(enum.Enum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"  # the bridge said "0" (its will), or nothing heard for too long
    NEVER_SEEN = "never_seen"


@dataclass(frozen=True)
class SiteState:
    reachability: Reachability
    since_ns: int | None  # when it became so
    reason: str


def site_state(bridge_up: bool | None, bridge_changed_ns: int | None, last_message_ns: int | None,
               now_ns: int, silent_after_s: float) -> SiteState:
    """Whether the hub can count on hearing from a site. Health is published at least every
    `silent_after_s / 3`, so silence longer than `silent_after_s` means unreachable even when the
    broker never saw the bridge drop (a half-open TCP connection)."""
    if bridge_up is None and last_message_ns is None:
        return SiteState(Reachability.NEVER_SEEN, None, "nothing heard from this site yet")
    if bridge_up is False:
        return SiteState(Reachability.UNREACHABLE, bridge_changed_ns, "the site's bridge disconnected")
    latest = max(t for t in (bridge_changed_ns, last_message_ns) if t is not None) if (
        bridge_changed_ns is not None or last_message_ns is not None) else None
    if latest is not None and now_ns - latest > round(silent_after_s * NS_PER_SECOND):
        return SiteState(Reachability.UNREACHABLE, latest, f"nothing heard for more than {silent_after_s:g} s")
    return SiteState(Reachability.REACHABLE, bridge_changed_ns, "the site's bridge is connected")


def token_buildings_for(scopes: Iterable[str], site: str) -> tuple[str, ...]:
    """A hub user's buildings at `site`, from their scopes `"<site>/<building>"`."""
    found = set()
    for scope in scopes:
        scope_site, _, building = scope.partition("/")
        if scope_site == site and building:
            found.add(building)
    return tuple(sorted(found))


def scope_sites(scopes: Iterable[str]) -> frozenset[str]:
    return frozenset(scope.partition("/")[0] for scope in scopes)

