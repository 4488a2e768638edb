"""Rank joint groups by "the information is in the input, but the model does not use it".

Method (the probe gap that found every planted weakness in the measurements of
docs/design.md#weak-group-ranking-why-the-probe-gap):
1. Take the weak classes and the classes they are confused with (`weak_classes`), and their
   samples in the evaluated split (at most `per_class` each, seeded).
2. For each joint group g:
   - **input separability** = skill of a cross-validated linear probe on g's motion features
     alone (`features.group_motion_features`: temporal-mean-removed, camera-yaw-invariant
     log power spectra) — is what tells these classes apart present in g's motion?
   - **model separability** = skill of the same probe on the model's pooled features (`pool`)
     when *only g moves* (every other dim frozen at its own temporal mean) — does the model turn
     g's motion into features that tell the classes apart?
   - **score** = input separability − model separability. High: the input carries the
     distinction in g, the model's features don't. Groups with nothing to offer (input ≈ 0)
     or that the model already uses (model ≈ input) score ≈ 0.
   Skill = (accuracy − chance)/(1 − chance), so scores are comparable across class counts.
3. Groups are ranked by score (ties: the smaller group first). The recommendation is the top
   group plus any group scoring ≥ `share` of the top (and ≥ `min_score`); two recommended
   halves of a composite (left_hand + right_hand) are reported as the composite (hands).
Why not accuracy drops under occlusion: for classes already near 0 % accuracy there is nothing
left to drop (docs/design.md#weak-group-ranking-why-the-probe-gap), so occlusion ranks noise; it is
kept as extra evidence only.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tdf.data.layout import COMPOSITES, GROUPS, group_joints, group_mask
from tdf.diagnose.features import freeze_outside, group_motion_features
from tdf.diagnose.probe import probe_accuracy
from tdf.diagnose.weak_classes import confusion_set, weak_classes


def pooled_feature_model(model):
    """A model giving the globally pooled features (output of layer `pool`)."""
    import keras
    return keras.Model(model.inputs[0], model.get_layer("pool").output)


def pooled_features(feature_model, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Pooled features for inputs x, batch by batch (one traced function for every call)."""
    out = [np.asarray(feature_model(x[i:i + batch_size], training=False), np.float64)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, feature_model.output_shape[-1]))


def select_samples(labels: np.ndarray, indices: np.ndarray, classes: Sequence[int], per_class: int,
                   seed: int) -> np.ndarray:
    """Up to `per_class` indices of each class (seeded), sorted."""
    rng = np.random.default_rng(seed)
    out = []
    for c in classes:
        idx = indices[labels[indices] == c]
        if len(idx) > per_class:
            idx = rng.choice(idx, per_class, replace=False)
        out.append(idx)
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)


def rank_groups(model, x: np.ndarray, y: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None,
                seed: int = 0, folds: int = 5) -> list[dict[str, Any]]:
    """Score and rank groups on samples x [N, T, 150] with labels y (see the module docstring)."""
    groups = dict(GROUPS if groups is None else groups)
    features = pooled_feature_model(model)
    rows = []
    for name in groups:
        joints = group_joints(name, groups)
        mask = group_mask(name, groups)
        inp = probe_accuracy(group_motion_features(x, joints), y, k=folds, seed=seed)
        mod = probe_accuracy(pooled_features(features, freeze_outside(x, mask)), y, k=folds, seed=seed)
        rows.append({"name": name, "joints": len(joints),
                     "score": round(inp["skill"] - mod["skill"], 6),
                     "evidence": {"input_separability": round(inp["skill"], 6),
                                  "model_separability": round(mod["skill"], 6),
                                  "input_probe_accuracy": round(inp["accuracy"], 6),
                                  "model_probe_accuracy": round(mod["accuracy"], 6),
                                  "chance": round(inp["chance"], 6), "n_samples": inp["n"]}})
    rows.sort(key=lambda r: (-r["score"], r["joints"], r["name"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def recommend(rows: list[dict], share: float = 0.5, min_score: float = 0.2, top_k: int | None = None,
              composites: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Group names to target: the top group and near-ties, merged into composites."""
    if not rows or rows[0]["score"] < min_score:
        return []
    top = rows[0]["score"]
    chosen = [r["name"] for r in rows if r["score"] >= max(share * top, min_score)]
    if top_k:
        chosen = chosen[:top_k]
    composites = COMPOSITES if composites is None else composites
    for comp, parts in composites.items():
        if all(p in chosen for p in parts):
            pos = min(chosen.index(p) for p in parts)
            chosen = [c for c in chosen if c not in parts]
            chosen.insert(min(pos, len(chosen)), comp)
    return chosen


def diagnose_ranking(model, store, indices: np.ndarray, metrics: dict,
                     groups: Mapping[str, Sequence[str]] | None = None, seed: int = 0,
                     per_class: int = 60, frames: int | None = None) -> dict[str, Any]:
    """The ranking part of diagnosis.json for a model, its store, the evaluated rows and metrics."""
    weak = weak_classes(metrics)
    classes = confusion_set(weak)
    ids = [store.class_names.index(c) for c in classes]
    sel = select_samples(store.label, np.asarray(indices), ids, per_class, seed)
    x = store.read(sel, frames=frames)
    y = store.label[sel]
    rows = rank_groups(model, x, y, groups, seed=seed)
    for r in rows:
        r["classes"] = classes
    custom = groups is not None and set(groups) != set(GROUPS)
    rec = recommend(rows, composites={} if custom else None)
    return {"weak_classes": weak, "groups": rows, "recommended_groups": rec,
            "ranking_samples": {"n": int(len(sel)), "classes": classes}}
