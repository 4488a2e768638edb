"""Statistics of a store computed without loading `/x` whole.

`mean_skeleton` is the per-dimension mean over valid frames (frame < length) of a set of
samples — what the diagnosis uses as the "average skeleton" reference — streamed in chunks so
memory stays bounded by `chunk` samples. `frame_length_stats` summarises `/length`.
"""

from __future__ import annotations

import numpy as np

from tdf.errors import BadInput


def mean_skeleton(store, indices=None, chunk: int = 256) -> np.ndarray:
    """float32[D]: mean of every dimension over the valid frames of the samples `indices`.

    Padding frames (index ≥ the sample's length) are excluded. Sums are accumulated in
    float64. `indices` defaults to all samples.
    """
    idx = np.arange(store.n, dtype=np.int64) if indices is None else np.asarray(indices, np.int64).reshape(-1)
    if chunk < 1:
        raise ValueError(f"chunk must be ≥ 1, got {chunk}")
    lengths = np.asarray(store.length, np.int64)
    from tdf.skeleton import layout_or_default
    total = np.zeros(layout_or_default(getattr(store, "layout", None)).D, np.float64)
    count = 0
    for start in range(0, len(idx), chunk):
        rows = idx[start:start + chunk]
        lens = lengths[rows]
        t = int(lens.max()) if len(lens) else 0
        if t == 0:
            continue
        x = store.read(rows, frames=t)  # [b, t, D]
        valid = np.arange(t)[None, :] < lens[:, None]  # [b, t]
        total += x[valid].sum(axis=0, dtype=np.float64)
        count += int(valid.sum())
    if count == 0:
        raise BadInput("no valid frames among the selected samples; cannot compute a mean skeleton",
                       getattr(store, "path", None))
    return (total / count).astype(np.float32)


def frame_length_stats(store, indices=None) -> dict[str, float | int]:
    """min / mean / median / max of the valid frame counts (from `/length`, no frame reads)."""
    lengths = np.asarray(store.length, np.int64)
    if indices is not None:
        lengths = lengths[np.asarray(indices, np.int64).reshape(-1)]
    if len(lengths) == 0:
        return {"count": 0, "min": None, "mean": None, "median": None, "max": None}
    return {"count": int(len(lengths)), "min": int(lengths.min()), "mean": float(lengths.mean()),
            "median": float(np.median(lengths)), "max": int(lengths.max())}
