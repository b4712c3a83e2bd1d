"""sd_notify end to end: the real daemon under a test-owned NOTIFY_SOCKET with WATCHDOG_USEC set,
recording a real RTSP camera. READY, STATUS and WATCHDOG are observed; then the recorder is
wedged for real, twice:

1. its index write waits on a lock the test holds (SQLite's busy wait, the GIL released): the
   supervisor sees the recorder's heartbeat go stale, logs why once and stops pinging; released,
   the pings come back;
2. its next segment file is a FIFO nobody reads, so the muxer's write blocks inside FFmpeg with
   the GIL held and the whole process freezes: no ping can go out, and systemd would restart it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from camsim import CameraServerFactory
from notify_socket import NotifySocket
from vigil.core.timebase import wall_ns_to_iso
from vigil_proc import VigilProcess, index_of, wait_for, write_config

CAM = "width=320,height=240,fps=15,gop=15,bitrate=300"
WATCHDOG_USEC = 3_000_000  # pings every 1.5 s; a recorder without progress for 2 s is wedged
GAVE_UP = "watchdog: no progress from recorder cam-a/main"


@pytest.mark.slow
def test_ready_status_watchdog_and_wedged_recorders_stop_the_pings(
        tmp_path: Path, camera_server: CameraServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cams = camera_server(f"name=a,{CAM}")
    config = write_config(tmp_path, {"cam-a": cams.url("a")}, "segment_duration_s = 2")
    config.write_text(config.read_text() + '[http]\nlisten = "127.0.0.1:0"\n')
    notify = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    vigil = VigilProcess(config)
    try:
        wait_for(lambda: bool(notify.having("READY")), 60, "READY=1")
        ready = notify.having("READY")[0]
        assert ready.fields["READY"] == "1"
        assert "storage ok" in ready.fields["STATUS"], ready.fields
        assert "API listening" in vigil.log  # READY came after the API listened
        wait_for(lambda: any("1 recording" in m.fields["STATUS"] for m in notify.having("STATUS")), 60,
                 "a STATUS line with the camera recording")
        wait_for(lambda: len(notify.having("WATCHDOG", ready.at_s)) >= 2, 30, "two WATCHDOG=1 pings")
        assert all(m.fields["WATCHDOG"] == "1" for m in notify.having("WATCHDOG"))
        index = index_of(config)
        wait_for(lambda: bool(index.segments("cam-a")), 30, "a complete segment")

        # 1. The index locked: the recorder waits at its next segment boundary (SQLite busy wait).
        lock = sqlite3.connect(tmp_path / "data" / "index.sqlite3", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            wait_for(lambda: GAVE_UP in vigil.log, 9, "the watchdog giving up on the waiting recorder", 0.05)
            gave_up_s = time.monotonic()
            time.sleep(0.5)
            assert notify.having("WATCHDOG", gave_up_s + 0.2) == [], "pinged while the recorder was wedged"
        finally:
            lock.rollback()
            lock.close()
        assert vigil.log.count(GAVE_UP) == 1, vigil.log  # logged once
        wait_for(lambda: "healthy again" in vigil.log, 30, "the watchdog healthy again")
        resumed_s = time.monotonic()
        wait_for(lambda: bool(notify.having("WATCHDOG", resumed_s)), 10, "pings again")

        # 2. A write that never returns: the recorder's segment file after next is a FIFO.
        current = index.segments("cam-a", state="open")[-1]
        day = wall_ns_to_iso(time.time_ns())[:10]
        name = f"{current.run_id:06d}-{current.seq + 2:05d}.mp4"
        fifo = tmp_path / "data" / "recordings" / "cam-a" / "main" / day / name
        os.mkfifo(fifo)
        wait_for(lambda: any(s.seq == current.seq + 2 for s in index.segments("cam-a", state="open")), 30,
                 "the recorder opening the FIFO as its segment")
        wedged_s = time.monotonic()
        time.sleep(WATCHDOG_USEC / 1e6 * 3)
        late = notify.having("WATCHDOG", wedged_s + WATCHDOG_USEC / 1e6)
        assert late == [], f"pings while frozen: {late}"
        assert vigil.proc.poll() is None  # alive but frozen: systemd, not the daemon, restarts it

        # Unwedge (read the FIFO) so the daemon can stop; STOPPING=1 is announced.
        def drain() -> None:
            with fifo.open("rb") as f:
                while f.read(65536):
                    pass

        threading.Thread(target=drain, daemon=True).start()
        stop_s = time.monotonic()
        vigil.terminate(60)
        assert notify.having("STOPPING", stop_s), "no STOPPING=1"
    finally:
        vigil.close()
        notify.close()
