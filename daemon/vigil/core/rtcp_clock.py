"""A camera's own wall clock from its RTCP sender reports (RFC 3550 §6.4.1), sans-IO.

A sender report (SR) pairs the camera's NTP wall time with the RTP timestamp of the same
instant. Rules:
- Mapping: `wall_ns(ts)` = the latest usable SR's wall time + (ts − its RTP timestamp) / the
  stream's nominal clock rate, extrapolated both ways. `ts` is an unwrapped (64-bit) RTP timestamp
  (rtp.TimestampUnwrapper); the SR's 32-bit timestamp is placed within ±2^31 of it, so the two
  need not share an origin, only the value modulo 2^32. The latest SR always defines the mapping
  (the camera's RTP clock drifts from its NTP clock; following each SR keeps the error to the
  drift over one SR interval, a few ms at worst), so wall times may step by that much at an SR.
- Skew: per SR, the camera's NTP wall time − the appliance's wall time when the SR arrived (so it
  includes the network and the camera's send delay, a few ms on a LAN); `skew_ms()` is the median of
  the last SKEW_WINDOW samples: one late SR does not move it.
- An SR with an NTP time of 0 (RFC 3550: the sender has no wall clock) is not usable: ignored.
- Jumps: an SR whose wall time disagrees with the previous mapping's extrapolation by more than
  JUMP_TOLERANCE_MS (the camera stepped its clock, e.g. NTP came up, or restarted its stream) starts
  afresh: the skew history is cleared and the new SR alone defines mapping and skew. `jumps`
  counts them.
- Unsynchronised camera clock: when the median skew is beyond MAX_TRUSTED_SKEW_S (a camera that
  never got NTP still thinks it is 1970 or 2000, or keeps a wrong time zone as UTC),
  `synchronised()` is False and `wall_ns` returns None: the caller falls back to its receive time,
  and `skew_ms()` still says how far off the camera is (for health). `camera_ns` gives the mapping
  whatever the clock's state: the tracks of one camera share its clock, so their SRs still line
  audio up with video. Before the first usable SR `wall_ns`, `camera_ns` and `skew_ms` are None.
"""

from __future__ import annotations

from collections import deque
from statistics import median

from vigil.core.rtp import SenderReport

NTP_UNIX_OFFSET_S = 2_208_988_800  # 1900-01-01 → 1970-01-01
SKEW_WINDOW = 9
JUMP_TOLERANCE_MS = 500.0
MAX_TRUSTED_SKEW_S = 10.0


def ntp_to_unix_ns(ntp_time: int) -> int:
    """A 64-bit NTP timestamp as nanoseconds since the Unix epoch (era 0, until 2036; a camera
    whose clock is in era 1 sends seconds that wrapped, taken here as after 2036)."""
    seconds = ntp_time >> 32
    if seconds < 0x80000000:  # RFC 4330 §3: MSB clear means era 1 (from 2036-02-07)
        seconds += 1 << 32
    return (seconds - NTP_UNIX_OFFSET_S) * 1_000_000_000 + (((ntp_time & 0xFFFFFFFF) * 1_000_000_000) >> 32)


class RtcpClock:
    """NTP ↔ RTP mapping and clock skew of one stream (rules in the module docstring)."""

    def __init__(self, clock_rate_hz: int) -> None:
        if clock_rate_hz <= 0:
            raise ValueError(f"clock rate {clock_rate_hz} Hz")
        self.clock_rate_hz = clock_rate_hz
        self._sr_wall_ns: int | None = None
        self._sr_rtp = 0
        self._skews_ms: deque[float] = deque(maxlen=SKEW_WINDOW)
        self.jumps = 0
        self.reports = 0

    def on_sender_report(self, sr: SenderReport, arrival_wall_ns: int) -> None:
        if sr.ntp_time == 0:
            return
        wall_ns = ntp_to_unix_ns(sr.ntp_time)
        if self._sr_wall_ns is not None:
            expected_ns = self._extrapolate(sr.rtp_timestamp)
            if abs(wall_ns - expected_ns) > JUMP_TOLERANCE_MS * 1_000_000:
                self.jumps += 1
                self._skews_ms.clear()
        self._sr_wall_ns, self._sr_rtp = wall_ns, sr.rtp_timestamp
        self._skews_ms.append((wall_ns - arrival_wall_ns) / 1_000_000)
        self.reports += 1

    def _extrapolate(self, rtp_timestamp: int) -> int:
        """The camera's wall time (ns) for an RTP timestamp, from the current SR."""
        assert self._sr_wall_ns is not None
        delta = (rtp_timestamp - self._sr_rtp) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return self._sr_wall_ns + delta * 1_000_000_000 // self.clock_rate_hz

    def skew_ms(self) -> float | None:
        """Camera clock − appliance receive clock, the median of the recent SRs (ms)."""
        if not self._skews_ms:
            return None
        return float(median(self._skews_ms))

    def synchronised(self) -> bool:
        skew = self.skew_ms()
        return skew is not None and abs(skew) <= MAX_TRUSTED_SKEW_S * 1000

    def camera_ns(self, rtp_timestamp_ext: int) -> int | None:
        """The camera's clock (ns) at an unwrapped RTP timestamp, synchronised or not (None before
        a usable SR): for lining up the tracks of one camera, whose SRs share that clock."""
        if self._sr_wall_ns is None:
            return None
        return self._extrapolate(rtp_timestamp_ext)

    def wall_ns(self, rtp_timestamp_ext: int) -> int | None:
        """The camera's wall clock (ns since the Unix epoch) at an unwrapped RTP timestamp, or
        None before a usable SR or while the camera's clock is not synchronised."""
        if self._sr_wall_ns is None or not self.synchronised():
            return None
        return self._extrapolate(rtp_timestamp_ext)
