"""Simulated IP cameras: a GStreamer RTSP server with one mount per camera.

Usage::

    python -m vigil.sim.camera_server --port 8554 --bind 127.0.0.1 \\
        --camera name=cam1,width=640,height=360,fps=15 --camera name=cam2,codec=h265

Each camera is served at ``rtsp://BIND:PORT/<name>`` as *shared* media (one pipeline for all
clients, like a real camera) over RTP/UDP or RTP/TCP.  Once every mount is in place the server
prints ``READY <port>`` on stdout (the real port when ``--port 0``); SIGTERM/SIGINT stop it.

A camera SPEC is a comma-separated ``key=value`` list:

=========== ===================================================================== ========
key         meaning                                                               default
=========== ===================================================================== ========
name        mount name (required)
width       frame width (live encoding only)                                      640
height      frame height (live encoding only)                                     360
fps         frames per second (``file=``: the clip's own rate)                    15
gop         keyframe interval in frames (live encoding only)                      fps
codec       ``h264`` (x264enc) or ``h265`` (x265enc)                              h264
bframes     B-frames between references (live; disables ``tune=zerolatency``)    0
bitrate     encoder bitrate in kbit/s (live encoding only)                        1000
pattern     videotestsrc pattern (``smpte`` has a moving noise patch)             smpte75
clock       1 = burn in the wall clock (clockoverlay): mask it in motion tests    0
stamp       1 = burn in the wall clock in ms as a barcode in the top rows        0
            (machine-readable, see ``stamp_bits``): for glass-to-glass latency
audio       0, 1 (= aac), ``aac``, ``opus``, ``pcmu`` or ``pcma``: an extra track,  0
            a 440 Hz sine (``TONE_HZ``) at 48 kHz (G.711: 8 kHz), mono, 20 ms a buffer
sps_in_band 1 = SPS/PPS (+VPS) before every IDR; 0 = only in the SDP's            1
            sprop-parameter-sets (h265: x265 still puts them before the first IDR)
file        replay this pre-encoded H.264 clip (.mp4 or Annex-B, starting with
            an IDR; see ``vigil.sim.clips``) in a loop instead of encoding live
auth        ``user:password``: this mount answers 401 without them (RTSP Digest).
            GStreamer then asks every client of the server to sign in: run
            such cameras in a server of their own
backchannel ``pcmu`` or ``pcma``: an ONVIF audio backchannel (a loudspeaker). A
            DESCRIBE with ``Require: www.onvif.org/ver20/backchannel`` gets
            an extra ``a=sendonly`` audio track (GStreamer's ONVIF server);
            without the header the SDP is as before
backchannel_dump  write what the loudspeaker receives to this file as raw G.711
            (depayloaded, unbuffered); for faults (551, G.726, drops) use
            ``vigil.sim.backchannel_camera``
=========== ===================================================================== ========

``file=`` mode reads the clip's access units into memory once and feeds them to an ``appsrc``
from a thread, paced by the pipeline clock, with timestamps that keep increasing across loops.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import signal
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import gi  # type: ignore[import-untyped,unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtsp, GstRtspServer  # type: ignore[import-untyped,unused-ignore]  # noqa: E402

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_INT_KEYS = ("width", "height", "fps", "gop", "bframes", "bitrate")
_FLAG_KEYS = ("clock", "sps_in_band", "stamp")
_LIVE_ONLY = ("width", "height", "gop", "codec", "bframes", "bitrate", "pattern", "clock", "stamp")
# Before every payloader: a real camera keeps streaming each track whatever a client set up. GStreamer's
# media instead fails with "not-linked" once PLAYing a session without one of its tracks (an ONVIF
# talk session sets up only the backchannel), and that error could stop the backchannel before it
# started (a CI failure: the loudspeaker heard nothing). A tee that may be unlinked absorbs it.
KEEP_STREAMING = "tee allow-not-linked=true"
_AUDIO = {"0": "", "1": "aac", "aac": "aac", "opus": "opus", "pcmu": "pcmu", "pcma": "pcma"}
# Audio branch per codec: the sample rate, then encoder and payloader (static payload types for G.711),
# with `{streaming}` where KEEP_STREAMING goes.
_AUDIO_ENCODERS = {
    "aac": (48000, "avenc_aac ! {streaming} ! rtpmp4gpay name=pay1 pt=97"),
    "opus": (48000, "opusenc ! {streaming} ! rtpopuspay name=pay1 pt=97"),
    "pcmu": (8000, "mulawenc ! {streaming} ! rtppcmupay name=pay1 pt=0"),
    "pcma": (8000, "alawenc ! {streaming} ! rtppcmapay name=pay1 pt=8"),
}
TONE_HZ = 440  # the audio track's sine: tests find it again by FFT
_PARAMETER_SETS = (7, 8, 9)  # SPS, PPS, access unit delimiter: stripped from replayed clips
STAMP_BLOCKS = 40  # barcode cells across the top of the frame (see stamp_bits)
_BACKCHANNEL = {"pcmu": (0, "PCMU"), "pcma": (8, "PCMA")}  # RTP payload type, encoding name


def stamp_bits(wall_ms: int) -> list[int]:
    """The 40 cells of the ``stamp=1`` barcode, left to right (1 = white, 0 = black).

    Cells 0-31: the wall clock in ms modulo 2**32, most significant bit first; cells 32-39: the
    XOR of those four bytes, XORed with 0xA5 (a check that rejects misread frames).  Each cell is a
    square of ``width // 40`` pixels in the frame's top rows.
    """
    value = wall_ms & 0xFFFFFFFF
    check = 0xA5
    for shift in (24, 16, 8, 0):
        check ^= (value >> shift) & 0xFF
    return [(value >> (31 - i)) & 1 for i in range(32)] + [(check >> (7 - i)) & 1 for i in range(8)]


def _draw_stamp(_overlay: Any, cr: Any, _timestamp: int, _duration: int, cell: int) -> None:
    """cairooverlay draw callback: paint the barcode of the current wall clock."""
    for i, bit in enumerate(stamp_bits(time.time_ns() // 1_000_000)):
        shade = float(bit)
        cr.set_source_rgb(shade, shade, shade)
        cr.rectangle(i * cell, 0, cell, cell)
        cr.fill()


@dataclasses.dataclass(frozen=True)
class CameraSpec:
    """One simulated camera, parsed from ``key=value,...``."""

    name: str
    width: int = 640
    height: int = 360
    fps: int | None = None
    gop: int | None = None
    codec: str = "h264"
    bframes: int = 0
    bitrate: int = 1000
    pattern: str = "smpte75"
    clock: bool = False
    stamp: bool = False
    audio: str = ""
    sps_in_band: bool = True
    file: Path | None = None
    auth: str | None = None
    backchannel: str = ""
    backchannel_dump: Path | None = None

    @classmethod
    def parse(cls, text: str) -> CameraSpec:
        """Parse a SPEC string; raise ValueError on unknown keys or bad values."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep or key in values:
                raise ValueError(f"bad or repeated item {item!r} in camera spec {text!r}")
            if key in _INT_KEYS:
                values[key] = int(value)
                if values[key] < (0 if key == "bframes" else 1):
                    raise ValueError(f"{key} out of range in {text!r}")
            elif key in _FLAG_KEYS and value in ("0", "1"):
                values[key] = value == "1"
            elif key == "audio" and value in _AUDIO:
                values[key] = _AUDIO[value]
            elif key in ("file", "backchannel_dump"):
                values[key] = Path(value)
            elif (key == "auth" and ":" in value) or key in ("name", "codec", "pattern"):  # noqa: SIM114
                values[key] = value
            elif key == "backchannel" and value in _BACKCHANNEL:
                values[key] = value
            else:
                raise ValueError(f"unknown key or bad value {item!r} in camera spec {text!r}")
        if not _NAME_RE.match(values.get("name", "")):
            raise ValueError(f"camera spec {text!r} needs name=[A-Za-z0-9_.-]+")
        if values.get("codec", "h264") not in ("h264", "h265"):
            raise ValueError(f"codec must be h264 or h265 in {text!r}")
        if values.get("stamp") and values.get("width", 640) // STAMP_BLOCKS < 4:
            raise ValueError(f"stamp=1 needs width >= {4 * STAMP_BLOCKS} in {text!r}")
        if "file" in values:
            clash = sorted(set(values) & set(_LIVE_ONLY))
            if clash:
                raise ValueError(f"file= replays the clip as-is; drop {clash} from {text!r}")
            if not values["file"].is_file():
                raise ValueError(f"clip {values['file']} does not exist")
        return cls(**values)

    def video_launch(self) -> str:
        """The video branch (ending in payloader ``pay0``) of this camera's pipeline."""
        config_interval = -1 if self.sps_in_band else 0
        if self.file is not None:
            return (
                "appsrc name=clipsrc is-live=true format=time do-timestamp=false "
                "max-time=2000000000 leaky-type=downstream "
                f"! {KEEP_STREAMING} ! rtph264pay name=pay0 pt=96 config-interval={config_interval}"
            )
        fps = self.fps or 15
        gop = self.gop or fps
        raw_format = "BGRx" if self.stamp else "I420"  # cairooverlay draws on packed RGB
        src = (
            f"videotestsrc is-live=true pattern={self.pattern} "
            f"! video/x-raw,format={raw_format},width={self.width},height={self.height},framerate={fps}/1 "
        )
        if self.clock:
            src += '! clockoverlay time-format="%H:%M:%S" shaded-background=true '
        if self.stamp:
            src += "! cairooverlay name=stamp ! videoconvert ! video/x-raw,format=I420 "
        if self.codec == "h264":
            # tune=zerolatency silently disables B-frames; rtph264pay's caps would make x264enc pick
            # constrained-baseline (no B-frames) unless a profile is forced.  One thread = one slice
            # per frame (the payloader inserts SPS/PPS before *every* IDR slice); AVC output without
            # repeated headers keeps x264's SPS/PPS out of band so that only config-interval decides.
            low_delay = "tune=zerolatency"
            caps = "video/x-h264,stream-format=avc,alignment=au"
            if self.bframes:
                low_delay = f"bframes={self.bframes} b-adapt=false"
                caps += ",profile=main"
            enc = (
                f"x264enc {low_delay} speed-preset=ultrafast key-int-max={gop} bitrate={self.bitrate} "
                f'threads=1 aud=false option-string="scenecut=0:repeat-headers=0" ! {caps}'
            )
        else:
            opts = "scenecut=0:open-gop=0"
            low_delay = f'option-string="{opts}:bframes={self.bframes}:b-adapt=0"'
            if not self.bframes:
                low_delay = f'tune=zerolatency option-string="{opts}"'
            enc = f"x265enc {low_delay} speed-preset=ultrafast key-int-max={gop} bitrate={self.bitrate}"
        pay = f"rtp{self.codec}pay name=pay0 pt=96 config-interval={config_interval}"
        return f"{src}! {enc} ! {KEEP_STREAMING} ! {pay}"

    def backchannel_launch(self) -> str:
        """The loudspeaker: what GStreamer's ONVIF factory links the backchannel's RTP into."""
        pt, name = _BACKCHANNEL[self.backchannel]
        caps = f"application/x-rtp,media=audio,payload={pt},clock-rate=8000,encoding-name={name}"
        sink = "fakesink async=false"
        if self.backchannel_dump is not None:
            sink = f'filesink location="{self.backchannel_dump}" buffer-mode=unbuffered sync=false async=false'
        return f'( capsfilter caps="{caps}" name=depay_backchannel ! rtp{name.lower()}depay ! {sink} )'

    def launch(self) -> str:
        """The full ``gst-launch`` description of this camera's media."""
        parts = [self.video_launch()]
        if self.audio:
            rate, enc = _AUDIO_ENCODERS[self.audio]
            parts.append(
                f"audiotestsrc is-live=true wave=sine freq={TONE_HZ} volume=0.1 samplesperbuffer={rate // 50} "
                "! audioconvert "
                f"! audioresample ! audio/x-raw,rate={rate},channels=1 ! {enc.format(streaming=KEEP_STREAMING)}"
            )
        return "( " + " ".join(parts) + " )"


