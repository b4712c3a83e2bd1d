"""The depacketizers against real packetizers: GStreamer's rtph264pay/rtph265pay (small MTU for
FU, aggregate-mode for STAP-A/AP), rtpmp4gpay, rtppcmupay, rtpopuspay, and FFmpeg's `-f rtp` over
loopback UDP (with its RTCP sender reports). The judge is the encoder's own elementary stream as
FFmpeg's parser splits it into access units, and PyAV decoding what comes out."""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path

import av
import pytest

from tests.support.rtp_peers import ffmpeg_rtp, gst_capture, reference_units
from vigil.core.depacketize import AccessUnit, VideoDepacketizer
from vigil.core.depacketize_audio import AudioDepacketizer, AudioFrame
from vigil.core.h26x import iter_nal_units
from vigil.core.media import AudioCodec, Codec
from vigil.core.rtcp_clock import RtcpClock
from vigil.core.rtp import RtpPacket, TimestampUnwrapper, parse_rtcp, parse_rtp
from vigil.sim.clips import make_h264_clip

FRAMES = 30
VIDEO = (f"videotestsrc num-buffers={FRAMES} pattern=ball ! "
         "video/x-raw,width=320,height=240,framerate=15/1")
HBR = {"mode": "AAC-hbr", "sizelength": "13", "indexlength": "3", "indexdeltalength": "3"}


def depacketize(codec: Codec, packets: list[RtpPacket]) -> tuple[list[AccessUnit], list[bool], VideoDepacketizer]:
    """Every AU, and for each whether the packet that released it carried the marker."""
    depay = VideoDepacketizer(codec)
    units: list[AccessUnit] = []
    on_marker: list[bool] = []
    for packet in packets:
        out = depay.push(packet)
        units += out
        on_marker += [packet.marker] * len(out)
    return units, on_marker, depay


def payload_kinds(codec: Codec, packets: list[RtpPacket]) -> set[int]:
    if codec is Codec.H264:
        return {p.payload[0] & 0x1F for p in packets}
    return {(p.payload[0] >> 1) & 0x3F for p in packets}


def decodes(codec: Codec, units: list[AccessUnit]) -> int:
    ctx = av.CodecContext.create("h264" if codec is Codec.H264 else "hevc", "r")
    frames = 0
    for unit in units:
        frames += len(ctx.decode(av.Packet(unit.data)))
    return frames + len(ctx.decode(None))


@pytest.mark.parametrize(
    ("codec", "encoder", "payloader", "aggregate", "fragment"),
    [
        (Codec.H264, "x264enc key-int-max=10 bframes=0 tune=zerolatency speed-preset=ultrafast",
         "rtph264pay", 24, 28),
        (Codec.H264, "x264enc key-int-max=10 bframes=2 b-adapt=false speed-preset=ultrafast",
         "rtph264pay", 24, 28),
        (Codec.H265, "x265enc key-int-max=10 tune=zerolatency speed-preset=ultrafast",
         "rtph265pay", 48, 49),
    ],
    ids=["h264", "h264-bframes", "h265"],
)
def test_gstreamer_payloaders_give_back_the_encoders_access_units(
    tmp_path: Path, codec: Codec, encoder: str, payloader: str, aggregate: int, fragment: int
) -> None:
    caps = "video/x-h264" if codec is Codec.H264 else "video/x-h265"
    packets, elementary = gst_capture(
        f"{VIDEO} ! {encoder} ! {caps},stream-format=byte-stream,alignment=au",
        f"{payloader} mtu=300 config-interval=0 aggregate-mode=zero-latency pt=96", "", tmp_path)
    assert {aggregate, fragment} <= payload_kinds(codec, packets)  # the test covers STAP-A/AP and FU
    units, on_marker, depay = depacketize(codec, packets)
    expected = reference_units(codec, elementary)
    assert len(expected) == FRAMES
    # every AU came out on its own last packet (the marker), none waits for the next frame
    assert len(units) == FRAMES and all(on_marker)
    assert [list(iter_nal_units(u.data)) for u in units] == expected
    assert [u.is_keyframe for u in units] == [n % 10 == 0 for n in range(FRAMES)]
    assert all(u.data.startswith(b"\x00\x00\x00\x01") for u in units)
    assert depay.flush() == []
    assert (depay.lost_units, depay.resyncs, depay.skipped_units, depay.malformed_packets) == (0, 0, 0, 0)
    assert decodes(codec, units) == FRAMES


