"""`vigil hub demo`: a district on this machine, loopback only (issue 17, design/district.md).

Child processes, each in its own session so that Ctrl-C reaches only this one, which stops them in
order (buildings, hub, broker) and then kills whatever any of them left behind:
- the hub's broker: mosquitto with the conf `vigil hub broker-config` writes (TLS, site
  certificates, the generated ACL), included from a small conf of ours that adds its pid file (the
  hub sends it SIGHUP after each enrolment) and keeps it running as this user;
- the hub: `vigil hub run`, and a hub district admin `demo` with a random password (printed once;
  a data dir used again keeps its hub, its user and the buildings' enrolments);
- each building: `vigil demo --district-hub URL --enrol-code -` (vigil/demo.py; the code on its
  stdin, not in the process list) with its own data dir, HTTPS port, simulated camera, door panel
  and sample map, enrolled with a code from `vigil hub enroll` through the real enrolment, its own
  mosquitto bridging to the hub's broker.
Children's logs go to files in the data dir; their standard output is echoed, prefixed."""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from vigil.config import load_config
from vigil.core.errors import VigilError
from vigil.demo_broker import LOOPBACK, broker_conf, free_port, start_broker, stop, stop_group, wait_listening
from vigil.district.state import district_files
from vigil.hub.config import load_hub_config

HUB_TEMPLATE = """\
# Written by `vigil hub demo`: a hub on loopback.
[hub]
id = "demo-district"
name = "Demo School District"
data = "{data}"
public_url = "https://{host}:{port}"
listen_host = "{host}"
port = {port}
broker_host = "{host}"
broker_port = {broker_port}
broker_listen_host = "{host}"
broker_client_host = "{host}"
broker_client_port = {broker_port}
broker_pid_file = "{pid_file}"
silent_after_s = 60
"""
SITE_NAMES = (("lincoln-hs", "Lincoln High School"), ("washington-ms", "Washington Middle School"),
              ("roosevelt-es", "Roosevelt Elementary School"), ("jefferson-es", "Jefferson Elementary School"))
DOOR_PERIOD_S = 10.0  # a denied badge (the panel's third event) reaches the hub within a minute
HUB_USER = "demo"
CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b")
SITE_READY_S = 180.0
STOP_S = 30.0  # SIGTERM, then SIGKILL to what is left of the child's process group
PREFIX = "vigil hub demo:"


def site_names(count: int) -> list[tuple[str, str]]:
    """(site id, name) of each demo building."""
    names = list(SITE_NAMES[:count])
    names += [(f"school-{i}", f"School {i}") for i in range(len(names) + 1, count + 1)]
    return names


