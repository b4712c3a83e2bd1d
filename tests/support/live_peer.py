"""A live viewer for the e2e tests: a real aiortc peer that offers to the daemon's WHEP route
(`POST /api/cameras/{id}/whep`), decodes what it receives with aiortc's own decoders and keeps
what the tests judge: `frames` (decoded video frames), `sizes` (their width and height) and, when
it asked for sound, `audio` (decoded blocks, first channel) at `audio_rate`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tests.support.http_call import call
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for


@dataclass
class ServedDaemon:
    """A running `vigil run` with its TLS certificate and a district admin's API token."""

    base: str
    config: Path
    ca: Path
    token: str
    vigil: VigilProcess

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body); status 0 while the daemon does not listen yet (it writes its
        certificate before it listens)."""
        try:
            status, raw, _ = call(self.base + path, headers={"Authorization": f"Bearer {self.token}"}, cafile=self.ca)
        except urllib.error.URLError:
            return 0, None
        return status, json.loads(raw) if raw else None


@contextlib.contextmanager
def served(config: Path, port: int) -> Iterator[ServedDaemon]:
    """`vigil run` on `config` (its storage in config's folder's `data`, https on `port`) with a
    district admin `root` and its API token; answering /api/health when yielded, stopped cleanly
    (exit 0) after."""
    added = vigil_stdin("a long enough password\n", "user", "add", "root", "--role", "district_admin",
                        "--password-stdin", "--config", str(config))
    assert added.returncode == 0, added.stderr
    token = run_vigil("token", "create", "root", "--config", str(config)).stdout.strip()
    vigil = VigilProcess(config)
    try:
        ca = config.parent / "data" / "tls" / "cert.pem"
        wait_for(ca.exists, 20, "the TLS certificate")
        d = ServedDaemon(f"https://127.0.0.1:{port}", config, ca, token, vigil)
        wait_for(lambda: d.get("/api/health")[0] == 200, 20, "the API")
        yield d
        assert vigil.terminate() == 0, vigil.log
    finally:
        vigil.close()


@dataclass
class LivePeer:
    """One viewer of `base` (the daemon's URL; https trusted through `ssl_context`). With
    `want_audio` the offer has a recvonly audio section after the video one."""

    base: str
    ssl_context: ssl.SSLContext | bool = True  # aiohttp's `ssl`: True verifies with the system's CAs
    want_audio: bool = False
    pc: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    frames: int = 0
    sizes: list[tuple[int, int]] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    audio_rate: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    location: str = ""
    video: str = ""  # the answer's Vigil-Live-Video header
    answer: str = ""

    async def _pump(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.frames += 1
                    self.sizes.append((frame.width, frame.height))  # type: ignore[union-attr]
                else:
                    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))  # type: ignore[union-attr]
                    self.audio.append(samples[:, 0])
                    self.audio_rate = frame.sample_rate  # type: ignore[union-attr]

    async def offer(self, camera: str, headers: dict[str, str],
                    edit_sdp: Callable[[str], str] | None = None) -> tuple[int, str, dict[str, str]]:
        """Posts the offer (through `edit_sdp` when given): (status, body, response headers)."""
        self.pc.addTransceiver("video", direction="recvonly")
        if self.want_audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.on("track", lambda track: self.tasks.append(asyncio.ensure_future(self._pump(track))))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = self.pc.localDescription.sdp
        async with aiohttp.ClientSession() as http:
            response = await http.post(f"{self.base}/api/cameras/{camera}/whep",
                                       data=edit_sdp(sdp) if edit_sdp else sdp,
                                       headers=headers | {"Content-Type": "application/sdp"}, ssl=self.ssl_context)
            return response.status, await response.text(), dict(response.headers)

    async def open(self, camera: str, headers: dict[str, str],
                   edit_sdp: Callable[[str], str] | None = None) -> None:
        """Offers, expects 201 and takes the answer."""
        status, self.answer, response_headers = await self.offer(camera, headers, edit_sdp)
        assert status == 201, self.answer
        self.location = response_headers["Location"]
        self.video = response_headers.get("Vigil-Live-Video", "")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer, type="answer"))

    async def leave(self, headers: dict[str, str]) -> None:
        """Ends the session the WHEP way (DELETE of its Location), then closes."""
        async with aiohttp.ClientSession() as http:
            response = await http.delete(self.base + self.location, headers=headers, ssl=self.ssl_context)
            assert response.status == 200
        await self.close()

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def audio_section(self) -> str:
        return self.answer[self.answer.index("m=audio"):]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_async(condition: Callable[[], Any], timeout_s: float, what: str) -> None:
    """Polls `condition` every 0.1 s without blocking the event loop (the peers run on it)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)
