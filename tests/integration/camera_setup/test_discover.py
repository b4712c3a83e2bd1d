"""WS-Discovery against responders in a network namespace of the test's own (loopback with
multicast): the wsdiscovery package's publisher and the simulated cameras' responder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.camsim import DAEMON_DIR, REPO

NETNS = ("ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && "
         'exec "$0" -m tests.integration.camera_setup.discovery_peer "$@"')


def run_in_netns(*networks: str) -> list[dict[str, str]]:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a network namespace")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(DAEMON_DIR), str(REPO)]))
    done = subprocess.run(["unshare", "--net", "--", "sh", "-c", NETNS, sys.executable, *networks],
                          capture_output=True, text=True, timeout=60, env=env, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_discovery_finds_onvif_responders_only() -> None:
    found = run_in_netns("127.0.0.0/8")
    by_xaddr = {d["xaddr"]: d for d in found}
    assert set(by_xaddr) == {"http://127.0.0.1:8080/onvif/device_service",  # 0.0.0.0 fixed with the source
                             "http://127.0.0.1:8999/onvif/device_service"}  # the wsdiscovery package's publisher
    assert by_xaddr["http://127.0.0.1:8080/onvif/device_service"]["name"] == "AXIS P3245-V"
    assert by_xaddr["http://127.0.0.1:8999/onvif/device_service"]["hardware"] == "PUB-1"
    assert by_xaddr["http://127.0.0.1:8080/onvif/device_service"]["address"] == "127.0.0.1:8080"


def test_responders_outside_probe_networks_are_not_listed() -> None:
    assert run_in_netns("10.0.0.0/8") == []
