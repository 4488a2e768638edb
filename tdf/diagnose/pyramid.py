"""Class Feature Pyramids (Stergiou, Kapidis, Kalliatakis, Chrysoulas, Poppe, Veltkamp, "Class Feature
Pyramids for Video Explanation", arXiv:1909.08611, §3) through a Res-TCN stream.

For a class c, which channels of each unit output X_l carry it, from the classifier down:

1. Top level (eq. 1–2): a* = ā ⊙ W[:, c], ā the class's mean pooled feature (the classifier's
   input: `pool` of head_relu(head_bn(X_L)), the stream's slice of it for an MS model), min-max
   normalised over channels; channels with a* ≥ θ are selected on X_L.
2. Back-step through unit l (X_l = S(X_{l−1}) + conv(ReLU(BN(X_{l−1})))), for each selected
   output channel j (eq. 3): the residual conv kernel pooled over its taps, w'[i, j] = Σ_taps
   K[:, i, j], times the conv's input activations pooled over valid frames, a'[i] (the
   `unit{l}_relu` output — what the kernel really multiplies), a*_j[i] = a'[i]·w'[i, j],
   min-max normalised over i, keep i with a*_j[i] ≥ θ. A 1×1 shortcut conv S is a second,
   parallel branch back-stepped the same way with the unit's input X_{l−1} pooled; an identity
   shortcut passes j itself through (the paper's tensors of ones, §3.4). A channel of X_{l−1}
   is selected when any branch of any selected j selects it.
3. Repeat down to `depth` levels (X_L, X_{L−1}, …, at most down to X_1 = conv1's output).

*Decisions*: "pool over taps" is the sum (the kernel's response to a constant input), so the
k-tap conv and the 1-tap shortcut are on the same scale; a constant score vector (max = min)
normalises to all ones when positive and to zeros otherwise. Class activations are averaged
over the given samples of the class (valid frames only, via the same window rule as the
dissection). MS-Res-TCN pipes bring in the other stream; the back-step stays inside the
chosen stream and ignores them.

The result is a per-level DAG (a tree with shared children): each level lists its selected
channels (the union over parents: the kernel-wise view, §3.3), how many parents selected each
and, per parent, its children by branch. The union soon covers a whole layer (every parent
keeps its own top inputs), so each level also carries `layer_channels`, the paper's layer-wise
view: channels whose connection count, min-max normalised over the layer, is ≥ θ — the inputs
most of the class's kernels share. The back-step continues from the union (as the paper's
iteration over every selected kernel); `decode_pyramid` decodes the layer-wise channels to
skeleton sequences with the Feature Map Decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import keras
import numpy as np

from tdf.diagnose.animation import GIF_DPI, GIF_FPS, GIF_FRAMES
from tdf.diagnose.dissect import valid_at
from tdf.diagnose.features import valid_mask
from tdf.errors import BadInput

DEFAULT_THETA = 0.6   # mid of the paper's 0.55–0.7 (Table 1: 0.6 for 4 of its 6 networks)
GIF_LEVELS = 3        # levels shown in a pyramid GIF (plus conv1); the .npz holds every level


@dataclass(frozen=True)
class UnitWeights:
    """Unit l's residual conv pooled over taps (in, out) and its 1×1 shortcut (in, out) or None."""

    index: int
    conv: np.ndarray
    shortcut: np.ndarray | None


@dataclass(frozen=True)
class BackStepWeights:
    """The weights a stream's back-step needs: classifier rows [C_L, K] and every unit, ascending."""

    classifier: np.ndarray
    units: tuple[UnitWeights, ...]
    stream: str | None
    layers: Mapping[str, str]      # base names "conv1", "unit{l}" → model layer of X_l
    conv_inputs: Mapping[int, str]  # l → layer whose output the unit's conv multiplies

    def base(self, level: int) -> str:
        """Base name of X_level (1 → conv1)."""
        return "conv1" if level == 1 else f"unit{level}"


def _numpy(v) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64)


def stream_slice(model: keras.Model, stream: str | None) -> slice:
    """Rows of the classifier kernel that read `stream`'s pooled channels."""
    if stream is None:
        return slice(None)
    from tdf.models.contract import contract_of
    return contract_of(model).feature_slice(stream)


