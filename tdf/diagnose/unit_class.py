"""Unit → class relationships and concept paths ("Examining Interpretable Feature Relationships in Deep
Networks for Action Recognition", ICML 2019 Deep Phenomena workshop, OpenReview rkxyny2qaE, §3.3).

*Readout*: the paper sets one feature of the last block to 1, every other feature and the
bias to 0, and reads the class outputs. In a Res-TCN the last unit X_L goes through
head_bn → head_relu → pool → classifier; the classifier's input is the pooled feature, so
setting *pooled* feature k to 1 (after BN/ReLU/pooling, which are not linear in X_L) and the
bias to 0 gives the pre-softmax scores W[k, :]: row k of the classifier kernel. Top classes
per unit are that row's largest entries. For an MS-Res-TCN a stream's units are its slice of
the concatenated pooled feature.

*A mistake*: for a sample of true class t predicted as w, the logit gap decomposes exactly as
z_w − z_t = Σ_k p_k (W[k, w] − W[k, t]) + (b_w − b_t), p the pooled feature. A unit's
contribution p_k (W[k, w] − W[k, t]) says how much it pushed the wrong class over the true
one. One level down, the units i of X_{L−1} feeding a unit j are scored like the pyramid's
back-step on this sample: a'[i]·Σ_taps K[:, i, j] through the residual conv (a' the conv's
pooled input), plus a 1×1 shortcut conv (x'[i]·S[i, j]); an identity shortcut only carries
unit j itself up (reported as `carried`, not ranked).
With a dissection, every unit on the path carries its concept — the concept path.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import keras
import numpy as np

from tdf.diagnose.dissect import unit_concepts
from tdf.diagnose.relevance.common import classifier_weights, feature_model
from tdf.models.contract import contract_of
from tdf.diagnose.pyramid import BackStepWeights, backstep_weights, pooled_activations, stream_slice


def classifier_readout(model: keras.Model, stream: str | None = None) -> np.ndarray:
    """[C_L, K]: class scores with one pooled feature of the stream set to 1, the rest and the
    bias 0 (= the stream's rows of the classifier kernel)."""
    kernel = np.asarray(keras.ops.convert_to_numpy(
        model.get_layer(contract_of(model).classifier).kernel), np.float64)
    return kernel[stream_slice(model, stream)]


def top_classes_per_unit(model: keras.Model, class_names: Sequence[str], stream: str | None = None,
                         k: int = 3, dissection: Mapping | None = None, layer: str | None = None) -> list[dict]:
    """Per unit of the last layer: its top-k classes and scores (and its concept if dissected)."""
    readout = classifier_readout(model, stream)
    order = np.argsort(-readout, axis=1, kind="stable")[:, :k]
    concepts = unit_concepts(dissection, layer) if layer else {}
    return [{"unit": u, "classes": [[class_names[c], round(float(readout[u, c]), 4)] for c in order[u]],
             "concept": concepts.get(u, {}).get("concept")} for u in range(readout.shape[0])]


def mistake_contributions(feature: np.ndarray, readout: np.ndarray, true: int, wrong: int) -> np.ndarray:
    """[C_L]: p_k (W[k, wrong] − W[k, true]) for one sample's pooled feature p [C_L]."""
    return np.asarray(feature, np.float64) * (readout[:, wrong] - readout[:, true])


def feeders(weights: BackStepWeights, pooled: Mapping[str, np.ndarray], unit: int, level: int,
            top: int = 3) -> tuple[list[dict], float | None]:
    """The `top` channels of X_{level−1} feeding channel `unit` of X_level most, on one sample's
    pooled vectors (`pooled_activations` row): ([{unit, contribution, conv, shortcut}], carried).

    Ranked by the residual conv plus a 1×1 shortcut. An identity shortcut only carries the
    same channel up (x'[unit], returned as `carried`, else None): it says "this unit was already
    there one layer down", not which other units built it, so it is not ranked.
    """
    uw = next(u for u in weights.units if u.index == level)
    conv = pooled[f"conv_in{level}"] * uw.conv[:, unit]
    x_in = pooled[f"x{level - 1}"]
    short = x_in * uw.shortcut[:, unit] if uw.shortcut is not None else np.zeros_like(conv)
    carried = None if uw.shortcut is not None else round(float(x_in[unit]), 5)
    total = conv + short
    order = np.argsort(-total, kind="stable")[:top]
    return [{"unit": int(i), "contribution": round(float(total[i]), 5), "conv": round(float(conv[i]), 5),
             "shortcut": round(float(short[i]), 5)} for i in order], carried


def concept_path(model: keras.Model, x: np.ndarray, true: int, wrong: int, class_names: Sequence[str],
                 stream: str | None = None, dissection: Mapping | None = None, top: int = 5,
                 top_feeders: int = 3, weights: BackStepWeights | None = None) -> dict:
    """Why one sample x [T, 150] (or [1, T, 150]) scored class `wrong` over `true`.

    Returns {"true", "wrong", "logit_gap", "bias_gap", "other_stream", "units": [{unit,
    contribution, concept, feeders: [{unit, contribution, concept}]}]}: the `top` units of the
    last layer pushing `wrong` over `true` most, and for each the `top_feeders` units one layer
    down that feed it most.
    """
    weights = weights or backstep_weights(model, stream)
    x = np.asarray(x, np.float32)
    x = x[None] if x.ndim == 2 else x
    pooled = {k: v[0] for k, v in pooled_activations(model, x, stream, weights).items()}
    readout = classifier_readout(model, stream)
    contrib = mistake_contributions(pooled["feature"], readout, true, wrong)
    levels = [u.index for u in weights.units]
    last = levels[-1] if levels else 1
    last_layer = weights.base(last)
    below = weights.base(last - 1) if levels else None
    concepts_last = unit_concepts(dissection, last_layer)
    concepts_below = unit_concepts(dissection, below) if below else {}
    units = []
    for k in np.argsort(-contrib, kind="stable")[:top]:
        entry = {"unit": int(k), "contribution": round(float(contrib[k]), 5),
                 "concept": concepts_last.get(int(k), {}).get("concept"),
                 "best_concept": concepts_last.get(int(k), {}).get("best_concept"),
                 "iou": concepts_last.get(int(k), {}).get("iou")}
        if levels:
            found, carried = feeders(weights, pooled, int(k), last, top_feeders)
            entry["carried"] = carried
            entry["feeders"] = [dict(f, concept=concepts_below.get(f["unit"], {}).get("concept"),
                                     best_concept=concepts_below.get(f["unit"], {}).get("best_concept"),
                                     iou=concepts_below.get(f["unit"], {}).get("iou"))
                                for f in found]
        units.append(entry)
    kernel, bias = (np.asarray(a, np.float64) for a in classifier_weights(model))
    full = _full_feature(model, x)
    gap = float(full @ (kernel[:, wrong] - kernel[:, true]) + bias[wrong] - bias[true])
    return {"true": class_names[true], "wrong": class_names[wrong], "stream": stream,
            "layer": last_layer, "feeder_layer": below,
            "logit_gap": round(gap, 5), "bias_gap": round(float(bias[wrong] - bias[true]), 5),
            "stream_sum": round(float(contrib.sum()), 5),
            "other_stream": round(gap - float(contrib.sum()) - float(bias[wrong] - bias[true]), 5),
            "units": units}


def _full_feature(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The whole pooled feature (both streams) of one sample, [F]."""
    return np.asarray(keras.ops.convert_to_numpy(feature_model(model)(x, training=False)), np.float64)[0]


def path_text(path: Mapping) -> list[str]:
    """Human lines: 'unit k (+0.42, concept) ← unit i (+0.1, concept), …'."""
    def label(u):
        c = u.get("concept") or (f"~{u['best_concept']}" if u.get("best_concept") else "—")
        return f"unit {u['unit']} ({u['contribution']:+.3f}, {c})"
    lines = []
    for u in path["units"]:
        feed = ", ".join(label(f) for f in u.get("feeders", []))
        lines.append(f"{path['layer']} {label(u)}" + (f"  ← {path['feeder_layer']}: {feed}" if feed else ""))
    return lines


def paths_view(model: keras.Model, x: np.ndarray, labels: np.ndarray, names: Sequence[str],
               class_names: Sequence[str], stream: str | None, work, dissection: Mapping | None = None,
               max_paths: int = 3, top: int = 5) -> dict:
    """The diagnose view: top classes per last-layer unit, and the concept path of up to
    `max_paths` misclassified samples among x; writes paths.json, returns the summary."""
    from pathlib import Path
    from tdf.atomic import write_json
    weights = backstep_weights(model, stream)
    layer = weights.base(weights.units[-1].index if weights.units else 1)
    probs = np.asarray(keras.ops.convert_to_numpy(model(np.asarray(x, np.float32), training=False)))
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(labels))[:max_paths]
    paths = [dict(concept_path(model, x[i], int(labels[i]), int(pred[i]), class_names, stream, dissection,
                               top=top, weights=weights), sample=names[i]) for i in wrong]
    doc = {"stream": stream, "layer": layer,
           "unit_classes": top_classes_per_unit(model, class_names, stream, 3, dissection, layer),
           "mistakes": paths, "checked_samples": int(len(x))}
    write_json(Path(work) / "paths.json", doc)
    return {"file": "paths.json", "layer": layer, "mistakes": [
        {"sample": p["sample"], "true": p["true"], "predicted": p["wrong"], "logit_gap": p["logit_gap"],
         "lines": path_text(p)} for p in paths]}
