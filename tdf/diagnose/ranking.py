"""Rank joint groups by "the weak classes' distinction is in g's motion, and the model's
decisions on them do not get it from elsewhere" — where a Targeted-Attention stream on g can help.

Method (Train, Diagnose and Fix, Hou, Kim, Reiter, arXiv:1711.08502: the diagnosis names the
joints whose information the model fails to use for the weak classes):
1. Take the weak classes and the classes they are confused with (`weak_classes`), and their
   samples in the evaluated split (at most `per_class` each, seeded).
2. For each joint group g, skills ((accuracy − chance)/(1 − chance), comparable across class
   counts) of:
   - **input** = a cross-validated linear probe on g's motion features alone, the better of two
     probes (`input_probe`): temporal-mean-removed, camera-yaw-invariant log power spectra
     (rhythm) and the parent-relative trajectory in the body-yaw frame resampled to 20 frames
     with its velocity (direction, shape, order). Is what tells these classes apart in g's motion?
   - **own_without** = the model's own decisions on these samples (its classifier, restricted to
     the ranking's classes) when g is frozen at its temporal mean and everything else moves: how
     far the model gets on these classes without g's motion.
   - **score** (`RULE` = "gap_own_without") = input − own_without: what g's motion alone offers
     for the weak classes beyond what the model decides without it. High when g carries the
     distinction and the rest of the body does not give it to the model — whether the model
     ignores g (synthetic planted cue: own_without ≈ own_full ≈ 0) or reads g but still fails
     (UTD-MHAD's right hand: the model's skill on these classes falls from 0.56 to 0.18 when the
     hand is frozen, yet the classes stay weak). Low when g has nothing to offer or the model
     does as well without it.
   Other components are recorded per group (`COMPONENTS`, `evidence.components`: the model-
   feature probe with only g moving — the previous score's model side, input − model_only —,
   with g frozen, on the full input, and the model's own skill on the full input and with only
   g moving) with the per-sample outcomes (`save_outcomes`), so bench/ranking_rules.py can
   re-score a diagnosis by any rule of `RULES`. Why this rule, measured against an oracle of
   trained fixes on UTD-MHAD and the synthetic acceptance: docs/ranking-real.md. (The model-
   feature probe, fitted on the evaluated samples, reads 0.97 from the features of a model whose
   own decisions reach 0.56 on UTD-MHAD's weak classes: on real data it measures what the
   features contain, not what the model decides.)
   The input probe is cross-validated REPEATS times and the score's 95 % interval (`score_low`,
   `score_high`) is a seeded bootstrap over samples and folds (`rank_groups`).
3. Groups are ranked by score (ties: the smaller group first). Only groups whose interval's lower
   end is ≥ THRESHOLD can be recommended: of those, the best-scoring one plus any scoring ≥
   `share` of it; two recommended halves of a composite (left_hand + right_hand) are reported
   as the composite (hands). Nothing clears the threshold → nothing is recommended.
Nothing is ranked at all when no class is weak (`weak_classes`: nothing wrong → nothing to
explain) or when a weak class has fewer than MIN_SAMPLES_PER_CLASS samples to probe on.
Why not the accuracy drop under occlusion alone: for classes already near 0 % accuracy there is
nothing left to drop (docs/design.md#weak-group-ranking-why-the-probe-gap); here the model's own
skill without g is compared with what g offers, not ranked by itself.
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


def freeze_inside(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Hold the dims in `mask` at their own temporal mean, everything else moving ("g frozen")."""
    return freeze_outside(x, ~np.asarray(mask, bool))


