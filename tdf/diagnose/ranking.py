"""Rank joint groups by "the information is in the input, but the model does not use it".

Method (the probe gap that found every planted weakness in the measurements of
docs/design.md#weak-group-ranking-why-the-probe-gap):
1. Take the weak classes and the classes they are confused with (`weak_classes`), and their
   samples in the evaluated split (at most `per_class` each, seeded).
2. For each joint group g:
   - **input separability** = skill of a cross-validated linear probe on g's motion features
     alone, the better of two probes (`input_probe`): temporal-mean-removed, camera-yaw-invariant
     log power spectra (rhythm) and the parent-relative trajectory in the body-yaw frame
     resampled to 20 frames with its velocity (direction, shape, order) — is what tells these
     classes apart present in g's motion? Which probe gave it is recorded (`input_probe`).
   - **model separability** = skill of the same probe on the model's pooled features (`pool`)
     when *only g moves* (every other dim frozen at its own temporal mean) — does the model turn
     g's motion into features that tell the classes apart?
   - **score** = input separability − model separability. High: the input carries the
     distinction in g, the model's features don't. Groups with nothing to offer (input ≈ 0)
     or that the model already uses (model ≈ input) score ≈ 0.
   Skill = (accuracy − chance)/(1 − chance), so scores are comparable across class counts.
   Each probe is cross-validated REPEATS times; the score is the mean, and its 95 % interval
   (`score_low`, `score_high`) a seeded bootstrap over samples and folds (`rank_groups`).
3. Groups are ranked by score (ties: the smaller group first). Only groups whose interval's lower
   end is ≥ THRESHOLD can be recommended: of those, the best-scoring one plus any scoring ≥
   `share` of it; two recommended halves of a composite (left_hand + right_hand) are reported
   as the composite (hands). Nothing clears the threshold → nothing is recommended.
Nothing is ranked at all when no class is weak (`weak_classes`: nothing wrong → nothing to
explain) or when a weak class has fewer than MIN_SAMPLES_PER_CLASS samples to probe on.
Why not accuracy drops under occlusion: for classes already near 0 % accuracy there is nothing
left to drop (docs/design.md#weak-group-ranking-why-the-probe-gap), so occlusion ranks noise; it is
kept as extra evidence only.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tdf.diagnose.features import freeze_outside
from tdf.diagnose.input_probe import PROBES, choose_probe, probe_features
from tdf.diagnose.intervals import percentile_interval
from tdf.diagnose.probe import probe_correct, skill_of
from tdf.diagnose.weak_classes import (MIN_SAMPLES_PER_CLASS, confusion_set, no_weak_class_reason,
                                       weak_classes)
from tdf.skeleton import Layout, layout_or_default


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


REPEATS = 10          # cross-validations per probe, each with its own fold assignment
BOOTSTRAP = 1000      # bootstrap replicates of the score
THRESHOLD = 0.2       # a group is recommended only when the lower end of its score's interval clears this
INTERVAL = 0.95       # the interval's level


def stratified_resamples(y: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, N] bootstrap index sets, each drawing every class's own count with replacement
    (so the class balance — and the probe's chance level — stays fixed)."""
    out = np.empty((n_boot, len(y)), np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        out[:, idx] = idx[rng.integers(0, len(idx), size=(n_boot, len(idx)))]
    return out


def rank_groups(model, x: np.ndarray, y: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None,
                seed: int = 0, folds: int = 5, layout: Layout | None = None, recipe=None,
                repeats: int = REPEATS, n_boot: int = BOOTSTRAP) -> list[dict[str, Any]]:
    """Score and rank the layout's groups (or `groups` of it) on samples x [N, T, D] with labels
    y (see the module docstring). With an input recipe (tdf.data.model_input) x is the model
    input [N, T, D·F]: the input probes read its joint positions and a group's mask covers all
    of its joints' channels.

    Each probe is cross-validated `repeats` times (fold seeds seed … seed+repeats−1). The input
    side is the better of the two input probes (tdf.diagnose.input_probe) by mean skill over the
    repeats; `score` is the mean over the repeats of input skill − model skill. Its interval
    (`score_low`, `score_high`, 95 %) is a seeded bootstrap over samples and probe folds: a
    replicate draws one of the repeats and a class-stratified resample of the samples, and
    recomputes both skills from the per-sample out-of-fold outcomes (the same draws for every
    group, so groups are compared on equal terms). The probes are not refitted per replicate,
    and the input probe is chosen once: the interval covers which samples were evaluated and
    how the folds fell, not the probe's training noise or the choice between the two probes.
    """
    lay = layout_or_default(layout, groups)
    from tdf.diagnose.relevance.common import feature_model
    features = feature_model(model)
    positions = x if recipe is None else recipe.joint_channels(x)
    rng = np.random.default_rng(seed)
    resamples = stratified_resamples(np.asarray(y), n_boot, rng)
    pick = rng.integers(0, repeats, size=n_boot)
    rows = []
    for name in lay.groups:
        joints = lay.group_joints(name)
        mask = lay.group_mask(name)
        if recipe is not None:
            mask = recipe.expand_mask(mask)
        f_mod = pooled_features(features, freeze_outside(x, mask))
        runs_in = {probe: [probe_correct(f, y, k=folds, seed=seed + r) for r in range(repeats)]
                   for probe, f in probe_features(positions, joints, layout=lay).items()}
        runs_mod = [probe_correct(f_mod, y, k=folds, seed=seed + r) for r in range(repeats)]
        chance = runs_mod[0][1]
        outcomes_in = {probe: np.stack([c for c, _ in runs]).astype(np.float64) for probe, runs in runs_in.items()}
        skills_in = {probe: float(skill_of(c.mean(axis=1), chance).mean()) for probe, c in outcomes_in.items()}
        best = choose_probe(skills_in)
        c_in = outcomes_in[best]                                          # [R, N]
        c_mod = np.stack([c for c, _ in runs_mod]).astype(np.float64)
        acc_in, acc_mod = c_in.mean(axis=1), c_mod.mean(axis=1)
        sk_in, sk_mod = skill_of(acc_in, chance), skill_of(acc_mod, chance)
        boot = (skill_of(np.take_along_axis(c_in[pick], resamples, axis=1).mean(axis=1), chance)
                - skill_of(np.take_along_axis(c_mod[pick], resamples, axis=1).mean(axis=1), chance))
        low, high = percentile_interval(boot, INTERVAL)
        rows.append({"name": name, "joints": len(joints),
                     "score": round(float(np.mean(sk_in - sk_mod)), 6),
                     "score_low": round(low, 6), "score_high": round(high, 6),
                     "evidence": {"input_separability": round(float(sk_in.mean()), 6),
                                  "input_probe": best,
                                  "input_separability_by_probe": {p: round(skills_in[p], 6) for p in PROBES},
                                  "model_separability": round(float(sk_mod.mean()), 6),
                                  "input_probe_accuracy": round(float(acc_in.mean()), 6),
                                  "model_probe_accuracy": round(float(acc_mod.mean()), 6),
                                  "chance": round(chance, 6), "n_samples": int(len(y)),
                                  "cv_repeats": repeats, "bootstrap": n_boot}})
    rows.sort(key=lambda r: (-r["score"], r["joints"], r["name"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def recommend(rows: list[dict], share: float = 0.5, min_score: float = THRESHOLD, top_k: int | None = None,
              composites: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Group names to target: among the groups whose interval's lower end (`score_low`, or the
    score itself when a row has no interval) is ≥ `min_score`, the best-scoring one and those
    scoring ≥ `share` of it; two chosen halves of a composite are merged into it."""
    sure = [r for r in rows if r.get("score_low", r["score"]) >= min_score]
    if not sure:
        return []
    top = max(r["score"] for r in sure)
    chosen = [r["name"] for r in sorted(sure, key=lambda r: -r["score"]) if r["score"] >= share * top]
    if top_k:
        chosen = chosen[:top_k]
    composites = layout_or_default().composites if composites is None else composites
    for comp, parts in composites.items():
        if all(p in chosen for p in parts):
            pos = min(chosen.index(p) for p in parts)
            chosen = [c for c in chosen if c not in parts]
            chosen.insert(min(pos, len(chosen)), comp)
    return chosen


def diagnose_ranking(model, store, indices: np.ndarray, metrics: dict,
                     groups: Mapping[str, Sequence[str]] | None = None, seed: int = 0,
                     per_class: int = 60, frames: int | None = None,
                     layout: Layout | None = None, recipe=None) -> dict[str, Any]:
    """The ranking part of diagnosis.json for a model, its store, the evaluated rows and metrics.

    `status` says whether groups were ranked: "ranked"; "no_weak_class" (nothing is wrong that
    the evaluation can show — `weak_classes`); "too_few_samples" (fewer than
    MIN_SAMPLES_PER_CLASS samples of a weak class, or fewer than two classes left with that
    many). Unless ranked, `groups` and `recommended_groups` are empty and `message` says why.
    """
    weak = weak_classes(metrics)
    if not weak:
        return _not_ranked(weak, "no_weak_class", no_weak_class_reason(metrics), [])
    classes = confusion_set(weak)
    ids = [store.class_names.index(c) for c in classes]
    sel = select_samples(store.label, np.asarray(indices), ids, per_class, seed)
    counts = {c: int((store.label[sel] == i).sum()) for c, i in zip(classes, ids)}
    weak_names = {w["class"] for w in weak}
    few = [c for c in classes if counts[c] < MIN_SAMPLES_PER_CLASS]
    usable = [c for c in classes if c not in few]
    if any(c in weak_names for c in few) or len(usable) < 2:
        listed = ", ".join(f"{c} ({counts[c]})" for c in few)
        return _not_ranked(weak, "too_few_samples",
                           f"ranking refused: too few samples per class in the {len(sel)} ranking samples "
                           f"({listed}; need ≥ {MIN_SAMPLES_PER_CLASS} per class); nothing is recommended",
                           classes)
    if few:  # confusers with too few samples are left out of the probes
        classes = usable
        keep = np.isin(store.label[sel], [store.class_names.index(c) for c in classes])
        sel = sel[keep]
    x = store.read(sel, frames=frames)
    y = store.label[sel]
    lay = layout_or_default(getattr(store, "layout", None) if layout is None else layout, groups)
    rows = rank_groups(model, x, y, seed=seed, layout=lay, recipe=recipe)
    for r in rows:
        r["classes"] = classes
    rec = recommend(rows, composites=lay.composites)
    return {"status": "ranked", "message": None, "weak_classes": weak, "groups": rows,
            "recommended_groups": rec,
            "ranking_samples": {"n": int(len(sel)), "classes": classes, "left_out": few}}


def _not_ranked(weak: list[dict], status: str, message: str, classes: list[str]) -> dict[str, Any]:
    return {"status": status, "message": message, "weak_classes": weak, "groups": [],
            "recommended_groups": [], "ranking_samples": {"n": 0, "classes": classes, "left_out": []}}
