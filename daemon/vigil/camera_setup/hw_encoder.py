"""Which hardware H.264 encoders the appliance has: V4L2 memory-to-memory encoders (their sysfs
name says "enc", e.g. bcm2835-codec-encode, hantro-vpu-enc, rkvenc) and VA-API render nodes."""

from __future__ import annotations

from pathlib import Path

SYS_V4L = Path("/sys/class/video4linux")
DRI = Path("/dev/dri")


def v4l2_encoders(root: Path = SYS_V4L) -> tuple[str, ...]:
    found = []
    for entry in sorted(root.glob("video*")) if root.is_dir() else []:
        try:
            name = (entry / "name").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if "enc" in name.lower():
            found.append(f"{name} (/dev/{entry.name})")
    return tuple(found)


def vaapi_devices(root: Path = DRI) -> tuple[str, ...]:
    return tuple(str(p) for p in sorted(root.glob("renderD*"))) if root.is_dir() else ()
