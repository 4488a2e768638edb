"""A joint group's own motion: the velocity of its joints relative to the joint the group hangs
from, the frames on which a velocity exists, and the bodies present — shared by the motion and
the rhythm concepts of the dissection (tdf.diagnose.dissect, tdf.diagnose.rhythm)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tdf.diagnose.features import valid_mask
from tdf.skeleton import Layout, layout_or_default


def attachments(joints: Sequence[int], layout: Layout | None = None) -> list[int | None]:
    """For each joint of a group, the first ancestor outside the group in the layout's bone
    tree (None for the root)."""
    parents = layout_or_default(layout).parents
    inside = set(joints)
    out = []
    for j in joints:
        a = int(parents[j])
        while a >= 0 and a in inside:
            a = int(parents[a])
        out.append(a if a >= 0 else None)
    return out


def joint_velocity(x: np.ndarray, layout: Layout | None = None) -> np.ndarray:
    """[N, T, bodies, joints, coords] first differences of x [N, T, D] (frame 0 repeats frame 1)."""
    n, t, _ = x.shape
    p = np.asarray(x, np.float64).reshape(n, t, *layout_or_default(layout).frame_shape)
    v = np.diff(p, axis=1)
    return np.concatenate([v[:, :1], v], axis=1) if t > 1 else np.zeros_like(p)


def own_velocity(v: np.ndarray, joints: Sequence[int], layout: Layout | None = None) -> np.ndarray:
    """[N, T, bodies, len(joints), coords]: each joint's velocity (from `joint_velocity`) minus that
    of its attachment, so a hand carried by a raised arm does not move, a waving hand does."""
    own = v[:, :, :, list(joints)]
    base = np.stack([v[:, :, :, a] if a is not None else np.zeros_like(v[:, :, :, 0])
                     for a in attachments(joints, layout)], axis=3)
    return own - base


def pair_valid(x: np.ndarray) -> np.ndarray:
    """bool [N, T]: frames where a velocity exists (the frame and the one before are valid;
    frame 0 counts when valid, as it repeats frame 1's difference)."""
    valid = valid_mask(x)
    ok = valid.copy()
    ok[:, 1:] &= valid[:, :-1]
    return ok


def bodies_present(x: np.ndarray, layout: Layout | None = None) -> np.ndarray:
    """bool [N, T, bodies]: the body has a non-zero skeleton in that frame."""
    n, t, _ = x.shape
    return np.abs(np.asarray(x).reshape(n, t, layout_or_default(layout).bodies, -1)).sum(-1) > 0
