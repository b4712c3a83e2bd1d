"""Reading the configuration file: TOML parsed once, every section read, every problem reported
together with the file and its key path (config.reader), or a frozen Config (config.model)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from vigil.config.model import Config
from vigil.config.reader import Reader
from vigil.config.sections.appliance import read_appliance, read_log
from vigil.config.sections.camera_setup import read_camera_setup
from vigil.config.sections.cameras import read_buildings, read_cameras
from vigil.config.sections.district import read_district
from vigil.config.sections.door_adapters import read_door_adapters
from vigil.config.sections.doors import read_door_events, read_doors
from vigil.config.sections.http import read_access, read_http
from vigil.config.sections.incidents import read_incidents
from vigil.config.sections.storage import read_storage
from vigil.config.sections.webrtc import read_webrtc
from vigil.core.errors import ConfigError

SECTIONS = {"storage", "buildings", "cameras", "log", "http", "access", "webrtc", "appliance", "doors", "door_events",
            "door_adapters", "camera_setup", "incidents", "district"}


def parse_config(text: str, source: Path) -> Config:
    """Parse and validate TOML text; `source` names the file in messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}", (("", f"not valid TOML: {error}"),)) from None
    r = Reader(source)
    r.table(raw, "", SECTIONS)
    storage = read_storage(r, raw.get("storage"))
    buildings = read_buildings(r, raw)
    cameras = read_cameras(r, raw, {b.id for b in buildings})
    log = read_log(r, raw.get("log", {}))
    http = read_http(r, raw.get("http"))
    access = read_access(r, raw.get("access"))
    webrtc = read_webrtc(r, raw.get("webrtc"))
    appliance = read_appliance(r, raw.get("appliance"))
    doors = read_doors(r, raw, {b.id for b in buildings}, {c.id: c.building for c in cameras})
    door_events = read_door_events(r, raw.get("door_events"))
    door_adapters = read_door_adapters(r, raw.get("door_adapters"))
    camera_setup = read_camera_setup(r, raw.get("camera_setup"))
    incidents = read_incidents(r, raw.get("incidents"))
    district = read_district(r, raw.get("district"))
    if r.problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(r.problems), tuple(r.keyed))
    return Config(source=source, storage=storage, buildings=buildings, cameras=cameras, log=log, http=http,
                  access=access, webrtc=webrtc, appliance=appliance, doors=doors, door_events=door_events,
                  door_adapters=door_adapters, camera_setup=camera_setup, incidents=incidents,
                  district=district)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read configuration: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config(text, path)
