"""`vigil demo`: the whole recording path against a built-in synthetic camera.

Starts the simulated camera (GStreamer's RTSP server, loopback only) as a child process, writes
a configuration into a data dir (with a sample campus plan, the demo camera placed on it), and runs
the daemon on it exactly as `vigil run` would.

In a district (`--district-hub URL --enrol-code CODE`, what `vigil hub demo` starts for each
building): the data dir's appliance enrols with the hub through `vigil district enroll` (once per
data dir), its own mosquitto runs on a free loopback port with the bridge conf the enrolment wrote,
and the daemon publishes to it (`[district]`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.app import Daemon
from vigil.config import load_config
from vigil.core.errors import ConflictError, VigilError
from vigil.core.placements import CAMPUS_FLOOR, PlanRequest
from vigil.demo_broker import broker_conf, free_port, start_broker, stop
from vigil.district.state import district_files
from vigil.plans import sample
from vigil.services import accounts, plans
from vigil.services.caller import Caller, Via
from vigil.services.env import ServiceEnv, service_env
from vigil.sim.door_panel import run_panel
from vigil.sim.onvif_device import OnvifDevice, start_device

log = logging.getLogger(__name__)

# With sound (a 440 Hz tone) and a loudspeaker (GStreamer's ONVIF backchannel): the intercom, issue 18.
DEMO_CAMERA = "name=demo,width=640,height=360,fps=15,gop=15,clock=1,pattern=ball,audio=pcmu,backchannel=pcmu"
# The camera an installer adds in the demo (Admin -> Cameras): streams of a simulated ONVIF device
# (vigil/sim/onvif_device.py, replaying an Axis camera's answers), not yet in the configuration.
NEW_CAMERAS = ("name=lobby,width=640,height=360,fps=15,gop=15,pattern=smpte75",
               "name=lobby-sub,width=320,height=180,fps=10,gop=10,pattern=smpte75")
# The simulated camera's password: once the camera is added it is a secret the log redacts, so a word
# that is also an id ("demo") would be masked in every log line naming the demo building.
ONVIF_USER, ONVIF_PASSWORD = "admin", "camera-pw-4821"

CONFIG_TEMPLATE = """\
# Written by `vigil demo`.
[storage]
path = "{data}"
max_bytes = 2_000_000_000
segment_duration_s = 10

[[buildings]]
id = "demo"
name = "{building_name}"

[[cameras]]
id = "demo-cam"
building = "demo"
name = "Synthetic demo camera"
url = "rtsp://127.0.0.1:{port}/demo"
talk = "onvif"  # push-to-talk through its (simulated) loudspeaker

[http]
listen = "127.0.0.1:{http_port}"

# A simulated access-control panel (vigil/sim/door_panel.py) posts signed events for this door.
[[doors]]
id = "demo-door"
name = "Main Entrance"
building = "demo"
cameras = ["demo-cam"]
access_points = [{{ source = "webhook", id = "demo-reader", direction = "in" }}]

[door_events]
webhook_secret = "{door_secret}"

# Camera setup may reach the camera networks and, for the demo's simulated ONVIF camera, loopback.
[camera_setup]
probe_networks = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]
"""
DISTRICT_TEMPLATE = """
# The district hub this demo appliance enrolled with: its own broker (below) bridges to the hub's.
[district]
broker_host = "127.0.0.1"
broker_port = {broker_port}
bridge_conf_path = "{bridge_conf}"
public_url = "{url}"
health_interval_s = 10
"""
DOOR_PERIOD_S = 30.0


@dataclass(frozen=True)
class DemoDistrict:
    """`vigil demo --district-hub URL --enrol-code CODE [--site-id ID]`; the code only once per data dir."""

    hub_url: str
    enrol_code: str | None  # None: the data dir enrolled at an earlier run
    site_id: str | None = None


def enrolled(data: Path) -> bool:
    """Whether a demo data dir's appliance enrolled with a hub (at an earlier run)."""
    return district_files(data).hub_json.exists()


def _start_camera() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil.sim.camera_server", "--port", "0", "--bind", "127.0.0.1",
         "--camera", DEMO_CAMERA, *(arg for spec in NEW_CAMERAS for arg in ("--camera", spec))],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        proc.kill()
        raise VigilError("the demo camera did not start (are the GStreamer packages from the README installed?)")
    return proc, int(line[1])


