"""Trajectory features of a joint group: what the power spectra cannot see — direction, shape and
order of a motion.

The power spectra of `tdf.diagnose.features` do not change when a motion runs backwards
(circle clockwise vs counter-clockwise), is mirrored (swipe left vs right) or its parts come in
another order: |FFT| discards phase. These features keep it. Per joint of the group (each body):

1. the joint **relative to its parent joint** in the skeleton tree (the bone vector; a root joint:
   its position minus its own temporal mean), so the group's motion is measured where it happens
   (a hand drawing a circle about the wrist, not the body walking);
2. in the **body-yaw frame**: every sequence is rotated about the vertical axis so that the mean
   horizontal direction of its left → right shoulder and hip lines is +x — the camera's yaw and
   the subject's facing are removed, left/right and front/back of the body stay;
3. **resampled to a fixed length** (`length` = 20 frames, linear interpolation over the valid
   frames): sequences of any duration become comparable frame by frame, and order is kept;
4. plus its **velocity** (first differences of the resampled trajectory).

A fast oscillation (the synthetic data's planted cue) is aliased away by the resampling — that is
what the spectra see; the ranking takes the better of the two probes per group
(`tdf.diagnose.ranking`). Layout-agnostic: parents, yaw pairs and shapes are arguments.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tdf.diagnose.features import valid_mask

LENGTH = 20      # frames after resampling (enough for a circle's or a triangle's order of strokes)
VERTICAL = 1     # the y axis points up (Kinect / NTU convention)


def as_bodies(x: np.ndarray, bodies: int, joints: int, coords: int = 3) -> np.ndarray:
    """[N, T, bodies, joints, coords] view of frame vectors x [N, T, bodies·joints·coords]."""
    n, t, d = x.shape
    if d != bodies * joints * coords:
        raise ValueError(f"frame vectors of {d} values are not {bodies} bodies × {joints} joints × {coords}")
    return np.asarray(x, np.float64).reshape(n, t, bodies, joints, coords)


def yaw_angles(p: np.ndarray, valid: np.ndarray, pairs: Sequence[tuple[int, int]],
               vertical: int = VERTICAL) -> np.ndarray:
    """[N, bodies] yaw of each body: the angle (in the horizontal plane, from the first horizontal
    axis towards the second) of the mean over valid frames of Σ (right − left) over `pairs`
    (left, right) joint pairs. 0 where the body is absent, and everywhere for 2-D points (an
    image has no horizontal plane to turn in: `rotate_yaw` leaves them unchanged)."""
    if p.shape[-1] < 3:
        return np.zeros(p.shape[:1] + p.shape[2:3])
    h0, h1 = [a for a in range(p.shape[-1]) if a != vertical][:2]
    v = sum(p[:, :, :, r] - p[:, :, :, l] for l, r in pairs)          # [N, T, B, C]
    w = valid[:, :, None, None]
    mean = (v * w).sum(axis=1)                                         # [N, B, C]
    return np.arctan2(mean[..., h1], mean[..., h0])


def rotate_yaw(p: np.ndarray, angles: np.ndarray, vertical: int = VERTICAL) -> np.ndarray:
    """Rotate points p [N, T, B, J, C] about the vertical axis by −angles [N, B], so that a
    direction at angle a (see `yaw_angles`) becomes the first horizontal axis. 2-D: unchanged."""
    if p.shape[-1] < 3:
        return p.copy()
    h0, h1 = [a for a in range(p.shape[-1]) if a != vertical][:2]
    c = np.cos(angles)[:, None, :, None]
    s = np.sin(angles)[:, None, :, None]
    out = p.copy()
    out[..., h0] = c * p[..., h0] + s * p[..., h1]
    out[..., h1] = -s * p[..., h0] + c * p[..., h1]
    return out


def relative_to_parent(p: np.ndarray, valid: np.ndarray, joints: Sequence[int],
                       parents: Sequence[int | None]) -> np.ndarray:
    """[N, T, B, len(joints), C]: each joint minus its parent joint (a root, whose parent is None
    or negative: minus its own mean over the valid frames). Invalid frames are zero."""
    cols = []
    w = valid[:, :, None, None]
    for j in joints:
        par = parents[j]
        if par is None or par < 0:
            n = np.maximum(valid.sum(axis=1), 1)[:, None, None]
            cols.append(p[:, :, :, j] - (p[:, :, :, j] * w).sum(axis=1, keepdims=True) / n[:, None])
        else:
            cols.append(p[:, :, :, j] - p[:, :, :, par])
    return np.where(valid[:, :, None, None, None], np.stack(cols, axis=3), 0.0)


def resample_valid(a: np.ndarray, valid: np.ndarray, length: int = LENGTH) -> np.ndarray:
    """[N, length, ...]: each sequence's valid frames (in order) linearly resampled to `length`
    evenly spaced points from the first to the last valid frame (all zeros if none)."""
    n = a.shape[0]
    out = np.zeros((n, length) + a.shape[2:])
    for i in range(n):
        frames = np.flatnonzero(valid[i])
        if len(frames) == 0:
            continue
        seq = a[i, frames]
        pos = np.linspace(0.0, len(frames) - 1, length)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, len(frames) - 1)
        frac = (pos - lo).reshape((length,) + (1,) * (a.ndim - 2))
        out[i] = (1 - frac) * seq[lo] + frac * seq[hi]
    return out


def group_trajectory_features(x: np.ndarray, joints: Sequence[int], parents: Sequence[int | None],
                              yaw_pairs: Sequence[tuple[int, int]], *, bodies: int, n_joints: int,
                              coords: int = 3, length: int = LENGTH, vertical: int = VERTICAL) -> np.ndarray:
    """[N, bodies × len(joints) × coords × (2·length − 1)]: the group's parent-relative
    trajectory in the body-yaw frame, resampled to `length` frames, and its velocity (see the
    module docstring). `parents[j]` is j's parent joint (None or −1 for the root); `yaw_pairs`
    are (left, right) joint pairs whose line defines the body's facing (shoulders, hips; none:
    the camera's frame is kept). The vertical axis is y (a y-down layout's too: only the sign
    differs, which a linear probe does not care about)."""
    p = as_bodies(x, bodies, n_joints, coords)
    valid = valid_mask(np.asarray(x))
    p = rotate_yaw(p, yaw_angles(p, valid, yaw_pairs, vertical), vertical)
    rel = relative_to_parent(p, valid, joints, [None if q is None or q < 0 else int(q) for q in parents])
    traj = resample_valid(rel, valid, length)                            # [N, L, B, J, C]
    vel = np.diff(traj, axis=1)                                          # [N, L-1, B, J, C]
    n = len(traj)
    return np.concatenate([traj.reshape(n, -1), vel.reshape(n, -1)], axis=1)
