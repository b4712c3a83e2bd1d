"""The simulated cameras behave like the IP cameras the recorder has to cope with."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from tests.support.camsim import CameraServer, CameraServerError, CameraServerFactory
from vigil.sim.clips import make_h264_clip

H264_SPS, H264_IDR = 7, 5


@dataclass
class Pkt:
    pts: int | None
    dts: int | None
    key: bool
    nal_types: list[int]


def rtsp_open(url: str, transport: str = "tcp") -> av.container.InputContainer:
    return av.open(
        url,
        options={
            "rtsp_transport": transport,
            "analyzeduration": "0",
            "probesize": "32",
            "timeout": "5000000",
        },
    )


def nal_types(data: bytes, hevc: bool = False) -> list[int]:
    units = data.split(b"\x00\x00\x01")[1:]
    return [(u[0] >> 1) & 0x3F if hevc else u[0] & 0x1F for u in units if u]


def read_video(url: str, count: int, transport: str = "tcp") -> tuple[str, list[Pkt]]:
    """Codec name and the first ``count`` video packets of ``url``."""
    with rtsp_open(url, transport) as container:
        stream = container.streams.video[0]
        hevc = stream.codec_context.name == "hevc"
        packets: list[Pkt] = []
        for packet in container.demux(stream):
            if packet.size:
                packets.append(Pkt(packet.pts, packet.dts, packet.is_keyframe, nal_types(bytes(packet), hevc)))
            if len(packets) >= count:
                break
        return stream.codec_context.name, packets


def dts_steps(packets: list[Pkt]) -> set[int]:
    """Differences between successive dts after the first packet (which has none)."""
    dts = [p.dts for p in packets[1:] if p.dts is not None]
    assert len(dts) == len(packets) - 1
    return {b - a for a, b in itertools.pairwise(dts)}


def test_h264_camera_keyframes_every_gop(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=640,height=360,fps=15,gop=10,clock=1")
    with rtsp_open(cams.url("cam1")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == (
            "h264",
            640,
            360,
        )
    _, packets = read_video(cams.url("cam1"), 31)
    assert packets[0].key and packets[0].pts is None  # FFmpeg's RTSP demuxer: first pts unknown
    assert [i for i, p in enumerate(packets) if p.key] == [0, 10, 20, 30]
    assert dts_steps(packets) == {6000}  # 15 fps at 90 kHz


def test_h265_camera(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,codec=h265,width=320,height=240,fps=15")
    codec, packets = read_video(cams.url("cam1"), 3)
    assert codec == "hevc"
    assert packets[0].key
    assert {32, 33, 34} <= set(packets[0].nal_types)  # VPS, SPS, PPS before the IDR


def test_audio_track(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=320,height=240,audio=1")
    with rtsp_open(cams.url("cam1")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        kinds = set()
        for packet in container.demux():
            if packet.size:
                kinds.add(packet.stream.type)
            if kinds == {"audio", "video"}:
                break


def test_udp_and_shared_clients(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=320,height=240,fps=15,gop=5")
    with rtsp_open(cams.url("cam1"), "tcp") as first, rtsp_open(cams.url("cam1"), "udp") as second:
        for container in (first, second):  # a client joining shared media may start mid-GOP
            packets = [p for _, p in zip(range(6), container.demux(video=0), strict=False) if p.size]
            assert len(packets) >= 5 and any(p.is_keyframe for p in packets)


def test_sps_in_band_switch(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=inband,width=320,height=240,gop=5", "name=sdp,width=320,height=240,gop=5,sps_in_band=0")
    _, inband = read_video(cams.url("inband"), 11)
    _, sdp = read_video(cams.url("sdp"), 11)
    for packets in (inband, sdp):
        assert [i for i, p in enumerate(packets) if p.key] == [0, 5, 10]
        assert all(H264_IDR in p.nal_types for p in packets if p.key)
    assert all(H264_SPS in p.nal_types for p in inband if p.key)
    assert not any(H264_SPS in p.nal_types for p in sdp)
    with rtsp_open(cams.url("sdp")) as container:  # the SPS comes from sprop-parameter-sets
        extradata = container.streams.video[0].codec_context.extradata or b""
        assert H264_SPS in nal_types(extradata)


def test_file_replay_loops_with_continuous_timestamps(camera_server: CameraServerFactory, tmp_path: Path) -> None:
    clip = make_h264_clip(tmp_path / "clip.mp4", width=640, height=360, fps=15, seconds=2, gop=15, bitrate_kbps=800)
    cams = camera_server(f"name=replay,file={clip}")
    started = time.monotonic()
    _, packets = read_video(cams.url("replay"), 5 * 15 + 3)  # > 2.5 loops of the 30-frame clip
    elapsed = time.monotonic() - started
    assert elapsed > 4.0  # paced at real time, not dumped as fast as possible
    assert dts_steps(packets) == {6000}  # strictly increasing, no jump or gap at the loop seams
    assert [i for i, p in enumerate(packets) if p.key] == list(range(0, len(packets), 15))


def test_bframes_reorder(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=320,height=240,fps=15,bframes=2")
    _, packets = read_video(cams.url("cam1"), 12)
    assert any(p.pts is not None and p.pts != p.dts for p in packets)


def test_stop_start_same_port(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=320,height=240,gop=5")
    port = cams.port
    assert read_video(cams.url("cam1"), 3)[1][0].key
    cams.stop()
    with pytest.raises(av.error.FFmpegError):
        rtsp_open(cams.url("cam1"))
    cams.start()
    assert cams.port == port
    assert read_video(cams.url("cam1"), 3)[1][0].key


def test_pause_resume(camera_server: CameraServerFactory) -> None:
    cams = camera_server("name=cam1,width=320,height=240")
    assert cams.proc is not None
    stat = Path(f"/proc/{cams.proc.pid}/stat")
    cams.pause()
    time.sleep(0.1)
    assert stat.read_text().split(") ")[1][0] == "T"
    cams.resume()
    assert read_video(cams.url("cam1"), 2)[1][0].key


def test_bad_spec_reports_stderr() -> None:
    with pytest.raises(CameraServerError, match="unknown key"):
        CameraServer("name=cam1,colour=red").start()
