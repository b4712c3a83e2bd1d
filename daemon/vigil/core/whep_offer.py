"""WHEP offers: what the appliance accepts from a client's SDP before aiortc sees it.

Pure: the caller passes the raw body and the appliance's own ICE host addresses. Rules:

- The offer is at most `MAX_SDP_BYTES`, UTF-8 text, starts with `v=0`, and every line has the
  SDP form `<letter>=<value>`. Every `m=` line reads `m=<media> <port>[/<count>] <proto> <fmt>...`
  with a numeric port; one of them is `video`, and an `a=rtpmap` accepts `H264/90000` (the
  appliance forwards the camera's H.264 as it is).
- Audio sections are allowed (a viewer that wants the camera's sound offers one, recvonly). The
  codecs of the first `m=audio` section are listed for the caller (`ScreenedOffer.audio_codecs`,
  encoding names upper-cased, in the m-line's order, named by its `a=rtpmap` lines; the static
  payload types 0 = PCMU and 8 = PCMA also without one). An offer without video
  is still refused, with or without audio.
- It names an ICE username fragment and password (`a=ice-ufrag`, `a=ice-pwd`).
- Remote ICE candidates (`a=candidate` lines) are well formed (`<foundation> <component>
  <transport> <priority> <address> <port> typ <type> ...`, numbers where numbers belong) and at
  most `MAX_REMOTE_CANDIDATES` (a browser sends a handful; each candidate costs the appliance
  connectivity checks, and an mDNS name a multicast lookup).
- A well-formed candidate the appliance cannot use is dropped from the offer, not refused
  (browsers list some of those routinely). It is kept only if it is a UDP candidate (aioice
  speaks ICE over UDP only), its port is 1-65535, and its address is either an mDNS name
  (`<name>.local`, how browsers hide host addresses) or an IP address that is unicast (never
  unspecified, multicast, broadcast or reserved) in a family the appliance has a host address
  in, and whose scope the appliance shares: a loopback address only when one of the appliance's
  own ICE addresses is loopback (a test namespace, a viewer on the box itself), a link-local one
  only when one of its own is link-local in that family. So a viewer cannot make the appliance
  send connectivity checks to its own loopback services or across scopes it does not route,
  and other hostnames are never resolved on a client's behalf. A viewer whose candidates are
  all dropped can still connect: its own checks reach the appliance (peer-reflexive).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass

from vigil.core.errors import BadRequestError

MAX_SDP_BYTES = 64_000
MAX_REMOTE_CANDIDATES = 32

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LINE = re.compile(r"[a-z]=.*")
_MEDIA = re.compile(r"m=(\S+) (\d{1,5})(?:/\d{1,3})? (\S+)(?: \S+)+")
_CANDIDATE = re.compile(r"a=candidate:(\S{1,32}) (\d{1,3}) (\S{1,8}) (\d{1,10}) (\S{1,255}) (\d{1,5})"
                        r" typ (\S{1,8})(?: .*)?")
_RTPMAP = re.compile(r"a=rtpmap:(\d{1,3}) ([A-Za-z0-9_.-]{1,32})/\d+(?:/\d+)?")
_STATIC_AUDIO = {"0": "PCMU", "8": "PCMA"}
_MDNS_NAME = re.compile(r"[A-Za-z0-9-]{1,63}\.local")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


@dataclass(frozen=True)
class ScreenedOffer:
    """The offer as it goes to aiortc, how many remote candidates were dropped from it, and the
    codecs its first audio section accepts (empty: it asks for no sound)."""

    sdp: str
    candidates_kept: int
    candidates_dropped: int
    audio_codecs: tuple[str, ...] = ()


def screen_offer(body: bytes, local_addresses: Collection[str]) -> ScreenedOffer:
    """The offer with unusable candidates removed, or BadRequestError naming what is wrong.

    `local_addresses` are the appliance's own ICE host addresses (strings, as aioice lists them)."""
    if len(body) > MAX_SDP_BYTES:
        raise BadRequestError(f"SDP offer too large (at most {MAX_SDP_BYTES} bytes)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("malformed SDP offer: it is not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "v=0":
        raise BadRequestError("malformed SDP offer: it must start with v=0")
    own = _own_addresses(local_addresses)
    kept: list[str] = []
    candidates = dropped = 0
    has_video = has_h264 = has_ufrag = has_pwd = False
    section = ""  # the media of the current m= section
    audio_sections = 0
    audio_formats: list[str] = []  # the first audio section's payload types, in its order
    audio_names = dict(_STATIC_AUDIO)  # payload type -> encoding name, from its rtpmap lines
    for number, line in enumerate(lines, 1):
        if not _LINE.fullmatch(line):
            raise BadRequestError(f"malformed SDP offer: line {number} is not of the form <letter>=<value>")
        if line.startswith("m="):
            media = _MEDIA.fullmatch(line)
            if media is None or int(media.group(2)) > 65535:
                raise BadRequestError(f"malformed SDP offer: line {number} is not 'm=<media> <port> <proto> <formats>'")
            section = media.group(1)
            has_video = has_video or section == "video"
            audio_sections += section == "audio"
            if section == "audio" and audio_sections == 1:
                audio_formats = line.split()[3:]
        elif line.startswith("a=rtpmap:"):
            has_h264 = has_h264 or " H264/90000" in line
            rtpmap = _RTPMAP.fullmatch(line)
            if section == "audio" and audio_sections == 1 and rtpmap is not None:
                audio_names[rtpmap.group(1)] = rtpmap.group(2).upper()
        has_ufrag = has_ufrag or line.startswith("a=ice-ufrag:")
        has_pwd = has_pwd or line.startswith("a=ice-pwd:")
        if line.startswith("a=candidate:"):
            candidates += 1
            if candidates > MAX_REMOTE_CANDIDATES:
                raise BadRequestError(f"the SDP offer lists more than {MAX_REMOTE_CANDIDATES} ICE candidates"
                                      f" (the limit per offer)")
            if not usable_candidate(line, number, own):
                dropped += 1
                continue
        kept.append(line)
    if not has_video:
        raise BadRequestError("malformed SDP offer: it has no video section")
    if not has_h264:
        raise BadRequestError("the SDP offer does not accept H.264, which this appliance forwards as-is")
    if not (has_ufrag and has_pwd):
        raise BadRequestError("malformed SDP offer: it has no ICE username fragment and password")
    return ScreenedOffer("\r\n".join(kept) + "\r\n", candidates - dropped, dropped,
                        tuple(dict.fromkeys(audio_names[f] for f in audio_formats if f in audio_names)))


def _own_addresses(local_addresses: Collection[str]) -> list[IpAddress]:
    own = []
    for text in local_addresses:
        try:
            own.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            continue
    return own


def usable_candidate(line: str, number: int, own: Collection[IpAddress]) -> bool:
    """Whether the appliance keeps this `a=candidate` line (rules in the module docstring);
    BadRequestError when it is not a candidate line at all."""
    match = _CANDIDATE.fullmatch(line)
    if match is None:
        raise BadRequestError(f"malformed SDP offer: line {number} is not an ICE candidate"
                              " '<foundation> <component> <transport> <priority> <address> <port> typ <type>'")
    transport, host, port = match.group(3).lower(), match.group(5), int(match.group(6))
    if transport != "udp" or not 0 < port <= 65535:
        return False
    if _MDNS_NAME.fullmatch(host):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a hostname: never resolved on a client's behalf
        return False
    return reachable_scope(address, own)


def reachable_scope(address: IpAddress, own: Collection[IpAddress]) -> bool:
    """Whether `address` is a unicast address the appliance's own addresses `own` can sensibly
    send to: same family, and loopback/link-local only when the appliance has such an address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast or address.is_reserved or address == _BROADCAST:
        return False
    family = [a for a in own if a.version == address.version]
    if address.is_loopback:
        return any(a.is_loopback for a in family)
    if address.is_link_local:
        return any(a.is_link_local for a in family)
    return bool(family)
