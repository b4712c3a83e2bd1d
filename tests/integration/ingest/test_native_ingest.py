"""NativeRtspIngest (Vigil's own RTSP/RTP client) against the GStreamer sim camera: the items it
publishes (as the FFmpeg path's), UDP and TCP, Digest auth, redirects, a camera vanishing or
freezing mid-stream, a prompt stop, B-frames (monotonic dts, pts reordered), H.265."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.camsim import CameraServer, CameraServerFactory
from tests.support.http_call import free_port
from vigil.config import CameraConfig
from vigil.core.camera_health import Transition
from vigil.core.camera_modes import Stream, Transport
from vigil.core.media import Codec, DownReason, EncodedPacket, SessionEnded, SessionStarted, StreamItem
from vigil.ingest.fanout import Fanout, Subscription
from vigil.ingest.native_ingest import NativeRtspIngest

BASE = "width=320,height=240,fps=15,gop=15,bitrate=300"


@dataclass
class Running:
    ingest: NativeRtspIngest
    thread: threading.Thread
    sub: Subscription
    transitions: list[Transition] = field(default_factory=list)

    def stop(self) -> float:
        """Stop the ingest; how long run() took to return (s)."""
        started = time.monotonic()
        self.ingest.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()
        return time.monotonic() - started


def _start(url: str, **camera: Any) -> tuple[Running, Fanout]:
    video = Fanout()
    transitions: list[Transition] = []
    ingest = NativeRtspIngest(CameraConfig("cam", "hs", "cam", url, **camera), url, Stream.MAIN, video,
                              transitions.append)
    running = Running(ingest, threading.Thread(target=ingest.run), video.subscribe("recorder", 10_000), transitions)
    running.thread.start()
    return running, video


def _items(running: Running) -> list[StreamItem]:
    return running.sub.drain()


def _wait(condition: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _packets(items: list[StreamItem]) -> list[EncodedPacket]:
    return [i for i in items if isinstance(i, EncodedPacket)]


def _session_ok(items: list[StreamItem], codec: Codec) -> list[EncodedPacket]:
    assert isinstance(items[0], SessionStarted) and items[0].info.codec is codec
    packets = _packets(items)
    assert len(packets) >= 15 and packets[0].is_keyframe
    assert all(b.dts_90k > a.dts_90k for a, b in itertools.pairwise(packets))
    assert all(p.data.startswith(b"\x00\x00\x00\x01") for p in packets)
    return packets


@pytest.mark.parametrize("transport", [Transport.TCP, Transport.UDP])
def test_h264_over_tcp_and_udp_with_the_camera_clock(camera_server: CameraServerFactory,
                                                     transport: Transport) -> None:
    cams = camera_server(f"name=c,{BASE}")
    running, _ = _start(cams.url("c"), transport=transport)
    _wait(lambda: running.ingest.packets_received >= 30 and running.ingest.clock_skew_ms is not None, 15)
    after_report = running.ingest.packets_received + 5
    _wait(lambda: running.ingest.packets_received >= after_report, 5)
    assert running.stop() < 1.0
    items = _items(running)
    packets = _session_ok(items, Codec.H264)
    assert isinstance(items[-1], SessionEnded) and items[-1].reason is DownReason.SHUTDOWN
    assert all(p.dts_90k == p.pts_90k for p in packets) and not running.ingest.has_bframes
    # 15 fps: 6000 ticks a frame, straight from the RTP timestamps (no repair)
    assert {b.dts_90k - a.dts_90k for a, b in itertools.pairwise(packets)} == {6000}
    # The sender reports' camera clock is the appliance's here: a skew of a few ms, each picture's
    # camera time close to its arrival.
    skew = running.ingest.clock_skew_ms
    assert skew is not None and abs(skew) < 500
    timed = [p for p in packets if p.camera_wall_ns is not None]
    assert timed and all(abs((p.camera_wall_ns or 0) - p.received_wall_ns) < 500_000_000 for p in timed)
    assert [t.kind for t in running.transitions] == ["camera_up"]


def test_h265(camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=c,{BASE},codec=h265")
    running, _ = _start(cams.url("c"))
    _wait(lambda: running.ingest.packets_received >= 20, 15)
    running.stop()
    assert running.ingest.codec is Codec.H265
    _session_ok(_items(running), Codec.H265)


def test_bframes_get_a_monotonic_dts_and_reordered_pts_from_the_first_picture(
        camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=c,{BASE},bframes=2")
    running, _ = _start(cams.url("c"))
    _wait(lambda: running.ingest.packets_received >= 45, 15)
    running.stop()
    items = _items(running)
    packets = _session_ok(items, Codec.H264)
    assert running.ingest.has_bframes and running.ingest.reorder_depth >= 1
    # The SPS states the reorder depth: right from the session's first GOP (no repaired pts).
    assert all(p.pts_90k >= p.dts_90k for p in packets)
    assert any(b.pts_90k < a.pts_90k for a, b in itertools.pairwise(packets))  # display order differs
    # Every picture due by the newest dts has arrived: shown once each, 6000 ticks apart.
    shown = sorted(p.pts_90k for p in packets if p.pts_90k <= packets[-1].dts_90k)
    assert {b - a for a, b in itertools.pairwise(shown)} == {6000}
    assert isinstance(items[0], SessionStarted) and (items[0].info.width, items[0].info.height) == (320, 240)


def test_digest_auth(camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=c,{BASE},auth=rec:s3cret")
    running, _ = _start(cams.url("c"), username="rec", password="s3cret")
    _wait(lambda: running.ingest.packets_received >= 15, 15)
    running.stop()
    _session_ok(_items(running), Codec.H264)
    wrong, _ = _start(cams.url("c"), username="rec", password="wrong")
    _wait(lambda: wrong.transitions, 15)
    wrong.stop()
    assert wrong.transitions[0].kind == "camera_down" and wrong.transitions[0].reason is DownReason.AUTH
    assert _items(wrong) == []


@pytest.fixture
def redirector() -> Iterator[tuple[int, list[str]]]:
    """An RTSP server that answers every request with 302 to the URL in `targets[0]` (one per connection)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    targets: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                request = conn.recv(4096).decode(errors="replace")
                cseq = next((line.split(":", 1)[1].strip() for line in request.split("\r\n")
                             if line.lower().startswith("cseq:")), "1")
                conn.sendall(f"RTSP/1.0 302 Moved Temporarily\r\nCSeq: {cseq}\r\nLocation: {targets[0]}\r\n"
                             "Content-Length: 0\r\n\r\n".encode())
                conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], targets
    stop.set()
    thread.join(2)
    listener.close()


