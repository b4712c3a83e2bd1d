"""What recording a G.711 camera's sound costs: the recorder's G.711 -> AAC encode
(record/audio_transcode.py) against `ffmpeg` doing the same transcode, side by side in one run.

    .venv/bin/python bench/record_audio.py [--seconds 120] [--runs 5]

Both take the same `--seconds` of a 440 Hz tone as 8 kHz mu-law in 20 ms packets (what cameras
send) and make AAC-LC at 32 kb/s with FFmpeg's own encoder; we count CPU seconds of the work
(the process's for ours, the child's for ffmpeg, which also reads and writes files: a
conservative peer). Prints medians and the ratio; the cost per camera is CPU seconds per second
of sound."""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

from vigil.core.media import AudioCodec, AudioInfo, AudioPacket
from vigil.record.audio_transcode import AAC_BIT_RATE, G711ToAac

RATE = 8000


def tone_mulaw(seconds: int) -> bytes:
    encoder = av.CodecContext.create("pcm_mulaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "mono", "s16"
    encoder.open()
    t = np.arange(seconds * RATE) / RATE
    frame = av.AudioFrame.from_ndarray((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)[None, :],
                                       format="s16", layout="mono")
    frame.sample_rate = RATE
    return b"".join(bytes(p) for p in encoder.encode(frame))


def ours(mulaw: bytes) -> tuple[float, int]:
    """(CPU seconds, AAC frames) of the recorder's transcoder on the tone."""
    start = time.process_time()
    transcoder = G711ToAac(AudioInfo(AudioCodec.PCMU, RATE, 1, b""))
    frames = 0
    for n in range(0, len(mulaw), 160):
        frames += len(transcoder.push(AudioPacket(mulaw[n:n + 160], n * 90_000 // RATE, 1800, 0)))
    return time.process_time() - start, frames


def ffmpeg(raw: Path, out: Path) -> float:
    """CPU seconds (user + system) of ffmpeg encoding the same mu-law to AAC."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-threads", "1", "-f", "mulaw", "-ar", str(RATE), "-ac", "1",
                    "-i", str(raw), "-c:a", "aac", "-b:a", str(AAC_BIT_RATE), "-f", "adts", str(out)], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mulaw = tone_mulaw(args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "tone.ul", Path(tmp) / "tone.aac"
        raw.write_bytes(mulaw)
        mine, peer, frames = [], [], 0
        for _ in range(args.runs):  # interleaved: the machine's load hits both alike
            cpu, frames = ours(mulaw)
            mine.append(cpu)
            peer.append(ffmpeg(raw, out))
    m, p = statistics.median(mine), statistics.median(peer)
    print(f"{args.seconds} s of 8 kHz G.711, {args.runs} runs, {frames} AAC frames per run")
    print(f"recorder G711ToAac: median {m:.3f} CPU s = {m / args.seconds * 1000:.2f} ms CPU per s of sound")
    print(f"ffmpeg (same encode): median {p:.3f} CPU s = {p / args.seconds * 1000:.2f} ms CPU per s of sound")
    print(f"ratio ours/ffmpeg: {m / p:.2f}")


if __name__ == "__main__":
    main()
