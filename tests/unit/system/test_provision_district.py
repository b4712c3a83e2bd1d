"""Provisioning into a district: `[district]` in the provisioning input (hub_url, enrol_code,
site_id?, url?), every problem named without the code; the Provisioner leaves the request for
vigil-district-enrol.service in a 0600 file (provisioning runs without a network) and writes the
appliance's URL into `[district] public_url`; `vigil district enroll-pending` with a hub that
cannot be reached keeps the request for the next boot and says so on the console."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.vigil_proc import DAEMON_DIR
from vigil.config import load_config
from vigil.core.errors import ConfigError
from vigil.district.state import district_files, read_pending
from vigil.system.provision import Provisioner, ProvisionPaths
from vigil.system.provision_input import DistrictInput, parse_provision_input
from vigil.system.provision_sources import ProvisionSource

CODE = "AB12-CDEF-GH34-JKMN-PQRS"
BASE = 'site_id = "springfield"\n[building]\nid = "hs"\n[options]\nrecording_disk = false\n'


def test_district_input() -> None:
    spec = parse_provision_input(BASE + f'[district]\nhub_url = "https://hub.example:9443/"\nenrol_code = "{CODE}"\n'
                                 'site_id = "lincoln-hs"\nurl = "https://cam.example:8443"\n', "t.toml")
    assert spec.district == DistrictInput("https://hub.example:9443", CODE, "lincoln-hs", "https://cam.example:8443")
    assert CODE not in repr(spec)
    assert parse_provision_input(BASE, "t.toml").district is None


def test_district_problems_are_named_without_the_code() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_provision_input(BASE + '[district]\nhub_url = "http://hub.example"\nenrol_code = "SECRET-nope"\n'
                              'site_id = "Bad Id"\nextra = 1\n', "t.toml")
    message = str(raised.value)
    for key in ("district.hub_url", "district.enrol_code", "district.site_id", "district.extra"):
        assert key in message
    assert "SECRET-nope" not in message
    with pytest.raises(ConfigError, match=r"district\.enrol_code: missing"):
        parse_provision_input(BASE + '[district]\nhub_url = "https://hub.example"\n', "t.toml")


def _provision(tmp: Path, district: str) -> tuple[ProvisionPaths, str]:
    paths = ProvisionPaths(tmp / "etc/vigil.toml", tmp / "state", tmp / "disk")
    spec = parse_provision_input(BASE + district, "t.toml")
    out = io.StringIO()
    Provisioner(paths, None, out, io.StringIO()).run(spec, ProvisionSource("file", "t.toml", ""))
    return paths, out.getvalue()


def test_the_provisioner_leaves_the_request_for_the_network(tmp_path: Path) -> None:
    paths, said = _provision(tmp_path, f'[district]\nhub_url = "https://127.0.0.1:9"\nenrol_code = "{CODE}"\n'
                                       'url = "https://cam.example:8443"\n')
    config = load_config(paths.config_file)
    assert config.district.public_url == "https://cam.example:8443"
    files = district_files(config.storage.path)
    pending = read_pending(files)
    assert pending is not None and pending.enrol_code == CODE and pending.hub_url == "https://127.0.0.1:9"
    assert (files.dir / "pending-enrolment.json").stat().st_mode & 0o777 == 0o600
    assert "vigil-district-enrol.service" in said and CODE not in said
    # the unit's command, with the hub unreachable: the request is kept, the console says why
    console = tmp_path / "console"
    done = subprocess.run([sys.executable, "-m", "vigil", "district", "enroll-pending", "--config",
                           str(paths.config_file), "--console", str(console)], capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(DAEMON_DIR), "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 1, done.stderr
    assert "tried again at the next boot" in console.read_text() and "127.0.0.1:9" in console.read_text()
    assert read_pending(files) is not None
    assert CODE not in done.stdout + done.stderr + console.read_text()
