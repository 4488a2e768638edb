"""Model-randomisation sanity check (Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity
Checks for Saliency Maps", arXiv:1810.03292): a relevance method that explains *this* model
must give different maps once the model's weights are replaced by random ones.

Cascade: the classifier is re-initialised first, then the layers below it from the top down in
a few stages (each stage keeps the earlier ones randomised). Re-initialised = every trainable
weight of the layer drawn afresh: Conv1D/Dense kernels from Glorot-uniform (Keras' default),
biases 0, BatchNorm scale 1 and shift 0 (its running statistics are not trainable and are
kept). After each stage the method's joint-group relevance |R| per sample is compared with the
trained model's by Spearman rank correlation over the groups; the mean over samples is
reported. A method whose correlation stays high after everything is randomised does not
explain the model (e.g. it mostly reflects the input's own magnitude).

The model is changed in place for the check and its weights are restored afterwards (also on
error); nothing is written to disk.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

RHO_FLAG = 0.5   # mean rank correlation after full randomisation at or above this: flagged


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float[N]: Spearman rank correlation of rows a[i] and b[i] (average ranks for ties; 0 when
    a row is constant)."""
    def ranks(v):
        v = np.asarray(v, np.float64)
        out = np.empty_like(v)
        for i, row in enumerate(v):
            order = np.argsort(row, kind="stable")
            r = np.empty(len(row))
            r[order] = np.arange(len(row), dtype=np.float64)
            for val in np.unique(row):          # average ranks of ties
                tie = row == val
                r[tie] = r[tie].mean()
            out[i] = r
        return out
    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    return np.divide((ra * rb).sum(axis=1), den, out=np.zeros(len(ra)), where=den > 0)


def weighted_layers(model) -> list:
    """Layers with trainable weights, in the model's (topological) order, except the
    normalisation layer its contract names."""
    from tdf.models.contract import contract_of
    normalize = contract_of(model).normalize
    return [layer for layer in model.layers if layer.trainable_weights and layer.name != normalize]


def cascade_stages(model, stages: int = 4) -> list[tuple[str, list[str]]]:
    """[(label, layer names randomised at this stage)], top down: the classifier alone, then the
    remaining weighted layers in `stages − 1` contiguous chunks from the top."""
    from tdf.models.contract import contract_of
    layers = [layer.name for layer in weighted_layers(model)][::-1]
    top = [n for n in layers if n == contract_of(model).classifier] or layers[:1]
    rest = [n for n in layers if n not in top]
    out = [(top[0], top)]
    for chunk in np.array_split(np.array(rest, dtype=object), max(1, min(stages - 1, len(rest)))):
        chunk = list(chunk)
        if chunk:
            first, last = _unit_of(chunk[0]), _unit_of(chunk[-1])
            out.append((first if first == last else f"{first} … {last}", chunk))
    return out


def _unit_of(layer: str) -> str:
    """'unit4_bn' → 'unit4', 'main_unit3_conv' → 'main_unit3', 'head_bn' → 'head'."""
    for suffix in ("_bn", "_conv", "_relu", "_dropout", "_piped"):
        if layer.endswith(suffix):
            return layer[: -len(suffix)]
    return layer


def _glorot(shape, rng: np.random.Generator) -> np.ndarray:
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def reinitialise(layer, rng: np.random.Generator) -> None:
    """Draw the layer's trainable weights afresh (see the module docstring)."""
    for w in layer.trainable_weights:
        name = w.path.split("/")[-1] if hasattr(w, "path") else w.name
        shape = tuple(w.shape)
        if "kernel" in name:
            value = _glorot(shape, rng)
        elif "gamma" in name:
            value = np.ones(shape)
        else:  # bias, beta
            value = np.zeros(shape)
        w.assign(value.astype(np.float32))


def randomisation_check(model, relevance: Mapping[str, Callable[[object], np.ndarray]], stages: int = 4,
                        seed: int = 0) -> dict:
    """Rank correlations of each method's group relevance between the trained model and the
    cascade of randomised ones.

    relevance: {method: f(model) → float[N, G] |group relevance|} on fixed samples and targets.
    Returns {"stages": [labels], "rho": {method: [mean ρ per stage]}, "rho_sd": {…},
             "flagged": {method: bool}}.
    """
    trained = {m: np.abs(f(model)) for m, f in relevance.items()}
    saved = [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.weights]
    rng = np.random.default_rng(seed)
    labels, rho, rho_sd = [], {m: [] for m in relevance}, {m: [] for m in relevance}
    try:
        for label, names in cascade_stages(model, stages):
            for name in names:
                reinitialise(model.get_layer(name), rng)
            labels.append(label)
            for m, f in relevance.items():
                r = spearman(trained[m], np.abs(f(model)))
                rho[m].append(round(float(r.mean()), 4))
                rho_sd[m].append(round(float(r.std()), 4))
    finally:
        for w, value in zip(model.weights, saved):
            w.assign(value)
    flagged = {m: bool(v and v[-1] >= RHO_FLAG) for m, v in rho.items()}
    return {"stages": labels, "rho": rho, "rho_sd": rho_sd, "flagged": flagged, "rho_flag": RHO_FLAG}