def backstep_weights(model: keras.Model, stream: str | None = None) -> BackStepWeights:
    """Read the classifier rows and every unit's pooled kernels of `stream` (None for a Res-TCN)."""
    from tdf.diagnose.decoder import output_layers
    from tdf.models.contract import contract_of
    outputs = output_layers(model, stream)
    contract = contract_of(model)
    if not contract.has_residual_chain():   # the back-step assumes X_l = S(X_{l-1}) + F(X_{l-1})
        from tdf.errors import BadInput
        raise BadInput(f"model {model.name!r} ({contract.family}) has no Res-TCN-like unit chain; the "
                       f"class feature pyramid and the concept paths step back through residual units")
    kernel = _numpy(model.get_layer(contract.classifier).kernel)
    units, conv_inputs = [], {}
    for unit in contract.units(stream)[1:]:
        conv = _numpy(model.get_layer(unit.conv).kernel).sum(axis=0)
        short = _numpy(model.get_layer(unit.shortcut).kernel).sum(axis=0) if unit.shortcut else None
        units.append(UnitWeights(unit.index, conv, short))
        conv_inputs[unit.index] = unit.relu
    return BackStepWeights(kernel[stream_slice(model, stream)], tuple(units), stream, outputs, conv_inputs)


# ----------------------------------------------------------------------------- pooled activations


