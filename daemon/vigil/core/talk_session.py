"""A push-to-talk session's pure decisions (design/intercom.md): which codec to ask the browser
for, and when a session must end. Time is an argument (monotonic nanoseconds).

Rules:
- The browser's microphone comes as G.711 (aiortc ships it; every browser offers it). The
  device's own law is asked for first, the other one second: the browser picks the first it
  supports, so normally nothing is converted; when it sends the other law, the appliance
  re-encodes it (core/g711.py).
- A session ends, whichever comes first, when
  - the browser has not connected within `CONNECT_TIMEOUT_S` of the offer;
  - it connected but no audio arrived for `SILENCE_TIMEOUT_S` (a closed tab, a lost phone: a
    microphone that works sends 50 packets a second, silence included);
  - it lasted `MAX_PRESS_S` (a button held down by a book on a keyboard must not keep a school's
    loudspeaker open: the page ends a press at the same length);
  - the device dropped the session (`device_lost`, with the device's reason).
  Ends decided elsewhere: DELETE (the talker lets go), the browser's connection failing or
  closing, the credential no longer granting talk (credential_watch.py), the daemon stopping."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.core.media import AudioCodec
from vigil.core.timebase import NS_PER_SECOND

CONNECT_TIMEOUT_S = 15.0
SILENCE_TIMEOUT_S = 10.0
MAX_PRESS_S = 120.0

G711 = (AudioCodec.PCMU, AudioCodec.PCMA)
MIME_TYPES = {AudioCodec.PCMU: "audio/PCMU", AudioCodec.PCMA: "audio/PCMA"}


def browser_codecs(device: AudioCodec) -> tuple[AudioCodec, AudioCodec]:
    """The codecs to ask the browser for, best first: the device's law, then the other."""
    if device not in G711:
        raise ValueError(f"the device's codec {device.name} is not G.711")
    return (device, AudioCodec.PCMA if device is AudioCodec.PCMU else AudioCodec.PCMU)


_STATIC_PAYLOADS = {"0": AudioCodec.PCMU, "8": AudioCodec.PCMA}
_AUDIO_LINE = re.compile(r"m=audio \d+ \S+ (\d+)")


def answered_codec(sdp: str) -> AudioCodec | None:
    """The G.711 law an answer's first audio section names first (what the browser will send), or
    None when that is not G.711. Payload types 0 and 8 are PCMU and PCMA (RFC 3551) unless an
    rtpmap maps the type to something else; a dynamic type counts when its rtpmap says PCMU/PCMA."""
    payload = None
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if payload is None:
            match = _AUDIO_LINE.match(line)
            if match is not None:
                payload = match.group(1)
            continue
        if line.startswith("m="):
            break
        if line.startswith(f"a=rtpmap:{payload} "):
            encoding = line.split(" ", 1)[1].upper()
            return next((c for c, mime in MIME_TYPES.items() if encoding == f"{mime[6:]}/8000"), None)
    return None if payload is None else _STATIC_PAYLOADS.get(payload)


@dataclass(frozen=True)
class TalkTimes:
    """When a session was offered, connected (None: not yet) and last received audio (None: never)."""

    offered_ns: int
    connected_ns: int | None = None
    last_audio_ns: int | None = None


def why_talk_ends(times: TalkTimes, now_ns: int, device_lost: str | None = None) -> str | None:
    """None while the session may go on; else why it ends (for `talk.end`'s audit entry)."""
    if device_lost is not None:
        return f"the device dropped the session: {device_lost}"
    if now_ns - times.offered_ns >= MAX_PRESS_S * NS_PER_SECOND:
        return f"it reached the longest press ({MAX_PRESS_S:.0f} s)"
    if times.connected_ns is None:
        if now_ns - times.offered_ns >= CONNECT_TIMEOUT_S * NS_PER_SECOND:
            return f"the browser did not connect within {CONNECT_TIMEOUT_S:.0f} s"
        return None
    heard_ns = times.connected_ns if times.last_audio_ns is None else max(times.last_audio_ns, times.connected_ns)
    if now_ns - heard_ns >= SILENCE_TIMEOUT_S * NS_PER_SECOND:
        return f"no audio from the browser for {SILENCE_TIMEOUT_S:.0f} s"
    return None