class Clip:
    """A pre-encoded H.264 clip held in memory as access units (AVC format, no SPS/PPS)."""

    def __init__(self, path: Path, fps: int | None) -> None:
        pipeline = Gst.parse_launch(
            f'filesrc location="{path}" ! parsebin ! h264parse '
            "! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false"
        )
        sink = pipeline.get_by_name("sink")
        pipeline.set_state(Gst.State.PLAYING)
        samples: list[Any] = []
        error = None
        while not GstApp.AppSink.is_eos(sink) and error is None:
            sample = GstApp.AppSink.try_pull_sample(sink, Gst.SECOND // 10)
            if sample is not None:
                samples.append(sample)
            elif (message := pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)) is not None:
                error = message.parse_error()[0].message
        pipeline.set_state(Gst.State.NULL)
        if error is not None or not samples:
            raise RuntimeError(f"could not read H.264 access units from {path}: {error}")
        self.caps: Any = samples[0].get_caps()
        first = samples[0].get_buffer()
        if first.has_flags(Gst.BufferFlags.DELTA_UNIT):
            raise RuntimeError(f"{path} does not start with a keyframe")
        rate = Fraction(fps or 0)
        if not rate:
            ok, num, den = self.caps.get_structure(0).get_fraction("framerate")
            rate = Fraction(num, den) if ok and num and den else Fraction(0)
        if not rate and first.duration not in (0, Gst.CLOCK_TIME_NONE):
            rate = Fraction(Gst.SECOND, first.duration).limit_denominator(1001)
        self.rate: Fraction = rate or Fraction(15)
        self.buffers: list[Any] = []
        self.pts_offsets: list[int] = []
        for sample in samples:
            buf = sample.get_buffer()
            self.buffers.append(_strip_parameter_sets(buf))
            valid = Gst.CLOCK_TIME_NONE not in (buf.pts, buf.dts)
            self.pts_offsets.append(int(buf.pts) - int(buf.dts) if valid else 0)
        shift = min(self.pts_offsets)
        self.pts_offsets = [offset - shift for offset in self.pts_offsets]

    def timestamp(self, frame: int) -> int:
        """Nanoseconds from the first frame to ``frame`` (exact, no drift)."""
        return int(frame * Gst.SECOND * self.rate.denominator // self.rate.numerator)


def _strip_parameter_sets(buf: Any) -> Any:
    """Copy of an AVC access unit without SPS/PPS/AUD NAL units (the payloader adds them)."""
    _ok, info = buf.map(Gst.MapFlags.READ)
    data = bytes(info.data)
    buf.unmap(info)
    out, pos = bytearray(), 0
    while pos + 4 < len(data):
        end = pos + 4 + int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4] & 0x1F not in _PARAMETER_SETS:
            out += data[pos:end]
        pos = end
    copy = Gst.Buffer.new_wrapped(bytes(out))
    if buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
        copy.set_flags(Gst.BufferFlags.DELTA_UNIT)
    return copy


