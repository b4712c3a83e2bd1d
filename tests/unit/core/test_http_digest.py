"""core/http_digest.py against the RFCs' own worked examples, and its parser under fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.http_digest import (
    AuthHeaderError,
    SignIn,
    UnsupportedAuthError,
    any_stale,
    authorization,
    digest_response,
    parse_challenges,
    pick_challenge,
)

RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def test_rfc2617_example() -> None:
    # RFC 2617 §3.5
    assert digest_response(
        "MD5", "Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093", "auth", 1, "0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples(algorithm: str, expected: str) -> None:
    # RFC 7616 §3.9.1
    header = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    (challenge,) = parse_challenges([header])
    value = authorization(challenge, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC7616_CNONCE, 1)
    assert f'response="{expected}"' in value
    assert "qop=auth, nc=00000001" in value and 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"' in value


def test_without_qop_the_rfc2069_response() -> None:
    (challenge,) = parse_challenges(['Digest realm="cam", nonce="abc"'])
    value = authorization(challenge, "u", "p", "DESCRIBE", "rtsp://cam/", "ignored", 1)
    assert "qop" not in value and "cnonce" not in value
    expected = digest_response("MD5", "u", "cam", "p", "DESCRIBE", "rtsp://cam/", "abc", None, 1, "")
    assert f'response="{expected}"' in value


def test_basic_and_the_strongest_choice() -> None:
    challenges = parse_challenges([
        'Basic realm="cam"', 'Digest realm="cam", nonce="n1"', 'Digest realm="cam", nonce="n2", algorithm=SHA-256',
    ])
    assert pick_challenge(challenges).algorithm == "SHA-256"
    assert pick_challenge(challenges[:2]).scheme == "digest"
    basic = pick_challenge(challenges[:1])
    assert authorization(basic, "Aladdin", "open sesame", "GET", "/", "x") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    with pytest.raises(UnsupportedAuthError):
        pick_challenge(challenges[:1], allow_basic=False)
    with pytest.raises(UnsupportedAuthError, match="negotiate"):
        pick_challenge(parse_challenges(["Negotiate"]))


def test_unsupported_digest_variants() -> None:
    (sess,) = parse_challenges(['Digest realm="r", nonce="n", algorithm=MD5-sess'])
    with pytest.raises(UnsupportedAuthError):
        authorization(sess, "u", "p", "GET", "/", "c")
    (auth_int,) = parse_challenges(['Digest realm="r", nonce="n", qop="auth-int"'])
    with pytest.raises(UnsupportedAuthError):
        authorization(auth_int, "u", "p", "GET", "/", "c")


def test_quoted_strings_and_escapes() -> None:
    (challenge,) = parse_challenges([r'Digest realm="a \"quoted\", realm", nonce="x,y", stale=TRUE'])
    assert challenge.param("realm") == 'a "quoted", realm'
    assert challenge.param("nonce") == "x,y" and challenge.param("stale") == "TRUE"
    value = authorization(challenge, 'we"ird', "p", "GET", "/", "c")
    assert r'username="we\"ird"' in value


@pytest.mark.parametrize("value", ['Digest realm="unterminated', "Digest =x", "Dig est realm=x", ""])
def test_malformed_challenges(value: str) -> None:
    with pytest.raises(AuthHeaderError):
        parse_challenges([value])


@settings(max_examples=300)
@given(st.lists(st.text(max_size=200), max_size=3))
def test_any_text_parses_or_raises_the_modules_own_error(values: list[str]) -> None:
    try:
        challenges = parse_challenges(values)
    except AuthHeaderError:
        return
    try:
        challenge = pick_challenge(challenges)
        authorization(challenge, "u", "p", "GET", "/", "c")
    except (AuthHeaderError, UnsupportedAuthError):
        pass


def test_sign_in_counts_requests_per_adopted_nonce() -> None:
    sign_in = SignIn("admin", "secret", cnonce="0a4f113b")
    assert sign_in.value("DESCRIBE", "rtsp://cam/x") is None  # nothing asked yet: no header
    sign_in.adopt(parse_challenges(['Digest realm="cam", nonce="n1", qop="auth"'])[0])
    first, second = sign_in.value("DESCRIBE", "rtsp://cam/x"), sign_in.value("SETUP", "rtsp://cam/x/t")
    assert first is not None and "nc=00000001" in first and second is not None and "nc=00000002" in second
    sign_in.adopt(parse_challenges(['Digest realm="cam", nonce="n2", qop="auth"'])[0])
    again = sign_in.value("PLAY", "rtsp://cam/x")
    assert again is not None and 'nonce="n2"' in again and "nc=00000001" in again
    assert SignIn(None, None, "c").value("PLAY", "rtsp://cam/x") is None


def test_any_stale() -> None:
    assert any_stale(parse_challenges(['Digest realm="cam", nonce="n", stale=TRUE']))
    assert not any_stale(parse_challenges(['Digest realm="cam", nonce="n"', "Basic realm=cam"]))