def own_correct(model, x: np.ndarray, y: np.ndarray, class_ids: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """bool[N]: the model's own classifier, restricted to the ranking's classes (`class_ids`, the
    weak classes and their confusers), picks sample i's class — the model as it actually decides,
    not a probe fitted on its features."""
    out = [np.asarray(model(x[i:i + batch_size], training=False), np.float64)
           for i in range(0, len(x), batch_size)]
    scores = np.concatenate(out)[:, class_ids]
    return class_ids[scores.argmax(axis=1)] == np.asarray(y)


# Candidate scores over one group's component skills (each an array over bootstrap replicates, or
# a float): bench/ranking_rules.py re-scores recorded diagnoses with every one of them
# (docs/ranking-real.md has the table that chose RULE).
#   input          I: skill of the input probe on g's motion alone
#   model_only     the model-feature probe when only g moves (the rest at its temporal mean)
#   model_without  the model-feature probe when g is frozen and the rest moves
#   model_full     the model-feature probe on the full input (the same for every group)
#   own_full / own_only / own_without   the model's own classifier on the ranking classes, full
#                  input / only g moving / g frozen (no probe: what the model decides)
def _relu(v):
    return np.maximum(v, 0.0)


RULES: dict[str, Any] = {
    "gap_only": lambda c: c["input"] - c["model_only"],
    "input": lambda c: c["input"],
    "gap_full": lambda c: c["input"] - c["model_full"],
    "reliance_probe": lambda c: c["input"] - _relu(c["model_full"] - c["model_without"]),
    "reliance_own": lambda c: c["input"] - _relu(c["own_full"] - c["own_without"]),
    "gap_weighted": lambda c: c["input"] * (c["input"] - c["model_only"]),
    "gap_own": lambda c: c["input"] - c["own_full"],
    "gap_own_only": lambda c: c["input"] - c["own_only"],
    "gap_without": lambda c: c["input"] - c["model_without"],
    "gap_own_without": lambda c: c["input"] - c["own_without"],
}
# What each rule's score subtracts from the input skill, in words (tables, chart; `model_term`).
RULE_TERMS = {"gap_only": "model probe, only g moving", "input": "nothing",
              "gap_full": "model probe, full input", "reliance_probe": "model-probe drop with g frozen",
              "reliance_own": "model's own drop with g frozen", "gap_weighted": "(input-weighted probe gap)",
              "gap_own": "model's own skill, full input", "gap_own_only": "model's own skill, only g moving",
              "gap_without": "model probe, g frozen", "gap_own_without": "model's own skill with g frozen"}
RULE = "gap_own_without"     # the score `rank_groups` ranks and gates by (module docstring)
COMPONENTS = ("input", "model_only", "model_without", "model_full", "own_full", "own_only", "own_without")


def bootstrap_draws(y: np.ndarray, seed: int, repeats: int = REPEATS, n_boot: int = BOOTSTRAP):
    """(resamples [n_boot, N], pick [n_boot]): the bootstrap's class-stratified sample draws and
    the cross-validation repeat each replicate reads — seeded, the same for every group."""
    rng = np.random.default_rng(seed)
    resamples = stratified_resamples(np.asarray(y), n_boot, rng)
    return resamples, rng.integers(0, repeats, size=n_boot)


def score_group(outcomes: Mapping[str, np.ndarray], chance: float, rule: str,
                draws: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, float], float, float, float]:
    """(component skills, score, interval low, high) of one group from its per-sample outcomes
    (`COMPONENTS` → [R, N] out-of-fold probe outcomes, or [N] for the model's own decisions).
    Score = RULES[rule] of the components' mean skills; the interval recomputes every component
    on each bootstrap replicate (`bootstrap_draws`) and applies the rule to them."""
    resamples, pick = draws
    score_of = RULES[rule]

    def boot(c):
        c = np.asarray(c, np.float64)
        c = c[pick] if c.ndim == 2 else np.broadcast_to(c, (len(pick), c.shape[-1]))
        return skill_of(np.take_along_axis(c, resamples, axis=1).mean(axis=1), chance)

    comps = {k: float(np.mean(skill_of(np.asarray(c, np.float64).mean(axis=-1), chance)))
             for k, c in outcomes.items()}
    low, high = percentile_interval(score_of({k: boot(c) for k, c in outcomes.items()}), INTERVAL)
    return comps, float(score_of(comps)), low, high


