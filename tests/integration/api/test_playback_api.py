"""The playback routes in process over real recorded files: the HLS playlist (parsed by ffmpeg's own
HLS demuxer too), the byte ranges it names (decoded with PyAV: the frames recorded), what is
audited, scoping, and keyframe thumbnails."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
from pathlib import Path

import av
import numpy as np

from tests.integration.api.conftest import q
from tests.support.api_harness import Api
from tests.support.clip_recordings import T0, Recordings
from vigil.clips.clip import segment_path
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso

S = NS_PER_SECOND
BASE = "/api/cameras/hs-cam"




def frame_hashes(data: bytes) -> list[str]:
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        return [hashlib.sha256(f.to_ndarray(format="gray").tobytes()).hexdigest()
                for f in container.decode(video=0)]


def entries(api: Api, action: str) -> list[tuple[str, str]]:
    return [(e.actor, e.target) for e in api.services.env.audit.entries(action=action)]


async def test_playlist_names_the_recorded_bytes_and_they_decode_to_the_recorded_frames(
        api: Api, recorded: Recordings) -> None:
    auth = api.auth("hs-viewer")
    response = await api.client.get(f"{BASE}/playback.m3u8{q(0, 16)}", headers=auth)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    assert response.headers["Vigil-Playlist-Start"] == wall_ns_to_iso(T0)
    assert response.headers["Vigil-Playlist-End"] == wall_ns_to_iso(T0 + 16 * S)
    lines = (await response.text()).splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:7"] and lines[-1] == "#EXT-X-ENDLIST"
    assert lines.count("#EXT-X-DISCONTINUITY") == 2
    dates = [ln.split(":", 1)[1] for ln in lines if ln.startswith("#EXT-X-PROGRAM-DATE-TIME:")]
    assert dates == [wall_ns_to_iso(T0 + n * S) for n in (0, 2, 4, 6, 12, 14)]  # the gap 8-12 s is no media
    # Fetch every byte range the playlist names (as a player would), one file per init section.
    files: list[bytearray] = []
    for n, line in enumerate(lines):
        if line.startswith("#EXT-X-MAP:"):
            uri = line.split('URI="', 1)[1].split('"', 1)[0]
            length = int(line.split('BYTERANGE="', 1)[1].split("@", 1)[0])
            part = await api.client.get(f"{BASE}/{uri}", headers=auth | {"Range": f"bytes=0-{length - 1}"})
            assert part.status == 206 and part.headers["Content-Range"].startswith(f"bytes 0-{length - 1}/")
            files.append(bytearray(await part.read()))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            size, offset = (int(v) for v in line.split(":", 1)[1].split("@"))
            part = await api.client.get(f"{BASE}/{lines[n + 1]}",
                                        headers=auth | {"Range": f"bytes={offset}-{offset + size - 1}"})
            assert part.status == 206
            files[-1] += await part.read()
    rows = recorded.index.segments("hs-cam")
    assert len(files) == len(rows) == 3
    for got, row in zip(files, rows, strict=True):
        recorded_frames = frame_hashes(segment_path(recorded.index, row).read_bytes())
        assert len(recorded_frames) == 60 and frame_hashes(bytes(got)) == recorded_frames


async def test_ffmpeg_plays_the_playlist(api: Api, recorded: Recordings, tmp_path: Path) -> None:
    """ffmpeg's HLS demuxer as an independent judge of the playlist's syntax and byte ranges."""
    text = await (await api.client.get(f"{BASE}/playback.m3u8{q(0, 16)}", headers=api.auth("hs-viewer"))).text()
    by_id = {str(r.id): segment_path(recorded.index, r) for r in recorded.index.segments("hs-cam")}
    local = "\n".join(str(by_id[ln.split("/")[1]]) if ln.startswith("segments/") else
                      ln.replace(ln.split('URI="', 1)[1].split('"', 1)[0], str(by_id[ln.split("segments/")[1]
                                                                                     .split("/")[0]]))
                      if ln.startswith("#EXT-X-MAP") else ln for ln in text.splitlines())
    playlist = tmp_path / "local.m3u8"
    playlist.write_text(local + "\n")
    # Packets, not decoded frames: ffmpeg's HLS demuxer does not reset timestamps at a discontinuity,
    # so its decoder drops the frames of a later file that seem to go back in time.
    out = await asyncio.to_thread(
        subprocess.run, ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                         "stream=nb_read_packets", "-of", "default=nw=1:nk=1", str(playlist)],
        capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert int(out.stdout.split()[0]) == 3 * 60


async def test_a_range_gives_the_segments_around_it(api: Api, recorded: Recordings) -> None:
    response = await api.client.get(f"{BASE}/playback.m3u8{q(5.5, 6.5)}", headers=api.auth("hs-viewer"))
    text = await response.text()
    assert response.status == 200, text
    # The 2 s media segment holding 5.5 s starts at the keyframe at 4 s; 6.5 s is in the next.
    assert [ln.split(":", 1)[1] for ln in text.splitlines() if ln.startswith("#EXT-X-PROGRAM-DATE-TIME")] == [
        wall_ns_to_iso(T0 + 4 * S), wall_ns_to_iso(T0 + 6 * S)]
    assert "#EXT-X-DISCONTINUITY" not in text
    gap = await api.client.get(f"{BASE}/playback.m3u8{q(8.5, 11.5)}", headers=api.auth("hs-viewer"))
    assert gap.status == 404 and "nothing recorded" in (await gap.json())["detail"]
    too_long = await api.client.get(f"{BASE}/playback.m3u8{q(0, 7 * 3600)}", headers=api.auth("hs-viewer"))
    assert too_long.status == 400


async def test_playlist_audited_once_and_its_byte_ranges_not_again(api: Api, recorded: Recordings) -> None:
    auth = api.auth("hs-viewer")
    text = await (await api.client.get(f"{BASE}/playback.m3u8{q(0, 16)}", headers=auth)).text()
    uris = [ln for ln in text.splitlines() if ln.startswith("segments/")]
    for uri in uris:
        assert (await api.client.get(f"{BASE}/{uri}", headers=auth | {"Range": "bytes=0-99"})).status == 206
    assert entries(api, "playback.hls") == [("user:hs-viewer", "camera:hs-cam")]
    (entry,) = api.services.env.audit.entries(action="playback.hls")
    assert (entry.detail["start_ns"], entry.detail["end_ns"]) == (T0, T0 + 16 * S)
    assert entries(api, "playback.segment") == []
    # Bytes fetched without an audited playlist first (another caller) are audited, once per range.
    admin = api.auth("hs-admin")
    for _ in range(3):
        assert (await api.client.get(f"{BASE}/{uris[0]}", headers=admin)).status == 200
    assert entries(api, "playback.segment") == [("user:hs-admin", "camera:hs-cam")]


async def test_segment_bytes_are_the_file_and_ranges_slice_it(api: Api, recorded: Recordings) -> None:
    row = recorded.index.segments("hs-cam")[1]
    whole = segment_path(recorded.index, row).read_bytes()
    url, auth = f"{BASE}/segments/{row.id}/media.mp4{q(0, 16)}", api.auth("hs-viewer")
    response = await api.client.get(url, headers=auth)
    assert response.status == 200 and await response.read() == whole
    assert response.headers["Accept-Ranges"] == "bytes" and response.headers["Content-Type"] == "video/mp4"
    part = await api.client.get(url, headers=auth | {"Range": "bytes=-100"})
    assert part.status == 206 and await part.read() == whole[-100:]
    outside = await api.client.get(url, headers=auth | {"Range": f"bytes={len(whole)}-"})
    assert outside.status == 416
    several = await api.client.get(url, headers=auth | {"Range": "bytes=0-1,5-6"})
    assert several.status == 400


async def test_segments_outside_the_range_or_of_another_camera_are_not_served(api: Api,
                                                                              recorded: Recordings) -> None:
    row = recorded.index.segments("hs-cam")[0]  # 0-4 s
    auth = api.auth("district")
    later = await api.client.get(f"{BASE}/segments/{row.id}/media.mp4{q(5, 16)}", headers=auth)
    assert later.status == 404
    other = await api.client.get(f"/api/cameras/ms-cam/segments/{row.id}/media.mp4{q(0, 16)}", headers=auth)
    assert other.status == 404
    missing = await api.client.get(f"{BASE}/segments/99999/media.mp4{q(0, 16)}", headers=auth)
    assert missing.status == 404
    bad = await api.client.get(f"{BASE}/segments/x1/media.mp4{q(0, 16)}", headers=auth)
    assert bad.status == 400


async def test_another_buildings_footage_is_refused(api: Api, recorded: Recordings) -> None:
    row = recorded.index.segments("hs-cam")[0]
    # hs-cam's segment under ms-cam's path: the ms-cam check comes first, for the viewer of hs
    for path in ("/api/cameras/ms-cam/playback.m3u8", f"/api/cameras/ms-cam/segments/{row.id}/media.mp4",
                 "/api/cameras/ms-cam/thumbnail.jpg"):
        response = await api.client.get(path + q(0, 16), headers=api.auth("hs-viewer"))
        assert response.status == 403, path
    installer = await api.client.get(f"{BASE}/playback.m3u8{q(0, 16)}", headers=api.auth("installer"))
    assert installer.status == 403


def _gray(jpeg_or_frame: bytes | av.VideoFrame, width: int = 160, height: int = 120) -> np.ndarray:
    if isinstance(jpeg_or_frame, bytes):
        with av.open(io.BytesIO(jpeg_or_frame), mode="r") as c:
            jpeg_or_frame = next(iter(c.decode(video=0)))
    return jpeg_or_frame.reformat(width=width, height=height, format="gray").to_ndarray().astype(np.int16)


async def test_thumbnail_is_the_nearest_recorded_keyframe(api: Api, recorded: Recordings) -> None:
    row = recorded.index.segments("hs-cam")[0]
    with av.open(str(segment_path(recorded.index, row))) as c:
        frames = list(c.decode(video=0))
    keyframes = {n: _gray(frames[n * 15]) for n in range(4)}  # the keyframes at 0, 1, 2, 3 s
    auth = api.auth("hs-viewer")
    response = await api.client.get(f"{BASE}/thumbnail.jpg?at={wall_ns_to_iso(T0 + int(2.4 * S))}", headers=auth)
    assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert int(response.headers["Vigil-Keyframe-Wall-Ns"]) == T0 + 2 * S
    jpeg = await response.read()
    with av.open(io.BytesIO(jpeg), mode="r") as c:
        picture = next(iter(c.decode(video=0)))
    assert (picture.width, picture.height) == (320, 240) and len(jpeg) < 60_000
    difference = {n: float(np.abs(_gray(jpeg) - k).mean()) for n, k in keyframes.items()}
    assert min(difference, key=lambda n: difference[n]) == 2 and difference[2] < 6, difference
    decoded = api.services.playback.thumbnails.decoded
    again = await api.client.get(f"{BASE}/thumbnail.jpg?at={wall_ns_to_iso(T0 + int(1.6 * S))}", headers=auth)
    assert await again.read() == jpeg and api.services.playback.thumbnails.decoded == decoded  # from the cache
    far = await api.client.get(f"{BASE}/thumbnail.jpg?at={wall_ns_to_iso(T0 + 40 * S)}", headers=auth)
    assert far.status == 404


async def test_a_links_playback_window_bounds_playlists_bytes_and_thumbnails(api: Api, recorded: Recordings) -> None:
    response = await api.client.post("/api/links", headers=api.auth("hs-admin"), json={
        "reason": "incident", "cameras": ["hs-cam"], "playback": True, "expires_in": "2h",
        "playback_start": wall_ns_to_iso(T0), "playback_end": wall_ns_to_iso(T0 + 8 * S)})
    assert response.status == 201, await response.text()
    bearer = {"Authorization": f"Bearer {str((await response.json())['url']).rsplit('/', 1)[1]}"}
    inside = await api.client.get(f"{BASE}/playback.m3u8{q(0, 8)}", headers=bearer)
    assert inside.status == 200
    uri = next(ln for ln in (await inside.text()).splitlines() if ln.startswith("segments/"))
    assert (await api.client.get(f"{BASE}/{uri}", headers=bearer | {"Range": "bytes=0-9"})).status == 206
    later = recorded.index.segments("hs-cam")[2].id  # 12-16 s: outside the window
    for path in (f"{BASE}/playback.m3u8{q(0, 16)}", f"{BASE}/segments/{later}/media.mp4{q(12, 16)}",
                 f"{BASE}/thumbnail.jpg?at={wall_ns_to_iso(T0 + 13 * S)}", f"{BASE}/thumbnail.jpg"):
        assert (await api.client.get(path, headers=bearer)).status == 403, path
    thumb = await api.client.get(f"{BASE}/thumbnail.jpg?at={wall_ns_to_iso(T0 + 3 * S)}", headers=bearer)
    assert thumb.status == 200
