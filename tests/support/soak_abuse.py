"""An abusive client of the daemon's API for the soak test (tests/e2e/test_soak.py).

At random (a seeded RNG chooses what to do, where and for how long), it opens connections and
abandons them (idle, half a TLS handshake, headers trickled a byte at a time, a garbage request
line), starts WHEP sessions with aiortc and abandons them without DELETE (closed, vanished without
a word, or never answered), signs in wrongly and rightly, sends bad requests (malformed, deep or
huge JSON, impossible times, random paths, forged tokens, malformed SDP offers), reads the API as
a user would, and fires concurrent bursts. Everything is bounded: actions in flight, how long a
connection is held, WHEP viewers and sign-ins at once, the number of actions and the time, so that
the 2-core test machine is abused, not starved.

Abusive connections come from several loopback source addresses (127.0.3.x), wrong sign-ins from
127.0.1.x and right ones from 127.0.2.x, as clients on a building network would; the rest from
127.0.0.1. The client records what the daemon answered; it judges nothing except its own bugs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from yarl import URL

from tests.support.soak_requests import bad_requests

ABUSE_ADDRS = tuple(f"127.0.3.{i}" for i in range(1, 9))
WRONG_LOGIN_ADDRS = tuple(f"127.0.1.{i}" for i in range(1, 17))
RIGHT_LOGIN_ADDRS = tuple(f"127.0.2.{i}" for i in range(1, 17))
EXPECTED_ERRORS = (OSError, aiohttp.ClientError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError,
                   MediaStreamError)


@dataclass(frozen=True)
class Target:
    """The daemon under test and the credentials the client may use."""

    host: str
    port: int
    cafile: Path
    cameras: tuple[str, ...]
    admin_token: str  # a district admin's bearer token (API reads, bad requests that need a caller)
    user: str  # that admin's name and password (sign-ins)
    password: str
    link_token: str  # a responder link for live video of every camera


@dataclass(frozen=True)
class Limits:
    """Bounds on the abuse."""

    duration_s: float
    max_actions: int = 1_000_000
    in_flight: int = 24  # actions at once (a burst counts as one)
    mean_pause_s: float = 0.15  # mean pause between starting two actions (exponential)
    hold_max_s: float = 12.0  # longest an abandoned connection or live viewer is held
    burst_max: int = 16  # requests in one burst
    flood_max: int = 200  # idle connections opened at once by a flood (one flood at a time)
    # Once per run, at a random time in the window's first quarter (so that the memory it
    # takes counts as settled, see soak_checks.ResourceBounds): more connections than the 1,024
    # open files a service gets by default, held at least 8 s (issue 12, finding 1).
    big_flood: int = 1100
    whep_in_flight: int = 4  # live viewers (aiortc peers) of this client at once
    login_in_flight: int = 2  # sign-ins at once: each costs the daemon a 64 MiB Argon2 check
    # Offers that will never connect hold a daemon session until its connect timeout: none are
    # made this close to the end, so that the end of the soak does not wait for them.
    unanswered_quiet_s: float = 0.0


@dataclass
class Tally:
    """What happened: "action: outcome" counts, server errors, and bugs of this client."""

    outcomes: Counter[str] = field(default_factory=Counter)
    # 5xx other than 503 (client input must never get one), by "action: status", with an example
    server_errors: Counter[str] = field(default_factory=Counter)
    server_error_examples: dict[str, str] = field(default_factory=dict)
    client_bugs: list[str] = field(default_factory=list)  # exceptions no network peer can cause
    frames: int = 0  # video frames decoded by the live viewers
    slowest_read_s: float = 0.0  # the slowest answer to a user's API read

    def add(self, action: str, outcome: str) -> None:
        self.outcomes[f"{action}: {outcome}"] += 1

    def status(self, action: str, request: str, status: int, body: bytes) -> None:
        self.add(action, str(status))
        if status >= 500 and status != 503:
            self.server_error(f"{action}: {status}", f"{request} -> {body[:100]!r}")

    def server_error(self, kind: str, example: str) -> None:
        self.server_errors[kind] += 1
        self.server_error_examples.setdefault(kind, example)

    def summary(self) -> str:
        lines = [f"  {key}: {count}" for key, count in sorted(self.outcomes.items())]
        return "\n".join([*lines, f"  frames decoded by viewers: {self.frames}",
                          f"  slowest API read: {self.slowest_read_s:.2f} s"])


Action = Callable[[random.Random], Awaitable[None]]


class Abuser:
    def __init__(self, target: Target, limits: Limits, seed: int) -> None:
        self.t, self.limits, self.seed = target, limits, seed
        self.tally = Tally()
        self._tls = ssl.create_default_context(cafile=str(target.cafile))
        self._base = f"https://{target.host}:{target.port}"
        self._whep_slots = asyncio.Semaphore(limits.whep_in_flight)
        self._login_slots = asyncio.Semaphore(limits.login_in_flight)
        self._flood_lock = asyncio.Lock()  # one flood at a time
        self._deadline = 0.0
        # name, weight, action; a burst repeats one of the light ones.
        self._actions: list[tuple[str, int, Action]] = [
            ("idle", 10, self.idle_connection), ("flood", 1, self.flood), ("half-tls", 8, self.half_tls_handshake),
            ("slow-headers", 8, self.slow_headers), ("garbage", 3, self.garbage_request),
            ("whep", 6, self.whep_viewer), ("whep-burst", 1, self.whep_burst),
            ("login-wrong", 5, self.login_wrong), ("login-right", 3, self.login_right),
            ("bad-request", 25, self.bad_request), ("read", 15, self.api_read), ("burst", 3, self.burst),
        ]
        self._light: list[tuple[str, Action]] = [("idle", self.idle_connection), ("bad-request", self.bad_request),
                                                 ("read", self.api_read), ("half-tls", self.half_tls_handshake)]

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self) -> Tally:
        """Start actions at random until the time or the count runs out; wait for those in flight."""
        rng = random.Random(self.seed)
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self.limits.duration_s
        slots = asyncio.Semaphore(self.limits.in_flight)
        names, weights = [a[0] for a in self._actions], [a[1] for a in self._actions]
        async with asyncio.TaskGroup() as group:
            if self.limits.big_flood:
                group.create_task(self._big_flood(random.Random(rng.getrandbits(64))))
            for _ in range(self.limits.max_actions):
                if loop.time() >= self._deadline:
                    break
                await slots.acquire()
                name = rng.choices(names, weights)[0]
                action = next(a[2] for a in self._actions if a[0] == name)
                group.create_task(self._one(name, action, random.Random(rng.getrandbits(64)), slots))
                await asyncio.sleep(rng.expovariate(1 / self.limits.mean_pause_s))
        return self.tally

    async def _one(self, name: str, action: Action, rng: random.Random, slots: asyncio.Semaphore | None) -> None:
        try:
            async with asyncio.timeout(self.limits.hold_max_s + 40):
                await action(rng)
        except EXPECTED_ERRORS as error:  # what a hostile or overloaded server may do to a client
            self.tally.add(name, type(error).__name__)
        except Exception as error:  # a bug of this client: reported, and the soak goes on
            self.tally.client_bugs.append(f"{name}: {error!r}")
        finally:
            if slots is not None:
                slots.release()

    def _remaining_s(self) -> float:
        return self._deadline - asyncio.get_running_loop().time()

    def _hold_s(self, rng: random.Random, least_s: float) -> float:
        """How long to hold something: at random up to hold_max_s, ending with the abuse."""
        return min(rng.uniform(least_s, self.limits.hold_max_s), max(least_s, self._remaining_s()))

    # ---- HTTP -------------------------------------------------------------------------------

    def _session(self, source: str = "127.0.0.1", timeout_s: float = 30) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self._tls, local_addr=(source, 0), force_close=True)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def _call(self, session: aiohttp.ClientSession, action: str, method: str, path: str,
                    headers: dict[str, str] | None = None, body: bytes | None = None,
                    ) -> tuple[int, bytes, str | None]:
        """(status, body, Location) of one request; the status is tallied."""
        async with session.request(method, URL(self._base + path, encoded=True), headers=headers,
                                   data=body) as response:
            data = await response.read()
        self.tally.status(action, f"{method} {path[:100]}", response.status, data)
        return response.status, data, response.headers.get("Location")

    def _auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # ---- connections opened and abandoned ---------------------------------------------------

    async def _hold(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    hold_s: float) -> None:
        """Keep the connection until `hold_s` passes or the server closes it; tally which."""
        try:
            async with asyncio.timeout(hold_s):
                while await reader.read(4096):
                    pass
            self.tally.add(name, "closed by server")
        except TimeoutError:
            self.tally.add(name, "held")
        finally:
            writer.close()

    async def _connect(self, rng: random.Random, tls: bool = False, sources: tuple[str, ...] = ABUSE_ADDRS,
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection from one of `sources` (TCP only, or with TLS done)."""
        async with asyncio.timeout(10):  # a server out of descriptors leaves SYNs unanswered
            return await asyncio.open_connection(self.t.host, self.t.port, ssl=self._tls if tls else None,
                                                 local_addr=(rng.choice(sources), 0))

    async def idle_connection(self, rng: random.Random) -> None:
        """TCP connect, send nothing, hold, go."""
        reader, writer = await self._connect(rng)
        await self._hold("idle", reader, writer, self._hold_s(rng, 0))

    async def flood(self, rng: random.Random) -> None:
        """Up to flood_max idle connections at once from one or several addresses, held together
        (skipped while another flood is on)."""
        if self._flood_lock.locked():
            self.tally.add("flood", "skipped (one flood at a time)")
            return
        await self._flood("flood", rng, rng.randint(self.limits.flood_max // 4, self.limits.flood_max), 1)

    async def _big_flood(self, rng: random.Random) -> None:
        """The big flood: it waits for a small one that is on, it is never skipped."""
        await asyncio.sleep(rng.uniform(0.05, 0.25) * self.limits.duration_s)
        await self._one("big-flood", lambda one: self._flood("big-flood", one, self.limits.big_flood, 8), rng, None)

    async def _flood(self, name: str, rng: random.Random, count: int, least_s: float) -> None:
        async with self._flood_lock:
            sources = tuple(rng.sample(ABUSE_ADDRS, rng.randint(1, len(ABUSE_ADDRS))))
            hold_s = self._hold_s(rng, least_s)

            async def connect(one: random.Random) -> None:
                await self._hold(name, *await self._connect(one, sources=sources), hold_s)

            async with asyncio.TaskGroup() as group:
                for _ in range(count):
                    group.create_task(self._one(name, connect, random.Random(rng.getrandbits(64)), None))

    async def half_tls_handshake(self, rng: random.Random) -> None:
        """Send part of a real TLS ClientHello, hold, go."""
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        outgoing = ssl.MemoryBIO()
        tls = context.wrap_bio(ssl.MemoryBIO(), outgoing)
        with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the ServerHello
            tls.do_handshake()
        hello = outgoing.read()
        reader, writer = await self._connect(rng)
        writer.write(hello[: rng.randrange(1, len(hello))])
        await self._hold("half-tls", reader, writer, self._hold_s(rng, 0))

    async def slow_headers(self, rng: random.Random) -> None:
        """Complete TLS, then trickle a request's headers a byte every second or two."""
        reader, writer = await self._connect(rng, tls=True)
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: vigil\r\n")
        trickle = asyncio.ensure_future(self._trickle(writer, rng))
        try:
            await self._hold("slow-headers", reader, writer, self._hold_s(rng, 1))
        finally:
            trickle.cancel()
            await asyncio.wait([trickle])

    @staticmethod
    async def _trickle(writer: asyncio.StreamWriter, rng: random.Random) -> None:
        for byte in b"X-Slow: " + b"a" * 1000:
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            writer.write(bytes([byte]))
            await writer.drain()

    async def garbage_request(self, rng: random.Random) -> None:
        """A request line that is not HTTP, over TLS; read whatever comes back."""
        reader, writer = await self._connect(rng, tls=True)
        try:
            writer.write(rng.choice([b"\x00\x01GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                                     b"GET /api/health HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                                     b"POST /api/login HTTP/1.1\r\nHost: v\r\nContent-Length: 99999999\r\n\r\n{"]))
            async with asyncio.timeout(10):
                answer = await reader.read(64)
            self.tally.add("garbage", answer[:12].decode(errors="replace") or "closed")
            if answer.startswith(b"HTTP/1.1 5") and not answer.startswith(b"HTTP/1.1 503"):
                self.tally.server_error(f"garbage: {answer[9:12].decode()}", repr(answer))
        finally:
            writer.close()

    # ---- live video -------------------------------------------------------------------------

    async def _offer(self, pc: RTCPeerConnection) -> str:
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        return pc.localDescription.sdp

    async def _watch(self, track: MediaStreamTrack) -> None:
        while True:
            await track.recv()
            self.tally.frames += 1

    async def whep_viewer(self, rng: random.Random) -> None:
        """Start a live session as a responder, then leave without DELETE (mostly): close the peer
        connection, vanish (ICE stopped without a word), or never apply the answer at all."""
        modes = ["close", "vanish", "delete"]
        if self._remaining_s() > self.limits.unanswered_quiet_s:
            modes.append("unanswered")
        mode = rng.choice(modes)
        async with self._whep_slots:
            pc = RTCPeerConnection()
            watchers: list[asyncio.Task[None]] = []
            pc.on("track", lambda track: watchers.append(asyncio.ensure_future(self._watch(track))))
            try:
                offer = await self._offer(pc)
                async with self._session() as session:
                    status, answer, location = await self._call(
                        session, "whep", "POST", f"/api/cameras/{rng.choice(self.t.cameras)}/whep",
                        self._auth(self.t.link_token) | {"Content-Type": "application/sdp"}, offer.encode())
                    if status != 201:
                        return
                    if mode == "unanswered":  # the daemon's session can never connect
                        self.tally.add("whep", "left unanswered")
                        return
                    await pc.setRemoteDescription(RTCSessionDescription(answer.decode(), "answer"))
                    await asyncio.sleep(self._hold_s(rng, 1))
                    if mode == "vanish":
                        for transceiver in pc.getTransceivers():
                            await transceiver.receiver.transport.transport.stop()
                    elif mode == "delete" and location is not None:
                        await self._call(session, "whep-delete", "DELETE", location, self._auth(self.t.link_token))
                self.tally.add("whep", f"left by {mode}")
            finally:
                for watcher in watchers:
                    watcher.cancel()
                if watchers:
                    await asyncio.wait(watchers)
                await pc.close()

    async def whep_burst(self, rng: random.Random) -> None:
        """Many offers at once from one responder link; the sessions are never answered."""
        if self._remaining_s() <= self.limits.unanswered_quiet_s:
            return
        pc = RTCPeerConnection()
        try:
            offer = (await self._offer(pc)).encode()
        finally:
            await pc.close()
        headers = self._auth(self.t.link_token) | {"Content-Type": "application/sdp"}
        async with self._session() as session:

            async def post(one: random.Random) -> None:
                await self._call(session, "whep-burst", "POST", f"/api/cameras/{one.choice(self.t.cameras)}/whep",
                                 headers, offer)

            async with asyncio.TaskGroup() as group:
                for _ in range(rng.randint(4, self.limits.burst_max)):
                    group.create_task(self._one("whep-burst", post, random.Random(rng.getrandbits(64)), None))

    # ---- sign-ins ---------------------------------------------------------------------------

    async def login_wrong(self, rng: random.Random) -> None:
        name = rng.choice([self.t.user, f"nobody-{rng.getrandbits(32):x}"])
        body = f'{{"name": "{name}", "password": "wrong-{rng.getrandbits(64):x}"}}'.encode()
        async with self._login_slots, self._session(rng.choice(WRONG_LOGIN_ADDRS)) as session:
            await self._call(session, "login-wrong", "POST", "/api/login", {"Content-Type": "application/json"}, body)

    async def login_right(self, rng: random.Random) -> None:
        """Sign in from an address that never guessed wrong; sign out again, or abandon the session."""
        body = f'{{"name": "{self.t.user}", "password": "{self.t.password}"}}'.encode()
        async with self._login_slots, self._session(rng.choice(RIGHT_LOGIN_ADDRS)) as session:
            status, answer, _ = await self._call(session, "login-right", "POST", "/api/login",
                                                 {"Content-Type": "application/json"}, body)
            if status == 200 and rng.random() < 0.5:
                csrf = str(json.loads(answer)["csrf_token"])
                await self._call(session, "logout", "POST", "/api/logout", {"X-CSRF-Token": csrf})

    # ---- requests ---------------------------------------------------------------------------

    async def bad_request(self, rng: random.Random) -> None:
        requests = bad_requests(rng, self.t.cameras, self.t.admin_token, self.t.link_token)
        name = rng.choice(sorted(requests))
        method, path, headers, body = requests[name]
        async with self._session(rng.choice(ABUSE_ADDRS)) as session:
            await self._call(session, f"bad-request {name}", method, path, headers, body)

    async def api_read(self, rng: random.Random) -> None:
        """What a signed-in user does: health, cameras, a camera's last minute of segments."""
        cam, now_s = rng.choice(self.t.cameras), int(time.time())
        path = rng.choice(["/api/health", "/api/cameras", f"/api/cameras/{cam}/segments?start={now_s - 60}"])
        started = time.monotonic()
        async with self._session() as session:
            await self._call(session, "read", "GET", path, self._auth(self.t.admin_token))
        self.tally.slowest_read_s = max(self.tally.slowest_read_s, time.monotonic() - started)

    async def burst(self, rng: random.Random) -> None:
        """One light action many times at once."""
        name, action = rng.choice(self._light)
        async with asyncio.TaskGroup() as group:
            for _ in range(rng.randint(4, self.limits.burst_max)):
                group.create_task(self._one(name, action, random.Random(rng.getrandbits(64)), None))
