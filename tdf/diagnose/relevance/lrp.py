"""Layer-wise Relevance Propagation for the Res-TCN and the MS-Res-TCN (explicit numpy passes).

A forward pass (tdf.diagnose.relevance.graph) records every layer's activations; the explained
logit z_c is then redistributed layer by layer down to the normalised input x̃ = x − mean.
Writing z_ij = x_i·w_ij for the contribution of input i to output j (z_j = Σ_i z_ij + b_j):

- **ε-rule** (Dense, Conv1D, default everywhere): R_i = Σ_j z_ij / (z_j + ε·sign(z_j)) · R_j.
  The bias b_j and the stabiliser ε absorb part of R_j, so Σ_i R_i ≤ Σ_j R_j in size.
- **z⁺ / αβ** (option `relu_rule` for the layers whose input is a ReLU output: every unit conv,
  every pipe conv and the classifier): R_i = Σ_j (α·z⁺_ij/Σ_i z⁺_ij − β·z⁻_ij/Σ_i z⁻_ij) R_j with
  α − β = 1 (z⁺ is α=1, β=0); biases are left out. *Decision*: an output whose contributions
  all have one sign hands its whole relevance to them (z⁺_ij/Σz⁺ or z⁻_ij/Σz⁻). Plain z⁺ would
  drop it, and that is not rare here: unit convs feed residual Adds, not a ReLU, so an output
  driven only by negative contributions still receives relevance. So these layers conserve
  relevance exactly (only an output with no contribution at all passes nothing).
- **BatchNorm** (inference: y = a·x + c per channel) is a linear layer with one input per output
  and the ε-rule: R_x = a·x / (y + ε·sign(y)) · R_y; the shift c absorbs its share. (It cannot
  be folded into a conv: ReLU separates it from the next conv, and its input is a residual sum.)
- **ReLU, Dropout** (inference), the MS-Res-TCN's `ta_mask`: relevance passes through unchanged.
- **Residual and pipe Adds** split R in proportion to each branch's contribution:
  R_k = z_k / (Σ_k z_k + ε·sign) · R.
- **Global average pooling** splits by contribution over time: R_t = (x_t/T) / (mean + ε·sign) · R.
- **Concat** hands each stream's channels their relevance.
- **normalize** (x̃ = x − mean skeleton on valid frames) is a constant shift: relevance is
  assigned to x̃, i.e. to each value's deviation from the mean pose (the mean is the reference
  point that gets no relevance); padded frames have x̃ = 0 and so get none.

With ε → 0 and the ε-rule everywhere this equals gradient × x̃ (a known identity for ReLU
networks; the tests use it). With zero biases and BN shifts and ε → 0, Σ R = z_c
(conservation); with biases, `Attribution.residual` is the absorbed part.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from tdf.diagnose.relevance.common import (
    Attribution, check_batch_size, check_inputs, mean_skeleton, resolve_targets, valid_frames)
from tdf.diagnose.relevance.graph import Node, build_graph, conv1d, conv1d_transpose, forward

RELU_RULES = ("epsilon", "zplus", "alphabeta")


def _divide(r: np.ndarray, z: np.ndarray, epsilon: float) -> np.ndarray:
    """r / (z + ε·sign(z)), sign(0) = +1; 0 where the denominator is exactly 0 (ε = 0 and z = 0:
    an output without contributions passes no relevance down)."""
    d = z + np.where(z >= 0, epsilon, -epsilon).astype(z.dtype)
    nonzero = d != 0
    return np.where(nonzero, r / np.where(nonzero, d, 1), 0).astype(r.dtype)


class _Rules:
    """The backward rule of every op, for one choice of ε and post-ReLU rule."""

    def __init__(self, epsilon: float, relu_rule: str, alpha: float):
        self.epsilon, self.relu_rule = epsilon, relu_rule
        self.alpha, self.beta = alpha, alpha - 1.0

    def linear(self, x, z, r, node: Node, apply, adjoint):
        """Dense/Conv: apply(x, W) is the layer without bias, adjoint(s, W) its transpose."""
        w = node.params["kernel"]
        if self.relu_rule == "epsilon" or not node.nonneg_input:
            return x * adjoint(_divide(r, z, self.epsilon), w)
        wp, wn = np.maximum(w, 0), np.minimum(w, 0)
        zp, zn = apply(x, wp), apply(x, wn)
        both = (zp != 0) & (zn != 0)
        # α on the positive side, β on the negative side; an output with contributions of one
        # sign only hands its whole relevance to them (so the rule conserves everywhere)
        a = np.where(both, self.alpha, (zp != 0).astype(x.dtype)).astype(x.dtype)
        b = np.where(both, self.beta, -(zn != 0).astype(x.dtype)).astype(x.dtype)
        return x * (adjoint(_divide(a * r, zp, 0.0), wp) - adjoint(_divide(b * r, zn, 0.0), wn))

    def backward(self, node: Node, ins: list[np.ndarray], out: np.ndarray, r: np.ndarray):
        """Relevance of each input of `node`, given its inputs, output and relevance r."""
        p, eps = node.params, self.epsilon
        if node.op in ("relu", "identity", "mask"):
            return [r]
        if node.op == "conv":
            stride, length = p["stride"], ins[0].shape[1]
            return [self.linear(ins[0], out, r, node,
                                lambda x, w: conv1d(x, w, None, stride),
                                lambda s, w: conv1d_transpose(s, w, stride, length))]
        if node.op == "dense":
            return [self.linear(ins[0], out, r, node, lambda x, w: x @ w, lambda s, w: s @ w.T)]
        if node.op == "bn":
            return [ins[0] * p["scale"] * _divide(r, out, eps)]
        if node.op == "add":
            s = _divide(r, out, eps)
            return [z * s for z in ins]
        if node.op == "gap":
            s = _divide(r, out, eps) / ins[0].shape[1]
            return [ins[0] * s[:, None, :]]
        if node.op == "concat":
            edges = np.cumsum([z.shape[-1] for z in ins])[:-1]
            return np.split(r, edges, axis=-1)
        raise AssertionError(node.op)  # pragma: no cover


def propagate(nodes: list[Node], acts: dict[str, np.ndarray], targets: np.ndarray,
              rules: _Rules) -> np.ndarray:
    """Relevance at the normalised input [N, T, D], starting from R = z_c at the classifier.

    Consumes `acts`: a node's activations are dropped once it is processed (its consumers
    already were), so memory falls as the pass goes down.
    """
    logits = acts[nodes[-1].name]
    top = np.zeros_like(logits)
    rows = np.arange(len(targets))
    top[rows, targets] = logits[rows, targets]
    relevance = {nodes[-1].name: top}
    for node in reversed(nodes):
        r = relevance.pop(node.name)
        if node.op == "input":
            return r
        ins = [acts[name] for name in node.inputs]
        for name, share in zip(node.inputs, rules.backward(node, ins, acts.pop(node.name), r)):
            relevance[name] = relevance[name] + share if name in relevance else share
    raise AssertionError("the graph has no input node")  # pragma: no cover


def lrp(model: keras.Model, x, target=None, *, epsilon: float = 0.01, relu_rule: str = "zplus",
        alpha: float = 1.0, batch_size: int = 32, dtype=np.float32,
        progress: Callable[[int], None] | None = None) -> Attribution:
    """LRP relevance of the input for the logit of `target` (default: the predicted class).

    Args:
        model: a tdf Res-TCN or MS-Res-TCN.
        x: raw sequences [N, T, D] as stored.
        target: None (predicted class), a class index, or one index per sample.
        epsilon: ε of the ε-rule (Dense/Conv/BN/Add/pool); ≥ 0, in the units of the activations.
        relu_rule: rule of the layers fed by ReLU outputs (unit convs, pipes, classifier):
            "zplus" (default), "alphabeta" (with `alpha`), or "epsilon".
        alpha: α of the αβ rule (β = α − 1), ≥ 1; used only with relu_rule="alphabeta".
        batch_size: samples per vectorised pass.
        dtype: numpy float type of the passes and the result (float64 for exact checks).
        progress: called with the number of samples done after each batch.

    Returns:
        Attribution with values [N, T, D] on x̃ = x − mean (0 on padded frames), targets, logits.
    """
    x = check_inputs(model, x)
    batch_size = check_batch_size(batch_size)
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not epsilon >= 0:
        raise ValueError(f"epsilon must be a number ≥ 0, got {epsilon!r}")
    if relu_rule not in RELU_RULES:
        raise ValueError(f"relu_rule must be one of {RELU_RULES}, got {relu_rule!r}")
    if relu_rule == "zplus":
        alpha = 1.0
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha >= 1:
        raise ValueError(f"alpha must be a number ≥ 1 (β = α − 1), got {alpha!r}")
    dtype = np.dtype(dtype).type
    nodes = build_graph(model, dtype)
    rules = _Rules(float(epsilon), relu_rule, float(alpha))
    mean = mean_skeleton(model).astype(dtype)
    num_classes = nodes[-1].params["kernel"].shape[1]

    chosen = None if target is None else resolve_targets(target, len(x), num_classes, None)
    values = np.empty(x.shape, dtype)
    targets = np.empty(len(x), np.int64)
    logits = np.empty(len(x), dtype)
    for start in range(0, len(x), batch_size):
        stop = min(start + batch_size, len(x))
        xb = x[start:stop].astype(dtype)
        x_norm = np.where(valid_frames(xb), xb - mean, 0).astype(dtype)
        acts = forward(nodes, x_norm)
        scores = acts[nodes[-1].name]   # the classifier's pre-softmax scores
        tb = (np.argmax(scores, axis=1) if chosen is None else chosen[start:stop])
        logits[start:stop] = scores[np.arange(stop - start), tb]
        targets[start:stop] = tb
        values[start:stop] = propagate(nodes, acts, tb, rules)
        if progress is not None:
            progress(stop)
    return Attribution(values, targets, logits, "lrp")
