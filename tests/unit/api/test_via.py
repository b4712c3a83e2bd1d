"""How a request came (Ctx.via) is a services.caller.Via, decided where the credential is read;
the audit log keeps its text."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from vigil.api.context import LINK_COOKIE, SESSION_COOKIE, presented_token
from vigil.core.errors import AuthenticationError
from vigil.services.caller import Via


@pytest.mark.parametrize(("headers", "token", "via"), [
    ({"Authorization": "Bearer abc"}, "abc", Via.TOKEN),
    ({"Authorization": "bearer  abc "}, "abc", Via.TOKEN),
    ({"Cookie": f"{SESSION_COOKIE}=s1"}, "s1", Via.SESSION),
    ({"Cookie": f"{LINK_COOKIE}=l1"}, "l1", Via.LINK),
    ({"Authorization": "Bearer abc", "Cookie": f"{SESSION_COOKIE}=s1"}, "abc", Via.TOKEN),
    ({}, None, Via.NONE),
])
def test_presented_token_names_how_it_came(headers: dict[str, str], token: str | None, via: Via) -> None:
    assert presented_token(make_mocked_request("GET", "/api/cameras", headers=headers)) == (token, via)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer \u00e9t\u00e9"])
def test_other_authorization_is_refused(header: str) -> None:
    with pytest.raises(AuthenticationError):
        presented_token(make_mocked_request("GET", "/api/cameras", headers={"Authorization": header}))


def test_via_values_are_the_audit_text() -> None:
    # audit entries' detail.via holds these (tests of the audit log assert them)
    assert {v.value for v in (Via.SESSION, Via.TOKEN, Via.LINK, Via.SIGNATURE, Via.NONE)} == {
        "session", "token", "link", "signature", "none"}
