"""Is a relevance map faithful to the model being diagnosed? Deletion/insertion curves against
random orders (`deletion`), the model-randomisation cascade (`randomisation`), a one-line
verdict per method, and the choice of the method shown to users (`--method auto`).

Measured per method on a few samples of the evaluated split (stratified over the classes,
`--faithfulness-samples`), each explained for its true class as in the relevance view:

- **groups**: units = the joint groups; a method's order = its signed group relevance (the
  evidence for the class), highest first; the baseline = RANDOM_ORDERS seeded random orders.
- **frames**: units = SEGMENTS consecutive pieces of the valid frames, the same way.
- margin = (random deletion area − deletion area) + (insertion area − random insertion area),
  per sample; its 95 % interval is a seeded bootstrap over the samples. > 0 = better than random.
- verdict: *faithful* when the group margin's interval lies above 0 and randomising the model
  changes the maps (mean ρ after the full cascade < RHO_FLAG); *not faithful* when the interval
  lies below 0 or the maps survive randomisation; *inconclusive* otherwise.
`auto` shows the method with the largest group margin among the faithful ones (else among the
unflagged ones, else all) and says which and why.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tdf.data.layout import group_mask
from tdf.diagnose.deletion import (area, curves, occlusion_relevance, random_orders, relevance_order,
                                   segment_masks, unit_relevance)
from tdf.diagnose.intervals import percentile_interval
from tdf.diagnose.randomisation import RHO_FLAG, randomisation_check
from tdf.diagnose.relevance_methods import RELEVANCE_METHODS

FAITHFULNESS_SAMPLES = 24   # default --faithfulness-samples
RANDOM_ORDERS = 3           # random orders per sample (the baseline)
SEGMENTS = 8                # time segments of the frames axis
STAGES = 3                  # randomisation cascade: classifier, the upper half of the layers, all
RANDOMISATION_SAMPLES = 12  # the cascade recomputes every method per stage: on at most this many samples
METHOD_LABELS = {name: m.label for name, m in RELEVANCE_METHODS.items()}


def predictor(model, batch_size: int = 256):
    """inputs [M, T, D] → logits [M, C] of `model` (inference), reading its current weights."""
    from tdf.diagnose.relevance.common import classifier_weights, feature_model
    import keras
    features = feature_model(model)

    def predict(x):
        kernel, bias = classifier_weights(model)
        out = [keras.ops.convert_to_numpy(features(x[s:s + batch_size], training=False)) @ kernel + bias
               for s in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float64)
    return predict


def method_maps(model, method: str, x: np.ndarray, targets: np.ndarray, group_masks: np.ndarray,
                seg_masks: np.ndarray | None, predict=None) -> tuple[np.ndarray, np.ndarray | None]:
    """(signed group relevance [N, G], signed segment relevance [N, S] or None) of one method."""
    from tdf.diagnose.relevance.common import mean_skeleton
    if method not in RELEVANCE_METHODS:
        raise ValueError(f"unknown relevance method {method!r}")
    if RELEVANCE_METHODS[method].per_group:   # occlusion: the score drop of each masked unit
        predict = predict or predictor(model)
        ref = mean_skeleton(model)
        g = occlusion_relevance(predict, x, targets, group_masks, ref)
        s = occlusion_relevance(predict, x, targets, seg_masks, ref) if seg_masks is not None else None
        return g, s
    values = RELEVANCE_METHODS[method].load()(model, x, target=targets).values
    return unit_relevance(values, group_masks), (unit_relevance(values, seg_masks) if seg_masks is not None
                                                  else None)


def _axis_summary(deletion: np.ndarray, insertion: np.ndarray, methods: Sequence[str], seed: int
                  ) -> dict[str, Any]:
    """Areas, margins (with bootstrap interval) and mean curves per method; the random baseline
    is orders len(methods) … K−1."""
    m = len(methods)
    d_area, i_area = area(deletion), area(insertion)                # [N, K]
    rd, ri = d_area[:, m:].mean(axis=1), i_area[:, m:].mean(axis=1)
    rng = np.random.default_rng(seed)
    n = len(d_area)
    boot = rng.integers(0, n, size=(1000, n))
    out: dict[str, Any] = {"random": {"deletion_area": round(float(rd.mean()), 4),
                                      "insertion_area": round(float(ri.mean()), 4),
                                      "deletion_curve": np.round(deletion[:, m:].mean(axis=(0, 1)), 4).tolist(),
                                      "insertion_curve": np.round(insertion[:, m:].mean(axis=(0, 1)), 4).tolist()}}
    for j, name in enumerate(methods):
        margin = (rd - d_area[:, j]) + (i_area[:, j] - ri)
        low, high = percentile_interval(margin[boot].mean(axis=1))
        out[name] = {"deletion_area": round(float(d_area[:, j].mean()), 4),
                     "insertion_area": round(float(i_area[:, j].mean()), 4),
                     "margin": round(float(margin.mean()), 4), "margin_low": round(low, 4),
                     "margin_high": round(high, 4),
                     "deletion_curve": np.round(deletion[:, j].mean(axis=0), 4).tolist(),
                     "insertion_curve": np.round(insertion[:, j].mean(axis=0), 4).tolist()}
    return out


def verdict(name: str, groups: dict, rho_last: float | None) -> tuple[str, str]:
    """(faithful | not faithful | inconclusive, one line saying why)."""
    g, r = groups[name], groups["random"]
    label = METHOD_LABELS.get(name, name)
    areas = (f"deletion area {g['deletion_area']:.2f} vs {r['deletion_area']:.2f} random, insertion "
             f"{g['insertion_area']:.2f} vs {r['insertion_area']:.2f}; margin {g['margin']:+.2f} "
             f"[{g['margin_low']:+.2f}, {g['margin_high']:+.2f}]")
    rand = "" if rho_last is None else f"; ρ with a randomised model {rho_last:.2f}"
    if rho_last is not None and rho_last >= RHO_FLAG:
        return "not faithful", (f"{label}: does not explain this model — its maps barely change when the "
                                f"model is randomised (ρ {rho_last:.2f} ≥ {RHO_FLAG}); {areas}")
    if g["margin_low"] > 0:
        return "faithful", f"{label}: faithful on this model ({areas}{rand})"
    if g["margin_high"] < 0:
        return "not faithful", f"{label}: not faithful — worse than random orders ({areas}{rand})"
    return "inconclusive", f"{label}: inconclusive — not distinguishable from random orders ({areas}{rand})"


def choose(methods: Sequence[str], summary: dict[str, Any]) -> tuple[str, str]:
    """(method for `auto`, why)."""
    groups = summary["groups"]
    faithful = [m for m in methods if summary["methods"][m]["verdict"] == "faithful"]
    unflagged = [m for m in methods if not summary["randomisation"]["flagged"].get(m, False)]
    pool, which = ((faithful, "the faithful methods") if faithful else
                   (unflagged, "the methods that pass the randomisation check, none faithful")
                   if unflagged else (list(methods), "all methods, none passes the checks"))
    best = max(pool, key=lambda m: (groups[m]["margin"], -list(methods).index(m)))
    others = ", ".join(f"{METHOD_LABELS.get(m, m)} {groups[m]['margin']:+.2f}" for m in methods if m != best)
    return best, (f"auto → {METHOD_LABELS.get(best, best)}: the largest deletion/insertion margin over random "
                  f"orders of {which} ({groups[best]['margin']:+.2f}; {others})")


def faithfulness(model, x: np.ndarray, targets: np.ndarray, groups: Mapping[str, Sequence[str] | np.ndarray],
                 methods: Sequence[str] = tuple(RELEVANCE_METHODS), seed: int = 0,
                 random_k: int = RANDOM_ORDERS, segments: int = SEGMENTS, stages: int = STAGES,
                 frames_axis: bool = True, progress=None) -> dict[str, Any]:
    """The `faithfulness` section of diagnosis.json for samples x [N, T, D] and targets [N].
    `groups`: name → boolean mask over the D input dims (a layout's `group_mask`), or, for the
    ntu25 layout, name → joint names."""
    from tdf.diagnose.relevance.common import mean_skeleton
    say = progress or (lambda msg: None)
    names = list(groups)
    gmask = np.stack([np.asarray(m, bool) if isinstance(m, np.ndarray) else group_mask(g, groups)
                      for g, m in groups.items()])                               # [G, D]
    smask = segment_masks(x, segments) if frames_axis else None
    ref = mean_skeleton(model)
    predict = predictor(model)
    targets = np.asarray(targets, np.int64)
    maps = {}
    for m in methods:
        say(f"faithfulness: {METHOD_LABELS.get(m, m)} maps")
        maps[m] = method_maps(model, m, x, targets, gmask, smask, predict)
    out: dict[str, Any] = {"samples": int(len(x)), "explained": "true class", "random_orders": random_k,
                           "units": {"groups": names, "segments": segments if frames_axis else None},
                           "reference": "mean skeleton on valid frames"}
    say("faithfulness: deletion and insertion curves")
    orders = np.concatenate([np.stack([relevance_order(maps[m][0]) for m in methods], axis=1),
                             random_orders(len(x), len(names), random_k, seed)], axis=1)
    out["groups"] = _axis_summary(*curves(predict, x, targets, gmask, orders, ref), methods, seed)
    if frames_axis:
        orders = np.concatenate([np.stack([relevance_order(maps[m][1]) for m in methods], axis=1),
                                 random_orders(len(x), segments, random_k, seed + 1)], axis=1)
        out["frames"] = _axis_summary(*curves(predict, x, targets, smask, orders, ref), methods, seed)
    say("faithfulness: model-randomisation cascade")

    # every other sample (they are spread over the classes), at most RANDOMISATION_SAMPLES
    sub = np.arange(len(x))[:: max(1, int(np.ceil(len(x) / RANDOMISATION_SAMPLES)))][:RANDOMISATION_SAMPLES]
    xs, ts = x[sub], targets[sub]

    def group_map(m):
        return lambda mdl: method_maps(mdl, m, xs, ts, gmask, None, predictor(mdl))[0]
    out["randomisation"] = randomisation_check(model, {m: group_map(m) for m in methods}, stages, seed)
    out["randomisation"]["samples"] = int(len(sub))
    out["methods"] = {}
    for m in methods:
        rho = out["randomisation"]["rho"][m]
        v, line = verdict(m, out["groups"], rho[-1] if rho else None)
        out["methods"][m] = {"verdict": v, "line": line}
    return out


def select_faithfulness_samples(labels: np.ndarray, indices: np.ndarray, n: int, seed: int) -> np.ndarray:
    """About n rows of `indices`, spread evenly over the classes present (seeded), sorted."""
    rng = np.random.default_rng(seed)
    rows = np.asarray(indices)
    classes = np.unique(labels[rows])
    per = max(1, int(np.ceil(n / max(len(classes), 1))))
    out = []
    for c in classes:
        idx = rows[labels[rows] == c]
        out.append(rng.choice(idx, min(per, len(idx)), replace=False))
    sel = np.concatenate(out) if out else np.zeros(0, np.int64)
    if len(sel) > n:
        sel = rng.choice(sel, n, replace=False)
    return np.sort(sel)
