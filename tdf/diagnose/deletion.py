"""Deletion and insertion curves: does removing what a relevance map calls important hurt the
class score faster than removing things in a random order?

Units are joint groups (or time segments); *removing* a unit sets its values on the valid frames
to a reference skeleton (the model's mean skeleton: 0 after `normalize`, the neutral input the
model is centred on; padded frames stay zero). For one sample, explained class c and an order
u_1 … u_U of the units:

- deletion curve  D_s = p_c(x with u_1 … u_s removed),    s = 0 … U  (D_0 = p_c(x))
- insertion curve I_s = p_c(reference with only u_1 … u_s restored)  (I_U = p_c(x))

with p_c the softmax probability. Area = trapezoid over the removed fraction s/U ∈ [0, 1].
A faithful order removes the evidence first: lower deletion area and higher insertion area than
random orders (Petsiuk et al., "RISE: Randomized Input Sampling for Explanation of Black-box
Models", arXiv:1806.07421, define the pixel version). Every perturbed input of every order and
sample is pushed through `predict` in a few large batches: the cost is
at most N × (2 + 2·K·(U − 1)) inputs for K orders (the end points and the states that several
orders share are evaluated once).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def area(curves: np.ndarray) -> np.ndarray:
    """Trapezoid area of curves [..., U+1] over an even grid on [0, 1]."""
    c = np.asarray(curves, np.float64)
    u = c.shape[-1] - 1
    return (c[..., 1:] + c[..., :-1]).sum(axis=-1) / (2 * u)


def random_orders(n: int, units: int, k: int, seed: int) -> np.ndarray:
    """int[n, k, units]: k seeded random permutations of the units per sample."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n, k, units)), axis=-1)


def relevance_order(relevance: np.ndarray) -> np.ndarray:
    """int[N, U]: units by decreasing relevance (ties: lower index first)."""
    return np.argsort(-np.asarray(relevance, np.float64), axis=-1, kind="stable")


def curves(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, targets: np.ndarray,
           masks: np.ndarray, orders: np.ndarray, reference: np.ndarray, batch_size: int = 256
           ) -> tuple[np.ndarray, np.ndarray]:
    """(deletion, insertion), each float[N, K, U+1], for orders int[N, K, U].

    predict: inputs [M, T, D] → logits [M, C]. x: [N, T, D] raw inputs. targets: int[N].
    masks: bool [U, D] (joint groups, the same for every sample and frame) or [N, U, T, D]
    (e.g. time segments, per sample). reference: float[D], what a removed value becomes on valid
    frames. The all-present and all-removed inputs are evaluated once per sample.
    """
    x = np.asarray(x, np.float32)
    n, t, d = x.shape
    _, k, u = orders.shape
    valid = np.any(x != 0, axis=-1)                                            # [N, T]
    ref = np.asarray(reference, np.float32)
    masks = np.asarray(masks, bool)
    if masks.ndim == 2:
        masks = np.broadcast_to(masks[None, :, None, :], (n, u, t, d))
    removed_all = np.where(valid[..., None], ref, 0).astype(np.float32)        # [N, T, D]

    # the inputs to evaluate: one per distinct (sample, set of removed units) over every order,
    # curve and step 1 … U−1 — orders that agree on a prefix (methods often do) share them
    state_row: dict[tuple[int, bytes], int] = {}
    rows = []   # (sample, bool[U] removed)
    where = np.empty((n, k, max(u - 1, 0), 2), np.int64)
    for i in range(n):
        for j in range(k):
            for s in range(1, u):
                gone = np.zeros(u, bool)
                gone[orders[i, j, :s]] = True
                for c, state in enumerate((gone, ~gone)):   # deletion: first s removed; insertion: only they stay
                    key = (i, state.tobytes())
                    if key not in state_row:
                        state_row[key] = len(rows)
                        rows.append((i, state))
                    where[i, j, s - 1, c] = state_row[key]
    probs = np.empty(len(rows), np.float64)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        batch = np.empty((len(chunk), t, d), np.float32)
        for b, (i, gone) in enumerate(chunk):
            hide = masks[i][gone].any(axis=0) & valid[i][:, None]              # [T, D]
            batch[b] = np.where(hide, removed_all[i], x[i])
        probs[start:start + len(chunk)] = softmax(predict(batch))[
            np.arange(len(chunk)), targets[[i for i, _ in chunk]]]
    ends = softmax(np.concatenate([predict(x[s:s + batch_size]) for s in range(0, n, batch_size)]
                                  + [predict(removed_all[s:s + batch_size]) for s in range(0, n, batch_size)]))
    full = ends[np.arange(n), targets]
    empty = ends[n + np.arange(n), targets]
    middle = probs[where]                                                      # [N, K, U−1, 2]
    deletion = np.concatenate([np.broadcast_to(full[:, None, None], (n, k, 1)), middle[..., 0],
                               np.broadcast_to(empty[:, None, None], (n, k, 1))], axis=-1)
    insertion = np.concatenate([np.broadcast_to(empty[:, None, None], (n, k, 1)), middle[..., 1],
                                np.broadcast_to(full[:, None, None], (n, k, 1))], axis=-1)
    return deletion, insertion


def segment_masks(x: np.ndarray, segments: int) -> np.ndarray:
    """bool[N, S, T, D]: each sample's valid frames cut into `segments` consecutive, near-equal
    pieces (all values of a frame belong to its piece)."""
    x = np.asarray(x)
    n, t, d = x.shape
    lengths = np.any(x != 0, axis=-1).sum(axis=1)
    out = np.zeros((n, segments, t, d), bool)
    for i, length in enumerate(lengths):
        edges = np.linspace(0, length, segments + 1).round().astype(int)
        for s in range(segments):
            out[i, s, edges[s]:edges[s + 1]] = True
    return out


def unit_relevance(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """float[N, U]: signed relevance values [N, T, D] summed over each unit's mask ([U, D] or
    [N, U, T, D]) — the evidence the map assigns to the unit."""
    v = np.asarray(values, np.float64)
    masks = np.asarray(masks, bool)
    if masks.ndim == 2:
        return np.einsum("ntd,ud->nu", v, masks.astype(np.float64))
    return np.einsum("ntd,nutd->nu", v, masks.astype(np.float64))


def occlusion_relevance(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, targets: np.ndarray,
                        masks: np.ndarray, reference: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """float[N, U]: logit drop of the target when each unit alone is removed (occlusion)."""
    x = np.asarray(x, np.float32)
    n, t, d = x.shape
    masks = np.asarray(masks, bool)
    u = masks.shape[-3] if masks.ndim == 4 else masks.shape[0]
    if masks.ndim == 2:
        masks = np.broadcast_to(masks[None, :, None, :], (n, u, t, d))
    valid = np.any(x != 0, axis=-1)
    ref = np.asarray(reference, np.float32)
    pairs = [(i, j) for i in range(n) for j in range(u)]
    out = np.empty(len(pairs))
    base = np.concatenate([predict(x[s:s + batch_size]) for s in range(0, n, batch_size)])
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        batch = np.stack([np.where(masks[i, j] & valid[i][:, None], ref, x[i]) for i, j in chunk])
        z = predict(batch.astype(np.float32))
        out[start:start + len(chunk)] = z[np.arange(len(chunk)), targets[[i for i, _ in chunk]]]
    return base[np.arange(n), targets][:, None] - out.reshape(n, u)
