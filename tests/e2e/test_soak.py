"""Soak: 16 cameras keep recording while an abusive client (tests/support/soak_abuse.py) opens and abandons
connections, WHEP sessions, sign-ins and bad requests at random (issue 12: nothing a client does
may stop recording). The daemon runs as in production: TLS, and started with the soft limit of
open files that systemd gives vigil.service (1,024 without LimitNOFILE=, as today); the client's
one big flood opens 1,100 connections at once, more than that default.

The short form runs in CI (30 s of abuse, 1-2 minutes in all). By hand, for an hour:

    VIGIL_SKIP_IMAGE_BOOT=1 VIGIL_SOAK_S=3600 bash .ci/test -m soak -s

It prints its seed; VIGIL_SOAK_SEED=N repeats a run's choices (not its timing).
VIGIL_SOAK_BIG_FLOOD=N sets the size of the big flood (0: none; to look for other faults on a
daemon that the flood is known to stop).

Judged at the end (the judges are in tests/support/soak_checks.py):
- for every camera, the complete segments in the index (`vigil segments --json`) cover the soak
  window with no hole longer than MAX_GAP_S: from the end of one segment to the start of the next
  (overlaps never hide a hole), and at the window's ends. The window starts once every camera has
  a complete segment (startup is not judged) and ends when the daemon is told to stop, after the
  abuse and the drain (abandoned live sessions timing out);
- `vigil fsck` exits 0;
- the daemon's open files (/proc/PID/fd, sampled every 0.5 s) stay at least BOUNDS.fd_reserve
  below its own limit (/proc/PID/limits) and come back to within BOUNDS.end_fd_headroom of the
  sample before the abuse; its RSS (/proc/PID/status) stays within BOUNDS.peak_rss_headroom_bytes
  of that sample and does not grow more than BOUNDS.end_rss_growth_bytes in the abuse's second half;
- the daemon is alive, /api/health answers 200 with every camera up and recording, it exits 0 on
  SIGTERM; no answer to the client was a server error (a 5xx other than 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.camsim import CameraServer
from tests.support.http_call import call, free_port
from tests.support.netns import requires_test_namespace
from tests.support.soak_abuse import Abuser, Limits, Tally, Target
from tests.support.soak_checks import (
    MIB,
    ProcSample,
    ProcSampler,
    ResourceBounds,
    Span,
    read_proc,
    resource_problems,
    timeline,
    uncovered,
)
from tests.support.vigil_proc import VigilProcess, index_of, run_vigil, vigil_stdin, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso
from vigil.sim.clips import make_h264_clip
from vigil.webrtc.sessions import CONNECT_TIMEOUT_S, SILENCE_TIMEOUT_S

pytestmark = [pytest.mark.soak, requires_test_namespace]

CAMERAS = tuple(f"c{i:02}" for i in range(16))
SEGMENT_S = 4
MAX_GAP_S = 2.0
SOAK_S = float(os.environ.get("VIGIL_SOAK_S", "30"))
BIG_FLOOD = int(os.environ.get("VIGIL_SOAK_BIG_FLOOD", "1100"))
PASSWORD = "soak admin password"
# Measured on the unfixed daemon (6-8 min runs without the big flood, 2 loaded cores): RSS
# plateaus 200-260 MiB above the sample before the abuse, peaks at +340 to +390 MiB (the abuse
# holds up to two 64 MiB Argon2 checks, live sessions and floods at once). Each accepted TLS
# connection costs about 0.2 MiB (+160 MiB for +840 of the big flood's), so a daemon that accepted
# the whole big flood would add ~250 MiB. Open files: +220 at most without the big flood, back to
# +0/+1 after the drain.
BOUNDS = ResourceBounds(fd_reserve=64, end_fd_headroom=16, peak_rss_headroom_bytes=768 * MIB,
                        end_rss_growth_bytes=64 * MIB)
NS = 1_000_000_000
UNIT = Path(__file__).resolve().parents[2] / "systemd" / "vigil.service"
CLIENT_NOFILE = 4096  # the abusive client's own need (a flood of Limits.big_flood and the rest)


def service_nofile() -> int:
    """The soft open-file limit systemd starts vigil.service with: its LimitNOFILE= (SOFT[:HARD]),
    else systemd's default of 1,024."""
    for line in UNIT.read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == "LimitNOFILE" and value.split(":")[0].isdigit():
            return int(value.split(":")[0])
    return 1024


