"""The demo's fixed values: the simulated ONVIF camera's password, redacted from the log once the
camera is added, appears in nothing else the demo writes (else its ids would be masked)."""

from __future__ import annotations

from vigil.demo import CONFIG_TEMPLATE, NEW_CAMERAS, ONVIF_PASSWORD, ONVIF_USER


def test_the_camera_password_is_no_other_word_of_the_demo() -> None:
    texts = (CONFIG_TEMPLATE, *NEW_CAMERAS, ONVIF_USER)
    assert not any(ONVIF_PASSWORD in text for text in texts)
    assert not any(word in ONVIF_PASSWORD for word in ("demo", "lobby", "admin"))
