"""`[[buildings]]` and `[[cameras]]`: every camera in a declared building, its URLs without
credentials (those go in `username`/`password`, which never appear in a message), its transport and
motion mode checked here, where the text comes in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from vigil.config.model import BuildingConfig, CameraConfig
from vigil.config.reader import NUMBER, Reader, id_check, positive
from vigil.core.camera_modes import IngestPath, MotionMode, TalkPath, Transport

CAMERA_KEYS = {"id", "building", "name", "url", "substream_url", "username", "password", "transport", "timeout_s",
               "enabled", "motion", "motion_sensitivity", "motion_mask", "record_audio", "talk", "talk_url",
               "ingest"}


def rtsp_url_check(value: str) -> str | None:
    return _url_check(value, ("rtsp", "rtsps"))


def http_url_check(value: str) -> str | None:
    return _url_check(value, ("http", "https"))


def _url_check(value: str, schemes: tuple[str, str]) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as error:
        return f"not a valid URL ({error})"
    if parts.scheme not in schemes:
        return f"must be an {schemes[0]}:// or {schemes[1]}:// URL"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials; put them in 'username' and 'password'"
    if not parts.hostname:
        return "has no host"
    return None


def read_buildings(r: Reader, raw: dict[str, Any]) -> tuple[BuildingConfig, ...]:
    buildings: list[BuildingConfig] = []
    for key, item in r.items(raw, "buildings"):
        r.table(item, key, {"id", "name"})
        building_id = r.get(item, key, "id", str, required=True, check=id_check)
        if building_id in {b.id for b in buildings}:
            r.problem(f"{key}.id", f"duplicate building id {building_id!r}")
        buildings.append(BuildingConfig(id=building_id or "", name=r.get(item, key, "name", str, building_id or "")))
    return tuple(buildings)


def _read_rects(r: Reader, item: dict[str, Any], key: str) -> list[tuple[float, float, float, float]]:
    raw = item.get("motion_mask", [])
    rects: list[tuple[float, float, float, float]] = []
    if not isinstance(raw, list):
        r.problem(key, "expected a list of [x0, y0, x1, y1] rectangles")
        return rects
    for i, rect in enumerate(raw):
        ok = (isinstance(rect, list) and len(rect) == 4
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in rect))
        if not ok or not (0 <= rect[0] < rect[2] <= 1 and 0 <= rect[1] < rect[3] <= 1):
            r.problem(f"{key}[{i}]", "expected [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
            continue
        rects.append((float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3])))
    return rects


def read_cameras(r: Reader, raw: dict[str, Any], building_ids: set[str]) -> tuple[CameraConfig, ...]:
    cameras: list[CameraConfig] = []
    seen: set[str] = set()
    for key, item in r.items(raw, "cameras"):
        r.table(item, key, CAMERA_KEYS)
        camera_id = r.get(item, key, "id", str, required=True, check=id_check)
        building = r.get(item, key, "building", str, required=True)
        if building is not None and building not in building_ids:
            r.problem(f"{key}.building", f"{building!r} is not a building id declared in [[buildings]]")
        if camera_id is not None:
            if camera_id in seen:
                r.problem(f"{key}.id", f"duplicate camera id {camera_id!r}")
            seen.add(camera_id)
        username = r.get(item, key, "username", str)
        password = r.get(item, key, "password", str)
        if (username is None) != (password is None):
            r.problem(key, "set both 'username' and 'password', or neither")
        camera = CameraConfig(
            id=camera_id or "",
            building=building or "",
            name=r.get(item, key, "name", str, camera_id or ""),
            url=r.get(item, key, "url", str, "", required=True, check=rtsp_url_check),
            substream_url=r.get(item, key, "substream_url", str, check=rtsp_url_check),
            username=username,
            password=password,
            transport=r.choice(item, key, "transport", Transport, Transport.TCP, "must be 'tcp' or 'udp'"),
            timeout_s=float(r.get(item, key, "timeout_s", NUMBER, 5.0, check=positive)),
            enabled=r.get(item, key, "enabled", bool, True),
            motion=r.choice(item, key, "motion", MotionMode, MotionMode.AUTO,
                            "must be auto, substream, keyframes or off"),
            motion_sensitivity=float(r.get(item, key, "motion_sensitivity", NUMBER, 0.5,
                                           check=lambda v: None if 0 <= v <= 1 else "must be between 0 and 1")),
            motion_mask=tuple(_read_rects(r, item, f"{key}.motion_mask")),
            record_audio=r.get(item, key, "record_audio", bool, False),
            talk=r.choice(item, key, "talk", TalkPath, TalkPath.OFF, "must be off, onvif or vapix"),
            talk_url=r.get(item, key, "talk_url", str),
            ingest=r.choice(item, key, "ingest", IngestPath, IngestPath.NATIVE, "must be ffmpeg or native"),
        )
        if camera.talk_url is not None:
            if camera.talk is TalkPath.OFF:
                r.problem(f"{key}.talk_url", "needs talk = \"onvif\" or \"vapix\"")
            else:
                problem = (rtsp_url_check if camera.talk is TalkPath.ONVIF else http_url_check)(camera.talk_url)
                if problem:
                    r.problem(f"{key}.talk_url", problem)
        if camera.motion is MotionMode.SUBSTREAM and camera.substream_url is None:
            r.problem(f"{key}.motion", "substream mode needs substream_url")
        cameras.append(camera)
    return tuple(cameras)
