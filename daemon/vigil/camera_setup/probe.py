"""Probe one ONVIF device: its clock, identity, services, media profiles and stream URIs, then
open the proposed main and sub streams once each to report what they really send.

Order matters for the messages: GetSystemDateAndTime needs no credentials (so a device that does
not answer it is unreachable or not ONVIF, never "wrong password"), GetDeviceInformation is the
first authenticated call (a refusal there is the password), then the services and media."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import zeep.exceptions

from vigil.camera_setup.media2 import MEDIA2_NS, media2_profiles
from vigil.camera_setup.model import Clock, DeviceInfo, Live, ProbeResult, ProfileReport, Proposal
from vigil.camera_setup.onvif_client import GuardedCamera, classify
from vigil.camera_setup.reach import pin_url, resolve_allowed
from vigil.camera_setup.stream_check import Received, inspect_stream
from vigil.core.errors import (
    AddressNotAllowedError,
    CameraSetupError,
    NotOnvifError,
    NotVideoError,
    OnvifUnauthorizedError,
    RtspUnauthorizedError,
)
from vigil.core.onvif_probe import (
    Profile,
    advertised_vs_received,
    choose_profiles,
    clock_report,
    live_note,
    propose_camera_id,
    strip_credentials,
)
from vigil.core.probe_networks import IPNetwork

T = TypeVar("T")
STREAM_READ_S = 2.5  # at most this long reading a stream (enough for a 2 s GOP)


@dataclass(frozen=True)
class ProbeTarget:
    host: str
    port: int
    username: str | None
    password: str | None


async def probe_device(target: ProbeTarget, networks: tuple[IPNetwork, ...], timeout_s: float,
                       now: Callable[[], dt.datetime]) -> ProbeResult:
    address = await resolve_allowed(target.host, networks)
    camera = GuardedCamera(address, target.port, target.username, target.password, networks, timeout_s)
    try:
        return await _probe(camera, target, networks, timeout_s, now)
    finally:
        await camera.close()


async def _call(camera: GuardedCamera, what: str, timeout_s: float, call: Callable[[], Awaitable[T]]) -> T:
    # not optional: a fault raises, so what comes back is the call's own value
    return await _ask(camera, what, timeout_s, call, optional=False)  # type: ignore[return-value]


async def _optional(camera: GuardedCamera, what: str, timeout_s: float,
                    call: Callable[[], Awaitable[T]]) -> T | None:
    """An optional operation: a SOAP fault (not implemented) is None; anything else still raises."""
    return await _ask(camera, what, timeout_s, call, optional=True)


async def _ask(camera: GuardedCamera, what: str, timeout_s: float, call: Callable[[], Awaitable[T]], *,
               optional: bool) -> T | None:
    """One SOAP operation within timeout_s, its failure told as one of the contract's errors."""
    try:
        async with asyncio.timeout(timeout_s):
            return await call()
    except asyncio.CancelledError:
        raise
    except zeep.exceptions.Fault as fault:
        if optional:
            return None
        raise classify(fault, camera.last_status, what) from None
    except CameraSetupError:
        raise
    except Exception as error:
        raise classify(error, camera.last_status, what) from None


