"""An A/B update of the appliance in qemu, through the API a district admin uses: v1 -> v2 commits,
v3 (whose daemon exits at once) rolls back to v2 by itself, bundles with a bad signature or
truncated are refused, and v1's recordings survive it all (design/appliance.md, "Updates").

v2 and v3 are made from the built bundle's root filesystem (debugfs edits, no mounts): v2 differs
in its image version only, v3 also has a drop-in making vigil.service exit at once. Both are
signed by image-build/bundle.sh with the key the image was built to trust; the forged one with a
key openssl makes here. The box fetches them over qemu's user-mode network from an HTTP server on
the host's loopback (10.0.2.2 from inside).

Slow (about 30 min under TCG on a 2-core machine): marker `update_vm`, left out of the default
run; `bash .ci/test -m update_vm` runs it (README, "Update")."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.appliance.test_image_boot import DISK_BYTES, IMAGE, PROVISION, READY_TIMEOUT_S
from tests.support.appliance_vm import Disk, Vm, read_manifest, verify_sha256
from tests.support.http_call import free_port
from vigil.store.index import Index

REPO = Path(__file__).resolve().parents[3]
BOOT_S = 900.0
INSTALL_S = 1800.0
STEP_S = 600.0

pytestmark = [pytest.mark.update_vm, pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("VIGIL_SKIP_IMAGE_BOOT") == "1", reason="VIGIL_SKIP_IMAGE_BOOT=1")]


def _debugfs(image: Path, commands: str) -> None:
    done = subprocess.run(["debugfs", "-w", "-f", "-", str(image)], input=commands, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and "debugfs:" not in done.stderr.replace("debugfs 1.", ""), done.stderr


def _variant(base_root: Path, work: Path, version: str, broken: bool) -> Path:
    """A copy of the root filesystem with another image version (and, if `broken`, a vigil that exits)."""
    root = work / f"root-{version}.ext4"
    subprocess.run(["cp", "--sparse=always", str(base_root), str(root)], check=True)
    (work / "version").write_text(f"{version}\n")
    commands = f"cd /etc\nrm vigil-image-version\nwrite {work / 'version'} vigil-image-version\n"
    if broken:
        (work / "90-broken.conf").write_text("[Service]\nExecStart=\nExecStart=/bin/false\n")
        commands += (f"cd /etc/systemd/system/vigil.service.d\n"
                     f"write {work / '90-broken.conf'} 90-broken.conf\n")
    _debugfs(root, commands)
    return root


def _bundle(root: Path, version: str, out: Path, key: Path, cert: Path) -> Path:
    subprocess.run([str(REPO / "image-build" / "bundle.sh"), str(root), version, str(out)], check=True,
                   env=dict(os.environ, VIGIL_RELEASE_KEY=str(key), VIGIL_RELEASE_CERT=str(cert)))
    return out


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """good v2, broken v3, forged, truncated: what the box will be offered."""
    work = tmp_path_factory.mktemp("bundles")
    built = IMAGE.parent / read_manifest(IMAGE)["bundle"]
    key, cert = IMAGE.parent / "dev-release" / "key.pem", IMAGE.parent / "dev-release" / "cert.pem"
    assert built.is_file() and key.is_file(), f"{built}: build the image with image-build/build.sh first"
    subprocess.run(["unsquashfs", "-q", "-n", "-d", str(work / "v1"), str(built), "root.ext4"], check=True,
                   capture_output=True)
    v1_root = work / "v1" / "root.ext4"
    version = read_manifest(IMAGE)["version"]
    www = work / "www"
    www.mkdir()
    out = {"v2": _bundle(_variant(v1_root, work, f"{version}+update2", False), f"{version}+update2",
                         www / "v2.raucb", key, cert)}
    out["v3"] = _bundle(_variant(v1_root, work, f"{version}+update3", True), f"{version}+update3",
                        www / "v3.raucb", key, cert)
    other_key, other_cert = work / "other.key", work / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(other_key), "-out",
                    str(other_cert), "-subj", "/CN=not the release key", "-days", "2"], check=True, capture_output=True)
    # Signed by another key: a small root is enough, the box refuses it on the signature alone.
    small = work / "small"
    (small / "etc").mkdir(parents=True)
    (small / "etc" / "noise").write_bytes(os.urandom(200_000))
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(small), str(work / "small.ext4"), "8M"], check=True)
    out["forged"] = _bundle(work / "small.ext4", f"{version}+forged", www / "forged.raucb", other_key, other_cert)
    out["truncated"] = www / "truncated.raucb"
    out["truncated"].write_bytes(out["v2"].read_bytes()[: out["v2"].stat().st_size // 3])
    return out


@pytest.fixture
def web(bundles: dict[str, Path]) -> Iterator[int]:
    """The bundles over HTTP on the host's loopback: 10.0.2.2:<port> from the box."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(bundles["v2"].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    thread.join()


