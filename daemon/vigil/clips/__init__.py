"""Clips of recorded ranges (clip.py), built from segment files at the byte level; signed export
packages of clips are in vigil.exports (design/evidence.md).

The public API is `plan_clip` / `plan_from_segments` → `ClipPlan`, and `iter_clip_bytes`."""

from vigil.clips.clip import ClipPlan, ClipSegment, iter_clip_bytes, plan_clip, plan_from_segments

__all__ = ["ClipPlan", "ClipSegment", "iter_clip_bytes", "plan_clip", "plan_from_segments"]
