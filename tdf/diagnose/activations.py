"""Batched extraction of hidden-layer outputs: one Keras model with several named outputs.

The decoder, the filter responses and other diagnose steps all need the outputs of a few
named layers for many samples. `Activations` builds one `keras.Model` (input → a dict of the
named layers' outputs) once and runs it in inference mode over batches, so every layer is
computed in a single forward pass per batch. The model is called eagerly (no compiled predict
function): that costs ~20 % per batch on the full-size model but saves a trace of 0.5–2 s per
extractor and per batch shape, which dominates on the small runs diagnose mostly sees. The input may be an in-memory array or a
`tdf.data.store.Store` with sample indices (read batch by batch, so memory stays bounded by
the batch, plus the returned arrays).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import keras
import numpy as np

from tdf.errors import BadInput


def _check_layers(model: keras.Model, layers: Sequence[str]) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [layers]
    layers = tuple(dict.fromkeys(layers))  # unique, order kept
    if not layers:
        raise ValueError("ask for at least one layer")
    known = {layer.name for layer in model.layers}
    missing = [name for name in layers if name not in known]
    if missing:
        raise BadInput(f"model {model.name!r} has no layer(s) {missing}")
    return layers


def input_batches(x, batch_size: int, indices: Sequence[int] | None = None) -> Iterator[np.ndarray]:
    """float32 batches [B, T, D] of an array `x` [N, T, D] or of a Store (`indices` selects)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(x, np.ndarray):
        if x.ndim != 3:
            raise ValueError(f"inputs must be [N, T, D], got shape {x.shape}")
        idx = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=np.int64)
        for start in range(0, len(idx), batch_size):
            yield np.asarray(x[idx[start:start + batch_size]], dtype=np.float32)
        return
    if not hasattr(x, "read"):
        raise TypeError(f"inputs must be a numpy array or a tdf Store, got {type(x).__name__}")
    idx = np.arange(x.n) if indices is None else np.asarray(indices, dtype=np.int64)
    for start in range(0, len(idx), batch_size):
        yield x.read(idx[start:start + batch_size])


def count_inputs(x, indices: Sequence[int] | None = None) -> int:
    """How many samples `input_batches(x, …, indices)` yields."""
    if indices is not None:
        return len(indices)
    return len(x) if isinstance(x, np.ndarray) else int(x.n)


class Activations:
    """Outputs of the named layers of `model`, computed together in inference mode.

    >>> acts = Activations(model, ["conv1", "unit4"])
    >>> out = acts.run(x, batch_size=64)        # {"conv1": [N, T, 64], "unit4": [N, T, 64]}
    """

    def __init__(self, model: keras.Model, layers: Sequence[str]):
        self.layers = _check_layers(model, layers)
        outputs = {name: model.get_layer(name).output for name in self.layers}
        self.model = keras.Model(model.input, outputs, name=f"{model.name}_activations")

    def batch(self, xb: np.ndarray) -> dict[str, np.ndarray]:
        """One batch [B, T, D] → {layer: float32 [B, T_layer, C_layer]}."""
        out = self.model(np.asarray(xb, dtype=np.float32), training=False)
        return {name: np.asarray(keras.ops.convert_to_numpy(out[name]), dtype=np.float32)
                for name in self.layers}

    def iter(self, x, batch_size: int = 64, indices: Sequence[int] | None = None
             ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield (input batch, its activations) over `x` (array or Store), batch by batch."""
        for xb in input_batches(x, batch_size, indices):
            yield xb, self.batch(xb)

    def run(self, x, batch_size: int = 64, indices: Sequence[int] | None = None,
            on_batch: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
        """All samples' activations, concatenated: {layer: float32 [N, T_layer, C_layer]}.

        `on_batch(n)` is called after each batch with its size (to drive a progress bar).
        """
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.layers}
        for xb, acts in self.iter(x, batch_size, indices):
            for name, value in acts.items():
                parts[name].append(value)
            if on_batch is not None:
                on_batch(len(xb))
        if not parts[self.layers[0]]:
            raise ValueError("no samples to run")
        return {name: np.concatenate(values) for name, values in parts.items()}


def extract(model: keras.Model, x, layers: Sequence[str], batch_size: int = 64,
            indices: Sequence[int] | None = None,
            on_batch: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Convenience: `Activations(model, layers).run(x, batch_size, indices, on_batch)`."""
    return Activations(model, layers).run(x, batch_size, indices, on_batch)
