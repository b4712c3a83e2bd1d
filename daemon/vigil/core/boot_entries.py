"""The A/B slots' systemd-boot entries, and what RAUC's custom bootloader backend does to them.

An entry is `loader/entries/vigil-<slot>[+<left>[-<done>]].conf` on the ESP (Boot Loader
Specification boot counting: systemd-boot takes one from `left` and adds one to `done` at every
attempt; systemd-bless-boot drops the counter once `boot-complete.target` is reached).

How systemd-boot 252 orders entries (boot.c, boot_entry_compare), and so which one it boots:
`loader.conf` says `default vigil-*`, and the first entry in this order matching it is booted.
1. Entries with no tries left go last.
2. Entries that both have a `sort-key` (ours all have `sort-key vigil`) are ordered by sort-key,
   then by `version`, newest first (version comparison: 10 after 9).
3. Then by file name, newest first.

The rules we keep, so the order alone decides the slot:
- Every entry has `sort-key vigil` and an integer `version`, its *generation*.
- **primary** = the slot of the first entry in that order.
- **set-primary X** writes X's entry with generation = one more than any other entry's, and
  `BOOT_TRIES` tries: the next boot tries X; each failed try counts down; with no tries left X
  goes last and the other slot, whose entry is still good, boots again: the rollback.
- **good** = an entry without a counter (committed), or with tries left (being tried).
  **bad** = no tries left, or no entry.
- **set-state X good** drops X's counter (commits it); **set-state X bad** sets X's tries to 0
  (kept, sorted last, so `rolled_back` can tell what happened).
- **rolled back** = the booted slot's entry is not the newest generation, and the newer entry
  is bad: an update was tried and abandoned.

Pure: the shell (system/boot_loader.py) lists the files and applies the `Change`s."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

BOOT_TRIES = 3
SLOTS = ("a", "b")
_NAME = re.compile(r"^vigil-([ab])(?:\+(\d+)(?:-(\d+))?)?\.conf$")


class SlotState(Enum):
    GOOD = "good"
    BAD = "bad"


@dataclass(frozen=True)
class BootEntry:
    slot: str
    generation: int
    title: str
    tries_left: int | None  # None: no counter (committed)
    tries_done: int
    file_name: str

    @property
    def bad(self) -> bool:
        return self.tries_left == 0

    @property
    def state(self) -> str:
        """bad (no tries left), trying (tries left) or good (committed)."""
        return "bad" if self.bad else "good" if self.tries_left is None else "trying"


@dataclass(frozen=True)
class SlotBoot:
    """What the new entry of a slot boots (build.sh writes these facts into the image)."""

    partuuid: str
    cmdline: str  # the kernel command line without root= and rauc.slot=


@dataclass(frozen=True)
class Change:
    """One file operation in loader/entries: remove `old` (if set), then write `new` with `text`
    (if text is None: rename old to new)."""

    old: str | None
    new: str | None
    text: str | None = None


class BootEntryError(ValueError):
    pass


def entry_file_name(slot: str, tries_left: int | None, tries_done: int = 0) -> str:
    if tries_left is None:
        return f"vigil-{slot}.conf"
    return f"vigil-{slot}+{tries_left}.conf" if tries_done == 0 else f"vigil-{slot}+{tries_left}-{tries_done}.conf"


def parse_entry(file_name: str, text: str) -> BootEntry | None:
    """An entry of ours (None: another file). Raises BootEntryError for one of ours without an
    integer version, which no rule above could place."""
    match = _NAME.match(file_name)
    if match is None:
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and not key.startswith("#"):
            fields[key] = value.strip()
    try:
        generation = int(fields.get("version", ""))
    except ValueError:
        raise BootEntryError(f"{file_name}: no integer version (generation)") from None
    left = None if match.group(2) is None else int(match.group(2))
    done = int(match.group(3) or 0)
    return BootEntry(match.group(1), generation, fields.get("title", ""), left, done, file_name)


def boot_order(entries: list[BootEntry]) -> list[BootEntry]:
    """systemd-boot's order of our entries (see the module docstring)."""
    return sorted(entries, key=lambda e: (e.bad, -e.generation, [-ord(c) for c in e.file_name]))


def _of(entries: list[BootEntry], slot: str) -> BootEntry | None:
    if slot not in SLOTS:
        raise BootEntryError(f"no slot {slot!r}: the slots are {', '.join(SLOTS)}")
    found = [e for e in entries if e.slot == slot]
    if len(found) > 1:
        raise BootEntryError(f"slot {slot} has {len(found)} entries: {', '.join(e.file_name for e in found)}")
    return found[0] if found else None


def primary(entries: list[BootEntry]) -> str | None:
    ordered = boot_order(entries)
    return ordered[0].slot if ordered else None


def slot_state(entries: list[BootEntry], slot: str) -> SlotState:
    entry = _of(entries, slot)
    return SlotState.BAD if entry is None or entry.bad else SlotState.GOOD


def render_entry(slot: str, generation: int, title: str, boot: SlotBoot) -> str:
    return (f"title      {title}\nversion    {generation}\nsort-key   vigil\n"
            f"linux      /vigil/{slot}/linux\ninitrd     /vigil/{slot}/initrd\n"
            f"options    root=PARTUUID={boot.partuuid} rauc.slot={slot} {boot.cmdline}\n")


def set_primary(entries: list[BootEntry], slot: str, title: str, boot: SlotBoot) -> list[Change]:
    """The slot's entry, newest generation, to be tried BOOT_TRIES times."""
    mine = _of(entries, slot)
    others = [e.generation for e in entries if e.slot != slot]
    generation = max(others, default=0) + 1
    text = render_entry(slot, generation, title, boot)
    return [Change(None if mine is None else mine.file_name, entry_file_name(slot, BOOT_TRIES), text)]


def set_state(entries: list[BootEntry], slot: str, state: SlotState) -> list[Change]:
    entry = _of(entries, slot)
    if entry is None:
        if state is SlotState.GOOD:
            raise BootEntryError(f"slot {slot} has no boot entry to mark good")
        return []  # no entry: bad already
    if state is SlotState.GOOD:
        new = entry_file_name(slot, None)
    else:
        new = entry_file_name(slot, 0, entry.tries_done + (entry.tries_left or 0))
    return [] if new == entry.file_name else [Change(entry.file_name, new)]


@dataclass(frozen=True)
class Rollback:
    from_slot: str  # the slot that failed
    title: str  # its entry's title: the version that was tried
    tries_done: int


def rolled_back(entries: list[BootEntry], booted: str) -> Rollback | None:
    """The update the box gave up on, if the booted slot is running because a newer one failed."""
    mine = _of(entries, booted)
    newer = [e for e in entries if e.slot != booted and (mine is None or e.generation > mine.generation)]
    failed = [e for e in newer if e.bad]
    if not failed:
        return None
    return Rollback(failed[0].slot, failed[0].title, failed[0].tries_done)


def can_fall_back(entries: list[BootEntry], booted: str) -> bool:
    """Whether failing this boot can lead anywhere: another slot has a good entry. A fresh box's
    first boot has none (slot B is empty), and rebooting it would only loop."""
    return any(e.slot != booted and not e.bad for e in entries)


def booted_slot(cmdline: str) -> str | None:
    """The slot on the kernel command line (`rauc.slot=a`), as RAUC reads it too."""
    for word in cmdline.split():
        if word.startswith("rauc.slot="):
            return word.partition("=")[2] or None
    return None
