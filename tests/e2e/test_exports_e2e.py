"""Signed evidence exports from the real daemon recording real RTSP cameras: export over the API,
progress, download, `vigil verify` passing; every kind of tampering failing with its name;
permissions and bad input."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.camsim import CameraServer
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, ffprobe_video, index_of, run_vigil, vigil_stdin, wait_for
from vigil.core.clip_frames import RecordedSegment, expected_frames
from vigil.core.evidence_manifest import MANIFEST_NAME, SIGNATURE_NAME, canonical_json
from vigil.exports.signing import public_info
from vigil.exports.verify import read_frames
from vigil.store.rows import SegmentRow

CONFIG = """
[storage]
path = "{data}"
min_free_bytes = 0
segment_duration_s = 2
[http]
listen = "127.0.0.1:{port}"
tls = false
[[buildings]]
id = "hs"
name = "High School"
[[buildings]]
id = "ms"
name = "Middle School"
[[cameras]]
id = "hs-cam"
building = "hs"
name = "East Entrance"
url = "{hs_url}"
timeout_s = 3
[[cameras]]
id = "ms-cam"
building = "ms"
url = "{ms_url}"
timeout_s = 3
"""


@dataclass
class Appliance:
    base_url: str
    tokens: dict[str, str]
    config: Path
    tmp: Path

    def call(self, method: str, path: str, who: str | None = "root", body: Any = None) -> tuple[int, bytes, Any]:
        headers = {"Content-Type": "application/json"}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,  # noqa: S310 (loopback)
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status), response.read(), response.headers
        except urllib.error.HTTPError as error:
            return int(error.code), error.read(), error.headers
        except urllib.error.URLError:  # not listening yet
            return 0, b"", {}

    def json(self, method: str, path: str, who: str | None = "root", body: Any = None) -> tuple[int, Any]:
        status, raw, _ = self.call(method, path, who, body)
        return status, json.loads(raw)

    def complete_segments(self, camera: str) -> list[SegmentRow]:
        return index_of(self.config).segments(camera)



def _add_user(config: Path, name: str, role: str, *buildings: str) -> str:
    extra = [a for b in buildings for a in ("--building", b)]
    added = vigil_stdin("exports test password\n", "user", "add", name, "--role", role, *extra, "--password-stdin",
                        "--config", str(config))
    assert added.returncode == 0, added.stderr
    made = run_vigil("token", "create", name, "--config", str(config))
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    tmp = tmp_path_factory.mktemp("exports")
    port = free_port()
    with CameraServer("name=a,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=smpte",  # moving: no two alike
                      "name=b,width=320,height=240,fps=15,gop=15,bitrate=300,pattern=smpte,bframes=2") as cams:
        config = tmp / "vigil.toml"
        config.write_text(CONFIG.format(data=tmp / "data", port=port, hs_url=cams.url("a"), ms_url=cams.url("b")))
        tokens = {"root": _add_user(config, "root", "district_admin"),
                  "hs-admin": _add_user(config, "hs-admin", "building_admin", "hs"),
                  "hs-viewer": _add_user(config, "hs-viewer", "viewer", "hs")}
        vigil = VigilProcess(config)
        try:
            app = Appliance(f"http://127.0.0.1:{port}", tokens, config, tmp)
            wait_for(lambda: app.call("GET", "/api/health")[0] == 200, 30, "the API")
            wait_for(lambda: len(app.complete_segments("hs-cam")) >= 4 and len(app.complete_segments("ms-cam")) >= 2,
                     60, "recorded segments")
            yield app
            assert vigil.terminate() == 0, vigil.log
        finally:
            vigil.close()


def _export(app: Appliance, body: dict[str, Any], who: str = "root") -> dict[str, Any]:
    status, created = app.json("POST", "/api/exports", who, body)
    assert status == 202, created
    assert created["state"] in ("queued", "running", "done") and created["reason"] == body["reason"]
    seen_states = set()

    def finished() -> bool:
        status, row = app.json("GET", f"/api/exports/{created['id']}", who)
        assert status == 200, row
        seen_states.add(row["state"])
        assert row["state"] != "failed", row
        assert 0 <= row["segments_done"] <= row["segments_total"] and 0 <= row["bytes_done"] <= row["bytes_total"]
        return bool(row["state"] == "done")

    wait_for(finished, 60, f"export {created['id']}")
    return app.json("GET", f"/api/exports/{created['id']}", who)[1]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def package(appliance: Appliance) -> tuple[Path, dict[str, Any], str]:
    """A finished, downloaded export of hs-cam spanning 3 segments: (zip, status, fingerprint)."""
    segs = appliance.complete_segments("hs-cam")[:4]
    assert segs[2].end_wall_ns is not None
    start_s, end_s = (segs[0].start_wall_ns + 500_000_000) / 1e9, (segs[2].end_wall_ns - 300_000_000) / 1e9
    row = _export(appliance, {"cameras": ["hs-cam"], "start": f"{start_s:.3f}", "end": f"{end_s:.3f}",
                              "reason": "incident 42: broken window", "case_id": "PD-2026-0042"})
    assert row["segments_total"] >= 3 and row["segments_done"] == row["segments_total"]
    status, raw, headers = appliance.call("GET", row["download"])
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert int(headers["Content-Length"]) == len(raw) == row["size_bytes"]
    path = appliance.tmp / "export.zip"
    path.write_bytes(raw)
    shown = run_vigil("key", "show", "--config", str(appliance.config))
    assert shown.returncode == 0, shown.stderr
    fingerprint = shown.stdout.rsplit(":", 1)[1].strip()
    assert len(fingerprint) == 64 and "BEGIN PUBLIC KEY" in shown.stdout
    return path, row, fingerprint


def test_export_downloads_and_verifies(appliance: Appliance, package: tuple[Path, dict[str, Any], str]) -> None:
    path, row, fingerprint = package
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read(MANIFEST_NAME))
        names = set(zf.namelist())
    recorded = {s.id: s for s in appliance.complete_segments("hs-cam")}
    assert manifest["reason"] == "incident 42: broken window" and manifest["case_id"] == "PD-2026-0042"
    status, holds = appliance.json("GET", "/api/holds", "root")  # the originals are held for the case
    held = [h for h in holds if h["case_id"] == "PD-2026-0042"]
    assert status == 200 and [h["camera"] for h in held] == ["hs-cam"], holds
    status, audit = appliance.json("GET", "/api/audit?action=hold.create")  # placing them is audited too
    placed = [a for a in audit if a["target"] == f"hold:{held[0]['id']}"]
    assert status == 200 and [a["detail"]["export"] for a in placed] == [row["id"]], audit
    assert held[0]["reason"] == f"export {row['id']}: incident 42: broken window" and held[0]["until"] is None
    assert manifest["exporter"] == "user:root" and manifest["cameras"][0]["name"] == "East Entrance"
    assert manifest["buildings"] == [{"id": "hs", "name": "High School"}]
    assert manifest["signing_key"]["fingerprint_sha256"] == fingerprint
    assert len(manifest["segments"]) == row["segments_total"] >= 3
    assert len({s["sha256_at_record"] for s in manifest["segments"]}) == len(manifest["segments"])  # moving picture
    for s in manifest["segments"]:  # the record-time hashes from the index, the files in the package
        assert s["sha256_at_record"] == recorded[s["segment_id"]].sha256 and s["file"] in names
    assert names == {f["name"] for f in manifest["files"]} | {MANIFEST_NAME, SIGNATURE_NAME}
    clip = manifest["cameras"][0]["clip"]
    assert clip["file"] == "hs-cam.mp4" and clip["first_frame_wall_ns"] <= manifest["range"]["start_wall_ns"]
    with zipfile.ZipFile(path) as zf:
        (appliance.tmp / "hs-cam.mp4").write_bytes(zf.read("hs-cam.mp4"))
    probed = ffprobe_video(appliance.tmp / "hs-cam.mp4")  # an independent demuxer opens and counts it
    assert probed["codec_name"] == "h264" and int(probed["nb_read_frames"]) == clip["frame_count"] > 15 * 4
    ok = run_vigil("verify", str(path), "--key", fingerprint)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK ")
    key_pem = appliance.tmp / "appliance.pub.pem"
    key_pem.write_text(manifest["signing_key"]["public_key_pem"])
    assert run_vigil("verify", str(path), "--key", str(key_pem)).returncode == 0
    # Without vigil: OpenSSL checks the signature over the manifest's bytes with the key `vigil key show` printed.
    shown = run_vigil("key", "show", "--config", str(appliance.config)).stdout
    shown_pem = appliance.tmp / "shown.pub.pem"
    shown_pem.write_text(shown[: shown.index("-----END PUBLIC KEY-----") + 25])
    with zipfile.ZipFile(path) as zf:
        signed_bytes, signature_bytes = zf.read(MANIFEST_NAME), zf.read(SIGNATURE_NAME)
    signed, signature = appliance.tmp / "manifest.json", appliance.tmp / "manifest.json.sig"
    signed.write_bytes(signed_bytes)
    signature.write_bytes(signature_bytes)
    openssl = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(shown_pem), "-rawin", "-in",
                              str(signed), "-sigfile", str(signature)], capture_output=True, text=True, check=False)
    assert openssl.returncode == 0 and "Verified Successfully" in openssl.stdout, openssl.stdout + openssl.stderr
    unpinned = run_vigil("verify", str(path))
    assert unpinned.returncode == 3 and unpinned.stdout.startswith("INTACT"), unpinned.stdout
    status, audit = appliance.json("GET", "/api/audit?action=export.create")
    assert status == 200 and audit[-1]["target"] == f"export:{row['id']}"
    assert audit[-1]["detail"]["reason"] == "incident 42: broken window"
    status, audit = appliance.json("GET", "/api/audit?action=export.download")
    assert status == 200 and audit[-1]["detail"]["manifest_sha256"] == row["manifest_sha256"]
    status, done = appliance.json("GET", "/api/audit?action=export.done")
    assert done[-1]["detail"]["manifest_sha256"] == row["manifest_sha256"]


def _rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(src) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    change(entries)
    with zipfile.ZipFile(dst, "w") as out:
        for name, data in entries.items():
            out.writestr(name, data)


def _flip_video_byte(entries: dict[str, bytes]) -> None:
    name = next(n for n in entries if n.startswith("segments/"))
    data = bytearray(entries[name])
    data[len(data) // 2] ^= 0x01  # in the middle of an mdat: one byte of one frame
    entries[name] = bytes(data)


def _flip_clip_byte(entries: dict[str, bytes]) -> None:
    data = bytearray(entries["hs-cam.mp4"])
    data[-100] ^= 0x01
    entries["hs-cam.mp4"] = bytes(data)


def _edit_manifest(entries: dict[str, bytes]) -> None:
    manifest = json.loads(entries[MANIFEST_NAME])
    manifest["reason"] = "routine check"
    entries[MANIFEST_NAME] = canonical_json(manifest)


def _drop_segment(entries: dict[str, bytes]) -> None:
    del entries[next(n for n in entries if n.startswith("segments/"))]


def _add_file(entries: dict[str, bytes]) -> None:
    entries["notes.txt"] = b"added later\n"


def _resign_with_another_key(entries: dict[str, bytes]) -> None:
    key = Ed25519PrivateKey.generate()
    manifest = json.loads(entries[MANIFEST_NAME])
    manifest["reason"] = "routine check"
    info = public_info(key.public_key())
    manifest["signing_key"] = {"algorithm": "Ed25519", "public_key_pem": info.pem,
                               "fingerprint_sha256": info.fingerprint}
    entries[MANIFEST_NAME] = canonical_json(manifest)
    entries[SIGNATURE_NAME] = key.sign(entries[MANIFEST_NAME])


@pytest.mark.parametrize(("change", "kind"), [
    (_flip_video_byte, "file_hash"), (_flip_clip_byte, "file_hash"), (_edit_manifest, "signature"),
    (_drop_segment, "missing_file"), (_add_file, "extra_file"), (_resign_with_another_key, "key")])
def test_tampering_fails_naming_it(appliance: Appliance, package: tuple[Path, dict[str, Any], str],
                                   change: Callable[[dict[str, bytes]], None], kind: str) -> None:
    path, _, fingerprint = package
    tampered = appliance.tmp / f"tampered-{kind}.zip"
    _rewrite(path, tampered, change)
    result = run_vigil("verify", str(tampered), "--key", fingerprint)
    assert result.returncode == 1, result.stdout
    assert f"FAIL {kind}:" in result.stdout, result.stdout
    assert "OK" not in result.stdout.split()


def test_one_byte_flipped_in_the_zip_file_itself(appliance: Appliance,
                                               package: tuple[Path, dict[str, Any], str]) -> None:
    """No repacking (the zip's CRC no longer matches either): still a named failure, not a crash."""
    path, _, fingerprint = package
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("segments/"))
    data = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x80
    flipped = appliance.tmp / "flipped.zip"
    flipped.write_bytes(bytes(data))
    result = run_vigil("verify", str(flipped), "--key", fingerprint)
    assert result.returncode == 1 and f"FAIL file_hash: {info.filename}" in result.stdout, result.stdout + result.stderr