def test_redirect_followed_and_a_loop_refused(camera_server: CameraServerFactory,
                                             redirector: tuple[int, list[str]]) -> None:
    port, targets = redirector
    cams = camera_server(f"name=c,{BASE}")
    targets.append(cams.url("c"))
    running, _ = _start(f"rtsp://127.0.0.1:{port}/moved")
    _wait(lambda: running.ingest.packets_received >= 5, 15)
    running.stop()
    assert _packets(_items(running))
    targets[0] = f"rtsp://127.0.0.1:{port}/again"  # redirects to itself, for ever
    looping, _ = _start(f"rtsp://127.0.0.1:{port}/again")
    _wait(lambda: looping.transitions, 15)
    looping.stop()
    assert looping.transitions[0].reason is DownReason.BAD_STREAM


def test_camera_vanishing_mid_stream_ends_the_session(camera_server: CameraServerFactory) -> None:
    cams = camera_server(f"name=c,{BASE}")
    running, _ = _start(cams.url("c"), timeout_s=1.0)
    _wait(lambda: running.ingest.packets_received >= 10, 15)
    cams.stop()
    _wait(lambda: any(t.kind == "camera_down" for t in running.transitions), 10)
    running.stop()
    items = _items(running)
    ended = [i for i in items if isinstance(i, SessionEnded)]
    assert len(ended) == 1 and ended[0].reason in (DownReason.ENDED, DownReason.TIMEOUT), ended
    assert running.transitions[-1].reason is ended[0].reason


def test_frozen_camera_times_out_and_stop_is_prompt(camera_server: CameraServerFactory) -> None:
    cams: CameraServer = camera_server(f"name=c,{BASE}")
    running, _ = _start(cams.url("c"), timeout_s=1.0)
    _wait(lambda: running.ingest.packets_received >= 10, 15)
    cams.pause()
    try:
        _wait(lambda: any(t.kind == "camera_down" for t in running.transitions), 10)
        assert running.transitions[-1].reason is DownReason.TIMEOUT
        assert running.stop() < 1.0  # while reconnecting to a frozen server
    finally:
        cams.resume()
    ended = [i for i in _items(running) if isinstance(i, SessionEnded)]
    assert ended[0].reason is DownReason.TIMEOUT


def test_refused_and_silent_servers() -> None:
    refused, _ = _start(f"rtsp://127.0.0.1:{free_port()}/x")
    _wait(lambda: refused.transitions, 10)
    refused.stop()
    assert refused.transitions[0].reason is DownReason.REFUSED
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        running, _ = _start(f"rtsp://127.0.0.1:{silent.getsockname()[1]}/x", timeout_s=30.0)
        time.sleep(0.5)
        assert running.stop() < 1.0  # stopped while waiting for an answer, not after timeout_s
        assert running.transitions == []
