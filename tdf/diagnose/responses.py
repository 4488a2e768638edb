"""Filter responses (Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach for
Fine-grained Action Recognition", arXiv:1711.08502, §5.2, Fig. 8): how strongly each filter of a
layer fires over time, for a few samples of a class.

A class the model has learned shows structured, strong responses; a class it failed on shows
weak or unstructured ones. To make that comparison fair, every class's picture uses the same
filter order (by mean magnitude over all samples given) and the same colour scale.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from tdf.atomic import atomic_path
from tdf.diagnose.activations import Activations
from tdf.diagnose.decoder import base_name, output_layers


def response_layer(model: keras.Model, layer, stream: str | None = None) -> str:
    """The model layer for `layer`: "conv1", "unit{l}" or l (X_l of `stream`), or any layer name."""
    outputs = output_layers(model, stream)
    if isinstance(layer, str) and layer not in outputs and layer in {l.name for l in model.layers}:
        return layer
    return outputs[base_name(outputs, layer)]


def filter_responses(model: keras.Model, x, layer="unit10", stream: str | None = None,
                     batch_size: int = 64, indices: Sequence[int] | None = None) -> np.ndarray:
    """|X_l|: response magnitudes of `layer`'s filters, float32 [N, T_l, F].

    `x` is an array [N, T, 150] or a Store (+ `indices`); `layer` as in `response_layer` (for an
    MS model, "unit4" means the stream's X_4, i.e. `{stream}_unit4_piped` where it exists).
    """
    name = response_layer(model, layer, stream)
    acts = Activations(model, [name]).run(x, batch_size=batch_size, indices=indices)[name]
    return np.abs(acts)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name)) or "class"


def common_scale(responses_by_class: Mapping[str, np.ndarray], percentile: float = 99.0
                 ) -> tuple[np.ndarray, float]:
    """(filter order, vmax) shared by all classes: filters by descending mean magnitude over
    every sample and time step given; vmax the `percentile` of all magnitudes (robust to spikes)."""
    if not responses_by_class:
        raise ValueError("no classes given")
    widths = {np.asarray(r).shape[-1] for r in responses_by_class.values()}
    if len(widths) != 1:
        raise ValueError(f"all classes need the same number of filters, got {sorted(widths)}")
    for cls, r in responses_by_class.items():
        r = np.asarray(r)
        if r.ndim != 3 or len(r) == 0:
            raise ValueError(f"responses of class {cls!r} must be [n ≥ 1, T, F], got {r.shape}")
    flat = np.concatenate([np.asarray(r, np.float64).reshape(-1, r.shape[-1])
                           for r in responses_by_class.values()])
    mean = flat.mean(axis=0)
    order = np.lexsort((np.arange(len(mean)), -mean))
    vmax = float(np.percentile(flat, percentile)) if flat.size else 1.0
    return order, (vmax if vmax > 0 else 1.0)


def plot_class_responses(responses_by_class: Mapping[str, np.ndarray], out_dir: str | os.PathLike,
                         samples: int = 5, layer: str | None = None,
                         names_by_class: Mapping[str, Sequence[str]] | None = None,
                         ) -> list[Path]:
    """One PNG per class in `out_dir` (`<class>.png`): up to `samples` samples side by side,
    each a filters × time heatmap of response magnitudes (Fig. 8).

    Filters are in one order for all classes (strongest on average first) and all pictures
    share one colour scale (0 … the 99th percentile of every magnitude given), so a learned and
    a failed class compare directly. Returns the written paths in the classes' order.
    """
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    from matplotlib.figure import Figure
    order, vmax = common_scale(responses_by_class)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    used_names: set[str] = set()
    for cls, resp in responses_by_class.items():
        resp = np.asarray(resp)[:samples][..., order]
        n = len(resp)
        fig = Figure(figsize=(1.2 + 2.6 * n, 3.4), layout="constrained")
        axes = fig.subplots(1, n, squeeze=False)[0]
        image = None
        for i, ax in enumerate(axes):
            image = ax.imshow(resp[i].T, aspect="auto", cmap="magma", vmin=0.0, vmax=vmax,
                              interpolation="nearest", origin="lower")
            label = (names_by_class or {}).get(cls, [None] * n)
            ax.set_title(label[i] if i < len(label) and label[i] else f"sample {i + 1}", fontsize=7)
            ax.set_xlabel("time step", fontsize=7)
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_ylabel("filter rank (0 = strongest overall)", fontsize=7)
            else:
                ax.set_yticks([])
        fig.colorbar(image, ax=list(axes), shrink=0.9, label="|response|")
        where = f" of {layer}" if layer else ""
        fig.suptitle(f"{cls}: filter response magnitudes{where} (scale 0–{vmax:.3g}, shared)",
                     fontsize=9)
        stem = _safe(cls)
        while stem in used_names:  # two class names that differ only in unsafe characters
            stem += "_"
        used_names.add(stem)
        path = out_dir / f"{stem}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        written.append(path)
    return written
