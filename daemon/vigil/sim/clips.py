"""Pre-encoded H.264 test clips for the camera simulator's ``file=`` mode (made with ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_h264_clip(
    path: Path | str,
    width: int = 1920,
    height: int = 1080,
    fps: int = 15,
    seconds: float = 2.0,
    gop: int | None = None,
    bitrate_kbps: int = 4000,
) -> Path:
    """Encode a moving ``testsrc2`` clip with libx264 and return its path.

    The clip starts with an IDR, has a fixed GOP of ``gop`` frames (default ``fps``), no B-frames,
    yuv420p, Main profile, and CBR-ish rate control.  The container follows the suffix: ``.mp4``
    (or ``.mkv``) or raw Annex-B ``.h264``/``.264``.
    """
    path = Path(path)
    gop = gop or fps
    frames = max(1, round(seconds * fps))
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}",
        "-frames:v", str(frames), "-an",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0",
        "-b:v", f"{bitrate_kbps}k", "-maxrate", f"{bitrate_kbps}k", "-bufsize", f"{bitrate_kbps}k",
    ]  # fmt: skip
    if path.suffix in (".h264", ".264"):
        cmd += ["-f", "h264"]
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not path.is_file():
        raise RuntimeError(f"ffmpeg failed to make {path}: {result.stderr.strip()}")
    return path