def pooled_activations(model: keras.Model, x: np.ndarray, stream: str | None = None,
                       weights: BackStepWeights | None = None, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Per sample, everything the back-step multiplies, pooled over valid frames:

    {"feature": [N, C_L] (the classifier's input, stream slice), "conv_in{l}": [N, C_{l−1}]
    (unit l's `unit{l}_relu` output), "x{l}": [N, C_l] (X_l, l = 1 … L)}.
    """
    from tdf.diagnose.activations import Activations
    weights = weights or backstep_weights(model, stream)
    rows = stream_slice(model, stream)
    from tdf.models.contract import contract_of
    want = {"feature": contract_of(model).pooled}
    want.update({f"conv_in{l}": name for l, name in weights.conv_inputs.items()})
    levels = [1] + [u.index for u in weights.units]
    want.update({f"x{l}": weights.layers[weights.base(l)] for l in levels})
    extractor = Activations(model, list(dict.fromkeys(want.values())))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in want}
    for xb, acts in extractor.iter(np.asarray(x, np.float32), batch_size):
        valid = valid_mask(xb)
        for key, layer in want.items():
            a = acts[layer]
            if key == "feature":
                parts[key].append(a[:, rows].astype(np.float64))
                continue
            v = valid_at(valid, a.shape[1])[..., None]
            parts[key].append((a * v).sum(1) / np.maximum(v.sum(1), 1))
    return {k: np.concatenate(v) for k, v in parts.items()}


def class_mean(pooled: Mapping[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    """Mean over the samples `rows` (indices or bool mask) of every pooled vector."""
    out = {}
    for k, v in pooled.items():
        sel = v[rows]
        if len(sel) == 0:
            raise ValueError("no samples of the class to average")
        out[k] = sel.mean(axis=0)
    return out


# ----------------------------------------------------------------------------- back-step


def minmax(v: np.ndarray, axis: int = 0) -> np.ndarray:
    """(v − min) / (max − min) along `axis` (eq. 1). A constant vector carries no ranking: it
    gives all ones when positive (every entry equally strong), all zeros otherwise (e.g. a
    branch whose weights are all zero selects nothing)."""
    v = np.asarray(v, np.float64)
    lo = v.min(axis=axis, keepdims=True)
    span = v.max(axis=axis, keepdims=True) - lo
    flat = np.broadcast_to((lo > 0).astype(np.float64), v.shape).copy()
    return np.divide(v - lo, span, out=flat, where=span > 0)


def _select(scores: np.ndarray, theta: float) -> list[list[int]]:
    """Per column of scores [in, n_parents]: the rows with min-max score ≥ θ."""
    keep = minmax(scores, axis=0) >= theta
    return [np.flatnonzero(keep[:, k]).tolist() for k in range(keep.shape[1])]


def class_pyramid(weights: BackStepWeights, pooled: Mapping[str, np.ndarray], cls: int,
                  theta: float = DEFAULT_THETA, depth: int | None = None) -> dict:
    """The back-step of class `cls` from the class's mean pooled vectors (`class_mean`).

    Returns {"class_index", "theta", "levels": [{"layer", "channels", "scores"|"connections",
    "children"}]}; level 0 is X_L, each next level one unit down; `depth` levels at most
    (None: down to conv1). `children` maps a parent channel (as a string, JSON keys) to its
    selected channels per branch ("conv", "shortcut", "identity").
    """
    if not 0 <= theta <= 1:
        raise ValueError(f"theta must be in [0, 1], got {theta!r}")
    n_levels = len(weights.units) + 1
    depth = n_levels if depth is None else int(depth)
    if depth < 1:
        raise ValueError(f"depth must be ≥ 1, got {depth!r}")
    depth = min(depth, n_levels)
    if not 0 <= cls < weights.classifier.shape[1]:
        raise ValueError(f"class index {cls} outside 0 … {weights.classifier.shape[1] - 1}")
    top = np.asarray(pooled["feature"], np.float64) * weights.classifier[:, cls]
    score = minmax(top)
    selected = np.flatnonzero(score >= theta).tolist()
    top_unit = weights.units[-1].index if weights.units else 1
    levels = [{"layer": weights.base(top_unit), "channels": selected, "layer_channels": selected,
               "scores": {str(i): round(float(score[i]), 4) for i in selected}}]
    for unit in list(reversed(weights.units))[:depth - 1]:
        l = unit.index
        parents = levels[-1]["channels"]
        children: dict[str, dict[str, list[int]]] = {str(j): {} for j in parents}
        if parents:
            conv = pooled[f"conv_in{l}"][:, None] * unit.conv[:, parents]
            for j, kids in zip(parents, _select(conv, theta)):
                children[str(j)]["conv"] = kids
            if unit.shortcut is not None:
                short = pooled[f"x{l - 1}"][:, None] * unit.shortcut[:, parents]
                for j, kids in zip(parents, _select(short, theta)):
                    children[str(j)]["shortcut"] = kids
            else:
                for j in parents:
                    children[str(j)]["identity"] = [j]
        counts: dict[int, int] = {}
        for branches in children.values():
            for i in set().union(*map(set, branches.values())):
                counts[i] = counts.get(i, 0) + 1
        width = unit.conv.shape[0]
        vec = np.zeros(width)
        vec[list(counts)] = list(counts.values())
        layerwise = np.flatnonzero(minmax(vec) >= theta).tolist() if counts else []
        levels.append({"layer": weights.base(l - 1), "channels": sorted(counts),
                       "connections": {str(i): counts[i] for i in sorted(counts)},
                       "layer_channels": layerwise, "children": children})
    return {"class_index": int(cls), "theta": theta, "stream": weights.stream, "levels": levels}


def pyramids(model: keras.Model, x: np.ndarray, labels: np.ndarray, classes: Sequence[int],
             class_names: Sequence[str], stream: str | None = None, theta: float = DEFAULT_THETA,
             depth: int | None = None, batch_size: int = 64) -> dict[str, dict]:
    """{class name: pyramid} for the given class indices, from the samples x of those classes."""
    weights = backstep_weights(model, stream)
    pooled = pooled_activations(model, x, stream, weights, batch_size)
    labels = np.asarray(labels)
    out = {}
    for c in classes:
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            raise BadInput(f"no samples of class {class_names[c]!r} to build its pyramid from")
        p = class_pyramid(weights, class_mean(pooled, rows), int(c), theta, depth)
        p["class"] = class_names[c]
        p["samples"] = int(len(rows))
        out[class_names[c]] = p
    return out


def decode_pyramid(model: keras.Model, x: np.ndarray, pyramid: Mapping, stream: str | None = None,
                   key: str = "layer_channels") -> dict[str, np.ndarray]:
    """Decode each level's channels of x [N, T, 150] → {layer: [N, T, 150]} (levels with no
    channel are left out). `key`: "layer_channels" (default: the layer-wise view, the channels
    most parents share — the kernel-wise union soon covers a whole layer) or "channels"."""
    from tdf.diagnose.decoder import decode
    levels = [lv for lv in pyramid["levels"] if lv[key]]
    if not levels:
        return {}
    return decode(model, x, layers=[lv["layer"] for lv in levels], stream=stream,
                  channels={lv["layer"]: lv[key] for lv in levels})


def level_summary(p: Mapping) -> list[dict]:
    """[{layer, n, n_layerwise, layer_channels}] per level, for tables."""
    return [{"layer": lv["layer"], "n": len(lv["channels"]), "n_layerwise": len(lv["layer_channels"]),
             "layer_channels": lv["layer_channels"]} for lv in p["levels"]]


# ----------------------------------------------------------------------------- diagnose view


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def class_rows(store, indices, class_ids: Sequence[int], per_class: int, seed: int = 0) -> np.ndarray:
    """Up to `per_class` rows of each class among `indices` (seeded), sorted, concatenated."""
    rng = np.random.default_rng(seed)
    indices = np.asarray(indices)
    labels = np.asarray(store.label)[indices]
    rows = []
    for c in class_ids:
        own = indices[labels == c]
        rows.append(np.sort(rng.choice(own, size=min(per_class, len(own)), replace=False)) if len(own) else own)
    return np.concatenate(rows) if rows else np.zeros(0, np.int64)


def pyramid_chart(result: Mapping[str, Mapping], out_png) -> str:
    """Selected channels per level (deepest left), one line per class."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for name, p in result.items():
        layers = [lv["layer"] for lv in p["levels"]]
        line, = ax.plot(layers, [len(lv["channels"]) for lv in p["levels"]], marker="o", label=f"{name} (union)")
        ax.plot(layers, [len(lv["layer_channels"]) for lv in p["levels"]], marker="x", ls="--",
                color=line.get_color(), label=f"{name} (layer-wise)")
    ax.set_ylabel("selected channels")
    ax.set_title(f"class feature pyramids (θ = {next(iter(result.values()))['theta']})" if result else "")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return str(out_png)


def pyramid_view(model: keras.Model, store, indices, classes: Sequence[str], stream: str | None, work,
                 *, theta: float = DEFAULT_THETA, depth: int | None = None, frames: int | None = None,
                 render: str = "gif", per_class: int = 32, seed: int = 0) -> dict:
    """The diagnose view: pyramids of `classes` from up to `per_class` of their samples among
    `indices`; writes pyramid.json, pyramid.png, pyramid/<class>.npz (input + each level's
    decoded selected channels for the class's first sample) and .gif; returns the summary."""
    import time
    from pathlib import Path
    from tdf.atomic import write_json
    work = Path(work)
    ids = [store.class_names.index(c) for c in classes]
    rows = class_rows(store, indices, ids, per_class, seed)
    x = store.read(rows, frames=frames)
    labels = np.asarray(store.label)[rows]
    weights = backstep_weights(model, stream)
    pooled = pooled_activations(model, x, stream, weights)
    out, seconds = {}, {}
    (work / "pyramid").mkdir(exist_ok=True)
    files = []
    for c, name in zip(ids, classes):
        sel = np.flatnonzero(labels == c)
        if not len(sel):
            continue
        mean = class_mean(pooled, sel)
        t0 = time.perf_counter()
        p = class_pyramid(weights, mean, c, theta, depth)
        seconds[name] = time.perf_counter() - t0
        p.update({"class": name, "samples": int(len(sel))})
        out[name] = p
        first = sel[0]
        decoded = decode_pyramid(model, x[first:first + 1], p, stream)
        length = int(store.length[rows[first]])
        npz = work / "pyramid" / f"{_safe(name)}.npz"
        with open(npz, "wb") as f:
            np.savez_compressed(f, x=x[first], sample=store.names[rows[first]],
                                **{k: v[0] for k, v in decoded.items()})
        entry = {"class": name, "sample": store.names[rows[first]], "arrays": str(npz.relative_to(work))}
        if render != "none" and decoded:
            try:
                from tdf.render import render_sequences_grid
            except ImportError:
                render_sequences_grid = None
            if render_sequences_grid is not None:
                counts = {lv["layer"]: len(lv["layer_channels"]) for lv in p["levels"]}
                seqs = {"input": x[first, :length]}
                shown = list(decoded)[:GIF_LEVELS] + (["conv1"] if "conv1" in list(decoded)[GIF_LEVELS:] else [])
                from tdf.render import hide_absent_bodies
                layout = getattr(store, "layout", None)
                seqs.update({f"{k} ({counts[k]} ch)": hide_absent_bodies(decoded[k][0, :length], x[first, :length],
                                                                        layout)
                             for k in shown})
                gif = work / "pyramid" / f"{_safe(name)}.{render}"
                render_sequences_grid(seqs, gif, title=f"{name}: class feature pyramid", max_frames=GIF_FRAMES,
                                      fps=GIF_FPS, dpi=GIF_DPI, layout=layout)
                entry["file"] = str(gif.relative_to(work))
        files.append(entry)
    doc = {"theta": theta, "depth": depth, "stream": stream, "classes": out,
           "backstep_ms": {k: round(v * 1e3, 3) for k, v in seconds.items()}, "files": files,
           "method": "Class Feature Pyramids (arXiv:1909.08611) §3: classifier weights × pooled class feature, "
                     "min-max, ≥ θ; back-step per unit (conv kernels summed over taps × pooled inputs, "
                     "1×1 shortcuts likewise, identity shortcuts pass indices)"}
    write_json(work / "pyramid.json", doc)
    if out:
        pyramid_chart(out, work / "pyramid.png")
    return {"file": "pyramid.json", "chart": "pyramid.png" if out else None, "theta": theta, "depth": depth,
            "levels": {n: level_summary(p) for n, p in out.items()}, "files": files,
            "backstep_ms": doc["backstep_ms"]}