@contextlib.contextmanager
def soft_nofile(limit: int) -> Iterator[None]:
    """This process's soft RLIMIT_NOFILE set to `limit` (capped by the hard limit), then restored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@dataclass
class Appliance:
    config: Path
    vigil: VigilProcess
    target: Target


@pytest.fixture
def appliance(tmp_path: Path) -> Iterator[Appliance]:
    """16 cameras replaying one small pre-encoded clip (cheap), recorded by the real daemon over TLS."""
    clip = make_h264_clip(tmp_path / "clip.mp4", width=320, height=240, fps=15, seconds=10, bitrate_kbps=150)
    port = free_port()
    with CameraServer(*(f"name={cam},file={clip}" for cam in CAMERAS)) as cams:
        config = write_config(tmp_path, {cam: cams.url(cam) for cam in CAMERAS},
                              f'segment_duration_s = {SEGMENT_S}\n[http]\nlisten = "127.0.0.1:{port}"')
        c = ("--config", str(config))
        added = vigil_stdin(PASSWORD + "\n", "user", "add", "soak-admin", "--role", "district_admin",
                            "--password-stdin", *c)
        assert added.returncode == 0, added.stderr
        token = run_vigil("token", "create", "soak-admin", *c).stdout.strip()
        link = run_vigil("link", "create", "--building", "hs", "--reason", "soak", *c)
        assert link.returncode == 0, link.stderr
        with soft_nofile(service_nofile()):  # the daemon starts as systemd would start it
            vigil = VigilProcess(config)
        try:
            ca = tmp_path / "data" / "tls" / "cert.pem"
            wait_for(ca.exists, 30, "the self-signed certificate")
            target = Target("127.0.0.1", port, ca, CAMERAS, token, "soak-admin", PASSWORD,
                            link.stdout.strip().rsplit("/", 1)[1])
            wait_for(lambda: health(target)[0] == 200, 30, "the API")
            yield Appliance(config, vigil, target)
        finally:
            vigil.close()
            with vigil.log_path.open("rb") as log:  # on a daemon out of descriptors it can be huge
                log.seek(max(0, log.seek(0, 2) - 3000))
                print(f"daemon log ({vigil.log_path}), its end:\n{log.read().decode(errors='replace')}")


def health(target: Target) -> tuple[int, dict[str, object]]:
    """(status, body) of /api/health as the admin; status 0 when no answer came."""
    try:
        status, body, _ = call(f"https://{target.host}:{target.port}/api/health",
                               headers={"Authorization": f"Bearer {target.admin_token}"}, cafile=target.cafile,
                               timeout_s=10)
    except OSError as error:  # refused, reset, timed out: the daemon is gone or not answering
        return 0, {"error": repr(error)}
    return status, json.loads(body) if status == 200 else {}


async def abuse_and_drain(pid: int, target: Target, seed: int) -> tuple[Tally, ProcSample, list[ProcSample],
                                                                        ProcSample | None, float]:
    """Sample the daemon; abuse it for SOAK_S; then wait (up to the live sessions' timeouts) until
    its abandoned live sessions are gone and its open files are back near the level before."""
    sampler = ProcSampler(pid, interval_s=0.5)
    sampling = asyncio.ensure_future(sampler.run())
    try:
        await asyncio.sleep(3)
        warm = sampler.samples[-1]
        limits = Limits(duration_s=SOAK_S, unanswered_quiet_s=min(CONNECT_TIMEOUT_S + 5, SOAK_S / 2),
                        big_flood=BIG_FLOOD)
        start = time.monotonic()
        tally = await Abuser(target, limits, seed).run()
        during = sampler.between(start, time.monotonic())
        drain_start, end = time.monotonic(), None
        while time.monotonic() - drain_start < CONNECT_TIMEOUT_S + SILENCE_TIMEOUT_S + 10:
            await asyncio.sleep(2)
            end = read_proc(pid)
            if end is None:  # the daemon died
                break
            sessions = (await asyncio.to_thread(health, target))[1].get("live_sessions", 0)
            if sessions == 0 and end.fds <= warm.fds + BOUNDS.end_fd_headroom:
                break
        return tally, warm, during, end, time.monotonic() - drain_start
    finally:
        sampler.stop()
        await sampling


def test_recording_survives_client_abuse(appliance: Appliance) -> None:
    config, vigil, target = appliance.config, appliance.vigil, appliance.target
    seed = int(os.environ.get("VIGIL_SOAK_SEED", random.SystemRandom().getrandbits(32)))
    print(f"soak: {SOAK_S:.0f} s of abuse, big flood {BIG_FLOOD}, seed {seed} (VIGIL_SOAK_SEED={seed} repeats the"
          " choices)")
    wait_for(lambda: {s.camera_id for s in index_of(config).segments()} == set(CAMERAS), 90,
             "a complete segment of every camera")
    window_start_ns = time.time_ns()
    print(f"soak: every camera recording {(window_start_ns - vigil.started_wall_ns) / NS:.0f} s after the start")
    with soft_nofile(CLIENT_NOFILE):
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= CLIENT_NOFILE, "the client needs more open files"
        tally, warm, during, end, drain_s = asyncio.run(abuse_and_drain(vigil.proc.pid, target, seed))
    print(f"soak: client tally (seed {seed}):\n{tally.summary()}")
    problems = [f"server error {n}x: {kind} (e.g. {tally.server_error_examples[kind]})"
                for kind, n in tally.server_errors.most_common()]
    problems += [f"soak client bug: {e}" for e in tally.client_bugs[:20]]
    if vigil.proc.poll() is not None:
        problems.append(f"the daemon died during the soak (exit {vigil.proc.returncode})")
    else:
        status, body = health(target)
        cameras = body.get("cameras")
        counts = {key: cameras.get(key) for key in ("total", "up", "recording", "paused")} if isinstance(
            cameras, dict) else None  # the counts only: health also names each camera's clock skew
        if status != 200 or counts != {"total": 16, "up": 16, "recording": 16, "paused": {}}:
            problems.append(f"health after the abuse: {status} {body}")
    last = end or (during[-1] if during else warm)  # the daemon's last sample if it died
    peak_fds, peak_rss = max(during or [warm], key=lambda x: x.fds), max(s.rss_bytes for s in during or [warm])
    print(f"soak: before the abuse {warm.fds} open files (limit {warm.fd_limit}), {warm.rss_bytes / MIB:.0f} MiB;"
          f" peak {peak_fds.fds} (limit {peak_fds.fd_limit}), {peak_rss / MIB:.0f} MiB;"
          f" {'after ' + format(drain_s, '.0f') + ' s of drain' if end else 'last seen'}"
          f" {last.fds}, {last.rss_bytes / MIB:.0f} MiB")
    print(f"soak: the daemon during the abuse:\n{timeline(during)}")
    problems += resource_problems(warm, during, end, BOUNDS)
    window_end_ns = time.time_ns()
    if vigil.proc.poll() is None:
        exit_code = vigil.terminate()
        if exit_code != 0:
            problems.append(f"the daemon exited {exit_code} on SIGTERM")
    problems += coverage_problems(config, window_start_ns, window_end_ns)
    fsck = run_vigil("fsck", "--config", str(config))
    if fsck.returncode != 0:
        problems.append(f"fsck exited {fsck.returncode}: {fsck.stdout[-2000:]}{fsck.stderr[-2000:]}")
    assert not problems, "\n".join(problems)


def coverage_problems(config: Path, window_start_ns: int, window_end_ns: int) -> list[str]:
    """Holes longer than MAX_GAP_S in each camera's segments over the window (`vigil segments --json`)."""
    listing = run_vigil("segments", "--json", "--config", str(config))
    if listing.returncode != 0:
        return [f"vigil segments exited {listing.returncode}: {listing.stderr[-2000:]}"]
    spans: dict[str, list[Span]] = {cam: [] for cam in CAMERAS}
    for line in listing.stdout.splitlines():
        row = json.loads(line)
        spans[row["camera_id"]].append(Span(int(row["start_wall_ns"]), int(row["end_wall_ns"])))
    problems, widest = [], 0
    for cam, recorded in spans.items():
        holes = uncovered(recorded, window_start_ns, window_end_ns)
        widest = max([widest, *(b - a for a, b in holes)])
        problems += [f"{cam}: nothing recorded for {(b - a) / NS:.2f} s from {wall_ns_to_iso(a)} to {wall_ns_to_iso(b)}"
                     for a, b in holes if b - a > MAX_GAP_S * NS]
    print(f"soak: {sum(len(v) for v in spans.values())} segments over {(window_end_ns - window_start_ns) / NS:.0f}"
          f" s; the widest hole on any camera {widest / NS:.3f} s")
    return problems

