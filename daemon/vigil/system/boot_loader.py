"""The ESP's boot entries, read and changed as core/boot_entries.py decides: the shell of RAUC's
custom bootloader backend (`vigil update backend ...`, system.conf's bootloader-custom-backend)
and of the rollback report in health.

Layout on the ESP (image-build/build.sh): `loader/entries/vigil-<slot>*.conf`, the slot's kernel
and initrd in `vigil/<slot>/`, and `vigil/<slot>/version`, the image version written by the
bundle's install hook (it becomes the entry's title). What the new entry boots (the slots'
partition UUIDs and the kernel command line) is in the image's `/usr/lib/vigil/boot-slots.json`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vigil.core.boot_entries import (
    BootEntry,
    BootEntryError,
    Change,
    Rollback,
    SlotBoot,
    SlotState,
    booted_slot,
    parse_entry,
    primary,
    rolled_back,
    set_primary,
    set_state,
    slot_state,
)
from vigil.record.storage import fsync_dir

ESP = Path("/efi")
SLOTS_FILE = Path("/usr/lib/vigil/boot-slots.json")
# Written at boot by `vigil update status --write` (root: the ESP is root's), read by the daemon's health.
UPDATE_STATUS = Path("/run/vigil-update.json")


def read_update_status(path: Path = UPDATE_STATUS) -> dict[str, object] | None:
    """The slots' status as written at boot; None off the appliance (no file) or if unreadable."""
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


@dataclass(frozen=True)
class BootLoader:
    esp: Path = ESP
    slots_file: Path = SLOTS_FILE

    @property
    def entries_dir(self) -> Path:
        return self.esp / "loader" / "entries"

    def entries(self) -> list[BootEntry]:
        found = []
        for path in sorted(self.entries_dir.glob("vigil-*.conf")):
            entry = parse_entry(path.name, path.read_text(encoding="utf-8"))
            if entry is not None:
                found.append(entry)
        return found

    def slot_boot(self, slot: str) -> SlotBoot:
        try:
            facts = json.loads(self.slots_file.read_text(encoding="utf-8"))
            return SlotBoot(str(facts["slots"][slot]["partuuid"]), str(facts["cmdline"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BootEntryError(f"{self.slots_file}: no boot facts for slot {slot} ({error})") from None

    def slot_version(self, slot: str) -> str:
        try:
            return (self.esp / "vigil" / slot / "version").read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def apply(self, changes: list[Change]) -> None:
        """Each change made durable before the next (FAT has no atomic rename over a file, so a
        new entry is written under its new name and the old one removed after)."""
        for change in changes:
            if change.text is not None and change.new is not None:
                tmp = self.entries_dir / f".{change.new}.tmp"
                with tmp.open("w", encoding="utf-8") as f:
                    f.write(change.text)
                    f.flush()
                    os.fsync(f.fileno())
                if change.old is not None and change.old != change.new:
                    (self.entries_dir / change.old).unlink(missing_ok=True)
                tmp.replace(self.entries_dir / change.new)
            elif change.old is not None and change.new is not None:
                (self.entries_dir / change.old).rename(self.entries_dir / change.new)
            fsync_dir(self.entries_dir)

    # RAUC's custom backend verbs (rauc 1.8: get-primary, set-primary, get-state, set-state).
    def get_primary(self) -> str:
        slot = primary(self.entries())
        if slot is None:
            raise BootEntryError(f"{self.entries_dir}: no vigil boot entries")
        return slot

    def set_primary(self, slot: str) -> None:
        title = f"Vigil {self.slot_version(slot)} (slot {slot.upper()})"
        self.apply(set_primary(self.entries(), slot, title, self.slot_boot(slot)))

    def get_state(self, slot: str) -> SlotState:
        return slot_state(self.entries(), slot)

    def set_state(self, slot: str, state: SlotState) -> None:
        self.apply(set_state(self.entries(), slot, state))

    def rollback(self, cmdline: str) -> Rollback | None:
        booted = booted_slot(cmdline)
        return None if booted is None else rolled_back(self.entries(), booted)
