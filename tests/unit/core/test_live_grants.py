"""Live sessions and their credentials (core/live_grants.py), and WHEP offer screening
(core/whep_offer.py): pure rules, no peers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core.errors import BadRequestError, TooManyRequestsError
from vigil.core.live_grants import CredentialState, ViewerLimits, admit_viewer, why_session_ends
from vigil.core.permissions import Action, LinkSubject, Role, Target, UserSubject
from vigil.core.whep_offer import MAX_REMOTE_CANDIDATES, MAX_SDP_BYTES, screen_offer

NOW = 1_800_000_000 * 10**9
CAM = Target(building="hs", camera="hs-cam")
VIEWER = UserSubject(1, "ann", Role.VIEWER, frozenset({"hs"}))
LINK = LinkSubject(7, frozenset({"hs-cam"}), frozenset(), True, False, None, None, NOW + 10**9)


def test_a_session_goes_on_only_while_its_credential_grants_it() -> None:
    ok = CredentialState("session", VIEWER, None, NOW + 1)
    assert why_session_ends(ok, Action.VIEW_LIVE, CAM, NOW) is None
    assert why_session_ends(None, Action.VIEW_LIVE, CAM, NOW) == "its credential no longer exists"
    revoked = CredentialState("session", VIEWER, NOW - 1, NOW + 1)
    assert why_session_ends(revoked, Action.VIEW_LIVE, CAM, NOW) == "its session was revoked"
    token = CredentialState("api_token", VIEWER, None, None, user_disabled=True)
    assert why_session_ends(token, Action.VIEW_LIVE, CAM, NOW) == "its user was disabled"
    assert why_session_ends(ok, Action.VIEW_LIVE, CAM, NOW + 1) == "its session expired"
    moved = CredentialState("session", UserSubject(1, "ann", Role.VIEWER, frozenset({"ms"})), None, None)
    assert why_session_ends(moved, Action.VIEW_LIVE, CAM, NOW) == (
        "view_live is no longer allowed: building hs is not assigned to ann")


def test_a_link_session_ends_at_its_expiry_or_revocation() -> None:
    link = CredentialState("link", LINK, None, LINK.expires_ns)
    assert why_session_ends(link, Action.VIEW_LIVE, CAM, NOW) is None
    assert why_session_ends(link, Action.VIEW_LIVE, CAM, LINK.expires_ns) == "its link expired"
    revoked = CredentialState("link", LINK, NOW, LINK.expires_ns)
    assert why_session_ends(revoked, Action.VIEW_LIVE, CAM, NOW) == "its link was revoked"
    other = Target(building="hs", camera="other-cam")
    assert "outside the link's scope" in str(why_session_ends(link, Action.VIEW_LIVE, other, NOW))


@given(st.integers(0, 20), st.integers(0, 20), st.booleans())
def test_admission_never_exceeds_any_cap(open_total: int, on_credential: int, link: bool) -> None:
    limits = ViewerLimits(max_viewers=10, max_per_credential=6, max_per_link=4)
    cap = 4 if link else 6
    if open_total < 10 and on_credential < cap:
        admit_viewer(limits, open_total, on_credential, link)
        return
    with pytest.raises(TooManyRequestsError) as refused:
        admit_viewer(limits, open_total, on_credential, link)
    named = ("[webrtc] max_viewers)" if open_total >= 10
             else "max_viewers_per_link" if link else "max_viewers_per_credential")
    assert named in str(refused.value)


OFFER = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n")
LAN = ["192.168.1.10", "2001:db8::10"]
NAMESPACE = ["127.0.0.2"]  # the test network namespace: aioice's only address is loopback


def _candidates(*addresses: str, transport: str = "udp") -> str:
    return OFFER + "".join(f"a=candidate:{i} 1 {transport} 2130706431 {a} {5000 + i} typ host\r\n"
                           for i, a in enumerate(addresses))


@pytest.mark.parametrize(("address", "own", "kept"), [
    ("192.168.1.20", LAN, True),
    ("203.0.113.9", LAN, True),  # a public (server-reflexive, relay) address
    ("2001:db8::20", LAN, True),
    ("2001:db8::20", ["192.168.1.10"], False),  # no IPv6 on the appliance
    ("abcdef01-2345-6789-abcd-ef0123456789.local", LAN, True),  # a browser's mDNS host candidate
    ("intranet.example", LAN, False),  # never resolved on a client's behalf
    ("127.0.0.1", LAN, False),  # the appliance's own services
    ("::1", LAN, False),
    ("::ffff:127.0.0.1", LAN, False),
    ("127.0.0.1", NAMESPACE, True),  # the appliance itself is on loopback
    ("169.254.3.4", LAN, False),
    ("169.254.3.4", ["169.254.9.9"], True),
    ("fe80::1", LAN, False),
    ("0.0.0.0", LAN, False),
    ("::", LAN, False),
    ("224.0.0.251", LAN, False),
    ("ff02::1", LAN, False),
    ("255.255.255.255", LAN, False),
    ("240.0.0.1", LAN, False),
])
def test_candidate_addresses_the_appliance_can_use(address: str, own: list[str], kept: bool) -> None:
    screened = screen_offer(_candidates(address).encode(), own)
    assert (screened.candidates_kept, screened.candidates_dropped) == ((1, 0) if kept else (0, 1))
    assert (f" {address} " in screened.sdp) == kept
    assert screened.sdp.startswith("v=0\r\n") and "a=rtpmap:96 H264/90000\r\n" in screened.sdp


def test_tcp_candidates_and_port_zero_are_dropped() -> None:
    assert screen_offer(_candidates("192.168.1.20", transport="tcp").encode(), LAN).candidates_dropped == 1
    zero = OFFER + "a=candidate:1 1 udp 1 192.168.1.20 0 typ host\r\n"
    assert screen_offer(zero.encode(), LAN).candidates_dropped == 1


def test_candidate_count_is_capped() -> None:
    at_limit = _candidates(*["192.168.1.20"] * MAX_REMOTE_CANDIDATES)
    assert screen_offer(at_limit.encode(), LAN).candidates_kept == MAX_REMOTE_CANDIDATES
    with pytest.raises(BadRequestError, match=f"more than {MAX_REMOTE_CANDIDATES} ICE candidates"):
        screen_offer(_candidates(*["192.168.1.20"] * (MAX_REMOTE_CANDIDATES + 1)).encode(), LAN)


@pytest.mark.parametrize(("body", "needle"), [
    (b"v=0\r\nm=video H264/90000", "line 2 is not 'm=<media>"),
    (OFFER.encode().replace(b"s=-", b"s=\xff"), "not UTF-8"),
    (b"\xff\xfebinary", "not UTF-8"),
    (b"hello", "must start with v=0"),
    (b"", "must start with v=0"),
    (OFFER.replace("m=video", "m=audio").encode(), "no video section"),
    (OFFER.replace("H264", "VP8").encode(), "does not accept H.264"),
    (OFFER.replace("a=ice-pwd:0123456789abcdef012345\r\n", "").encode(), "ICE username fragment and password"),
    ((OFFER + "garbage line\r\n").encode(), "line 10 is not of the form"),
    ((OFFER + "m=video 99999 UDP/TLS/RTP/SAVPF 96\r\n").encode(), "line 10 is not 'm=<media>"),
    ((OFFER + "a=candidate:x\r\n").encode(), "not an ICE candidate"),
    ((OFFER + "a=candidate:1 1 udp high 1.2.3.4 5 typ host\r\n").encode(), "not an ICE candidate"),
    ((OFFER + "a=" + "x" * MAX_SDP_BYTES).encode(), "too large"),
])
def test_malformed_offers_are_refused_with_the_reason(body: bytes, needle: str) -> None:
    with pytest.raises(BadRequestError, match=needle):
        screen_offer(body, LAN)


@given(st.one_of(st.binary(max_size=2000), st.text(max_size=300).map(lambda t: (OFFER + t).encode())))
def test_any_bytes_are_screened_or_refused_with_bad_request(body: bytes) -> None:
    """Only BadRequestError, whatever the input; what passes is well formed SDP text."""
    try:
        screened = screen_offer(body, LAN)
    except BadRequestError as error:
        assert str(error)
    else:
        assert screened.sdp.startswith("v=0\r\n") and "\nm=video " in screened.sdp
