"""The tamper-evident audit chain: each entry's hash covers its content and the previous hash.

hash_n = SHA-256(hash_{n-1} || canonical JSON of entry n), with hash_0 = 64 zeros. Editing an
entry breaks its own hash; deleting one breaks the next entry's link (and the id sequence)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    id: int
    wall_ns: int
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, wall_ns: int, actor: str, action: str, target: str, outcome: str,
               detail: dict[str, Any]) -> str:
    body = json.dumps([wall_ns, actor, action, target, outcome, detail], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    head_hash: str
    first_broken_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Check ids are consecutive from 1, each entry links to the previous and hashes right."""
    prev, count, expected_id = GENESIS, 0, 1
    for e in entries:
        if e.id != expected_id:
            return ChainCheck(count, prev, expected_id, f"entry {expected_id} is missing (next is {e.id})")
        if e.prev_hash != prev:
            return ChainCheck(count, prev, e.id, f"entry {e.id} does not link to entry {e.id - 1}")
        if entry_hash(prev, e.wall_ns, e.actor, e.action, e.target, e.outcome, e.detail) != e.hash:
            return ChainCheck(count, prev, e.id, f"entry {e.id} was altered (its hash does not match)")
        prev, count, expected_id = e.hash, count + 1, expected_id + 1
    return ChainCheck(count, prev, None, None)
