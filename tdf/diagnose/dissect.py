"""Unit dissection ("Examining Interpretable Feature Relationships in Deep Networks for Action
Recognition", ICML 2019 Deep Phenomena workshop, OpenReview rkxyny2qaE; after Network Dissection) on skeletons.

*Concepts* are joint-group motion events, per frame: group g is "moving" at frame t when its
own speed is above the data set's `concept_quantile` (0.8) of that group's speeds over all
valid frames, and "moving slightly" when it lies between the 0.5 quantile and that one. "Own" speed: each joint's velocity minus the velocity of the joint its group hangs
from (a hand relative to its elbow, a leg relative to the hip centre), averaged over the
group's joints and every body — so a hand carried by a raised arm is not "moving", a waving
hand is. *Rhythm* concepts (on by default, tdf.diagnose.rhythm): "g oscillating 2.5–5 Hz"
when the short-time power of that velocity in the band is above the data set's quantile — they
name the pattern of a motion, which the speed concepts cannot. Optional direction concepts: "g rising"/"g falling" when the group's mean vertical
own velocity is above/below the data set's `concept_quantile` / 1 − `concept_quantile`
quantile. Velocities are first differences over valid frames (frame 0 repeats frame 1) of
the positions smoothed by a centred 5-frame moving average (`SMOOTH`): sensor jitter (a few mm
per frame, on Kinect as in the synthetic data) otherwise dominates the speed of small motions.

*Units*: every channel of a layer's output X_l. A unit is "on" where its activation exceeds
its own `unit_quantile` over all valid positions of the data set (NetDissect's T_k).

*Time resolution*: a unit of a strided block sees fewer steps than the input. The concept is
brought to the unit's resolution by pooling: a coarse step is "on" when at least half of the
input frames of its window are on; a coarse step is valid when any frame of its window is.
(Upsampling the activation instead would invent in-between activations.)

*Score*: temporal IoU |U ∧ C| / |U ∨ C| over all valid positions of all samples, per unit ×
concept; a unit is interpretable for its best concept when that IoU ≥ `iou_threshold`.

*Decision — thresholds*: NetDissect's top 0.5 % unit threshold and IoU 0.04 do not transfer:
with a concept on ~20 % of the frames, a unit on 0.5 % of them can reach IoU 0.025 at most.
We use the same top quantile for units and concepts (0.8: both on 20 % of the valid steps);
two independent masks at that rate have an expected IoU of 0.04/0.36 ≈ 0.11 (`chance_iou`),
so the default `iou_threshold` 0.2 is about twice chance, and a perfect detector scores 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from tdf.diagnose.features import valid_mask
from tdf.diagnose.own_motion import bodies_present, joint_velocity, own_velocity, pair_valid
from tdf.diagnose.rhythm import group_rhythm
from tdf.skeleton import Layout, layout_or_default
MIN_SPEED = 1e-4   # m/frame: below this a group counts as still whatever the quantile says
SMOOTH = 5         # frames of the moving average applied to positions before differencing


# ----------------------------------------------------------------------------- time


def to_resolution(a: np.ndarray, t_out: int) -> np.ndarray:
    """Window means of a [N, T, ...] over `t_out` equal windows of the time axis → [N, t_out, ...].

    Coarse step i averages input frames ⌊i·T/t_out⌋ … ⌈(i+1)·T/t_out⌉ − 1 (never empty), the
    frames a `same`-padded strided conv centres step i on.
    """
    a = np.asarray(a, dtype=np.float64)
    t_in = a.shape[1]
    if t_out == t_in:
        return a
    if not 1 <= t_out <= t_in:
        raise ValueError(f"cannot pool {t_in} time steps to {t_out}")
    starts = np.floor(np.arange(t_out) * t_in / t_out).astype(np.int64)
    ends = np.maximum(np.ceil(np.arange(1, t_out + 1) * t_in / t_out).astype(np.int64), starts + 1)
    csum = np.concatenate([np.zeros_like(a[:, :1]), np.cumsum(a, axis=1)], axis=1)
    shape = (1, t_out) + (1,) * (a.ndim - 2)
    return (csum[:, ends] - csum[:, starts]) / (ends - starts).reshape(shape)


def valid_at(valid: np.ndarray, t_out: int) -> np.ndarray:
    """bool [N, t_out]: a coarse step is valid when any input frame of its window is."""
    return to_resolution(valid.astype(np.float64), t_out) > 0


# ----------------------------------------------------------------------------- concepts


def smooth_time(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of x [N, T, D] over `window` frames, valid frames only (a padded
    frame neither contributes nor changes); window ≤ 1 returns x."""
    x = np.asarray(x, np.float64)
    if window <= 1:
        return x
    valid = valid_mask(x)[..., None].astype(np.float64)
    half = window // 2
    pad = lambda a: np.pad(a, ((0, 0), (half + 1, half), (0, 0)))
    cs, cn = np.cumsum(pad(x * valid), axis=1), np.cumsum(pad(valid), axis=1)
    t = x.shape[1]
    total = cs[:, window:window + t] - cs[:, :t]
    count = cn[:, window:window + t] - cn[:, :t]
    return np.where(valid > 0, total / np.maximum(count, 1), 0.0)


