"""What a discovered or probed ONVIF device means for the installer. Pure.

- WS-Discovery scopes -> name, hardware, manufacturer (`onvif://www.onvif.org/name/AXIS%20P1448`).
- XAddrs a device announces with `0.0.0.0` or no host are fixed with the address the answer came from.
- Of the media profiles, the largest-resolution H.264 one is proposed as the main stream (recorded)
  and the smallest H.264 one as the substream (motion, live walls).
- H.265 or B-frames: browsers play H.264 without B-frames over WebRTC; such a stream records fine
  but will not play live (the note says which stream will).
- Clock skew: WS-UsernameToken digests carry a creation time that cameras check (typically +-5 s),
  so a camera whose clock is off rejects a right password; the probe says so."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

SKEW_WARN_S = 5.0
_SCOPE_PREFIX = "onvif://www.onvif.org/"
_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def percent_decode(text: str) -> str:
    """`%20` -> space (UTF-8); a malformed escape is kept as it is."""
    out, i, raw = bytearray(), 0, text.encode("utf-8", "replace")
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and _is_hex(raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


def _is_hex(b: bytes) -> bool:
    return len(b) == 2 and all(c in b"0123456789abcdefABCDEF" for c in b)


@dataclass(frozen=True)
class ScopeInfo:
    name: str | None
    hardware: str | None
    manufacturer: str | None
    location: str | None


def parse_scopes(scopes: tuple[str, ...] | list[str]) -> ScopeInfo:
    """The first `name`, `hardware`, `MfrName`/`manufacturer` and `location` scope of each kind."""
    found: dict[str, str] = {}
    for scope in scopes:
        if not scope.lower().startswith(_SCOPE_PREFIX):
            continue
        kind, _, value = scope[len(_SCOPE_PREFIX):].partition("/")
        kind = kind.lower()
        kind = "manufacturer" if kind in ("mfrname", "manufacturer") else kind
        if kind in ("name", "hardware", "manufacturer", "location") and value and kind not in found:
            found[kind] = percent_decode(value.strip("/")).replace("_", " ").strip()[:120] or ""
    return ScopeInfo(found.get("name") or None, found.get("hardware") or None, found.get("manufacturer") or None,
                     found.get("location") or None)


@dataclass(frozen=True)
class Url:
    scheme: str
    userinfo: str | None
    host: str  # no brackets
    port: int | None
    rest: str  # path, query and fragment ("" or starting with /, ? or #)

    def text(self, *, with_userinfo: bool = False) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        user = f"{self.userinfo}@" if with_userinfo and self.userinfo else ""
        return f"{self.scheme}://{user}{host}{port}{self.rest}"


def split_url(text: str) -> Url | None:
    """scheme://[userinfo@]host[:port][rest], or None when it is not such a URL."""
    scheme, sep, tail = text.strip().partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return None
    cut = min([i for i in (tail.find(c) for c in "/?#") if i >= 0] or [len(tail)])
    authority, rest = tail[:cut], tail[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        userinfo, hostport = "", authority
    port: int | None = None
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:
        host, port_text = hostport, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    return Url(scheme.lower(), userinfo or None, host, port, rest)


def strip_credentials(url: str) -> str:
    """A URL as shown and stored: without `user:password@` (some cameras embed them in stream URIs)."""
    parsed = split_url(url)
    return url if parsed is None else parsed.text()


def fix_xaddr(xaddr: str, source_address: str) -> str:
    """An XAddr announcing `0.0.0.0`, `::` or no host gets the responder's address; one announcing
    loopback (`localhost`, 127.x, ::1) too, unless the answer itself came from loopback."""
    parsed = split_url(xaddr)
    if parsed is None:
        return xaddr
    loopback_names = ("localhost", "::1") + (() if not parsed.host.startswith("127.") else (parsed.host,))
    source_is_loopback = source_address.startswith("127.") or source_address == "::1"
    unspecified = ("", "0.0.0.0", "::")  # noqa: S104 - the address announced, not one bound
    if parsed.host in unspecified or (parsed.host in loopback_names and not source_is_loopback):
        return Url(parsed.scheme, None, source_address, parsed.port, parsed.rest).text()
    return parsed.text()


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    encoding: str  # H264, H265, JPEG, MPEG4 (as the device names it, upper case)
    width: int
    height: int
    fps: float | None


def is_h264(encoding: str) -> bool:
    return encoding.upper().replace(".", "") in ("H264", "AVC")


def is_h265(encoding: str) -> bool:
    return encoding.upper().replace(".", "") in ("H265", "HEVC")


@dataclass(frozen=True)
class Choice:
    main: Profile | None
    sub: Profile | None
    warnings: tuple[str, ...]


def choose_profiles(profiles: tuple[Profile, ...] | list[Profile]) -> Choice:
    """Main: the largest profile Vigil records (H.264 or H.265; H.264 when sizes tie), for evidence;
    sub: the smallest H.264 profile below it (live walls and motion; browsers play H.264 only).
    An H.265 main is flagged: it records, but live video comes from the substream."""
    video = [p for p in profiles if p.width > 0 and p.height > 0]
    if not video:
        return Choice(None, None, ("the device offers no video profile",))
    recordable = [p for p in video if is_h264(p.encoding) or is_h265(p.encoding)]
    warnings: list[str] = []
    if not recordable:
        main = max(video, key=lambda p: p.width * p.height)
        return Choice(main, None, (f"no H.264 or H.265 profile: {main.encoding} cannot be recorded as it is; set a"
                                   " profile to H.264 in the camera's web page",))
    main = max(recordable, key=lambda p: (p.width * p.height, is_h264(p.encoding), p.fps or 0))
    smaller = sorted((p for p in video if is_h264(p.encoding) and p.width * p.height < main.width * main.height),
                     key=lambda p: (p.width * p.height, -(p.fps or 0)))
    sub = smaller[0] if smaller else None
    if is_h265(main.encoding):
        warnings.append("the main stream is H.265: it records, but browsers do not play it live; "
                        + ("live video will use the H.264 substream" if sub else
                           "with no H.264 substream there is no live video (set one in the camera's web page)"))
    elif sub is None:
        warnings.append("no smaller H.264 profile for a substream: motion detection and live walls will use the"
                        " main stream (more CPU on the appliance)")
    return Choice(main, sub, tuple(warnings))


def advertised_vs_received(profile: Profile, codec: str, width: int, height: int) -> tuple[str, ...]:
    """A warning for each way a stream differs from what its profile advertises (the codec family,
    the picture size): cameras' profiles are not always what they send."""
    def family(name: str) -> str:
        return "H264" if is_h264(name) else "H265" if is_h265(name) else name

    found = []
    if family(profile.encoding) != family(codec):
        found.append(f"profile {profile.token} says {profile.encoding} but sends {codec}")
    if (width, height) != (profile.width, profile.height):
        found.append(f"profile {profile.token} says {profile.width}x{profile.height} but sends {width}x{height}")
    return tuple(found)


def live_note(codec: str, bframes: bool, is_main: bool, sub_ok: bool) -> tuple[bool, str]:
    """Whether a stream, as received, plays live in a browser (WebRTC), and what that means."""
    if is_h265(codec):
        tail = " The substream will play live instead." if is_main and sub_ok else ""
        return False, ("H.265: it records, but browsers do not play H.265 over WebRTC; this stream will not play"
                       f" live.{tail}")
    if not is_h264(codec):
        return False, f"{codec}: not H.264, so it will not play live in a browser"
    if bframes:
        tail = " The substream will play live instead." if is_main and sub_ok else ""
        return False, ("H.264 with B-frames: browsers play H.264 without B-frames over WebRTC; this stream records"
                       " fine but will not play live (turn B-frames off in the camera to watch it live)." + tail)
    return True, "H.264 without B-frames: plays live in a browser"


@dataclass(frozen=True)
class ClockReport:
    skew_s: float | None
    warning: str | None


def clock_report(camera_utc_s: float | None, appliance_utc_s: float) -> ClockReport:
    """Camera clock minus the appliance's; a warning above SKEW_WARN_S."""
    if camera_utc_s is None:
        return ClockReport(None, "the camera did not say its time; if a right password is refused, check its clock")
    skew = round(camera_utc_s - appliance_utc_s, 1)
    if abs(skew) <= SKEW_WARN_S:
        return ClockReport(skew, None)
    side = "ahead of" if skew > 0 else "behind"
    return ClockReport(skew, f"the camera's clock is {abs(skew):.0f} s {side} the appliance's: ONVIF passwords"
                             " (WS-UsernameToken digests) carry the time and cameras refuse them when clocks differ;"
                             " set the camera to use NTP (the appliance's address works)")


def propose_camera_id(name: str | None, host: str) -> str:
    """A config id from the device's name (lower-case letters, digits, - and _), else from its address."""
    base = _ID_UNSAFE.sub("-", (name or "").lower()).strip("-_")[:40]
    if not base:
        base = "cam-" + _ID_UNSAFE.sub("-", host.lower()).strip("-")
    if not base[0].isalnum():
        base = "cam-" + base
    return base[:63]


RTSP_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}