def test_loss_in_a_real_stream_resyncs_on_the_next_keyframe(tmp_path: Path) -> None:
    packets, elementary = gst_capture(
        f"{VIDEO} ! x264enc key-int-max=10 bframes=0 tune=zerolatency speed-preset=ultrafast ! "
        "video/x-h264,stream-format=byte-stream,alignment=au",
        "rtph264pay mtu=300 config-interval=0 aggregate-mode=zero-latency pt=96", "", tmp_path)
    expected = reference_units(Codec.H264, elementary)
    timestamps = sorted({p.timestamp for p in packets})
    # lose a middle fragment of frame 13's picture (a P frame; keyframes are 0, 10, 20)
    frame13 = [n for n, p in enumerate(packets) if p.timestamp == timestamps[13]]
    assert len(frame13) >= 3
    kept = packets[:frame13[1]] + packets[frame13[1] + 1:]
    units, on_marker, depay = depacketize(Codec.H264, kept)
    got = [list(iter_nal_units(u.data)) for u in units]
    assert got == expected[:13] + expected[20:]  # 13..19 dropped, resumed at the keyframe 20
    assert units[13].is_keyframe and all(on_marker)
    assert (depay.lost_units, depay.resyncs) == (7, 1)
    assert decodes(Codec.H264, units) == len(units)
    # the same packet arriving 5 packets late instead (UDP reordering) loses nothing
    late = packets[:frame13[1]] + packets[frame13[1] + 1:frame13[1] + 6] + [packets[frame13[1]]]
    late += packets[frame13[1] + 6:]
    units, _, depay = depacketize(Codec.H264, late)
    assert [list(iter_nal_units(u.data)) for u in units] == expected
    assert (depay.lost_units, depay.resyncs) == (0, 0)


def test_without_markers_the_next_timestamp_releases_a_real_stream(tmp_path: Path) -> None:
    packets, elementary = gst_capture(
        f"{VIDEO} ! x264enc key-int-max=10 bframes=0 tune=zerolatency speed-preset=ultrafast ! "
        "video/x-h264,stream-format=byte-stream,alignment=au",
        "rtph264pay mtu=300 config-interval=0 aggregate-mode=zero-latency pt=96", "", tmp_path)
    unmarked = [RtpPacket(p.payload_type, False, p.seq, p.timestamp, p.ssrc, p.payload) for p in packets]
    units, _, depay = depacketize(Codec.H264, unmarked)
    units += depay.flush()  # the last one has no next frame to release it
    assert [list(iter_nal_units(u.data)) for u in units] == reference_units(Codec.H264, elementary)
    assert depay.lost_units == 0


