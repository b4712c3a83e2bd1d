"""hub/events_api.StreamQueue: a browser's bounded queue of live events and its drop policy."""

from __future__ import annotations

import json

from vigil.hub.events_api import StreamQueue


def _event(n: int, site: str = "s1", building: str | None = "b1") -> dict[str, object]:
    return {"id": n, "site": site, "building": building, "headline": f"event {n}"}


async def test_a_slow_browser_loses_the_newest_and_is_told_how_many() -> None:
    stream = StreamQueue(frozenset({("s1", "b1")}), size=3)
    for n in range(1, 6):
        stream.offer(_event(n))
    stream.offer(_event(9, site="s2"))  # not this user's: neither queued nor counted
    stream.offer(_event(10, building="b2"))
    assert stream.dropped == 2
    first = (await stream.next_chunk(1.0)).decode()
    assert first.startswith('event: dropped\ndata: {"dropped": 2}\n\nevent: message\n')
    assert json.loads(first.split("data: ")[2])["id"] == 1
    rest = [(await stream.next_chunk(1.0)).decode() for _ in range(2)]
    assert [json.loads(r.split("data: ")[1])["id"] for r in rest] == [2, 3]
    assert all(r.startswith("event: message\n") and r.endswith("\n\n") for r in rest)
    assert await stream.next_chunk(0.05) == b": keepalive\n\n"
    stream.offer(_event(4))
    assert json.loads((await stream.next_chunk(1.0)).decode().split("data: ")[1])["id"] == 4  # no stale notice
