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

from tests.support.camsim import CameraServerFactory
from tests.support.notify_socket import NotifySocket
from tests.support.vigil_proc import VigilProcess, index_of, wait_for, write_config
from vigil.core.timebase import wall_ns_to_iso

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

        # 1. The index locked: the recorder does not wait for it (its rows queue up in order,
        #    store/pending_writes.py), so the pings go on and the watchdog never gives up.
        lock = sqlite3.connect(tmp_path / "data" / "index.sqlite3", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            locked_s = time.monotonic()
            time.sleep(WATCHDOG_USEC / 1e6 * 2)  # two segment boundaries, and twice the wedge limit
            assert len(notify.having("WATCHDOG", locked_s)) >= 2, "pings stopped while the index was locked"
            assert GAVE_UP not in vigil.log, vigil.log
        finally:
            lock.rollback()
            lock.close()

        # 2. A write that never returns: the recorder's segment file after next is a FIFO.
        recordings = tmp_path / "data" / "recordings"

        def caught_up() -> bool:  # every file written during the lock has its row again
            files = {p.relative_to(recordings).as_posix() for p in recordings.rglob("*.mp4")}
            return files <= {s.path for s in index.segments("cam-a", state=None)}

        wait_for(caught_up, 30, "the rows queued during the lock")
        current = index.segments("cam-a", state="open")[-1]
        day = wall_ns_to_iso(time.time_ns())[:10]
        name = f"{current.run_id:06d}-{current.seq + 2:05d}.mp4"
        fifo = tmp_path / "data" / "recordings" / "cam-a" / "main" / day / name
        os.mkfifo(fifo)
        # The segment file is opened before its row is queued, so the open that blocks shows as the
        # segment before it being the newest: the FIFO is opened at the next boundary (2 s
        # segments, keyframes every second: within 3 s).
        wait_for(lambda: any(s.seq == current.seq + 1 for s in index.segments("cam-a", state="open")), 30,
                 "the segment before the FIFO")
        wedged_s = time.monotonic() + 3.0
        time.sleep(3.0 + WATCHDOG_USEC / 1e6 * 3)
        assert not any(s.seq == current.seq + 2 for s in index.segments("cam-a", state=None)), \
            "the recorder got past the FIFO"
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