class Box:
    """The box's API at 127.0.0.1:<forwarded port>, signed in as the district admin."""

    def __init__(self, port: int) -> None:
        self.base = f"https://127.0.0.1:{port}"
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE  # the box's fresh self-signed certificate
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,  # noqa: S310 (loopback)
                                         headers={"Content-Type": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=600) as response:  # noqa: S310
                cookie = response.headers.get("Set-Cookie")
                if cookie:
                    self.headers["Cookie"] = cookie.split(";", 1)[0]
                return int(response.status), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return int(error.code), json.loads(error.read() or b"null")

    def sign_in(self, name: str, password: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status, body = self.call("POST", "/api/login", {"name": name, "password": password})
                assert status == 200, body
                self.headers["X-CSRF-Token"] = body["csrf_token"]
                return
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(5)


def test_update_commits_a_good_version_and_rolls_back_a_broken_one(
        tmp_path: Path, bundles: dict[str, Path], web: int) -> None:
    assert IMAGE.is_file(), f"{IMAGE} is missing: build it with image-build/build.sh"
    verify_sha256(IMAGE)
    disk = Disk.flash(IMAGE, tmp_path / "disk.raw", DISK_BYTES)
    provision = tmp_path / "vigil-provision.toml"
    provision.write_text(PROVISION, encoding="utf-8")
    disk.put_on_esp(provision, "vigil-provision.toml")
    port = free_port()
    vm = Vm(disk, tmp_path, reboots=True, forward_https_to=port).start()
    timings: dict[str, float] = {}
    try:
        # v1: first boot, recording.
        password = vm.wait_for(r"first district admin 'installer-admin', password: (\S+)", READY_TIMEOUT_S).group(1)
        at = vm.wait_for(r"recorder demo-cam(/main)?: run \d+ started", BOOT_S).end()
        box = Box(port)
        box.sign_in("installer-admin", password, 300)
        time.sleep(20)  # a few segments of v1
        # Refused in the box, nothing changed: a bundle signed by another key, and a truncated one.
        for name in ("forged", "truncated"):
            status, body = box.call("POST", "/api/appliance/update",
                                    {"url": f"http://10.0.2.2:{web}/{name}.raucb", "reboot": "now"})
            assert status == 400 and "refused" in body["detail"], (name, body)
        # v2: installed, rebooted into, committed.
        started = time.monotonic()
        status, body = box.call("POST", "/api/appliance/update", {"url": f"http://10.0.2.2:{web}/v2.raucb",
                                                                  "reboot": "now"})
        assert status == 202 and body["version"].endswith("+update2"), body
        at = vm.wait_for(r"rebooting into the new version", INSTALL_S, at).end()
        timings["v2 install"] = time.monotonic() - started
        down = time.monotonic()
        at = vm.wait_for(r"Command line: .*rauc\.slot=b", BOOT_S, at).end()
        at = vm.wait_for(r"recorder demo-cam(/main)?: run \d+ started", BOOT_S, at).end()
        timings["recording gap (reboot into v2)"] = time.monotonic() - down
        at = vm.wait_for(r"trial boot: commit", STEP_S, at).end()
        at = vm.wait_for(r"Finished systemd-bless-boot\.service", STEP_S, at).end()
        timings["v2 download to committed"] = time.monotonic() - started
        box = Box(port)
        box.sign_in("installer-admin", password, 300)
        status, health = box.call("GET", "/api/health")
        assert health["update"] == {"booted": "b", "rolled_back": None}, health
        # v3: its daemon exits at once; three tries, then back on v2 by itself.
        status, body = box.call("POST", "/api/appliance/update", {"url": f"http://10.0.2.2:{web}/v3.raucb",
                                                                  "reboot": "now"})
        assert status == 202, body
        at = vm.wait_for(r"rebooting into the new version", INSTALL_S, at).end()
        for _ in range(3):
            at = vm.wait_for(r"Command line: .*rauc\.slot=a", BOOT_S, at).end()
            at = vm.wait_for(r"trial boot FAILED", STEP_S, at).end()
        at = vm.wait_for(r"Command line: .*rauc\.slot=b", BOOT_S, at).end()
        rolled = vm.wait_for(r"UPDATE ROLLED BACK: (.*)", BOOT_S, at)
        assert "+update3" in rolled.group(1)
        at = vm.wait_for(r"recorder demo-cam(/main)?: run \d+ started", BOOT_S, at).end()
        box = Box(port)
        box.sign_in("installer-admin", password, 300)
        status, health = box.call("GET", "/api/health")
        assert health["update"]["booted"] == "b" and health["update"]["rolled_back"]["slot"] == "a", health
        assert vm.power_button(300) == 0
    finally:
        vm.kill()
        sys.stderr.write(f"appliance console log: {vm.console_path}\ntimings: {timings}\n")

    entries = disk.esp_listing("loader/entries")
    assert entries == ["vigil-a+0-3.conf", "vigil-b.conf"], entries
    # Every segment recorded across the three versions is intact on the data partition.
    parts = {str(p.get("name")): p for p in disk.partitions()}
    data = tmp_path / "data"
    disk.copy_out_ext4(int(str(parts["vigil-state"]["start"])), ["/index.sqlite3", "/recordings"], data)
    index = Index.open_readonly(data / "index.sqlite3")
    try:
        segments = index.segments("demo-cam", state=None)
        runs = len({s.run_id for s in segments})
    finally:
        index.close()
    assert runs >= 3, runs  # v1, v2, v2 again after the rollback
    for seg in segments:
        assert seg.state == "complete", seg
        blob = (data / "recordings" / seg.path).read_bytes()
        assert (len(blob), hashlib.sha256(blob).hexdigest()) == (seg.size_bytes, seg.sha256), seg.path
    (tmp_path / "timings.json").write_text(json.dumps(timings))
