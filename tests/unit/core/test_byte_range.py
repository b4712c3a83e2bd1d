"""HTTP byte ranges against a known body size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.byte_range import ByteRange, parse_range
from vigil.core.errors import BadRequestError, RangeNotSatisfiableError


def test_forms_of_one_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == ByteRange(0, 9)
    assert parse_range("bytes=90-", 100) == ByteRange(90, 99)
    assert parse_range("bytes=-10", 100) == ByteRange(90, 99)
    assert parse_range("bytes=-1000", 100) == ByteRange(0, 99)
    assert parse_range("bytes=50-1000", 100) == ByteRange(50, 99)
    assert parse_range(" Bytes = 5-5", 100) is not None
    assert ByteRange(10, 19).content_range(100) == "bytes 10-19/100"


@pytest.mark.parametrize("header", ["bytes", "bytes=", "items=0-1", "bytes=a-b", "bytes=-", "bytes=5-2",
                                    "bytes=0-1,5-6", "bytes=1-2-3", "bytes=99999999999999999999-"])
def test_malformed_or_several_ranges_are_bad_requests(header: str) -> None:
    with pytest.raises(BadRequestError):
        parse_range(header, 100)


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_ranges_outside_the_body_are_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        parse_range(header, 100)
    assert raised.value.total_bytes == 100


@given(st.integers(1, 10_000), st.integers(0, 20_000), st.integers(0, 20_000))
def test_a_satisfiable_range_lies_inside_the_body(total: int, a: int, b: int) -> None:
    first, last = min(a, b), max(a, b)
    if first >= total:
        with pytest.raises(RangeNotSatisfiableError):
            parse_range(f"bytes={first}-{last}", total)
        return
    got = parse_range(f"bytes={first}-{last}", total)
    assert got is not None and got.first == first and got.last == min(last, total - 1)
    suffix = parse_range(f"bytes=-{b + 1}", total)
    assert suffix is not None and suffix.last == total - 1 and suffix.size_bytes == min(b + 1, total)