def test_wrong_key_and_unreadable_package(appliance: Appliance, package: tuple[Path, dict[str, Any], str]) -> None:
    path, _, _ = package
    other = public_info(Ed25519PrivateKey.generate().public_key())
    result = run_vigil("verify", str(path), "--key", other.raw_base64)
    assert result.returncode == 1 and "FAIL key:" in result.stdout and other.fingerprint in result.stdout
    truncated = appliance.tmp / "truncated.zip"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = run_vigil("verify", str(truncated), "--key", other.fingerprint)
    assert result.returncode == 1 and "FAIL unreadable:" in result.stdout
    assert run_vigil("verify", str(appliance.tmp / "nope.zip")).returncode == 2
    assert run_vigil("verify", str(path), "--key", "not-a-key").returncode == 2


def test_permissions(appliance: Appliance, package: tuple[Path, dict[str, Any], str]) -> None:
    _, row, _ = package
    now = time.time()
    body = {"cameras": ["ms-cam"], "start": f"{now - 20:.0f}", "end": f"{now - 5:.0f}", "reason": "r"}
    assert appliance.call("POST", "/api/exports", None, body)[0] == 401
    assert appliance.call("GET", f"/api/exports/{row['id']}", None)[0] == 401
    assert appliance.call("GET", f"/api/exports/{row['id']}/download", None)[0] == 401
    status, problem = appliance.json("POST", "/api/exports", "hs-admin", body)
    assert status == 403 and "building ms" in problem["detail"]
    both = body | {"cameras": ["hs-cam", "ms-cam"]}
    assert appliance.json("POST", "/api/exports", "hs-admin", both)[0] == 403  # one camera refused: all refused
    assert appliance.json("POST", "/api/exports", "hs-viewer", body | {"cameras": ["hs-cam"]})[0] == 403
    assert appliance.call("GET", f"/api/exports/{row['id']}", "hs-viewer")[0] == 403
    # hs-admin may see and download the hs export; not one of ms footage.
    assert appliance.call("GET", f"/api/exports/{row['id']}", "hs-admin")[0] == 200
    ms_row = _export(appliance, body)
    assert appliance.call("GET", f"/api/exports/{ms_row['id']}", "hs-admin")[0] == 403
    assert appliance.call("GET", f"/api/exports/{ms_row['id']}/download", "hs-admin")[0] == 403
    status, denied = appliance.json("GET", "/api/audit?action=export")
    assert status == 200 and any(e["actor"] == "user:hs-admin" and e["outcome"] == "denied" for e in denied)


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"cameras": ["hs-cam"], "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z"}, 400, "reason"),
    ({"cameras": ["hs-cam"], "start": "2026-01-01T00:01:00Z", "end": "2026-01-01T00:00:00Z", "reason": "r"}, 400,
     "end must be after start"),
    ({"cameras": ["nope"], "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z", "reason": "r"}, 404,
     "no camera 'nope'"),
    ({"cameras": ["hs-cam"], "end": "2026-01-01T00:01:00Z", "reason": "r"}, 400, "start is required"),
    ({"cameras": ["hs-cam"], "start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:01:00Z", "reason": "r"}, 404,
     "nothing was recorded"),
    ({"cameras": ["hs-cam"], "start": "2026-01-01", "end": "2026-01-03", "reason": "r"}, 400, "at most 24 hours"),
    ({"start": "2026-01-01", "end": "2026-01-02", "reason": "r"}, 400, "at least one camera"),
])
def test_bad_input(appliance: Appliance, body: dict[str, Any], status: int, needle: str) -> None:
    got, problem = appliance.json("POST", "/api/exports", "root", body)
    assert got == status and needle in problem["detail"], problem
    assert appliance.json("GET", "/api/exports/abc")[0] == 400
    assert appliance.json("GET", "/api/exports/424242")[0] == 404



