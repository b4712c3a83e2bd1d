"""core.district_publish: the publisher's bounded queue (oldest event dropped and counted, only the
latest health/inventory kept, sent first), which camera changes are news, the door event's data."""

from __future__ import annotations

from vigil.core.district import SiteTopic
from vigil.core.district_publish import CameraLine, PublishQueue, camera_news, door_event_data, health_data


def test_queue_drops_the_oldest_event_when_full_and_counts_it() -> None:
    queue = PublishQueue(max_events=3)
    items = [queue.offer(SiteTopic.CAMERA, i, {"n": i}) for i in range(5)]
    assert [i.seq for i in items] == [1, 2, 3, 4, 5]
    assert queue.dropped == 2 and len(queue) == 3
    sent = []
    while (item := queue.peek()) is not None:
        sent.append(item.data["n"])
        queue.done(item)
    assert sent == [2, 3, 4]


def test_health_and_inventory_keep_only_the_latest_and_go_first() -> None:
    queue = PublishQueue()
    queue.offer(SiteTopic.DOOR_EVENT, 0, {"e": 1})
    queue.offer(SiteTopic.HEALTH, 0, {"h": 1})
    first_inventory = queue.offer(SiteTopic.INVENTORY, 0, {"i": 1})
    queue.offer(SiteTopic.HEALTH, 0, {"h": 2})
    assert queue.peek() is first_inventory
    queue.done(first_inventory)
    health = queue.peek()
    assert health is not None and health.data == {"h": 2} and queue.dropped == 0
    newer = queue.offer(SiteTopic.HEALTH, 0, {"h": 3})  # while {"h": 2} is being sent
    queue.done(health)
    assert queue.peek() is newer  # the acknowledgement of a superseded one takes nothing off


def test_camera_news() -> None:
    up = [CameraLine("a", "hs", "up", None), CameraLine("b", "hs", "starting", None)]
    reported, news = camera_news({}, up)
    assert reported == {"a": "up"} and news == []  # a first "up" is no news
    down = [CameraLine("a", "hs", "down", "timeout"), CameraLine("b", "hs", "down", "refused")]
    reported, news = camera_news(reported, down)
    assert [n.camera for n in news] == ["a", "b"] and reported == {"a": "down", "b": "down"}
    reported, news = camera_news(reported, down)
    assert news == []
    reported, news = camera_news(reported, [CameraLine("a", "hs", "up", None)])
    assert [(n.camera, n.state) for n in news] == [("a", "up")]


def test_door_event_data_keeps_the_last_four_and_skips_unmapped() -> None:
    body = {"id": 7, "door": "d1", "building": "hs", "kind": "access_denied", "flag_reasons": ["denied"],
            "occurred_at": "2026-01-01T00:00:00Z", "credential_last4": "2345", "cardholder": "Pat"}
    assert door_event_data(body) == {"id": 7, "door": "d1", "building": "hs", "kind": "access_denied",
                                     "flag": "denied", "at": "2026-01-01T00:00:00Z", "badge": "2345"}
    assert door_event_data({**body, "door": None}) is None


def test_health_state() -> None:
    lines = [CameraLine("a", "hs", "up", None), CameraLine("b", "hs", "down", "x")]
    assert health_data("1", lines, 5, None, 1.0)["state"] == "degraded"
    assert health_data("1", lines[:1], 5, None, 1.0)["state"] == "ok"
    assert health_data("1", lines[:1], 5, "storage.max_bytes", 1.0)["state"] == "degraded"