def _demo_user(config_path: Path) -> str:
    """A district admin 'demo' with a fresh random password (printed once)."""
    password = secrets.token_urlsafe(12)
    config = load_config(config_path)
    now = time.time_ns()
    with service_env(config, now) as env:
        asyncio.run(accounts.set_admin_password(env, Caller(None, Via.CLI, now, name="demo"), "demo", password))
    return password


def _sample_map(config_path: Path) -> None:
    """The sample campus plan with the demo building, its camera and door placed (once per data dir)."""
    config = load_config(config_path)
    now = time.time_ns()
    caller = Caller(None, Via.CLI, now, name="demo")

    async def draw(env: ServiceEnv) -> None:
        try:
            plan = await plans.create_plan(env, caller, PlanRequest(None, CAMPUS_FLOOR, "Demo campus", 0),
                                           sample.campus_png())
        except ConflictError:  # a data dir used before keeps its map, and whatever was moved on it
            return
        x0, y0, x1, y1 = sample.BUILDING_BOX
        await plans.place(env, caller, {"plan": plan.id, "kind": "building", "item": "demo", "x": (x0 + x1) / 2,
                                        "y": (y0 + y1) / 2})
        x, y = sample.CAMERA_AT
        await plans.place(env, caller, {"plan": plan.id, "kind": "camera", "item": "demo-cam", "x": x, "y": y,
                                        "rotation_deg": sample.CAMERA_ROTATION_DEG, "fov_deg": sample.CAMERA_FOV_DEG,
                                        "range_px": sample.CAMERA_RANGE_PX})
        x, y = sample.DOOR_AT
        await plans.place(env, caller, {"plan": plan.id, "kind": "door", "item": "demo-door", "x": x, "y": y})

    with service_env(config, now) as env:
        asyncio.run(draw(env))


def _join_district(config_path: Path, district: DemoDistrict, url: str, broker_port: int
                   ) -> subprocess.Popen[bytes]:
    """Enrol through `vigil district enroll` (unless this data dir already did), then start the
    appliance's own mosquitto with the bridge conf the enrolment wrote."""
    config = load_config(config_path)
    if not enrolled(config.storage.path):
        if district.enrol_code is None:
            raise VigilError(f"{config_path.parent} is not enrolled with a hub yet: --enrol-code CODE is needed")
        args = [sys.executable, "-m", "vigil", "district", "enroll", "--hub", district.hub_url, "--code", "-",
                "--url", url, "--config", str(config_path)]  # the code on stdin: not in the process list
        args += ["--site-id", district.site_id] if district.site_id else []
        done = subprocess.run(args, input=f"{district.enrol_code}\n", capture_output=True, text=True, timeout=120,
                              check=False)
        if done.returncode != 0:
            raise VigilError(f"enrolment with the hub {district.hub_url} failed: {done.stderr.strip()}")
    mosquitto_dir = config_path.parent / "mosquitto"
    conf = broker_conf(mosquitto_dir, mosquitto_dir / "conf.d", broker_port)
    return start_broker(conf, broker_port, "the appliance's mosquitto")


def _write_config(data: Path, camera_port: int, http_port: int, building_name: str,
                  district_broker_port: int | None) -> tuple[Path, str]:
    config_path = data / "vigil.toml"
    door_secret = secrets.token_urlsafe(24)
    text = CONFIG_TEMPLATE.format(data=data, port=camera_port, http_port=http_port, door_secret=door_secret,
                                  building_name=building_name.replace("\\", "").replace('"', "'"))
    if district_broker_port is not None:
        text += DISTRICT_TEMPLATE.format(broker_port=district_broker_port, url=f"https://127.0.0.1:{http_port}",
                                         bridge_conf=data / "mosquitto" / "conf.d" / "vigil-district.conf")
    config_path.write_text(text, encoding="utf-8")
    return config_path, door_secret