def _remuxed_clip(package: Path, camera: str, drop_frame: int | None) -> tuple[bytes, int]:
    """The camera's recorded frames of the package's range, muxed into one MP4 by PyAV (an
    independent clip maker), optionally without one frame: (bytes, frame count)."""
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read(MANIFEST_NAME))
        segments = [s for s in manifest["segments"] if s["camera"] == camera]
        recorded, packets = [], dict[bytes, bytes]()
        for s in segments:
            with zf.open(s["file"]) as f:
                recorded.append(RecordedSegment(s["start_wall_ns"], s["end_wall_ns"], tuple(read_frames(f))))
            with zf.open(s["file"]) as f, av.open(f, mode="r", format="mp4") as container:
                packets |= {hashlib.sha256(p).digest(): bytes(p) for p in container.demux(video=0) if p.size}
        want = expected_frames(recorded, manifest["range"]["start_wall_ns"], manifest["range"]["end_wall_ns"])
        if drop_frame is not None:
            del want[drop_frame]
        out = io.BytesIO()
        with zf.open(segments[0]["file"]) as f, av.open(f, format="mp4") as template, \
                av.open(out, "w", format="mp4") as clip:
            stream = clip.add_stream_from_template(template.streams.video[0])
            stream.time_base = Fraction(1, 90_000)
            for e in want:
                packet = av.Packet(packets[e.frame.sha256])
                packet.stream, packet.time_base = stream, Fraction(1, 90_000)
                packet.pts = packet.dts = e.clip_90k - want[0].clip_90k
                packet.duration, packet.is_keyframe = e.frame.duration_90k, e.frame.keyframe
                clip.mux(packet)
    return out.getvalue(), len(want)


