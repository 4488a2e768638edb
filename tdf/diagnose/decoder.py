"""The Feature Map Decoder (Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach
for Fine-grained Action Recognition", arXiv:1711.08502, §4.1, eqs. 6, 7, 10;
docs/design.md#feature-map-decoder).

It turns a hidden representation X_l [T_l, C_l] back into a skeleton sequence [T, 150] by
weighting "compressed" first-layer filters (motion primitives) with the layer's responses.
The procedure is pinned (issue 4) so results are comparable and testable:

1. Compress a Conv1D kernel (k, in, out) to Ĉ (in, out): the mean of taps ⌊(k−1)/2⌋ and
   ⌈(k−1)/2⌉ (0-based; the paper's f/2 and f/2+1 for k = 8, eq. 6; the middle tap for odd k).
2. Block A (conv1 and the units before the first channel change): x̂(t) = X_l(t)·Ĉ1ᵀ + mean
   (eq. 7), Ĉ1 the compressed `conv1` kernel, the mean skeleton from the `normalize` layer.
3. A deeper unit l: start from Y = X_l; for each block-transition unit b ≤ l (a unit with a
   `unit{b}_shortcut`), deepest first: bring Y to X_b's time resolution, then
   Y ← (Y − X_b)·Ĉ_bᵀ + X_b·S_bᵀ (eq. 10), Ĉ_b the compressed `unit{b}_conv` kernel, S_b the 1×1
   `unit{b}_shortcut` kernel as (in, out), X_b the actual output of unit b for that sample.
   Afterwards Y has unit b−1's channels at X_b's (coarse) time steps.
4. Bring Y to the input's T and decode with Ĉ1 as in step 2.

*Where interpolation happens*: every time Y must move to a finer time axis — before the
subtraction at a shallower transition b' (Y is at T_b, X_b' at T_b' > T_b) and before the final
decode (Y at block B's T_B when the last transition was the first one; conv1 and block A run
at the input's T, `same` padding with stride 1). At the deepest transition Y = X_l already has
X_b's resolution (same block), and interpolating between equal lengths is the identity. The rule
(`upsample_time`): coarse step i sits at fine time (i + 0.5)·T_f/T_c − 0.5, linear in between,
held constant beyond the ends (numpy `interp` semantics); the paper omits this step.

Biases and BatchNorm are ignored, as in the paper: the decoder is a linear read-out of the
responses, not an inverse of the network.

Arithmetic is float32, like the model's activations: 2–3× faster than float64 and within
~5e-7 of the largest value of a float64 computation on the full-size model (the tests hold
it to 1e-5 of an independent float64 implementation).

*MS-Res-TCN*: either stream (`stream="main"|"ta"`) decodes with that stream's `conv1`,
`unit{b}_conv` and `unit{b}_shortcut` kernels. X_l and X_b are the stream's actual unit
outputs as `tdf.models.unit_names` defines them — `{stream}_unit{l}_piped` where a pipe feeds
the stream at unit l (it is what the next unit of the stream receives), else `{stream}_unit{l}`.
Both streams use the shared `normalize` mean. The TA stream's input is masked to the targeted
dims, but its decoded frame is still mean + X·Ĉ1ᵀ in every dim: dims outside the mask show
whatever its conv1 kernel holds there (weights that never saw a non-zero input), not zeros.

Padded frames are decoded like any other (the network's activations there are not zero
because of biases); callers that show a sample crop it to its length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import keras
import numpy as np

from tdf.diagnose.activations import Activations, count_inputs
from tdf.errors import BadInput
from tdf.models.contract import ModelContract, contract_of


# ----------------------------------------------------------------------------- pieces


def compress_kernel(kernel) -> np.ndarray:
    """Conv1D kernel (k, in, out) → (in, out): mean of taps ⌊(k−1)/2⌋ and ⌈(k−1)/2⌉ (eq. 6)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 3 or kernel.shape[0] < 1:
        raise ValueError(f"a Conv1D kernel must be (k, in, out), got shape {kernel.shape}")
    k = kernel.shape[0]
    return (kernel[(k - 1) // 2] + kernel[k // 2]) / 2.0


def upsample_time(y, t_fine: int) -> np.ndarray:
    """Linear interpolation of y [..., T_c, C] along axis −2 to `t_fine` ≥ T_c steps.

    Coarse step i sits at fine time (i + 0.5)·T_f/T_c − 0.5; values beyond the first/last coarse
    step are held constant (numpy `interp` semantics). Equal lengths return `y` unchanged.
    """
    y = np.asarray(y)
    t_coarse = y.shape[-2]
    if t_fine == t_coarse:
        return y
    if t_fine < t_coarse:
        raise ValueError(f"cannot upsample {t_coarse} time steps to fewer ({t_fine})")
    # Fine time j in coarse-step coordinates, clipped to the coarse range (constant ends).
    pos = (np.arange(t_fine) + 0.5) * (t_coarse / t_fine) - 0.5
    pos = np.clip(pos, 0.0, t_coarse - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t_coarse - 1)
    w = (pos - lo)[:, None]
    if np.issubdtype(y.dtype, np.floating):
        w = w.astype(y.dtype)  # keep float32 inputs float32
    return np.take(y, lo, axis=-2) * (1.0 - w) + np.take(y, hi, axis=-2) * w


def _matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a [..., C] @ w [C, K] as one 2-D GEMM (numpy's stacked matmul is several times slower)."""
    return (a.reshape(-1, a.shape[-1]) @ w).reshape(*a.shape[:-1], w.shape[-1])


# ----------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class Transition:
    """A block-transition unit b: compressed residual conv Ĉ_b and 1×1 shortcut S_b, (in, out)."""

    index: int
    conv: np.ndarray
    shortcut: np.ndarray


@dataclass(frozen=True)
class DecoderWeights:
    """Everything the decoder needs from one stream of a model.

    `c1` is Ĉ1 (D, F1); `mean` the mean skeleton (D,); `transitions` ascending by unit index;
    `units` all unit indices; `outputs` maps a base name ("conv1", "unit{l}") to the model layer
    holding that X_l.
    """

    c1: np.ndarray
    mean: np.ndarray
    transitions: tuple[Transition, ...]
    units: tuple[int, ...]
    outputs: Mapping[str, str] = field(default_factory=dict)
    stream: str | None = None

    def level(self, base: str) -> int:
        """1 for conv1, l for unit{l}."""
        return 1 if base == "conv1" else int(base[4:])

    def transitions_upto(self, level: int) -> list[Transition]:
        """The transitions b ≤ level, deepest first (the order eq. 10 is applied in)."""
        return [tr for tr in reversed(self.transitions) if tr.index <= level]

    def needed(self, bases: Sequence[str]) -> list[str]:
        """Base names whose activations decoding `bases` needs (each X_l and its X_b)."""
        need = dict.fromkeys(bases)
        for base in bases:
            for tr in self.transitions_upto(self.level(base)):
                need[f"unit{tr.index}"] = None
        return list(need)


def _kernel(model: keras.Model, name: str) -> np.ndarray:
    layer = model.get_layer(name)
    return np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype=np.float64)


def decodable_contract(model: keras.Model) -> ModelContract:
    """The model's contract when the decoder can read it (a first conv followed by residual units,
    1×1 shortcuts at block transitions); BadInput saying what is missing otherwise."""
    contract = contract_of(model)
    if not contract.has_residual_chain():
        raise BadInput(f"model {model.name!r} ({contract.family}) has no Res-TCN-like unit chain "
                       f"(first conv, then residual units); the Feature Map Decoder cannot read it")
    return contract


def output_layers(model: keras.Model, stream: str | None = None) -> dict[str, str]:
    """{"conv1": …, "unit{l}": …}: the model layer holding each X_l of `stream`, from the
    model's contract (for an MS-Res-TCN a stream's X_l is `{stream}_unit{l}_piped` where a pipe
    feeds it). BadInput when `stream` is not one of the model's streams."""
    return contract_of(model).outputs(stream)


def decoder_weights(model: keras.Model, stream: str | None = None) -> DecoderWeights:
    """Read Ĉ1, the mean skeleton and every transition's Ĉ_b, S_b from `model` (one stream)."""
    contract = decodable_contract(model)
    outputs = output_layers(model, stream)
    units = contract.units(stream)
    transitions = []
    for unit in units[1:]:
        if unit.shortcut is None:
            continue
        s = _kernel(model, unit.shortcut)
        if s.shape[0] != 1:
            raise BadInput(f"layer {unit.shortcut!r} has filter length {s.shape[0]}; the decoder needs a "
                           f"1×1 shortcut (eq. 8)")
        conv = compress_kernel(_kernel(model, unit.conv))
        transitions.append(Transition(unit.index, conv.astype(np.float32), s[0].astype(np.float32)))
    from tdf.diagnose.relevance.common import mean_skeleton
    mean = mean_skeleton(model).astype(np.float32)
    c1 = compress_kernel(_kernel(model, units[0].conv)).astype(np.float32)
    return DecoderWeights(c1, mean, tuple(transitions), tuple(u.index for u in units[1:]), outputs, stream)


def default_layers(model: keras.Model) -> tuple[str, ...]:
    """conv1 and the last unit of every block: ("conv1", "unit4", "unit7", "unit10") for the
    paper's Res-TCN (Fig. 4), and the same pattern for any width/depth. A model whose units are
    not residual (no block transitions declared) gives conv1 and its last unit."""
    contract = contract_of(model)
    chain = contract.units(contract.default_stream)[1:]
    units = [u.index for u in chain]
    if not units:
        return ("conv1",)
    starts = [u.index for u in chain if u.shortcut is not None]
    ends = [b - 1 for b in starts if b - 1 in units] + [units[-1]]
    return ("conv1",) + tuple(f"unit{l}" for l in ends)


def base_name(outputs: Mapping[str, str], layer) -> str:
    """A layer given as "conv1", "unit4", "4", 4 or "1" (= conv1) → its base name, checked
    against `outputs` (from `output_layers`)."""
    text = str(layer).strip()
    if text in ("1", "conv1"):
        return "conv1"
    if text.isdigit():
        text = f"unit{text}"
    if text in outputs:
        return text
    known = ", ".join(outputs)
    raise BadInput(f"unknown layer {layer!r}; this model has: {known}")


def resolve_layer(weights: DecoderWeights, layer) -> str:
    """`base_name` for the decoder's model."""
    return base_name(weights.outputs, layer)


# ----------------------------------------------------------------------------- decoding


def _check_channels(channels, bases, acts) -> dict[str, np.ndarray]:
    """{base: bool[C]} keep-masks from {layer: indices}; BadInput for a bad index."""
    masks = {}
    for base, idx in (channels or {}).items():
        if base not in bases:
            raise BadInput(f"channels given for layer {base!r}, which is not decoded ({list(bases)})")
        width = acts[base].shape[-1]
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= width):
            raise BadInput(f"channel index outside 0..{width - 1} for layer {base!r}")
        keep = np.zeros(width, dtype=bool)
        keep[idx] = True
        masks[base] = keep
    return masks


def decode_from_activations(acts: Mapping[str, np.ndarray], weights: DecoderWeights, t_in: int,
                            layers: Sequence[str] | None = None,
                            channels: Mapping[str, Sequence[int]] | None = None,
                            ) -> dict[str, np.ndarray]:
    """Decode already-extracted activations (keyed by base name, [N, T_l, C_l]) to skeletons.

    `acts` must hold every layer in `layers` and `unit{b}` for each transition b ≤ its depth
    (`weights.needed(layers)`; None → every base name in `acts`); `t_in` is the input's frame
    count. `channels={layer: indices}`
    keeps only those channels of that layer's X_l: the others are set to 0 before decoding.
    The X_b of shallower transitions b < l stay whole; when l is itself a transition, X_l *is*
    X_b, so the masked array is used in both places and the result is masked X_l·S_lᵀ, the
    selected channels' share of the shortcut read-out (rather than the mismatch
    (masked − whole)·Ĉ_lᵀ a whole X_b would add). Returns {layer: float32 [N, t_in, D]}, mean added.
    """
    layers = [name for name in acts if name in weights.outputs] if layers is None else list(layers)
    missing = [name for name in weights.needed(layers) if name not in acts]
    if missing:
        raise ValueError(f"activations for {missing} are needed to decode {layers}")
    keep = _check_channels(channels, layers, acts)
    out = {}
    for base in layers:
        y = np.asarray(acts[base], dtype=np.float32)
        if base in keep:
            y = y * keep[base]
        for tr in weights.transitions_upto(weights.level(base)):
            xb_name = f"unit{tr.index}"
            xb = y if xb_name == base else np.asarray(acts[xb_name], dtype=np.float32)
            y = upsample_time(y, xb.shape[1])
            y = _matmul(y - xb, tr.conv.T) + _matmul(xb, tr.shortcut.T)
        y = upsample_time(y, t_in)
        out[base] = _matmul(y, weights.c1.T) + weights.mean
    return out


def decode_batches(model: keras.Model, x, layers: Sequence[str] | None = None,
                   stream: str | None = None, batch_size: int = 64,
                   channels: Mapping[str, Sequence[int]] | None = None,
                   indices: Sequence[int] | None = None
                   ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Like `decode`, batch by batch: yields (input batch [B, T, 150], {layer: [B, T, 150]}).

    Memory stays bounded by one batch whatever N is, so callers can stream decoded sequences
    to disk or reduce them on the fly.
    """
    weights = decoder_weights(model, stream)
    if layers is None:
        layers = default_layers(model)
    bases = list(dict.fromkeys(resolve_layer(weights, layer) for layer in layers))
    channels = {resolve_layer(weights, k): v for k, v in (channels or {}).items()}
    needed = weights.needed(bases)
    extractor = Activations(model, [weights.outputs[name] for name in needed])
    for xb, raw in extractor.iter(x, batch_size, indices):
        acts = {name: raw[weights.outputs[name]] for name in needed}
        yield xb, decode_from_activations(acts, weights, xb.shape[1], bases, channels)


def decode(model: keras.Model, x, layers: Sequence[str] | None = None, stream: str | None = None,
           batch_size: int = 64, channels: Mapping[str, Sequence[int]] | None = None,
           indices: Sequence[int] | None = None,
           on_batch: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Decode layers of `model` for the samples `x` (array [N, T, 150] or a Store + `indices`).

    Args:
        layers: "conv1", "unit{l}" (or l); None → `default_layers(model)`, which is
            ("conv1", "unit4", "unit7", "unit10") for the paper's Res-TCN.
        stream: None for a Res-TCN; "main" or "ta" for an MS-Res-TCN.
        batch_size: samples per forward pass (one pass gives every needed layer).
        channels: {layer: channel indices} to decode only those channels of X_l.
        on_batch: called with each batch's size (progress).

    Returns {layer base name: float32 [N, T, 150]} with the mean skeleton added back.
    """
    if count_inputs(x, indices) == 0:
        raise ValueError("no samples to decode")
    parts: dict[str, list[np.ndarray]] = {}
    for xb, decoded in decode_batches(model, x, layers, stream, batch_size, channels, indices):
        for base, value in decoded.items():
            parts.setdefault(base, []).append(value)
        if on_batch is not None:
            on_batch(len(xb))
    return {base: np.concatenate(values) for base, values in parts.items()}
