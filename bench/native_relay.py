"""The comparison peer of bench/webrtc.py: a native GStreamer WebRTC relay of RTSP cameras.

    .venv/bin/python bench/native_relay.py --camera NAME=rtsp://... [--camera ...] [--port 0]

Per camera, one RTSP session (``rtspsrc latency=0 protocols=tcp ! rtph264depay ! h264parse``)
feeds a ``tee``; each viewer gets its own branch ``queue (leaky) ! rtph264pay ! webrtcbin``,
so the camera's H.264 is relayed without re-encoding, like vigil's passthrough. Signalling is
WHEP-like over plain HTTP on 127.0.0.1:

* ``GET /health``: ``{"viewers": N}``;
* ``GET /view/NAME``: a minimal viewer page (same measurement hooks as vigil's: window.vigilPeers);
* ``POST /whep/NAME`` (application/sdp offer) -> 201, the answer with every candidate gathered,
  ``Location: /whep/session/ID``; ``DELETE /whep/session/ID`` ends that viewer.

Prints ``READY <port>`` once listening; SIGTERM/SIGINT stop it. Not part of the daemon: only a
benchmark peer, kept small on purpose.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import gi  # type: ignore[import-untyped,unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # type: ignore[import-untyped,unused-ignore]  # noqa: E402

GATHER_TIMEOUT_S = 5.0
MAX_SDP_BYTES = 64_000
_KEEP_ALIVE: list[Any] = []

PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>native relay</title>
<style>body{margin:0;background:#000} video{width:100%;aspect-ratio:16/9}</style>
<video muted autoplay playsinline></video>
<script>
"use strict";
// Same WHEP flow and hooks as vigil's live page: recvonly offer, all candidates, POST, answer.
window.vigilPeers = [];
const video = document.querySelector("video");
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
    setTimeout(resolve, 3000);
  });
}
async function play() {
  const pc = new RTCPeerConnection({iceServers: []});
  pc.vigilCamera = "CAMERA"; pc.vigilQuality = "main";
  window.vigilPeers.push(pc);
  pc.addTransceiver("video", {direction: "recvonly"});
  pc.ontrack = (event) => { video.srcObject = event.streams[0] || new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch("/whep/CAMERA", {method: "POST", headers: {"Content-Type": "application/sdp"},
                                                body: pc.localDescription.sdp});
  if (!response.ok) { document.title = "error " + response.status; return; }
  const session = response.headers.get("Location");
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
  addEventListener("pagehide", () => { fetch(session, {method: "DELETE", keepalive: true}); });
}
play();
</script>
</html>
"""


def h264_payload_type(offer: str) -> int:
    """The offer's H.264 payload type to answer with: packetization-mode=1, constrained baseline
    preferred (what aiortc answers too; browsers decode any profile in it)."""
    types = [int(pt) for pt in re.findall(r"a=rtpmap:(\d+) H264/90000", offer)]
    fmtp = {int(pt): params for pt, params in re.findall(r"a=fmtp:(\d+) (.*)", offer)}
    mode1 = [pt for pt in types if "packetization-mode=1" in fmtp.get(pt, "")]
    for pt in mode1:
        if "profile-level-id=42e01f" in fmtp.get(pt, ""):
            return pt
    if mode1 or types:
        return (mode1 or types)[0]
    raise ValueError("the offer does not accept H.264")


class Viewer:
    """One browser: a tee branch ending in its own webrtcbin."""

    def __init__(self, relay: CameraRelay, offer_sdp: str) -> None:
        self.relay = relay
        self.id = secrets.token_urlsafe(12)
        pt = h264_payload_type(offer_sdp)
        self.bin = Gst.parse_bin_from_description(
            "queue leaky=downstream max-size-buffers=90 max-size-bytes=0 max-size-time=0 "
            f"! rtph264pay config-interval=-1 aggregate-mode=zero-latency pt={pt} "
            f"! application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload={pt} "
            "! webrtcbin name=webrtc bundle-policy=max-bundle latency=0",
            True,
        )
        self.webrtc = self.bin.get_by_name("webrtc")
        ice = self.webrtc.get_property("ice-agent")
        # PyGObject sinks the agent's floating reference, which belongs to webrtcbin: letting the
        # wrapper go would free the agent under webrtcbin. Keep it for the process's lifetime.
        _KEEP_ALIVE.append(ice)
        for address in relay.ice_addresses:  # libnice skips loopback addresses unless told
            ice.emit("add-local-ip-address", address)
        self.gathered = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::connection-state", self._on_connection)
        self.offer_sdp = offer_sdp
        self.tee_pad: Any = None

    def _on_gathering(self, webrtc: Any, _pspec: Any) -> None:
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _on_connection(self, webrtc: Any, _pspec: Any) -> None:
        state = webrtc.get_property("connection-state")
        if state in (GstWebRTC.WebRTCPeerConnectionState.FAILED, GstWebRTC.WebRTCPeerConnectionState.CLOSED):
            GLib.idle_add(self.relay.remove, self.id)

    def answer(self) -> str:
        """Add the branch to the running pipeline, negotiate, and return the answer SDP."""
        pipeline = self.relay.pipeline
        pipeline.add(self.bin)
        self.bin.sync_state_with_parent()
        ok, sdp = GstSdp.SDPMessage.new_from_text(self.offer_sdp)
        if ok != GstSdp.SDPResult.OK:
            raise ValueError("malformed SDP offer")
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
        promise = Gst.Promise.new()
        self.webrtc.emit("set-remote-description", offer, promise)
        promise.wait()
        promise = Gst.Promise.new()
        self.webrtc.emit("create-answer", None, promise)
        promise.wait()
        reply = promise.get_reply()
        answer = reply.get_value("answer") if reply is not None else None
        if answer is None:
            raise ValueError("webrtcbin made no answer")
        promise = Gst.Promise.new()
        self.webrtc.emit("set-local-description", answer, promise)
        promise.wait()
        self.tee_pad = self.relay.tee.request_pad_simple("src_%u")
        self.tee_pad.link(self.bin.get_static_pad("sink"))
        self.gathered.wait(GATHER_TIMEOUT_S)
        text: str = self.webrtc.get_property("local-description").sdp.as_text()
        return text

    def teardown(self) -> None:
        if self.tee_pad is not None:
            self.tee_pad.unlink(self.bin.get_static_pad("sink"))
            self.relay.tee.release_request_pad(self.tee_pad)
        self.bin.set_state(Gst.State.NULL)
        self.relay.pipeline.remove(self.bin)