def _host_key(host: str) -> str:
    """A host as compared: an address in its canonical form, a name in lower case."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def configured_by_host(cameras: tuple[tuple[str, str], ...], device_address: str) -> str | None:
    """The first configured camera (id, url) whose URL names the host of `device_address`
    ("host:port", "[v6]:port"), or None. A mark for discovery and scans: an NVR's channels share one
    host, so it is a hint; the probe's `already_recorded` is exact."""
    host = _host_key(device_address.rsplit(":", 1)[0].strip("[]"))
    for camera_id, url in cameras:
        parsed = split_url(url)
        if parsed is not None and _host_key(parsed.host) == host:
            return camera_id
    return None


def _stream_key(url: str) -> tuple[str, str, int | None, str] | None:
    """What makes two stream URLs the same stream: no credentials, the host's case, a default port."""
    parsed = split_url(url)
    if parsed is None:
        return None
    port = parsed.port if parsed.port is not None else RTSP_DEFAULT_PORTS.get(parsed.scheme)
    return parsed.scheme, _host_key(parsed.host), port, parsed.rest


def already_recorded(stream_urls: tuple[str, ...], cameras: tuple[tuple[str, str, str | None], ...]
                     ) -> tuple[str, ...]:
    """A warning per probed stream that a configured camera (id, url, substream_url) already uses:
    saving it again would record the same picture twice (and count twice against the disk)."""
    used: dict[tuple[str, str, int | None, str], str] = {}
    for camera_id, url, substream_url in cameras:
        for role, text in (("records it", url), ("shows it live", substream_url)):
            key = None if text is None else _stream_key(text)
            if key is not None:
                used.setdefault(key, f"camera {camera_id} {role}")
    warnings = []
    for url in stream_urls:
        key = _stream_key(url)
        if key is not None and key in used:
            warnings.append(f"the stream {strip_credentials(url)} is already configured: {used[key]}")
    return tuple(warnings)