class ClipFeeder(threading.Thread):
    """Pushes a clip into one media's appsrc in a loop, paced at real time."""

    def __init__(self, appsrc: Any, clip: Clip) -> None:
        super().__init__(daemon=True, name="clip-feeder")
        self.appsrc, self.clip = appsrc, clip
        self.stopping = threading.Event()

    def run(self) -> None:
        clock = None
        while clock is None:  # the pipeline hands out its clock when it goes to PLAYING
            if self.stopping.wait(0.005):
                return
            clock = self.appsrc.get_clock()
        base_time = self.appsrc.get_base_time()
        start = clock.get_time() - base_time  # running time of the first frame
        frame = 0
        while True:
            for buf, pts_offset in zip(self.clip.buffers, self.clip.pts_offsets, strict=True):
                dts = start + self.clip.timestamp(frame)
                delay = (base_time + dts - clock.get_time()) / Gst.SECOND
                if self.stopping.wait(max(delay, 0.0)):
                    return
                out = buf.copy()  # shallow: shares the memory, gets its own timestamps
                out.dts, out.pts = dts, dts + pts_offset
                out.duration = self.clip.timestamp(frame + 1) - self.clip.timestamp(frame)
                if frame == 0:
                    out.set_flags(Gst.BufferFlags.DISCONT)
                if GstApp.AppSrc.push_buffer(self.appsrc, out) != Gst.FlowReturn.OK:
                    return  # flushing or shutting down
                frame += 1


