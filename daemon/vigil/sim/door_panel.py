"""A simulated access-control panel for `vigil demo`: it posts signed `door-event/v1` webhooks
(core/webhook_auth.py) for the demo's one door, the way a site's integration would, so a newcomer
sees door events on the map and the timeline, and a flagged one (a denied badge, a door held
open) raised as an alert with its footage held.

The script repeats: granted, granted, denied ("badge expired"), held open. Delivery is best
effort: a refused or failed post is logged and the next one is tried a period later."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.core.webhook_auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)

ACCESS_POINT = "demo-reader"
SCRIPT: tuple[tuple[str, str | None], ...] = (
    ("access_granted", None), ("access_granted", None), ("access_denied", "badge expired"), ("door_held_open", None),
)


def event_body(sequence: int, now_s: float) -> bytes:
    kind, reason = SCRIPT[sequence % len(SCRIPT)]
    doc: dict[str, object] = {"source": "webhook", "event_id": f"demo-{int(now_s)}-{sequence}",
                              "occurred_at": wall_ns_to_iso(int(now_s) * NS_PER_SECOND), "kind": kind,
                              "access_point": ACCESS_POINT, "direction": "in"}
    if reason is not None:
        doc["reason"] = reason
    return json.dumps(doc).encode()


async def run_panel(base_url: str, secret: str, cafile: Path, period_s: float,
                    clock_s: Callable[[], float] = time.time) -> None:
    """Posts one event every `period_s` until cancelled."""
    tls = ssl.create_default_context(cafile=str(cafile))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        sequence = 0
        while True:
            now_s = clock_s()
            body = event_body(sequence, now_s)
            stamp = str(int(now_s))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                       SIGNATURE_HEADER: sign(secret, stamp, body)}
            try:
                url = f"{base_url.rstrip('/')}/api/door-events"
                async with session.post(url, data=body, headers=headers, ssl=tls) as r:
                    if r.status >= 300:
                        log.warning("demo door panel: the appliance refused an event (%d): %s", r.status,
                                    (await r.text())[:200])
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("demo door panel: cannot post an event: %s", error)
            sequence += 1
            await asyncio.sleep(period_s)
