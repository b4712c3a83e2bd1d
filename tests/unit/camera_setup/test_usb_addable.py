"""USB cameras: addable only with a hardware H.264 encoder and a path through it (none yet)."""

from __future__ import annotations

from pathlib import Path

from vigil.camera_setup.hw_encoder import v4l2_encoders, vaapi_devices
from vigil.core.hotplug import usb_addable


def test_no_encoder_says_so() -> None:
    addable, why = usb_addable((), ())
    assert not addable and "needs a hardware H.264 encoder" in why and "none" in why


def test_an_encoder_is_named_but_not_used_yet() -> None:
    addable, why = usb_addable(("hantro-vpu-enc (/dev/video2)",), ("/dev/dri/renderD128",))
    assert not addable and "hantro-vpu-enc" in why and "renderD128" in why and "cannot record" in why


def test_encoders_are_found_in_sysfs(tmp_path: Path) -> None:
    for name, label in (("video0", "UVC Camera (046d:0825)"), ("video2", "bcm2835-codec-encode")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "name").write_text(label + "\n")
    assert v4l2_encoders(tmp_path) == ("bcm2835-codec-encode (/dev/video2)",)
    assert v4l2_encoders(tmp_path / "absent") == () and vaapi_devices(tmp_path / "absent") == ()