def group_motion(x: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None,
                 directions: bool = False, smooth: int = SMOOTH,
                 layout: Layout | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(concept names, values [N, T, K], valid [N, T]) before thresholding.

    Per group: own speed (mean |v| over its joints and every body); with `directions`, also
    the mean vertical own velocity (for "rising"/"falling"; image coordinates, y down, are
    turned up). Padded frames and the frame right after them are invalid (their differences
    mix data and padding).
    """
    x = np.asarray(x)
    lay = layout_or_default(layout, groups)
    up = -1.0 if lay.y_down else 1.0
    pair_ok = pair_valid(x)
    v_all = joint_velocity(smooth_time(x, smooth), lay)
    present = bodies_present(x, lay)                                       # [N, T, B]
    n_bodies = np.maximum(present.sum(-1), 1)
    names, values = [], []
    for g in lay.groups:
        v = own_velocity(v_all, lay.group_joints(g), lay)                  # [N, T, B, J, C]
        speed = np.linalg.norm(v, axis=-1).mean(axis=-1)                  # [N, T, B]
        names.append(f"{g} moving")
        values.append((speed * present).sum(-1) / n_bodies)
        if directions:
            vy = up * (v[..., 1].mean(axis=-1) * present).sum(-1) / n_bodies
            names += [f"{g} rising", f"{g} falling"]
            values += [vy, -vy]
    return names, np.stack(values, axis=-1), pair_ok


def concept_masks(x: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None,
                  quantile: float = 0.8, directions: bool = False,
                  thresholds: np.ndarray | None = None, smooth: int = SMOOTH,
                  slight_quantile: float | None = 0.5, rhythms: bool = False,
                  layout: Layout | None = None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(names, masks bool [N, T, K], valid [N, T], thresholds [K, 2] as (lower, upper]).

    "g moving" is on above the `quantile` of g's own speed over the valid frames of `x` (the
    data set); with `slight_quantile`, "g moving slightly" is on between that quantile and
    `quantile` (a gentle motion — a hand's small oscillation next to a wave). Direction
    concepts use `quantile` only; so do the rhythm concepts ("g oscillating 2.5–5 Hz",
    tdf.diagnose.rhythm) with `rhythms`. Thresholds come from `x` unless given (to apply a data
    set's thresholds to one sample); nothing is on below `MIN_SPEED` (its square for a band
    power), so float noise of a still group does not count.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"concept quantile must be in (0, 1), got {quantile!r}")
    if slight_quantile is not None and not 0 < slight_quantile < quantile:
        raise ValueError(f"slight_quantile must be in (0, {quantile}), got {slight_quantile!r}")
    raw_names, values, valid = group_motion(x, groups, directions, smooth, layout=layout)
    floors = [MIN_SPEED] * len(raw_names)
    column_valid = [valid] * len(raw_names)
    if rhythms:
        r_names, r_values, r_valid = group_rhythm(x, groups, layout=layout)
        raw_names = raw_names + r_names
        values = np.concatenate([values, r_values], axis=-1)
        floors += [MIN_SPEED ** 2] * len(r_names)
        column_valid += [valid & r_valid] * len(r_names)
    if thresholds is None and not valid.any():
        raise ValueError("no valid frames to set concept thresholds on")
    names, columns, bounds = [], [], []
    for k, name in enumerate(raw_names):
        column = values[..., k][column_valid[k]] if thresholds is None else None
        high = None
        if column is not None:   # a rhythm concept has no valid frame in sequences < half a window
            high = float(np.quantile(column, quantile)) if column.size else np.inf
        names.append(name)
        columns.append(k)
        bounds.append((high, np.inf))
        if slight_quantile is not None and name.endswith(" moving"):
            low = float(np.quantile(column, slight_quantile)) if column is not None else None
            names.append(f"{name} slightly")
            columns.append(k)
            bounds.append((low, high))
    if thresholds is not None:
        bounds = [tuple(b) for b in np.asarray(thresholds, np.float64)]
        if len(bounds) != len(names):
            raise ValueError(f"{len(bounds)} thresholds given for {len(names)} concepts")
    bounds = np.asarray(bounds, np.float64)
    v = values[..., columns]
    lower = np.maximum(bounds[:, 0], np.asarray(floors)[columns])
    ok = np.stack([column_valid[k] for k in columns], axis=-1)
    masks = (v > lower) & (v <= bounds[:, 1]) & ok
    return names, masks, valid, bounds


# ----------------------------------------------------------------------------- units


def unit_masks(acts: np.ndarray, valid: np.ndarray, quantile: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """(on bool [N, T_l, C], thresholds [C]): each unit above its own `quantile` over the valid
    positions of all samples. `valid` is [N, T_l]."""
    if not 0 < quantile < 1:
        raise ValueError(f"unit quantile must be in (0, 1), got {quantile!r}")
    acts = np.asarray(acts)
    if not valid.any():
        raise ValueError("no valid time steps to set unit thresholds on")
    thr = np.quantile(acts[valid], quantile, axis=0)
    return (acts > thr) & valid[..., None], thr


def iou(units: np.ndarray, concepts: np.ndarray) -> np.ndarray:
    """[C, K] IoU of every unit mask with every concept mask; both [M, C] / [M, K] bool over the
    same M positions. An empty union gives 0."""
    u = np.asarray(units, dtype=np.float64)
    c = np.asarray(concepts, dtype=np.float64)
    inter = u.T @ c
    union = u.sum(0)[:, None] + c.sum(0)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def chance_iou(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Expected IoU of independent masks with on-rates p [C] and q [K]: pq / (p + q − pq)."""
    p = np.asarray(p, np.float64)[:, None]
    q = np.asarray(q, np.float64)[None, :]
    den = p + q - p * q
    return np.divide(p * q, den, out=np.zeros_like(den * 1.0), where=den > 0)


@dataclass(frozen=True)
class DissectOptions:
    """Thresholds of the dissection (see the module docstring for the defaults' rationale)."""

    concept_quantile: float = 0.8
    unit_quantile: float = 0.8
    iou_threshold: float = 0.2
    directions: bool = False
    slight_quantile: float | None = 0.5
    rhythms: bool = True


def dissect_layer(acts: np.ndarray, valid_in: np.ndarray, concepts: np.ndarray, names: Sequence[str],
                  opts: DissectOptions = DissectOptions()) -> dict:
    """Dissect one layer: acts [N, T_l, C], valid_in [N, T] (input frames), concepts [N, T, K].

    Returns {"units": C, "interpretable": n, "concepts_found", "units_per_concept",
    "unit_results": [{unit, concept (None unless interpretable), best_concept, iou}], "iou": [C, K],
    "concept_rate", "chance_iou" (independent masks at the observed rates), "unit_thresholds"}.
    """
    t_l = acts.shape[1]
    valid = valid_at(valid_in, t_l)
    on_c = (to_resolution(concepts.astype(np.float64), t_l) >= 0.5) & valid[..., None]
    on_u, thr = unit_masks(acts, valid, opts.unit_quantile)
    scores = iou(on_u[valid], on_c[valid])
    rate_u = on_u[valid].mean(0)
    rate_c = on_c[valid].mean(0)
    best = np.argmax(scores, axis=1)
    best_iou = scores[np.arange(len(best)), best]
    units = []
    for k in range(acts.shape[-1]):
        ok = bool(best_iou[k] >= opts.iou_threshold and best_iou[k] > 0)
        units.append({"unit": k, "concept": names[best[k]] if ok else None,
                      "best_concept": names[best[k]], "iou": round(float(best_iou[k]), 4),
                      "interpretable": ok})
    per_concept = {name: sum(1 for u in units if u["concept"] == name) for name in names}
    return {"units": int(acts.shape[-1]), "time_steps": int(t_l),
            "interpretable": sum(u["interpretable"] for u in units),
            "concepts_found": sorted([c for c, n in per_concept.items() if n], key=lambda c: -per_concept[c]),
            "units_per_concept": per_concept, "unit_results": units,
            "concept_rate": {n: round(float(r), 4) for n, r in zip(names, rate_c)},
            "chance_iou": {n: round(float(v), 4) for n, v in zip(names, chance_iou([rate_u.mean()], rate_c)[0])},
            "iou": np.round(scores, 4).tolist(), "unit_thresholds": np.round(thr, 6).tolist(),
            "unit_rate_mean": round(float(rate_u.mean()), 4)}


def dissect(model, x: np.ndarray, layers: Sequence[str] | None = None, stream: str | None = None,
            groups: Mapping[str, Sequence[str]] | None = None, opts: DissectOptions = DissectOptions(),
            batch_size: int = 64, on_batch: Callable[[int], None] | None = None,
            layout: Layout | None = None) -> dict:
    """Dissect `layers` ("conv1", "unit{l}"; default `default_dissect_layers`) of `model` (one
    stream of an MS model) on the samples x [N, T, D] of `layout` (ntu25 when None). Returns
    the dissection document."""
    from tdf.diagnose.activations import Activations
    from tdf.diagnose.decoder import base_name, output_layers
    outputs = output_layers(model, stream)
    bases = [base_name(outputs, l) for l in (layers or default_dissect_layers(model, stream))]
    bases = list(dict.fromkeys(bases))
    x = np.asarray(x, np.float32)
    names, concepts, valid, thresholds = concept_masks(x, groups, opts.concept_quantile, opts.directions,
                                                       slight_quantile=opts.slight_quantile,
                                                       rhythms=opts.rhythms, layout=layout)
    acts = Activations(model, [outputs[b] for b in bases]).run(x, batch_size, on_batch=on_batch)
    result = {"stream": stream, "samples": int(len(x)), "concepts": names,
              "concept_thresholds": dict(zip(names, [[round(float(a), 6), None if np.isinf(b) else round(float(b), 6)]
                                               for a, b in thresholds])),
              "options": {"concept_quantile": opts.concept_quantile, "unit_quantile": opts.unit_quantile,
                          "iou_threshold": opts.iou_threshold, "directions": opts.directions,
                          "slight_quantile": opts.slight_quantile, "rhythms": opts.rhythms,
                          "concept": "joint-group own speed (relative to its attachment joint, positions "
                                     f"smoothed over {SMOOTH} frames) above the data set's quantile "
                                     "('moving') or between the slight and the concept quantile "
                                     "('moving slightly'), per frame"
                                     + ("; short-time band power of the same velocity above the "
                                        "quantile ('oscillating lo–hi Hz', tdf.diagnose.rhythm)"
                                        if opts.rhythms else ""),
                          "resolution": "concepts pooled to the unit's time steps (on if ≥ half the window)"},
              "layers": {}}
    for b in bases:
        result["layers"][b] = dissect_layer(acts[outputs[b]], valid, concepts, names, opts)
    return result


def default_dissect_layers(model, stream: str | None = None) -> list[str]:
    """conv1, each block's last unit and the unit before the last (the concept path needs it)."""
    from tdf.diagnose.decoder import default_layers
    from tdf.models.contract import unit_indices
    units = unit_indices(model, stream)
    extra = [f"unit{units[-2]}"] if len(units) > 1 else []
    layers = list(default_layers(model))
    return sorted(dict.fromkeys(layers + extra), key=lambda b: 1 if b == "conv1" else int(b[4:]))


def unit_concepts(dissection: Mapping | None, layer: str) -> dict[int, dict]:
    """{unit: {"concept": name | None, "iou": …}} for one dissected layer (empty if absent)."""
    if not dissection or layer not in dissection.get("layers", {}):
        return {}
    return {u["unit"]: {"concept": u["concept"], "best_concept": u["best_concept"], "iou": u["iou"]}
            for u in dissection["layers"][layer]["unit_results"]}


def summary(dissection: Mapping) -> dict:
    """The per-layer table without the unit × concept matrices (for diagnosis.json)."""
    return {"stream": dissection["stream"], "samples": dissection["samples"], "options": dissection["options"],
            "layers": {b: {k: v[k] for k in ("units", "interpretable", "concepts_found", "units_per_concept")}
                       for b, v in dissection["layers"].items()}}


def dissection_chart(dissection: Mapping, out_png, title: str = "units per concept") -> str:
    """Grouped horizontal bars: interpretable units per concept, one colour per dissected layer.
    Only concepts some unit is interpretable for are drawn (with rhythm concepts there are 40)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    layers = list(dissection["layers"])
    found = [n for n in dissection["concepts"]
             if any(dissection["layers"][b]["units_per_concept"].get(n, 0) for b in layers)]
    names = found or list(dissection["concepts"])
    fig, ax = plt.subplots(figsize=(7.5, max(2.5, 0.3 * len(names) + 1.2)))
    height = 0.8 / max(len(layers), 1)
    y = np.arange(len(names))
    for i, b in enumerate(layers):
        counts = [dissection["layers"][b]["units_per_concept"].get(n, 0) for n in names]
        d = dissection["layers"][b]
        ax.barh(y + i * height - 0.4 + height / 2, counts, height,
                label=f"{b} ({d['interpretable']}/{d['units']} interpretable)")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("interpretable units")
    hidden = len(dissection["concepts"]) - len(names)
    ax.set_title(title + (f" ({hidden} concepts without a unit not shown)" if hidden else ""), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return str(out_png)


def dissect_view(model, store, indices, stream: str | None, work, *, frames: int | None = None,
                 max_samples: int = 512, seed: int = 0, opts: DissectOptions = DissectOptions()) -> dict:
    """The diagnose view: dissect up to `max_samples` of `indices` (seeded); writes
    dissection.json and dissection.png; returns (summary, full document)."""
    from pathlib import Path
    from tdf.atomic import write_json
    work = Path(work)
    indices = np.asarray(indices)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(indices, size=min(max_samples, len(indices)), replace=False))
    doc = dissect(model, store.read(pick, frames=frames), stream=stream, opts=opts,
                  layout=getattr(store, "layout", None))
    write_json(work / "dissection.json", doc)
    dissection_chart(doc, work / "dissection.png",
                     title=f"interpretable units per concept ({'stream ' + stream if stream else 'Res-TCN'})")
    return dict(summary(doc), file="dissection.json", chart="dissection.png"), doc