def test_gstreamer_aac_fragments_are_reassembled(tmp_path: Path) -> None:
    packets, adts = gst_capture(
        "audiotestsrc num-buffers=40 samplesperbuffer=1024 wave=pink-noise ! audio/x-raw,rate=16000,channels=1 ! "
        "voaacenc bitrate=64000 ! audio/mpeg,stream-format=raw",
        "rtpmp4gpay mtu=150 pt=97", "aacparse ! audio/mpeg,stream-format=adts", tmp_path)
    reference = []
    at = 0
    while at + 7 <= len(adts):  # ADTS: 13-bit frame length at bits 30..42
        length = ((adts[at + 3] & 3) << 11) | (adts[at + 4] << 3) | (adts[at + 5] >> 5)
        header = 7 if adts[at + 1] & 1 else 9
        reference.append(adts[at + header:at + length])
        at += length
    assert len(packets) > len(reference) >= 38  # fragmented: more packets than frames
    depay = AudioDepacketizer(AudioCodec.AAC, 16000, HBR)
    frames = [f for p in packets for f in depay.push(p)]
    assert [f.data for f in frames] == reference
    steps = {(b.rtp_timestamp - a.rtp_timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(frames)}
    assert steps == {1024} and {f.duration_samples for f in frames} == {1024}
    assert (depay.dropped_frames, depay.dropped_packets) == (0, 0)


def test_gstreamer_pcmu_and_opus(tmp_path: Path) -> None:
    pcmu_dir, opus_dir = tmp_path / "pcmu", tmp_path / "opus"
    pcmu_dir.mkdir()
    opus_dir.mkdir()
    packets, mulaw = gst_capture(
        "audiotestsrc num-buffers=25 samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1 ! mulawenc",
        "rtppcmupay pt=0", "", pcmu_dir)
    depay = AudioDepacketizer(AudioCodec.PCMU, 8000, {})
    frames = [f for p in packets for f in depay.push(p)]
    assert b"".join(f.data for f in frames) == mulaw and len(mulaw) == 25 * 160
    assert all((b.rtp_timestamp - a.rtp_timestamp) & 0xFFFFFFFF == a.duration_samples
               for a, b in itertools.pairwise(frames))

    packets, _ = gst_capture(
        "audiotestsrc num-buffers=25 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! "
        "opusenc frame-size=20", "rtpopuspay pt=111", "", opus_dir)
    opus = AudioDepacketizer(AudioCodec.OPUS, 48000, {})
    opus_frames: list[AudioFrame] = [f for p in packets for f in opus.push(p)]
    assert len(opus_frames) in (25, 26)  # the encoder's look-ahead may add a frame at the end
    assert {f.duration_samples for f in opus_frames} == {960}
    # (opusenc stamps its first frame 312 samples late: its pre-skip)
    assert all((b.rtp_timestamp - a.rtp_timestamp) & 0xFFFFFFFF == 960
               for a, b in itertools.pairwise(opus_frames[1:]))
    decoder = av.CodecContext.create("opus", "r")
    samples = sum(frame.samples for f in opus_frames for frame in decoder.decode(av.Packet(f.data)))
    assert samples >= 24 * 960


def test_ffmpeg_rtp_over_udp_with_sender_reports(tmp_path: Path) -> None:
    clip = make_h264_clip(tmp_path / "clip.h264", 320, 240, 15, 2.0, 15, 300)
    before_ns = time.time_ns()
    rtp, rtcp = ffmpeg_rtp(["-re", "-i", str(clip), "-c", "copy", "-an"], tmp_path, pkt_size=400)
    after_ns = time.time_ns()
    packets = sorted((parse_rtp(d) for d in rtp), key=lambda p: p.seq)  # loopback: nothing reordered, bar luck
    units, on_marker, depay = depacketize(Codec.H264, packets)
    expected = reference_units(Codec.H264, clip.read_bytes())
    assert 28 in payload_kinds(Codec.H264, packets)
    assert len(units) == len(expected) == 30 and all(on_marker) and depay.lost_units == 0
    assert [list(iter_nal_units(u.data)) for u in units] == expected
    # FFmpeg's sender report: the camera clock of the first frame lies within the run
    reports = [r for d in rtcp for r in parse_rtcp(d)]
    assert reports and reports[0].ssrc == packets[0].ssrc
    clock = RtcpClock(90000)
    clock.on_sender_report(reports[0], after_ns)
    unwrap = TimestampUnwrapper().unwrap
    first = clock.wall_ns(unwrap(units[0].rtp_timestamp))
    assert first is not None and before_ns <= first <= after_ns
    skew = clock.skew_ms()
    assert skew is not None and -(after_ns - before_ns) / 1e6 <= skew <= 0


def test_ffmpeg_h265_over_udp(tmp_path: Path) -> None:
    clip = tmp_path / "clip.h265"
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240:rate=15", "-frames:v", "20", "-c:v", "libx265",
                    "-preset", "ultrafast", "-x265-params", "keyint=10:bframes=0:log-level=error",
                    "-f", "hevc", str(clip)], check=True, timeout=120)
    rtp, _ = ffmpeg_rtp(["-re", "-i", str(clip), "-c", "copy"], tmp_path, pkt_size=300)
    packets = sorted((parse_rtp(d) for d in rtp), key=lambda p: p.seq)
    units, on_marker, depay = depacketize(Codec.H265, packets)
    expected = reference_units(Codec.H265, clip.read_bytes())
    assert 49 in payload_kinds(Codec.H265, packets)
    assert len(units) == len(expected) == 20 and all(on_marker) and depay.lost_units == 0
    # FFmpeg's packetizer splits at 3-byte start codes: a 4-byte one leaves its first zero byte on
    # the NAL before it (trailing_zero_8bits, not part of the NAL), so compare without those
    assert ([[n.rstrip(b"\x00") for n in iter_nal_units(u.data)] for u in units]
            == [[n.rstrip(b"\x00") for n in au] for au in expected])
    assert decodes(Codec.H265, units) == 20


def test_ffmpeg_aac_packs_several_frames_per_packet(tmp_path: Path) -> None:
    rtp, _ = ffmpeg_rtp(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2",
                         "-c:a", "aac", "-b:a", "32k", "-ac", "1"], tmp_path)
    packets = sorted((parse_rtp(d) for d in rtp), key=lambda p: p.seq)
    depay = AudioDepacketizer(AudioCodec.AAC, 16000, HBR)
    frames = [f for p in packets for f in depay.push(p)]
    assert len(packets) < len(frames)  # aggregated
    assert 30 <= len(frames) <= 33  # 2 s of 1024-sample frames at 16 kHz (+ encoder priming)
    steps = {(b.rtp_timestamp - a.rtp_timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(frames)}
    assert steps == {1024}
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = bytes.fromhex("1408")  # AAC-LC, 16 kHz, mono
    decoded = [frame for f in frames for frame in decoder.decode(av.Packet(f.data))]
    assert len(decoded) >= len(frames) - 1