class CameraServer:
    """An RTSP server with one shared mount per camera spec."""

    def __init__(self, specs: list[CameraSpec], port: int, bind: str) -> None:
        # GStreamer's ONVIF server answers the backchannel's Require header (others refuse it with 551)
        onvif = any(spec.backchannel for spec in specs)
        self.server = GstRtspServer.RTSPOnvifServer.new() if onvif else GstRtspServer.RTSPServer()
        self.server.set_address(bind)
        self.server.set_service(str(port))
        self.server.set_backlog(64)  # default 5: many recorders connecting at once would stall
        self.clips: dict[str, Clip] = {}
        self.stamp_cells: dict[str, int] = {}
        self.live: set[Any] = set()  # prepared medias, unprepared at shutdown
        self.feeders: dict[Any, ClipFeeder] = {}
        mounts = self.server.get_mount_points()
        if any(spec.auth for spec in specs):
            self._set_auth(specs)
        for spec in specs:
            Gst.parse_launch(spec.launch())  # fail now, not at the first DESCRIBE
            if spec.file is not None:
                self.clips[spec.name] = Clip(spec.file, spec.fps)
            if spec.stamp:
                self.stamp_cells[spec.name] = spec.width // STAMP_BLOCKS
            if spec.backchannel:
                # the media type first: constructing an ONVIF factory without it segfaulted
                factory = GstRtspServer.RTSPOnvifMediaFactory.new()
                factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia.__gtype__)
                factory.set_backchannel_launch(spec.backchannel_launch())
            else:
                factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(spec.launch())
            factory.set_shared(True)
            factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
            factory.connect("media-configure", self._on_media_configure, spec.name)
            if any(s.auth for s in specs):
                role = f"user-{spec.name}" if spec.auth else "anonymous"
                factory.add_role_from_structure(Gst.Structure.new_from_string(
                    f"{role}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
            mounts.add_factory(f"/{spec.name}", factory)

    def _set_auth(self, specs: list[CameraSpec]) -> None:
        """RTSP Digest for the mounts with `auth=` (a default token for anonymous clients would turn
        the 401 challenge into a 404, so there is none: everyone must sign in)."""
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        for spec in specs:
            if spec.auth:
                user, _, password = spec.auth.partition(":")
                token = GstRtspServer.RTSPToken()
                token.set_string("media.factory.role", f"user-{spec.name}")
                auth.add_digest(user, password, token)
        self.server.set_auth(auth)

    def _on_media_configure(self, _factory: Any, media: Any, name: str) -> None:
        self.live.add(media)
        media.connect("unprepared", self._on_unprepared)
        if name in self.stamp_cells:
            media.get_element().get_by_name("stamp").connect("draw", _draw_stamp, self.stamp_cells[name])
        if name in self.clips:
            appsrc = media.get_element().get_by_name("clipsrc")
            GstApp.AppSrc.set_caps(appsrc, self.clips[name].caps)
            feeder = self.feeders[media] = ClipFeeder(appsrc, self.clips[name])
            feeder.start()

    def _on_unprepared(self, media: Any) -> None:
        self.live.discard(media)
        feeder = self.feeders.pop(media, None)
        if feeder is not None:
            feeder.stopping.set()

    def _cleanup_sessions(self) -> bool:
        self.server.get_session_pool().cleanup()
        return True

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT; print ``READY <port>`` once listening."""
        loop = GLib.MainLoop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, loop.quit)
        if self.server.attach(None) == 0:
            raise RuntimeError("cannot listen (port in use?)")
        GLib.timeout_add_seconds(2, self._cleanup_sessions)
        print(f"READY {self.server.get_bound_port()}", flush=True)
        loop.run()
        for feeder in list(self.feeders.values()):
            feeder.stopping.set()
        for media in list(self.live):
            media.unprepare()
        for feeder in list(self.feeders.values()):
            feeder.join(timeout=1.0)


def _parse_spec(text: str) -> CameraSpec:
    try:
        return CameraSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m vigil.sim.camera_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8554, help="RTSP port (0 = any free port)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--camera",
        action="append",
        required=True,
        metavar="SPEC",
        type=_parse_spec,
        help="camera spec (repeatable)",
    )
    args = parser.parse_args(argv)
    specs: list[CameraSpec] = args.camera
    if len({spec.name for spec in specs}) != len(specs):
        parser.error("camera names must be unique")
    Gst.init(None)
    try:
        server = CameraServer(specs, args.port, args.bind)
        server.run()
    except (GLib.Error, RuntimeError) as exc:
        print(f"camera_server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
