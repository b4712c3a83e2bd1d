"""FFmpeg's tools as the independent judge of what the daemon serves (clips, exports)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def probe(path: Path) -> dict[str, str]:
    """ffprobe's codec name, codec tag, counted frames and duration of the first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,codec_tag_string,nb_read_frames:format=duration", "-of",
                          "default=nw=1", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.split())


def decode_errors(path: Path) -> str:
    """What ffmpeg says decoding every frame ('' when it decodes cleanly)."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True, check=False)
    return result.stderr.strip() + ("" if result.returncode == 0 else f" (exit {result.returncode})")