async def _probe(camera: GuardedCamera, target: ProbeTarget, networks: tuple[IPNetwork, ...], timeout_s: float,
                 now: Callable[[], dt.datetime]) -> ProbeResult:
    devicemgmt = await _call(camera, "loading the ONVIF device service", timeout_s, camera.create_devicemgmt_service)
    asked_at = now()
    sys_time = await _optional(camera, "GetSystemDateAndTime", timeout_s,
                               devicemgmt.authless_GetSystemDateAndTime)
    if sys_time is None and camera.last_status is None:
        raise NotOnvifError("the device did not answer GetSystemDateAndTime")
    camera_utc = _utc(sys_time)
    report = clock_report(camera_utc.timestamp() if camera_utc else None, asked_at.timestamp())
    clock = Clock(camera_utc.isoformat().replace("+00:00", "Z") if camera_utc else None, report.skew_s, report.warning)
    try:
        info = await _call(camera, "GetDeviceInformation", timeout_s, devicemgmt.GetDeviceInformation)
    except OnvifUnauthorizedError as error:
        if report.warning is None:
            raise
        raise OnvifUnauthorizedError(f"{error} — and {report.warning}") from None
    device = DeviceInfo(_text(info, "Manufacturer"), _text(info, "Model"), _text(info, "FirmwareVersion"),
                        _text(info, "SerialNumber"), _text(info, "HardwareId"))
    await _call(camera, "GetServices/GetCapabilities", timeout_s, camera.update_xaddrs)
    media2 = MEDIA2_NS in camera.xaddrs
    if "http://www.onvif.org/ver10/media/wsdl" not in camera.xaddrs:
        raise NotOnvifError("the device offers no ONVIF media service (no stream addresses to read)")
    media = await _call(camera, "loading the media service", timeout_s, camera.create_media_service)
    warnings: list[str] = []
    if report.warning:
        warnings.append(report.warning)
    profiles: list[Profile] = []
    uris: dict[str, tuple[str | None, str | None]] = {}
    if media2:  # where H.265 is said; Media1 stays the fallback
        try:
            # the guarded POST (onvif_client.py) of the device service, for the hand-built Media2 requests
            guarded_post = devicemgmt.transport._post_internal
            for found, stream_uri, snapshot_uri in await media2_profiles(camera, guarded_post,
                                                                         camera.xaddrs[MEDIA2_NS], timeout_s):
                profiles.append(found)
                uris[found.token] = (stream_uri, snapshot_uri)
        except (OnvifUnauthorizedError, AddressNotAllowedError):
            raise
        except (CameraSetupError, TimeoutError) as error:
            warnings.append(f"Media2 did not answer ({error}); profiles read through Media1")
            profiles, uris = [], {}
    raw_profiles = [] if profiles else await _call(camera, "GetProfiles", timeout_s, media.GetProfiles) or []
    for raw in raw_profiles:
        profile = _profile(raw)
        if profile is None:
            continue
        profiles.append(profile)
        setup = {"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                 "ProfileToken": profile.token}
        stream = await _optional(camera, "GetStreamUri", timeout_s, partial(media.GetStreamUri, setup))
        snapshot = await _optional(camera, "GetSnapshotUri", timeout_s,
                                   partial(media.GetSnapshotUri, {"ProfileToken": profile.token}))
        uris[profile.token] = (_text(stream, "Uri"), _text(snapshot, "Uri"))
    audio_out = await _optional(camera, "GetAudioOutputConfigurations", timeout_s,
                                media.GetAudioOutputConfigurations)
    backchannel = bool(audio_out)
    if backchannel:
        warnings.append("the camera has an audio output (ONVIF backchannel, RTSP 'Require: "
                        "www.onvif.org/ver20/backchannel'); Vigil records its video and does not talk to it")
    choice = choose_profiles(profiles)
    warnings.extend(choice.warnings)
    opened = await _open_streams(choice.main, choice.sub, uris, target, networks, timeout_s)
    reports = []
    sub_ok = False
    if choice.sub is not None and isinstance(opened.get(choice.sub.token), Received):
        sub_received = opened[choice.sub.token]
        assert isinstance(sub_received, Received)
        sub_ok = live_note(sub_received.codec, sub_received.bframes, False, False)[0]
    for profile in profiles:
        stream_url, snapshot_url = uris.get(profile.token, (None, None))
        got = opened.get(profile.token)
        received = got if isinstance(got, Received) else None
        problem = got.args[0] if isinstance(got, CameraSetupError) else None
        if stream_url is None:
            problem = problem or "the device gave no RTSP address for this profile"
        if received is not None:
            ok, note = live_note(received.codec, received.bframes, profile == choice.main, sub_ok)
            warnings.extend(advertised_vs_received(profile, received.codec, received.width, received.height))
        else:
            ok, note = live_note(profile.encoding, False, profile == choice.main, sub_ok)
        reports.append(ProfileReport(profile.token, profile.name, profile.encoding, profile.width, profile.height,
                                     profile.fps, strip_credentials(stream_url) if stream_url else None,
                                     strip_credentials(snapshot_url) if snapshot_url else None, received, problem,
                                     Live(ok, note)))
    _raise_when_nothing_plays(choice.main, opened)
    proposal = None
    if choice.main is not None and uris.get(choice.main.token, (None, None))[0]:
        main_url = uris[choice.main.token][0]
        sub_url = uris.get(choice.sub.token, (None, None))[0] if choice.sub else None
        name = " ".join(filter(None, (device.manufacturer, device.model))) or target.host
        proposal = Proposal(strip_credentials(main_url or ""), strip_credentials(sub_url) if sub_url else None, name,
                            target.username, propose_camera_id(device.model, target.host))
    jpeg = next((r.received.jpeg for r in reports if r.received is not None and r.received.jpeg), None)
    return ProbeResult(device, clock, media2, backchannel, tuple(reports), proposal, jpeg, tuple(warnings))


async def _open_streams(main: Profile | None, sub: Profile | None, uris: dict[str, tuple[str | None, str | None]],
                        target: ProbeTarget, networks: tuple[IPNetwork, ...],
                        timeout_s: float) -> dict[str, Received | CameraSetupError]:
    """Main and sub opened at once, each on its own thread, each once."""
    async def one(profile: Profile) -> Received | CameraSetupError:
        url = uris.get(profile.token, (None, None))[0]
        if not url:
            return NotVideoError("no stream address")
        try:
            pinned = await pin_url(url, networks)
            # the open, a first keyframe and the reading each have their bound (stream_check.py)
            async with asyncio.timeout(2 * timeout_s + STREAM_READ_S + 1):
                return await asyncio.to_thread(inspect_stream, pinned, target.username, target.password, "tcp",
                                               timeout_s, STREAM_READ_S)
        except CameraSetupError as error:
            return error
        except TimeoutError:
            return NotVideoError("the stream sent no picture in time")
        except Exception as error:
            return NotVideoError(f"the stream could not be read ({type(error).__name__})")

    chosen = [p for p in (main, sub) if p is not None]
    results = await asyncio.gather(*(one(p) for p in chosen))
    return {p.token: r for p, r in zip(chosen, results, strict=True)}


def _raise_when_nothing_plays(main: Profile | None, opened: dict[str, Received | CameraSetupError]) -> None:
    """The probe fails as a whole only when the main stream fails for a reason the installer must act on."""
    if main is None:
        return
    got = opened.get(main.token)
    if isinstance(got, RtspUnauthorizedError):
        raise RtspUnauthorizedError(f"ONVIF accepted the password, but the stream ({main.token}) refused it (RTSP"
                                    " 401): the camera may keep separate RTSP users")
    if isinstance(got, NotVideoError):
        raise NotVideoError(f"the main stream ({main.token}) is not video: {got.args[0]}")


def _profile(raw: Any) -> Profile | None:
    encoder = getattr(raw, "VideoEncoderConfiguration", None)
    if encoder is None:
        return None
    resolution = getattr(encoder, "Resolution", None)
    rate = getattr(encoder, "RateControl", None)
    fps = getattr(rate, "FrameRateLimit", None) if rate is not None else None
    return Profile(str(raw.token), str(getattr(raw, "Name", "") or raw.token), str(encoder.Encoding or "").upper(),
                   int(getattr(resolution, "Width", 0) or 0), int(getattr(resolution, "Height", 0) or 0),
                   float(fps) if fps else None)


def _text(obj: Any, name: str) -> str | None:
    value = getattr(obj, name, None) if obj is not None else None
    return str(value).strip()[:200] or None if value is not None else None


def _utc(sys_time: Any) -> dt.datetime | None:
    try:
        utc = sys_time.UTCDateTime
        return dt.datetime(utc.Date.Year, utc.Date.Month, utc.Date.Day, utc.Time.Hour, utc.Time.Minute,
                           utc.Time.Second, tzinfo=dt.UTC)
    except (AttributeError, TypeError, ValueError):
        return None
