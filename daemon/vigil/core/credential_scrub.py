"""Keeping badge numbers (and cardholder names the site does not keep) out of what is stored,
served, alerted and logged. Pure; the one scrubber for door events' raw payloads and reason texts.

Two rules (design/doors.md, "Credential privacy"), both applied to the source's own text (the
stored raw payload, the reason) before it is stored, and the second again as the reason is served:

1. **The event's own private values** (`scrub_private`): every occurrence of the badge number as
   sent, and of the name unless the site keeps names, is replaced by `[redacted]` (longest first,
   case-insensitive). A badge number that is all digits (separators aside) with at least
   `MIN_VARIANT_DIGITS` significant digits is also found when written differently: with leading
   zeros added or dropped (`0012345678` vs the JSON number `12345678`) or with a separator (space,
   `-`, `.`, `:`, `/`) between digits (`1234-5678`).
2. **Anything that looks like a card number** (`scrub_vendor_text`): the source's words (OnGuard's
   description and event text, a webhook's `reason`, the raw record) may name a badge that is not
   the event's own credential ("Badge 12345678 expired" on an event without a badge field). So,
   after rule 1, every run of `MIN_CARD_DIGITS` (5) or more digits is replaced too: a 26-bit
   Wiegand card number has up to 5 digits, longer formats more. Such text loses those numbers even
   when they were something else (an error code, an epoch timestamp in the raw record; the event's
   id and times have their own columns): that is the price of the rule. Not applied to the reasons
   vigil writes itself (adapter outages), which hold no badge."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
MIN_VARIANT_DIGITS = 4
MIN_CARD_DIGITS = 5
_SEPARATORS = r"[\s\-.:/]?"
_CARD_NUMBER = re.compile(rf"(?<!\d)\d{{{MIN_CARD_DIGITS},}}(?!\d)")
_NUMBER_WITH_SEPARATORS = re.compile(r"\d+(?:[\s\-.:/]\d+)*")


def _patterns(value: str) -> list[re.Pattern[str]]:
    patterns = [re.compile(re.escape(value), re.IGNORECASE)]
    if _NUMBER_WITH_SEPARATORS.fullmatch(value):
        digits = re.sub(r"\D", "", value).lstrip("0")
        if len(digits) >= MIN_VARIANT_DIGITS:
            spaced = _SEPARATORS.join(re.escape(d) for d in digits)
            patterns.append(re.compile(rf"(?<!\d)0*{spaced}(?!\d)"))
    return patterns


def scrub_private(text: str | None, private: Iterable[str | None]) -> str | None:
    """`text` with every occurrence of each private value (rule 1 above) replaced by `[redacted]`."""
    if text is None:
        return None
    for value in sorted({v.strip() for v in private if v and v.strip()}, key=len, reverse=True):
        for pattern in _patterns(value):
            text = pattern.sub(REDACTED, text)
    return text


def scrub_vendor_text(text: str | None, private: Iterable[str | None] = ()) -> str | None:
    """The source's text with the private values (rule 1) and every card-number-like digit run
    (rule 2) replaced; idempotent, so it is applied again to reasons as they are served."""
    scrubbed = scrub_private(text, private)
    return None if scrubbed is None else _CARD_NUMBER.sub(REDACTED, scrubbed)
