"""Documented bounds on what tdf reads, so hostile sizes are refused before anything is allocated
(and a bad value is quoted in a message only as a short excerpt)."""

from __future__ import annotations

# The longest sequence a store may hold. NTU RGB+D's longest samples are ~300 frames (10 s at
# 30 fps); 10 000 frames is 5.5 minutes. Beyond it one sample's frames and the activations of a
# batch no longer fit a workstation's memory (T = 10⁵ crashed TensorFlow inside training), so
# stores, importers and `prepare --max-frames` refuse it; crop with `--max-frames` instead.
MAX_FRAMES = 10_000
# Classes a store or an imported label array may have (NTU-120 has 120; one-hot labels of an
# import are N × classes values, so this also bounds a label row).
MAX_CLASSES = 10_000
# At most this many characters of a bad value are quoted in a message.
EXCERPT = 60


def excerpt(value, limit: int = EXCERPT) -> str:
    """repr() of a value cut to `limit` characters (with its full length when cut), so a 5 MB
    junk value never ends up whole in a message or a summary."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"