def _vigil(*args: str, stdin: str | None = None, timeout_s: float = 120.0) -> str:
    """`vigil ARGS` in a child; its standard output, or VigilError with its error output."""
    done = subprocess.run([sys.executable, "-m", "vigil", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise VigilError(f"`vigil {' '.join(args[:3])}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass
class Site:
    site_id: str
    name: str
    data: Path
    http_port: int
    proc: subprocess.Popen[str] | None = None
    url: str | None = None  # once its daemon serves
    broker_pid: int | None = None  # its own mosquitto: stop it to cut the link
    ready: threading.Event = field(default_factory=threading.Event)

    def echo(self) -> None:
        """Its standard output, prefixed, noting its URL and broker (a thread, until it closes)."""
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            print(f"[{self.site_id}] {line.rstrip()}", flush=True)
            cut = re.search(r"kill -STOP (\d+)", line)
            if cut is not None:
                self.broker_pid = int(cut.group(1))
            opened = re.search(r"open (https://\S+?)/\?demo=1", line)
            if opened is not None:
                self.url = opened.group(1)
                self.ready.set()
        self.ready.set()  # it ended: whoever waits finds no URL


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the demo as Ctrl-C does (children stopped in order)."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_hub_demo(data: Path | None, duration_s: float | None, site_count: int = 2) -> int:
    if not 1 <= site_count <= 20:
        raise VigilError("--sites: between 1 and 20")
    data = (data or Path(tempfile.mkdtemp(prefix="vigil-hub-demo-"))).resolve()
    data.mkdir(parents=True, exist_ok=True)
    stops: list[Callable[[], None]] = []  # run in reverse order
    try:
        with _sigterm_as_interrupt():
            sites = _start(data, site_count, stops)
            _wait(sites, duration_s)
    except KeyboardInterrupt:
        print(f"{PREFIX} stopping", flush=True)
    finally:
        # Stopping takes a few seconds (each child at most STOP_S): a second Ctrl-C must not leave
        # the children running, so it waits.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            for stop_one in reversed(stops):
                stop_one()
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
    print(f"{PREFIX} stopped; everything kept in {data}", flush=True)
    return 0


def _start(data: Path, site_count: int, stops: list[Callable[[], None]]) -> list[Site]:
    hub_dir = data / "hub"
    hub_dir.mkdir(exist_ok=True)
    hub_config = hub_dir / "hub.toml"
    if hub_config.exists():  # a data dir used before: the buildings know the hub and its broker at these ports
        previous = load_hub_config(hub_config)
        hub_port, broker_port = previous.port, previous.broker_port
    else:
        hub_port, broker_port = free_port(), free_port()
    pid_file = hub_dir / "broker-demo" / "mosquitto.pid"
    hub_config.write_text(HUB_TEMPLATE.format(data=hub_dir, host=LOOPBACK, port=hub_port, broker_port=broker_port,
                                              pid_file=pid_file), encoding="utf-8")
    hub_url = f"https://{LOOPBACK}:{hub_port}"
    print(f"{PREFIX} the hub's configuration: {hub_config}", flush=True)
    # The broker first (broker-config makes the hub's keys if this is the first start), so that the
    # hub's ingest finds it at once and the hub can tell it about each enrolment.
    generated = Path(_vigil("hub", "broker-config", "--config", str(hub_config)).strip().splitlines()[-1])
    broker = start_broker(broker_conf(pid_file.parent, generated.parent, None), broker_port, "the hub's mosquitto")
    stops.append(lambda: stop(broker, STOP_S))
    with (hub_dir / "hub.log").open("ab") as log:
        hub = subprocess.Popen([sys.executable, "-m", "vigil", "hub", "run", "--config", str(hub_config)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    stops.append(lambda: stop_group(hub, STOP_S))
    wait_listening(hub_port, hub, "the hub", 60)
    password: str | None = secrets.token_urlsafe(12)
    try:
        _vigil("hub", "user", "add", HUB_USER, "--role", "district_admin", "--password-stdin", "--config",
               str(hub_config), stdin=f"{password}\n")
    except VigilError as error:
        if "exists" not in str(error):
            raise
        password = None  # the hub's users have no password reset: the one printed at the first run stands
    sites = [_site(data / site_id, site_id, name) for site_id, name in site_names(site_count)]
    started: list[subprocess.Popen[str]] = []
    stops.append(lambda: _stop_all(started))
    for site in sites:
        _start_site(site, hub_url, hub_config, started)
    deadline = time.monotonic() + SITE_READY_S
    for site in sites:
        site.ready.wait(max(0.0, deadline - time.monotonic()))
        if site.url is None:
            raise VigilError(f"the building {site.site_id} did not start (its log: {site.data / 'vigil.log'})")
    _banner(hub_url, password, hub_config, broker.pid, sites)
    return sites


def _site(data: Path, site_id: str, name: str) -> Site:
    """A building; one of a data dir used before keeps its HTTPS port (the hub has its URL)."""
    config = data / "vigil.toml"
    return Site(site_id, name, data, load_config(config).http.port if config.exists() else free_port())


def _stop_all(procs: list[subprocess.Popen[str]]) -> None:
    """The buildings side by side (each finishes its open segments)."""
    threads = [threading.Thread(target=stop_group, args=(proc, STOP_S)) for proc in procs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _start_site(site: Site, hub_url: str, hub_config: Path, started: list[subprocess.Popen[str]]) -> None:
    args = ["--data", str(site.data), "--http-port", str(site.http_port), "--district-hub", hub_url, "--site-id",
            site.site_id, "--building-name", site.name, "--door-period", str(DOOR_PERIOD_S)]
    code = None
    if not district_files(site.data).hub_json.exists():  # a data dir used before enrolled then
        answer = _vigil("hub", "enroll", site.site_id, "--name", site.name, "--config", str(hub_config))
        code = CODE.search(answer)
        if code is None:
            raise VigilError(f"`vigil hub enroll {site.site_id}` printed no enrolment code")
        args += ["--enrol-code", "-"]  # on its stdin: a code is not for the process list
    site.data.mkdir(parents=True, exist_ok=True)
    with (site.data / "vigil.log").open("ab") as log:
        site.proc = subprocess.Popen([sys.executable, "-m", "vigil", "demo", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    assert site.proc.stdin is not None
    with site.proc.stdin:
        site.proc.stdin.write(f"{code.group(0)}\n" if code is not None else "")
    started.append(site.proc)
    threading.Thread(target=site.echo, name=f"echo-{site.site_id}", daemon=True).start()


def _banner(hub_url: str, password: str | None, hub_config: Path, broker_pid: int, sites: list[Site]) -> None:
    said = password or "(the password printed when this data dir was first used)"
    lines = [f"the district hub: open {hub_url}/ (its certificate is from the demo district's own CA: accept it"
             " once) and sign in as "
             f"{HUB_USER} / {said}",
             f"the hub's broker: mosquitto pid {broker_pid}; the hub's commands: vigil hub site list --config "
             f"{hub_config}"]
    for site in sites:
        lines.append(f"building {site.site_id} ({site.name}): {site.url}/ (accept its certificate once too; the hub"
                     " signs you in there)")
    lines.append(f"logs: {hub_config.parent / 'hub.log'}, " + ", ".join(str(site.data / "vigil.log") for site in sites))
    for site in sites:
        if site.broker_pid is not None:
            lines.append(f"cut {site.site_id}'s link to the hub: kill -STOP {site.broker_pid} (the hub shows it"
                         f" unreachable within about a minute; kill -CONT {site.broker_pid} brings it back and what"
                         " it queued arrives)")
    print("\n".join(f"{PREFIX} {line}" for line in lines), flush=True)


def _wait(sites: list[Site], duration_s: float | None) -> None:
    print(f"{PREFIX} " + ("stop with Ctrl-C" if duration_s is None else f"stopping after {duration_s:g} s"),
          flush=True)
    end = None if duration_s is None else time.monotonic() + duration_s
    while end is None or time.monotonic() < end:
        for site in sites:
            if site.proc is not None and site.proc.poll() is not None:
                raise VigilError(f"the building {site.site_id} stopped (status {site.proc.returncode}; its log: "
                                 f"{site.data / 'vigil.log'})")
        time.sleep(0.5)
