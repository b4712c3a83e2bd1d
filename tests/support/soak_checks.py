"""What the soak test (tests/e2e/test_soak.py) judges at the end: recording coverage of a time window
(no gap longer than allowed) and bounded resource use of the daemon, sampled from /proc.

The judging functions are pure (tests/unit/support/test_soak_checks.py shows that each can fail); the sampler
is the thin shell that reads /proc/PID/status and /proc/PID/fd."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Span:
    """One recorded segment: wall time of its first frame and of its end, in ns."""

    start_ns: int
    end_ns: int


def uncovered(spans: Sequence[Span], window_start_ns: int, window_end_ns: int) -> list[tuple[int, int]]:
    """The parts of [window_start, window_end] that no span covers, as (from_ns, to_ns), in order.

    Spans are taken by start time; each gap runs from the latest end seen so far (so overlapping
    spans never hide a hole) to the next span's start. The window's head counts as uncovered from
    window_start to the first span's start, its tail from the last end to window_end. Zero-length
    holes (a segment starting exactly where the previous one ended) are not listed."""
    holes: list[tuple[int, int]] = []
    covered_to = window_start_ns
    for span in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        if span.end_ns <= window_start_ns or span.start_ns >= window_end_ns:
            continue
        if span.start_ns > covered_to:
            holes.append((covered_to, span.start_ns))
        covered_to = max(covered_to, span.end_ns)
    if covered_to < window_end_ns:
        holes.append((covered_to, window_end_ns))
    return holes


@dataclass(frozen=True)
class ProcSample:
    """The daemon's resident memory and open file descriptors at one moment."""

    t_s: float  # time.monotonic()
    rss_bytes: int
    fds: int
    fd_limit: int  # its soft RLIMIT_NOFILE (a daemon may raise its own)


def read_proc(pid: int) -> ProcSample | None:
    """VmRSS from /proc/PID/status, the entries of /proc/PID/fd and the soft "Max open files" of
    /proc/PID/limits; None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
        limits = Path(f"/proc/{pid}/limits").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rss = [int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")]
    soft = [line.split()[3] for line in limits.splitlines() if line.startswith("Max open files")]
    if not rss or not soft:  # a zombie: it exited and has not been reaped yet
        return None
    return ProcSample(time.monotonic(), rss[0], fds, int(soft[0]) if soft[0].isdigit() else 2**31)


@dataclass
class ProcSampler:
    """Samples a process every `interval_s` until stopped (run it as a task)."""

    pid: int
    interval_s: float = 1.0
    samples: list[ProcSample] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self._stop.is_set():
            if (sample := read_proc(self.pid)) is not None:
                self.samples.append(sample)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._stop.wait()

    def stop(self) -> None:
        self._stop.set()

    def between(self, start_s: float, end_s: float) -> list[ProcSample]:
        return [s for s in self.samples if start_s <= s.t_s <= end_s]


@dataclass(frozen=True)
class ResourceBounds:
    """How far the daemon may go, judged against its `warm` sample (cameras recording, no client yet).

    Open files: at every moment of the abuse at least `fd_reserve` below the daemon's own limit
    (what recording needs to go on: its connections may take the rest, no more); after the abuse
    stopped and abandoned live sessions timed out, back within `end_fd_headroom` of `warm` (no
    leak). Memory: at most `peak_rss_headroom_bytes` above `warm` at any moment; at the end, at
    most `end_rss_growth_bytes` above the highest sample of the abuse's first half (Python keeps
    memory it once used; growth in the second half is what a leak looks like)."""

    fd_reserve: int
    end_fd_headroom: int
    peak_rss_headroom_bytes: int
    end_rss_growth_bytes: int


def resource_problems(warm: ProcSample, during: Sequence[ProcSample], end: ProcSample | None,
                      bounds: ResourceBounds) -> list[str]:
    """Each bound of `bounds` that the samples break, in words (empty: all held). Without an `end`
    sample (the daemon died) only the peaks are judged."""
    problems: list[str] = []
    if not during:
        return ["no samples were taken during the abuse"]
    peak = max(during, key=lambda s: s.fds - s.fd_limit)
    if peak.fds > peak.fd_limit - bounds.fd_reserve:
        problems.append(f"open files reached {peak.fds} of the {peak.fd_limit} allowed, less than"
                        f" {bounds.fd_reserve} to spare")
    if end is not None and end.fds > warm.fds + bounds.end_fd_headroom:
        problems.append(f"open files ended at {end.fds}, more than {bounds.end_fd_headroom} above the"
                        f" {warm.fds} before the abuse (a leak)")
    peak_rss = max(s.rss_bytes for s in during)
    if peak_rss > warm.rss_bytes + bounds.peak_rss_headroom_bytes:
        problems.append(f"RSS peaked at {peak_rss / MIB:.0f} MiB, more than"
                        f" {bounds.peak_rss_headroom_bytes / MIB:.0f} MiB above the {warm.rss_bytes / MIB:.0f} MiB"
                        " before the abuse")
    settled = max(s.rss_bytes for s in during[: max(1, len(during) // 2)])
    if end is not None and end.rss_bytes > settled + bounds.end_rss_growth_bytes:
        problems.append(f"RSS ended at {end.rss_bytes / MIB:.0f} MiB, more than"
                        f" {bounds.end_rss_growth_bytes / MIB:.0f} MiB above the {settled / MIB:.0f} MiB of the"
                        " abuse's first half (a leak)")
    return problems


def timeline(samples: Sequence[ProcSample], points: int = 10) -> str:
    """`points` samples spread evenly over `samples` (first and last included), as one line each:
    seconds since the first, open files, RSS in MiB."""
    if not samples:
        return "  (no samples)"
    picks = sorted({round(i * (len(samples) - 1) / max(1, points - 1)) for i in range(points)})
    return "\n".join(f"  {'+' + format(samples[i].t_s - samples[0].t_s, '.0f'):>7} s {samples[i].fds:5} open files"
                     f" {samples[i].rss_bytes / MIB:6.0f} MiB" for i in picks)