def run_demo(data: Path | None, duration_s: float | None, http_port: int = 8443, *,
             district: DemoDistrict | None = None, building_name: str = "Demo Building",
             door_period_s: float = DOOR_PERIOD_S) -> int:
    data = (data or Path(tempfile.mkdtemp(prefix="vigil-demo-"))).resolve()
    data.mkdir(parents=True, exist_ok=True)
    if district is not None and http_port == 0:
        http_port = free_port()  # the hub learns the appliance's URL at enrolment, before it listens
    camera, port = _start_camera()
    broker: subprocess.Popen[bytes] | None = None
    try:
        broker_port = None if district is None else free_port()
        config_path, door_secret = _write_config(data, port, http_port, building_name, broker_port)
        config = load_config(config_path)
        password = _demo_user(config_path)
        _sample_map(config_path)
        print(f"vigil demo: synthetic camera at rtsp://127.0.0.1:{port}/demo (loopback only)")
        if district is not None and broker_port is not None:
            broker = _join_district(config_path, district, f"https://127.0.0.1:{http_port}", broker_port)
            print(f"vigil demo: enrolled with the district hub {district.hub_url}; this appliance's mosquitto"
                  f" (pid {broker.pid}, 127.0.0.1:{broker_port}) bridges its events to the hub's broker")
            print(f"vigil demo: cut the link: kill -STOP {broker.pid}   (restore it: kill -CONT {broker.pid})")
        print(f"vigil demo: recording into {config.storage.recordings_path}")
        print(f"vigil demo: list segments:  vigil segments --config {config_path}")
        print(f"vigil demo: check them:     vigil fsck --config {config_path}")
        print("vigil demo: segments are fragmented MP4; open one with any player (ffplay, VLC, a browser)")
        print("vigil demo: stop with Ctrl-C" if duration_s is None else f"vigil demo: stopping after {duration_s} s",
              flush=True)
        daemon = Daemon(config)

        def ready() -> None:
            # ?demo=1: the web app offers a one-click "Declare drill" (lib/incidents.ts isDemo).
            print(f"vigil demo: open {(daemon.url or '').rstrip('/')}/?demo=1 (self-signed certificate: accept it"
                  f" once) and sign in as demo / {password}", flush=True)
            print("vigil demo: try incident mode: \"Declare drill\" on the map or the Incidents page (a drill"
                  " sends nothing outside)", flush=True)
            print("vigil demo: the intercom: open the demo camera live, \"Sound\" plays its tone, hold"
                  " \"Hold to talk\" (or Space) to speak through its loudspeaker", flush=True)

        device = OnvifDevice("axis", ONVIF_USER, ONVIF_PASSWORD, {
            "profile_1_h264": f"rtsp://127.0.0.1:{port}/lobby", "profile_2_h264": f"rtsp://127.0.0.1:{port}/lobby-sub"})
        asyncio.run(_run(daemon, duration_s, ready, door_secret, data / "tls" / "cert.pem", device, door_period_s))
        print(f"vigil demo: stopped; recordings kept in {data}")
        return 0
    finally:
        if broker is not None:
            stop(broker)
        camera.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            camera.wait(5)


async def _run(daemon: Daemon, duration_s: float | None, ready: Callable[[], None], door_secret: str,
               cafile: Path, device: OnvifDevice, door_period_s: float) -> None:
    """The daemon, the simulated ONVIF camera, and once it serves, the simulated door panel (stopped with
    the daemon)."""
    onvif_runner, onvif_port = await start_device(device)
    print(f"vigil demo: add a camera: Admin -> Cameras, scan 127.0.0.1 (port {onvif_port}) or probe"
          f" 127.0.0.1:{onvif_port} as {ONVIF_USER} / {ONVIF_PASSWORD} (a simulated ONVIF camera)", flush=True)
    if duration_s is not None:
        asyncio.get_running_loop().call_later(duration_s, daemon.stopping.set)
    serving = asyncio.Event()

    def on_ready() -> None:
        ready()
        serving.set()

    async def panel() -> None:
        await serving.wait()
        if daemon.url is not None:
            await run_panel(daemon.url, door_secret, cafile, door_period_s)

    panel_task = asyncio.create_task(panel())
    try:
        await daemon.run(on_ready)
    finally:
        panel_task.cancel()
        await asyncio.wait([panel_task])  # its cancellation ends it; ours is not swallowed
        await onvif_runner.cleanup()