def rank_groups(model, x: np.ndarray, y: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None,
                seed: int = 0, folds: int = 5, layout: Layout | None = None, recipe=None,
                repeats: int = REPEATS, n_boot: int = BOOTSTRAP, rule: str = RULE) -> list[dict[str, Any]]:
    """Score and rank the layout's groups (or `groups` of it) on samples x [N, T, D] with labels
    y (see the module docstring). With an input recipe (tdf.data.model_input) x is the model
    input [N, T, D·F]: the input probes read its joint positions and a group's mask covers all
    of its joints' channels.

    Each probe is cross-validated `repeats` times (fold seeds seed … seed+repeats−1). The input
    side is the better of the two input probes (tdf.diagnose.input_probe) by mean skill over the
    repeats. Every component (`COMPONENTS`) is a skill; `score` is `RULES[rule]` of the
    components' means over the repeats, recorded with the components
    (`evidence.components`) so a recorded diagnosis can be re-scored by another rule. Its
    interval (`score_low`, `score_high`, 95 %) is a seeded bootstrap over samples and probe folds:
    a replicate draws one of the repeats and a class-stratified resample of the samples, and
    recomputes every component from the per-sample out-of-fold outcomes (the same draws for every
    group and component, so groups are compared on equal terms). The probes are not refitted per
    replicate, and the input probe is chosen once: the interval covers which samples were
    evaluated and how the folds fell, not the probe's training noise or the choice between the
    two probes.
    """
    lay = layout_or_default(layout, groups)
    from tdf.diagnose.relevance.common import feature_model
    features = feature_model(model)
    positions = x if recipe is None else recipe.joint_channels(x)
    y = np.asarray(y)
    class_ids = np.unique(y)

    def cv(f):                    # [R, N] out-of-fold outcomes, and chance
        runs = [probe_correct(f, y, k=folds, seed=seed + r) for r in range(repeats)]
        return np.stack([c for c, _ in runs]).astype(np.float64), runs[0][1]

    c_full, chance = cv(pooled_features(features, x))
    o_full = own_correct(model, x, y, class_ids).astype(np.float64)
    draws = bootstrap_draws(y, seed, repeats, n_boot)
    rows = []
    for name in lay.groups:
        joints = lay.group_joints(name)
        mask = lay.group_mask(name)
        if recipe is not None:
            mask = recipe.expand_mask(mask)
        outcomes_in = {probe: cv(f)[0] for probe, f in probe_features(positions, joints, layout=lay).items()}
        skills_in = {probe: float(skill_of(c.mean(axis=1), chance).mean()) for probe, c in outcomes_in.items()}
        best = choose_probe(skills_in)
        only, without = freeze_outside(x, mask), freeze_inside(x, mask)
        outcomes = {"input": outcomes_in[best],                                       # [R, N]
                    "model_only": cv(pooled_features(features, only))[0],
                    "model_without": cv(pooled_features(features, without))[0],
                    "model_full": c_full,
                    "own_full": o_full,                                              # [N]
                    "own_only": own_correct(model, only, y, class_ids).astype(np.float64),
                    "own_without": own_correct(model, without, y, class_ids).astype(np.float64)}
        comps, score, low, high = score_group(outcomes, chance, rule, draws)
        rows.append({"name": name, "joints": len(joints),
                     "score": round(score, 6), "score_low": round(low, 6), "score_high": round(high, 6),
                     "evidence": {"input_separability": round(comps["input"], 6),
                                  "input_probe": best,
                                  "input_separability_by_probe": {p: round(skills_in[p], 6) for p in PROBES},
                                  "model_separability": round(comps["model_only"], 6),
                                  "components": {k: round(v, 6) for k, v in comps.items()},
                                  "rule": rule, "model_term": round(comps["input"] - score, 6),
                                  "input_probe_accuracy": round(float(outcomes["input"].mean()), 6),
                                  "model_probe_accuracy": round(float(outcomes["model_only"].mean()), 6),
                                  "chance": round(chance, 6), "n_samples": int(len(y)),
                                  "cv_repeats": repeats, "bootstrap": n_boot},
                     "outcomes": {k: v.astype(bool) for k, v in outcomes.items()}})
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
    outcomes = {r["name"]: r.pop("outcomes") for r in rows}
    for r in rows:
        r["classes"] = classes
    rec = recommend(rows, composites=lay.composites)
    return {"status": "ranked", "message": None, "weak_classes": weak, "groups": rows,
            "recommended_groups": rec,
            "ranking_samples": {"n": int(len(sel)), "classes": classes, "left_out": few},
            "outcomes": {"labels": np.asarray(y), "groups": outcomes}}


def save_outcomes(path, outcomes: Mapping[str, Any], seed: int) -> None:
    """The per-sample outcomes behind every group's components (`rank_groups`), as an npz:
    `labels`, `seed`, and `GROUP/COMPONENT` → bool [R, N] or [N]. With them
    `bench/ranking_rules.py` re-scores a diagnosis by any rule of `RULES`, intervals included,
    without retraining or re-probing."""
    arrays = {f"{g}/{k}": v for g, comps in outcomes["groups"].items() for k, v in comps.items()}
    with open(path, "wb") as f:
        np.savez_compressed(f, labels=outcomes["labels"], seed=np.int64(seed), **arrays)


def load_outcomes(path) -> tuple[np.ndarray, int, dict[str, dict[str, np.ndarray]]]:
    """(labels, seed, {group: {component: outcomes}}) from `save_outcomes`'s file."""
    with np.load(path) as z:
        groups: dict[str, dict[str, np.ndarray]] = {}
        for key in z.files:
            if "/" in key:
                g, k = key.split("/", 1)
                groups.setdefault(g, {})[k] = z[key]
        return z["labels"], int(z["seed"]), groups


def _not_ranked(weak: list[dict], status: str, message: str, classes: list[str]) -> dict[str, Any]:
    return {"status": status, "message": message, "weak_classes": weak, "groups": [],
            "recommended_groups": [], "ranking_samples": {"n": 0, "classes": classes, "left_out": []},
            "outcomes": None}
