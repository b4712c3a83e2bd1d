"""Fan-out of one camera session's items to its consumers, each through a bounded queue.

Drop policy: the camera session never waits for a consumer. When a consumer's queue holds
`max_packets` packets, further packets for it are dropped until a keyframe arrives and its
queue has room again; it then receives `PacketsDropped(count)` followed by that keyframe, so it
never sees a broken GOP. Session start/end markers are never dropped (there are few of them).
A late subscriber first receives the current session's `SessionStarted`, then packets from the
next keyframe on.

A camera's audio travels on a fan-out of its own (`AudioStarted`, `AudioPacket`, `SessionEnded`):
every audio packet counts as a keyframe, so a consumer that fell behind resumes at the next one.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from vigil.core.media import (
    AudioPacket,
    AudioStarted,
    EncodedPacket,
    PacketsDropped,
    SessionEnded,
    SessionStarted,
    StreamInfo,
    StreamItem,
)

Packet = EncodedPacket | AudioPacket  # what counts against a queue's `max_packets`


class Subscription:
    """One consumer's queue; `get` is called from the consumer's thread."""

    def __init__(self, name: str, max_packets: int, waker: Callable[[], None] | None = None) -> None:
        if max_packets < 1:
            raise ValueError("max_packets must be >= 1")
        self.name = name
        # Called (on the producer's thread) after each item is queued: how an asyncio consumer
        # learns there is something to get without blocking a thread.
        self._waker = waker
        self.max_packets = max_packets
        self._items: deque[StreamItem] = deque()
        self._packets = 0
        self._cond = threading.Condition()
        self._closed = False
        self._closed_event = threading.Event()
        # Until the first keyframe a new subscriber skips packets (without counting them).
        self._awaiting_keyframe = True
        self._dropping = 0
        self.dropped_total = 0

    def offer(self, item: StreamItem) -> None:
        with self._cond:
            if self._closed:
                return
            if not self._queue(item):
                return
            self._cond.notify()
        if self._waker is not None:
            self._waker()

    def _queue(self, item: StreamItem) -> bool:
        """Apply the drop policy (caller holds the lock); True when the item was queued."""
        if isinstance(item, EncodedPacket | AudioPacket):
            if not self._accept_packet(item):
                return False
            self._packets += 1
        elif isinstance(item, SessionStarted | SessionEnded | AudioStarted):
            self._awaiting_keyframe = True
            if self._dropping:
                self._items.append(PacketsDropped(self._dropping))
                self._dropping = 0
        self._items.append(item)
        return True

    def _accept_packet(self, packet: Packet) -> bool:
        room = self._packets < self.max_packets
        if self._dropping:
            if packet.is_keyframe and room:
                self._items.append(PacketsDropped(self._dropping))
                self._dropping = 0
                return True
            self._dropping += 1
            self.dropped_total += 1
            return False
        if self._awaiting_keyframe:
            if not packet.is_keyframe:
                return False
            self._awaiting_keyframe = False
        if not room:
            self._dropping = 1
            self.dropped_total += 1
            return False
        return True

    def get(self, timeout_s: float | None = None) -> StreamItem | None:
        """The next item; None on timeout, or when closed and drained."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout_s)
            if not self._items:
                return None
            item = self._items.popleft()
            if isinstance(item, EncodedPacket | AudioPacket):
                self._packets -= 1
            return item

    def drain(self) -> list[StreamItem]:
        """Everything queued, at once (for consumers that work in batches)."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            self._packets = 0
            return items

    def wait_closed(self, timeout_s: float) -> bool:
        """Sleep up to `timeout_s`, waking early only if the subscription is closed."""
        return self._closed_event.wait(timeout_s)

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed and not self._items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._closed_event.set()
        if self._waker is not None:
            self._waker()

    def __len__(self) -> int:
        with self._cond:
            return self._packets


def consume_in_batches(sub: Subscription, handle: Callable[[StreamItem], None], interval_s: float,
                       beat: Callable[[], None]) -> None:
    """Consume `sub` until it is closed and drained, waking every `interval_s` to take all that is
    queued (cheaper than a wake-up per packet for consumers that need no low latency); `beat` is
    called on each wake-up (a liveness heartbeat)."""
    while True:
        items = sub.drain()
        beat()
        for item in items:
            handle(item)
        if not items and sub.closed:
            return
        sub.wait_closed(interval_s)


class Fanout:
    """Publishes a camera session's items to every subscription (called from the ingest thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._current: SessionStarted | AudioStarted | None = None
        self._last_info: StreamInfo | None = None
        self._latest_keyframe: EncodedPacket | None = None

    def latest_keyframe(self) -> tuple[StreamInfo, EncodedPacket] | None:
        """The newest keyframe seen (kept across outages: the last known picture)."""
        with self._lock:
            if self._last_info is None or self._latest_keyframe is None:
                return None
            return self._last_info, self._latest_keyframe

    def subscribe(self, name: str, max_packets: int, waker: Callable[[], None] | None = None) -> Subscription:
        sub = Subscription(name, max_packets, waker)
        with self._lock:
            if self._current is not None:
                sub.offer(self._current)
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
        sub.close()

    def publish(self, item: StreamItem) -> None:
        with self._lock:
            if isinstance(item, EncodedPacket):
                if item.is_keyframe:
                    self._latest_keyframe = item
            elif isinstance(item, SessionStarted):
                self._current = item
                self._last_info = item.info
            elif isinstance(item, AudioStarted):
                self._current = item
            elif isinstance(item, SessionEnded):
                self._current = None
            subs = tuple(self._subs)
        for sub in subs:
            sub.offer(item)

    def close(self) -> None:
        with self._lock:
            subs, self._subs = tuple(self._subs), []
        for sub in subs:
            sub.close()
