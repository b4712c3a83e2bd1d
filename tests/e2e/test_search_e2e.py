"""Full-text search and the export listing against the running daemon: a hold the command line
places while the daemon runs (another process, another connection) is found over HTTP, because
the index's triggers, not the API, keep the search table in step; a bad query is a problem."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tests.e2e.test_holds_e2e import Api
from tests.support.http_call import free_port
from tests.support.vigil_proc import VigilProcess, run_vigil, vigil_stdin, wait_for, write_config


def test_search_finds_what_any_writer_stored(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, {"cam-a": "rtsp://127.0.0.1:1/nobody"},  # no camera needed here
                          f'[http]\nlisten = "127.0.0.1:{port}"\ntls = false')
    c = ("--config", str(config))
    assert vigil_stdin("a long enough password\n", "user", "add", "chief", "--role", "district_admin",
                       "--password-stdin", *c).returncode == 0
    api = Api(port, run_vigil("token", "create", "chief", *c).stdout.strip())
    vigil = VigilProcess(config)
    try:
        def answers() -> bool:
            try:
                return api.call("GET", "/api/health")[0] == 200
            except OSError:  # not listening yet
                return False

        wait_for(answers, 30, "the daemon to answer")
        status, mark = api.call("POST", "/api/bookmarks", {"camera": "cam-a", "start": "2026-11-01T08:00:00Z",
                                                           "headline": "Gym door propped open"})
        assert status == 201, mark
        added = run_vigil("hold", "add", "--camera", "cam-a", "--start", "2026-11-01T08:00Z", "--end",
                          "2026-11-01T09:00Z", "--reason", "fight by the gym door", "--case-id", "PD-2026-0412", *c)
        assert added.returncode == 0, added.stderr
        status, body = api.call("GET", "/api/search?q=gym%20door")
        assert status == 200, body
        assert sorted((r["kind"], r["id"]) for r in body["results"]) == [("bookmark", mark["id"]), ("hold", 1)]
        status, body = api.call("GET", f"/api/search?q={quote('PD-2026-0412')}")
        assert [(r["kind"], r["item"]["created_by"][:4]) for r in body["results"]] == [("hold", "cli:")]
        status, problem = api.call("GET", f"/api/search?q={quote('gym OR')}")
        assert status == 400 and "cannot be read" in problem["detail"], problem
        assert api.call("GET", "/api/exports") == (200, [])
    finally:
        vigil.close()
