"""core/boot_entries.py: systemd-boot's order over our A/B entries and RAUC's backend verbs, against
an expectation table written from the Boot Loader Specification's boot counting, not from the code."""

from __future__ import annotations

import pytest

from vigil.core.boot_entries import (
    BootEntry,
    BootEntryError,
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

BOOT = SlotBoot("7a1c0b5e-3f0e-4c55-9b5e-7669676c000b", "rw console=ttyS0,115200")


def entry(name: str, generation: int, title: str = "Vigil") -> BootEntry:
    parsed = parse_entry(name, f"title {title}\nversion {generation}\nsort-key vigil\n")
    assert parsed is not None
    return parsed


# (entries as (file name, generation), expected primary, state of a, state of b)
CASES = [
    ([("vigil-a.conf", 1)], "a", "good", "bad"),  # b: no entry yet
    ([("vigil-a+3.conf", 1)], "a", "good", "bad"),  # first boot, being tried
    ([("vigil-a.conf", 1), ("vigil-b+3.conf", 2)], "b", "good", "good"),  # update installed
    ([("vigil-a.conf", 1), ("vigil-b+1-2.conf", 2)], "b", "good", "good"),  # two tries failed
    ([("vigil-a.conf", 1), ("vigil-b+0-3.conf", 2)], "a", "good", "bad"),  # tries ran out: rollback
    ([("vigil-a.conf", 1), ("vigil-b.conf", 2)], "b", "good", "good"),  # committed
    ([("vigil-a+3.conf", 3), ("vigil-b.conf", 2)], "a", "good", "good"),  # the next update, into a
    ([("vigil-a+0-3.conf", 3), ("vigil-b.conf", 2)], "b", "bad", "good"),
]


@pytest.mark.parametrize(("files", "first", "a", "b"), CASES)
def test_primary_and_states(files: list[tuple[str, int]], first: str, a: str, b: str) -> None:
    entries = [entry(name, gen) for name, gen in files]
    assert primary(entries) == first
    assert (slot_state(entries, "a").value, slot_state(entries, "b").value) == (a, b)


def test_set_primary_writes_the_newest_generation_with_three_tries() -> None:
    entries = [entry("vigil-a.conf", 4), entry("vigil-b+0-3.conf", 3)]
    (change,) = set_primary(entries, "b", "Vigil 0.21.0 (slot B)", BOOT)
    assert (change.old, change.new) == ("vigil-b+0-3.conf", "vigil-b+3.conf")
    assert change.text is not None
    lines = dict(line.split(None, 1) for line in change.text.splitlines())
    assert lines["version"] == "5" and lines["sort-key"] == "vigil" and lines["title"] == "Vigil 0.21.0 (slot B)"
    assert lines["linux"] == "/vigil/b/linux" and lines["initrd"] == "/vigil/b/initrd"
    assert lines["options"] == f"root=PARTUUID={BOOT.partuuid} rauc.slot=b rw console=ttyS0,115200"
    written = entry("vigil-b+3.conf", 5)
    assert primary([entries[0], written]) == "b"


def test_set_state_good_commits_and_bad_spends_the_tries() -> None:
    entries = [entry("vigil-a.conf", 1), entry("vigil-b+2-1.conf", 2)]
    (good,) = set_state(entries, "b", SlotState.GOOD)
    assert (good.old, good.new, good.text) == ("vigil-b+2-1.conf", "vigil-b.conf", None)
    (bad,) = set_state(entries, "b", SlotState.BAD)
    assert (bad.old, bad.new) == ("vigil-b+2-1.conf", "vigil-b+0-3.conf")
    assert set_state(entries, "a", SlotState.GOOD) == []  # committed already
    assert set_state([entries[0]], "b", SlotState.BAD) == []  # no entry: bad already
    with pytest.raises(BootEntryError, match="no boot entry"):
        set_state([entries[0]], "b", SlotState.GOOD)


def test_rolled_back_names_the_abandoned_update() -> None:
    failed = [entry("vigil-a.conf", 1, "Vigil 0.20.0 (slot A)"), entry("vigil-b+0-3.conf", 2, "Vigil 0.21.0 (slot B)")]
    back = rolled_back(failed, "a")
    assert back is not None and (back.from_slot, back.title, back.tries_done) == ("b", "Vigil 0.21.0 (slot B)", 3)
    assert rolled_back([failed[0], entry("vigil-b.conf", 2)], "b") is None  # committed update
    assert rolled_back([failed[0], entry("vigil-b+2-1.conf", 2)], "b") is None  # still trying
    # An older bad entry is no rollback: that slot was marked bad before being rewritten.
    assert rolled_back([entry("vigil-a+0-3.conf", 1), entry("vigil-b.conf", 2)], "b") is None


def test_a_failed_trial_falls_back_only_where_a_good_slot_waits() -> None:
    from vigil.core.boot_entries import can_fall_back

    assert not can_fall_back([entry("vigil-a+2-1.conf", 1)], "a")  # a fresh box: slot B is empty
    assert can_fall_back([entry("vigil-a.conf", 1), entry("vigil-b+2-1.conf", 2)], "b")
    assert not can_fall_back([entry("vigil-a+0-3.conf", 1), entry("vigil-b+2-1.conf", 2)], "b")


def test_entry_parsing() -> None:
    assert parse_entry("debian-6.1.conf", "title Debian\n") is None
    assert parse_entry("vigil-c.conf", "version 1\n") is None
    with pytest.raises(BootEntryError, match="no integer version"):
        parse_entry("vigil-a.conf", "title Vigil\nversion 0.20.0-a\n")
    with pytest.raises(BootEntryError, match="2 entries"):
        slot_state([entry("vigil-a.conf", 1), entry("vigil-a+3.conf", 2)], "a")
    assert booted_slot("BOOT_IMAGE=/x root=PARTUUID=1 rauc.slot=b quiet") == "b"
    assert booted_slot("root=/dev/sda2") is None


# core/trial_boot.py: (active state, restarts, STATUS, late?) -> verdict, from the rules as written.
TRIAL = [
    ("failed", 0, "", False, "fail"),
    ("activating", 3, "", False, "fail"),  # restarted three times: a daemon that cannot start
    ("activating", 1, "", False, "wait"),
    ("activating", 1, "", True, "fail"),
    ("active", 0, "cameras: 1/1 up, 1 recording; storage ok (/srv/vigil)", False, "commit"),
    ("active", 0, "cameras: 0/0 up, 0 recording; storage ok (/var/lib/vigil/recordings)", False, "commit"),
    ("active", 0, "cameras: 1/1 up, 0 recording; RECORDING DISK MISSING (/srv/vigil): not recording", False, "wait"),
    ("active", 0, "cameras: 1/1 up, 0 recording; RECORDING DISK MISSING (/srv/vigil): not recording", True, "fail"),
    ("active", 0, "cameras: 2/3 up, 0 recording; storage ok (/srv/vigil)", False, "wait"),
    ("active", 0, "cameras: 2/3 up, 0 recording; storage ok (/srv/vigil)", True, "fail"),
    ("active", 0, "cameras: 0/3 up, 0 recording; storage ok (/srv/vigil)", False, "wait"),
    ("active", 0, "cameras: 0/3 up, 0 recording; storage ok (/srv/vigil)", True, "commit"),  # cameras out of reach
    ("active", 0, "starting", True, "fail"),
]


@pytest.mark.parametrize(("state", "restarts", "status", "late", "expected"), TRIAL)
def test_trial_boot_verdict(state: str, restarts: int, status: str, late: bool, expected: str) -> None:
    from vigil.core.trial_boot import DaemonView, decide

    decision = decide(DaemonView(state, restarts, status), 300.0 if late else 10.0, 300.0)
    assert decision.verdict.value == expected, decision.reason
    assert decision.reason


# core/update_request.py: what the API accepts as an update source.
@pytest.mark.parametrize(("url", "reboot", "expected"), [
    ("https://releases.example.org/vigil/vigil-0.21.0.raucb", "now", "vigil-0.21.0.raucb"),
    ("http://10.0.2.2:8000/v2.raucb?token=abc", "07:30", "v2.raucb"),
    ("https://example.org/download", "never", "download.raucb"),
    ("https://example.org/", "never", "update.raucb"),
    ("https://example.org/..%2f..%2fetc", "never", "_2f.._2fetc.raucb"),
    ("ftp://example.org/v.raucb", "now", "url must be an http"),
    ("https://user:pw@example.org/v.raucb", "now", "user name or password"),
    ("https:///v.raucb", "now", "url must be an http"),
    ("https://example.org/v.raucb", "25:00", "reboot must be"),
    ("https://example.org/v.raucb", "tonight", "reboot must be"),
    ("", "now", "is required"),
])
def test_update_source(url: str, reboot: str, expected: str) -> None:
    from vigil.core.errors import BadRequestError
    from vigil.core.update_request import check_source

    if expected.endswith(".raucb"):
        assert check_source(url, reboot).file_name == expected
    else:
        with pytest.raises(BadRequestError, match=expected):
            check_source(url, reboot)


@pytest.mark.parametrize("state", ["ok", "missing", "foreign"])
def test_status_line_reads_back(state: str) -> None:
    """What the trial check reads from systemd is what the daemon wrote (core/watchdog.py)."""
    from vigil.core.hotplug import StorageState
    from vigil.core.watchdog import StatusCounts, parse_status_line, status_line

    counts = StatusCounts(4, 3, 2, StorageState(state), "/srv/vigil")
    assert parse_status_line(status_line(counts)) == counts
    assert parse_status_line("starting") is None
