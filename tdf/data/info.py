"""What is in a store (`tdf data info`): size, classes, lengths, metadata, and its splits."""

from __future__ import annotations

import numpy as np

from tdf.data.splits import (SPLITS, applicable_splits, candidate_splits, default_split_name, make_split,
                             no_val_reason, split_problem, store_benchmark)
from tdf.data.stats import frame_length_stats
from tdf.data.store import META_INT16, Store

_STANDARD_ATTRS = ("format_version", "class_names", "joint_layout", "source", "created_by", "n", "default_split",
                   "layout")


def _ids(values: np.ndarray) -> dict:
    """Distinct known ids of one metadata field, and how many samples lack it (−1)."""
    v = np.asarray(values, np.int64)
    known = np.unique(v[v >= 0])
    return {"distinct": int(len(known)), "ids": known.tolist(), "unknown": int((v < 0).sum())}


def store_info(store: Store, seed: int = 0, val_fraction: float = 0.1,
               test_fraction: float = 0.2) -> dict:
    """A JSON-ready description of `store`, including the sizes of every applicable split."""
    counts = np.bincount(store.label, minlength=store.num_classes) if store.n else np.zeros(store.num_classes, int)
    extra = {k: store.json_attr(k) for k in sorted(store.f.attrs.keys()) if k not in _STANDARD_ATTRS}
    splits, unusable, notes = {}, {}, {}
    offered = applicable_splits(store)
    benchmark = store_benchmark(store)
    candidates = candidate_splits(store)
    kwargs = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    for name in candidates + [s for s in SPLITS if s not in candidates]:
        problem = split_problem(store, name, **kwargs) if name in offered else None
        if name in offered and problem is None:
            sp = make_split(store, name, **kwargs)
            splits[name] = sp.sizes()
            if not len(sp.val):
                notes[name] = f"no validation samples: {no_val_reason(store, sp)}"
        elif name in candidates:
            unusable[name] = problem or split_problem(store, name, **kwargs) or "not offered"
        elif benchmark in ("ntu60", "ntu120"):
            other = "NTU-120" if benchmark == "ntu60" else "NTU-60"
            unusable[name] = f"an {other} protocol; this store is {benchmark.replace('ntu', 'NTU-')}"
        else:
            unusable[name] = f"an NTU protocol; this store is {benchmark}"
    return {
        "path": str(store.path),
        "samples": store.n,
        "max_frames": store.T,
        "format_version": store.attr("format_version"),
        "joint_layout": store.attr("joint_layout"),
        "layout": {"name": store.layout.name, "joints": list(store.layout.joints), "coords": store.layout.coords,
                   "bodies": store.layout.bodies, "D": store.layout.D,
                   "groups": {g: list(j) for g, j in store.layout.groups.items()},
                   "composites": {c: list(p) for c, p in store.layout.composites.items()}},
        "source": store.attr("source"),
        "created_by": store.attr("created_by"),
        "num_classes": store.num_classes,
        "classes": [{"label": i, "name": n, "count": int(c)}
                    for i, (n, c) in enumerate(zip(store.class_names, counts))],
        "lengths": frame_length_stats(store),
        **{key: _ids(getattr(store, key)) for key in META_INT16},
        "planted_group": extra.get("planted_group"),
        "fine_classes": extra.get("fine_classes"),
        "attributes": extra,
        "split_settings": {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction},
        "benchmark": benchmark,
        "default_split": default_split_name(store),
        "splits": splits,
        "unusable_splits": unusable,
        "split_notes": notes,
    }