def _with_clip(package: Path, dst: Path, clip: bytes, frames: int, key: Ed25519PrivateKey) -> None:
    """The package plus a clip, its manifest re-signed by `key`."""

    def add(entries: dict[str, bytes]) -> None:
        manifest = json.loads(entries[MANIFEST_NAME])
        entries["hs-cam.mp4"] = clip
        others = [f for f in manifest["files"] if f["name"] != "hs-cam.mp4"]  # replaces the appliance's clip
        manifest["files"] = sorted([*others, {"name": "hs-cam.mp4", "size_bytes": len(clip),
                                              "sha256": hashlib.sha256(clip).hexdigest()}], key=lambda f: f["name"])
        manifest["cameras"][0]["clip"] = {"file": "hs-cam.mp4", "frame_count": frames, "stopped_at_wall_ns": None}
        info = public_info(key.public_key())
        manifest["signing_key"] = {"algorithm": "Ed25519", "public_key_pem": info.pem,
                                   "fingerprint_sha256": info.fingerprint}
        entries[MANIFEST_NAME] = canonical_json(manifest)
        entries[SIGNATURE_NAME] = key.sign(entries[MANIFEST_NAME])

    _rewrite(package, dst, add)


def test_clip_frames_are_compared_with_the_recording(appliance: Appliance,
                                                     package: tuple[Path, dict[str, Any], str]) -> None:
    """A clip is accepted only when its frames are exactly the recorded frames of the range, at
    their recorded times; checked with clips made independently by PyAV."""
    path, _, _ = package
    key = Ed25519PrivateKey.generate()
    fingerprint = public_info(key.public_key()).fingerprint
    exact, count = _remuxed_clip(path, "hs-cam", None)
    good = appliance.tmp / "with-clip.zip"
    _with_clip(path, good, exact, count, key)
    result = run_vigil("verify", str(good), "--key", fingerprint)
    assert result.returncode == 0, result.stdout + result.stderr
    short, short_count = _remuxed_clip(path, "hs-cam", count // 2)
    bad = appliance.tmp / "with-short-clip.zip"
    _with_clip(path, bad, short, short_count, key)
    result = run_vigil("verify", str(bad), "--key", fingerprint)
    assert result.returncode == 1 and "FAIL clip_frames: hs-cam.mp4: frame" in result.stdout, result.stdout


def test_b_frame_camera_export_verifies(appliance: Appliance, package: tuple[Path, dict[str, Any], str]) -> None:
    """ms-cam sends B-frames: decode order differs from presentation order, and the clip keeps both."""
    _, _, fingerprint = package
    segs = appliance.complete_segments("ms-cam")[:2]
    assert segs[1].end_wall_ns is not None
    start_s, end_s = (segs[0].start_wall_ns + 300_000_000) / 1e9, (segs[1].end_wall_ns - 300_000_000) / 1e9
    row = _export(appliance, {"cameras": ["ms-cam"], "start": f"{start_s:.3f}", "end": f"{end_s:.3f}",
                              "reason": "b-frames"})
    status, raw, _ = appliance.call("GET", row["download"])
    assert status == 200
    path = appliance.tmp / "bframes.zip"
    path.write_bytes(raw)
    with zipfile.ZipFile(path) as zf:
        clip = json.loads(zf.read(MANIFEST_NAME))["cameras"][0]["clip"]
        with zf.open("ms-cam.mp4") as f, av.open(f, mode="r", format="mp4") as container:
            packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    assert clip["frame_count"] == len(packets) > 15
    assert any(p.pts is not None and p.dts is not None and p.pts != p.dts for p in packets)  # reordered frames
    result = run_vigil("verify", str(path), "--key", fingerprint)
    assert result.returncode == 0, result.stdout + result.stderr
