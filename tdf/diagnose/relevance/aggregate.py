"""Relevance [N, T, D] summed per joint, per frame and per joint group, and shown as a GIF.

Sign convention: positive relevance is evidence *for* the explained class, negative against.
`absolute=True` (the default for shares and pictures) counts |R|, i.e. how much the model *uses*
a joint either way — what the weak-group ranking needs, and robust to the cancellation of
large positive and negative parts. `absolute=False` keeps the sign (net evidence). Per-value
absolute values are taken before summing. Every function takes the data's `layout`
(tdf.skeleton; ntu25 when None).
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np

from tdf.skeleton import Layout, layout_or_default


def _check(values, layout: Layout | None = None) -> np.ndarray:
    values = np.asarray(values)
    D = layout_or_default(layout).D
    if values.ndim not in (2, 3) or values.shape[-1] != D:
        raise ValueError(f"relevance must be [N, T, {D}] or [T, {D}], got shape {values.shape}")
    return values


def per_joint(values, absolute: bool = False, layout: Layout | None = None) -> np.ndarray:
    """[N, T, joints] (or [T, joints]): relevance of each joint, summed over its coordinates and
    every body."""
    values = _check(values, layout)
    v = np.abs(values) if absolute else values
    return v.reshape(*v.shape[:-1], *layout_or_default(layout).frame_shape).sum(axis=(-3, -1))


def per_frame(values, absolute: bool = False, layout: Layout | None = None) -> np.ndarray:
    """[N, T] (or [T]): relevance of each frame, summed over all D values."""
    values = _check(values, layout)
    return (np.abs(values) if absolute else values).sum(axis=-1)


def per_group(values, groups: Mapping[str, Iterable[str]] | None = None,
              names: Iterable[str] | None = None, absolute: bool = True, layout: Layout | None = None):
    """(names, [N, G]): relevance of each joint group summed over its joints and all frames."""
    lay = layout_or_default(layout, groups)
    values = _check(values, lay)
    names = tuple(lay.groups) if names is None else tuple(names)
    joints = per_joint(values, absolute, lay).sum(axis=-2)              # [N, joints] (or [joints])
    return names, np.stack([joints[..., lay.group_joints(name)].sum(axis=-1)
                            for name in names], axis=-1)


def group_shares(values, groups: Mapping[str, Iterable[str]] | None = None,
                 names: Iterable[str] | None = None, absolute: bool = True, layout: Layout | None = None,
                 pooled: bool = False):
    """(names, shares): each group's part of the total relevance — per sample ([N, G], or [G] for
    one sample [T, D]) or, with `pooled`, of everything in `values` at once ([G]: the diagnosis'
    relevance view, where a class's share is its samples' summed relevance per group).

    A group's relevance is the sum over its input dims (the layout's `group_mask`: every
    coordinate of its joints, in every body); the denominator is the total over all dims, so over
    a partition of the joints (the standard base groups) the shares sum to 1. With
    `absolute=True` they lie in [0, 1]; signed shares can be negative or above 1 when evidence
    for and against cancels. No relevance at all gives shares of 0. The one home of group shares.
    """
    lay = layout_or_default(layout, groups)
    values = _check(values, lay)
    names = tuple(lay.groups) if names is None else tuple(names)
    v = np.abs(values) if absolute else values
    if pooled:   # one float32 sum per group over every value, divided once
        total = v.sum()
        sums = np.stack([v[..., lay.group_mask(name)].sum() for name in names])
        return names, (sums / total if total > 0 else np.zeros(len(names), sums.dtype))
    axes = tuple(range(1, v.ndim)) if v.ndim == 3 else None
    total = np.asarray(v.sum(axis=axes))[..., None]
    sums = np.stack([v[..., lay.group_mask(name)].sum(axis=axes) for name in names], axis=-1)
    shares = np.divide(sums, total, out=np.zeros_like(sums, dtype=np.float64), where=total != 0)
    return names, shares


def joint_colours(values, absolute: bool = True, layout: Layout | None = None) -> np.ndarray:
    """[T, joints] in 0…1 from one sample's relevance [T, D].

    absolute: |R| per joint over the sequence's maximum (0 = unused, 1 = the most used joint).
    signed: 0.5 + 0.5·R / max|R| (0 = most against the class, 0.5 = neutral, 1 = most for it).
    """
    values = _check(values, layout)
    if values.ndim != 2:
        raise ValueError(f"one sample's relevance [T, D] is needed, got shape {values.shape}")
    joints = per_joint(values, absolute, layout)
    peak = np.abs(joints).max()
    scaled = joints / peak if peak > 0 else np.zeros_like(joints)
    return scaled if absolute else 0.5 + 0.5 * scaled


def relevance_gif(x, values, out_gif: str | os.PathLike, title: str = "", *,
                  absolute: bool = True, layout: Layout | None = None, **render_options):
    """Render one sample x [T, D] with its joints coloured by relevance [T, D] to a GIF.

    Colours come from `joint_colours`; other keyword options go to `tdf.render.render_sequence`.
    """
    from tdf.render import render_sequence

    x = np.asarray(x)
    values = _check(values, layout)
    if x.shape != values.shape or x.ndim != 2:
        raise ValueError(f"x {x.shape} and relevance {values.shape} must both be [T, D]")
    return render_sequence(x, out_gif, title, joint_colors=joint_colours(values, absolute, layout),
                           layout=layout, **render_options)
