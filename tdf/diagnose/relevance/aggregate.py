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
                 names: Iterable[str] | None = None, absolute: bool = True, layout: Layout | None = None):
    """(names, [N, G]): each group's part of the sample's total relevance.

    The denominator is the total over all joints, so over a partition of the joints (the
    standard base groups) the shares sum to 1. With `absolute=True` they lie in [0, 1]; signed
    shares can be negative or above 1 when evidence for and against cancels. A sample with no
    relevance at all gets shares of 0.
    """
    names, sums = per_group(values, groups, names, absolute, layout)
    total = per_joint(_check(values, layout), absolute, layout).sum(axis=(-2, -1))[..., None]
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