class CameraRelay:
    """One camera: one RTSP session and a tee every viewer hangs off."""

    def __init__(self, name: str, url: str, ice_addresses: list[str]) -> None:
        self.name = name
        self.ice_addresses = ice_addresses
        self.pipeline = Gst.parse_launch(
            f'rtspsrc location="{url}" protocols=tcp latency=0 ! rtph264depay '
            "! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au "
            "! tee name=t allow-not-linked=true"
        )
        self.tee = self.pipeline.get_by_name("t")
        self.viewers: dict[str, Viewer] = {}
        self.lock = threading.Lock()
        self.pipeline.set_state(Gst.State.PLAYING)

    def add(self, offer_sdp: str) -> Viewer:
        viewer = Viewer(self, offer_sdp)
        with self.lock:
            self.viewers[viewer.id] = viewer
        try:
            viewer.answer()
        except BaseException:
            self.remove(viewer.id)
            raise
        return viewer

    def remove(self, viewer_id: str) -> bool:
        with self.lock:
            viewer = self.viewers.pop(viewer_id, None)
        if viewer is not None:
            viewer.teardown()
        return False  # as a GLib idle callback: run once

    def stop(self) -> None:
        for viewer_id in list(self.viewers):
            self.remove(viewer_id)
        self.pipeline.set_state(Gst.State.NULL)


class Handler(BaseHTTPRequestHandler):
    relays: ClassVar[dict[str, CameraRelay]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: str, content_type: str = "text/plain", **headers: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, json.dumps({"viewers": sum(len(r.viewers) for r in self.relays.values())}),
                        "application/json")
            return
        name = self.path.removeprefix("/view/").split("?")[0]
        if not self.path.startswith("/view/") or name not in self.relays:
            self._reply(404, "no such camera")
            return
        self._reply(200, PAGE.replace("CAMERA", name), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        name = self.path.removeprefix("/whep/")
        length = int(self.headers.get("Content-Length") or 0)
        if not self.path.startswith("/whep/") or name not in self.relays:
            self._reply(404, "no such camera")
            return
        if length > MAX_SDP_BYTES:
            self._reply(400, "SDP offer too large")
            return
        offer = self.rfile.read(length).decode()
        try:
            viewer = self.relays[name].add(offer)
        except ValueError as error:
            self._reply(400, str(error))
            return
        answer: str = viewer.webrtc.get_property("local-description").sdp.as_text()
        self._reply(201, answer, "application/sdp", Location=f"/whep/session/{name}/{viewer.id}")

    def do_DELETE(self) -> None:
        name, _, viewer_id = self.path.removeprefix("/whep/session/").partition("/")
        relay = self.relays.get(name)
        if relay is None or viewer_id not in relay.viewers:
            self._reply(404, "no such session")
            return
        relay.remove(viewer_id)
        self._reply(200, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--camera", action="append", required=True, metavar="NAME=URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--ice-address", action="append", default=None,
                        help="local address for ICE candidates (repeatable; default 127.0.0.1 and 127.0.0.2)")
    args = parser.parse_args(argv)
    Gst.init(None)
    relays: dict[str, CameraRelay] = {}
    for item in args.camera:
        name, sep, url = str(item).partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            parser.error(f"--camera wants NAME=URL, not {item!r}")
        relays[name] = CameraRelay(name, url, args.ice_address or ["127.0.0.1", "127.0.0.2"])
    Handler.relays.update(relays)
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="http").start()
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, loop.quit)
    print(f"READY {server.server_address[1]}", flush=True)
    loop.run()
    server.shutdown()
    for relay in relays.values():
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
