"""The daemon's "report" part: when an incident ends, its report is queued for the export worker
(services/incident_report.py), as the appliance; at start, so is every ended incident's report
the daemon has not made (it stopped first). A report whose video is still being recorded (the
tail after the end) is asked for again when the footage can be exported (NotReadyError says
when); one refused for now (a full queue, no space, a busy index) again a little later."""

from __future__ import annotations

import asyncio
import logging
import time

from vigil.core.errors import ConflictError, NotFoundError, NotReadyError, VigilError
from vigil.exports.jobs import ExportJobs
from vigil.services.caller import worker_caller
from vigil.services.env import IncidentChange, ServiceEnv
from vigil.services.incident_report import needs_report, request_report

log = logging.getLogger(__name__)

MAX_PENDING = 256
RETRY_S = 30.0
MAX_WAIT_S = 600.0


class IncidentReports:
    def __init__(self, env: ServiceEnv, jobs: ExportJobs | None) -> None:
        self.env, self.jobs = env, jobs
        self._ended: asyncio.Queue[int] = asyncio.Queue(MAX_PENDING)
        self._due: dict[int, float] = {}  # incident id -> when to ask (event loop time)
        self.made: dict[int, int] = {}  # incident id -> its report's export id (this run)

    def on_change(self, change: IncidentChange) -> None:
        """An `env.incident_listeners` entry (on the loop; never blocks)."""
        if change.what != "ended":
            return
        try:
            self._ended.put_nowait(change.incident_id)
        except asyncio.QueueFull:  # the next start finds it without a report
            log.error("incident %d: too many reports pending; it is made at the next start", change.incident_id)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for row in await self.env.run(lambda: needs_report(self.env)):
            self._due[row.id] = loop.time()
        while True:
            now = loop.time()
            for incident_id in [i for i, due in self._due.items() if due <= now]:
                del self._due[incident_id]
                await self._ask(incident_id, loop)
            wait = min([*(d - loop.time() for d in self._due.values()), MAX_WAIT_S])
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
                # comes as the queue yields, and the part would outlive the daemon's stop
                async with asyncio.timeout(max(0.0, wait)):
                    incident_id = await self._ended.get()
            except TimeoutError:
                continue
            self._due[incident_id] = loop.time()

    async def _ask(self, incident_id: int, loop: asyncio.AbstractEventLoop) -> None:
        if incident_id in self.made:  # found at start and told by the listener too
            return
        try:
            export_id = await request_report(self.env, worker_caller(time.time_ns()), self.jobs, incident_id)
        except NotReadyError as error:
            self._due[incident_id] = loop.time() + max(1, error.retry_after_s)
            log.info("incident %d: its report waits for the footage (%d s)", incident_id, error.retry_after_s)
        except (NotFoundError, ConflictError) as error:  # gone, or open again: nothing to report
            log.warning("incident %d: no report: %s", incident_id, error)
        except VigilError as error:
            self._due[incident_id] = loop.time() + RETRY_S
            log.warning("incident %d: report not queued (%s); trying again in %.0f s", incident_id, error, RETRY_S)
        except Exception:  # one report's fault must not stop the part (nor, with it, the daemon)
            self._due[incident_id] = loop.time() + RETRY_S
            log.exception("incident %d: report not queued; trying again in %.0f s", incident_id, RETRY_S)
        else:
            self.made[incident_id] = export_id
            log.info("incident %d: report queued as export %d", incident_id, export_id)
