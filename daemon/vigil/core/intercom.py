"""The intercom's pure decisions (design/intercom.md): who holds a device's talk floor.

Half duplex, like Milestone's push-to-talk: one talker per device at a time. Rules:

- A device is free, or held by one talker (an actor such as `user:alice` or `link:7`) since a
  time. `take` grants a free device and records the holder.
- A device held by someone else is refused with `TalkBusyError` naming the holder and for how
  long they have been talking (the page shows "Alice is talking (12 s)").
- The same actor taking a device it already holds (a second tab, a reconnect) is refused too:
  two audio paths from one person to one loudspeaker would echo. The first session must end.
- A floor held longer than `max_hold_s` (a talker whose browser vanished without saying so and
  whose session the daemon has not yet noticed) is taken over; the caller ends the stale session.
- `release` gives the floor back only when called by the session that holds it (a late release
  from an ended session never frees someone else's floor).

Time is an argument (`now_ns`); the caller keeps one TalkFloors for the daemon."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import TalkBusyError
from vigil.core.timebase import NS_PER_SECOND

# Longer than any real push-to-talk (the page ends a press after MAX_PRESS_S), shorter than a day.
MAX_HOLD_S = 600.0


@dataclass(frozen=True)
class FloorHolder:
    session: str  # the talk session's id
    actor: str
    since_ns: int


@dataclass(frozen=True)
class Taken:
    holder: FloorHolder
    displaced: FloorHolder | None  # a stale holder taken over: the caller ends its session


class TalkFloors:
    """Each device's talk floor (keyed by camera id)."""

    def __init__(self, max_hold_s: float = MAX_HOLD_S) -> None:
        self.max_hold_ns = int(max_hold_s * NS_PER_SECOND)
        self._holders: dict[str, FloorHolder] = {}

    def holder(self, device: str) -> FloorHolder | None:
        return self._holders.get(device)

    def take(self, device: str, session: str, actor: str, now_ns: int) -> Taken:
        """The floor for `session` of `actor`, or TalkBusyError saying who holds it."""
        current = self._holders.get(device)
        displaced = None
        if current is not None:
            held_ns = now_ns - current.since_ns
            if held_ns < self.max_hold_ns:
                who = "you are already talking" if current.actor == actor else f"{current.actor} is talking"
                raise TalkBusyError(f"{who} through camera {device} (for {max(0, held_ns) // NS_PER_SECOND} s);"
                                    " one person talks at a time: try again when they let go")
            displaced = current
        holder = FloorHolder(session, actor, now_ns)
        self._holders[device] = holder
        return Taken(holder, displaced)

    def release(self, device: str, session: str) -> bool:
        """Free the floor if `session` holds it; whether it did."""
        current = self._holders.get(device)
        if current is None or current.session != session:
            return False
        del self._holders[device]
        return True
