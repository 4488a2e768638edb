"""Group occlusion: how much a class score drops when one joint group is replaced by the mean.

For each joint group g, every value of g's joints (every coordinate, every body) on valid frames is set to
the model's mean skeleton, i.e. to exactly 0 after `normalize`: the group then shows the average
pose and no motion, the neutral input the model was centred on. Padded frames stay zero. The
effect is z_c(x) − z_c(x with g occluded) for the logit and the same for the softmax
probability; positive = the model used g as evidence for c. This needs no gradients and no
rules, so it holds for any model, but it measures one group at a time (no interactions).

*Edge*: a valid frame whose non-occluded values are all exactly 0 and whose mean in g is 0
would turn into a padded frame; real skeletons never have all other joints at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import keras
import numpy as np

from tdf.skeleton import Layout, layout_or_default
from tdf.diagnose.relevance.common import (
    check_batch_size, check_inputs, classifier_weights, feature_model, mean_skeleton,
    resolve_targets, valid_frames)


@dataclass(frozen=True)
class Occlusion:
    """Per sample and group: the drop of the explained logit and probability.

    groups: the group names (columns); logit_drop, prob_drop: float[N, G]; targets: int[N];
    logits, probs: float[N], the unoccluded score and probability of the target.
    """

    groups: tuple[str, ...]
    logit_drop: np.ndarray
    prob_drop: np.ndarray
    targets: np.ndarray
    logits: np.ndarray
    probs: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """float[N, G]: the logit drop, the group-level attribution (as `Attribution.values`)."""
        return self.logit_drop


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def group_occlusion(model: keras.Model, x, target=None, *,
                    groups: Mapping[str, Iterable[str]] | None = None,
                    names: Iterable[str] | None = None, batch_size: int = 64,
                    progress: Callable[[int], None] | None = None, layout: Layout | None = None) -> Occlusion:
    """Occlude each joint group in turn and report the drop of the class score.

    Args:
        model: a tdf Res-TCN or MS-Res-TCN on the layout's D values per frame.
        x: raw sequences [N, T, D].
        target: None (class predicted on the unoccluded x), a class index, or one per sample.
        groups: group definitions (default: the layout's base groups); composites such as
            "hands" may be named in `names`.
        names: the groups to occlude, in order (default: every group of `groups`).
        batch_size: occluded sequences per forward pass (samples × groups are stacked).
        progress: called with the number of samples done after each chunk.
        layout: the data's skeleton layout (ntu25 when None).
    """
    x = check_inputs(model, x)
    batch_size = check_batch_size(batch_size)
    lay = layout_or_default(layout, groups)
    if x.shape[2] != lay.D:
        raise ValueError(f"group occlusion needs the {lay.D}-value frames of layout {lay.name}, got {x.shape[2]}")
    names = tuple(lay.groups) if names is None else tuple(names)
    if not names:
        raise ValueError("no groups to occlude")
    masks = np.stack([lay.group_mask(name) for name in names])              # [G, D]
    mean = mean_skeleton(model)
    features = feature_model(model)
    kernel, bias = classifier_weights(model)
    n, g = len(x), len(names)

    def logits(batch):
        f = keras.ops.convert_to_numpy(features(batch, training=False))
        return f @ kernel + bias

    base = np.concatenate([logits(x[s:s + batch_size]) for s in range(0, n, batch_size)])
    targets = resolve_targets(target, n, kernel.shape[1], lambda: base)
    rows = np.arange(n)
    base_logit, base_prob = base[rows, targets], _softmax(base)[rows, targets]
    occluded_logit = np.empty((n, g), np.float32)
    occluded_prob = np.empty((n, g), np.float32)
    per_chunk = max(1, batch_size // g)
    for start in range(0, n, per_chunk):
        stop = min(start + per_chunk, n)
        xb = x[start:stop]
        hide = valid_frames(xb)[:, None] & masks[None, :, None, :]           # [B, G, T, D]
        occluded = np.where(hide, mean, xb[:, None]).reshape(-1, *x.shape[1:])
        z = logits(occluded.astype(np.float32)).reshape(stop - start, g, -1)
        t = targets[start:stop, None, None]
        occluded_logit[start:stop] = np.take_along_axis(z, t, axis=2)[..., 0]
        occluded_prob[start:stop] = np.take_along_axis(_softmax(z), t, axis=2)[..., 0]
        if progress is not None:
            progress(stop)
    return Occlusion(names, base_logit[:, None] - occluded_logit, base_prob[:, None] - occluded_prob,
                     targets, base_logit.astype(np.float32), base_prob.astype(np.float32))
