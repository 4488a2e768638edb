"""Motion features of a joint group, for asking "is the information in the input?".

Per joint of the group (every body), the trajectory's own temporal mean is removed over the
valid frames (so static posture offsets — which a model can use as a shortcut and which vary
with subject and camera — do not count as motion), then the log power spectrum of the first
`bins` frequencies is taken separately for the vertical axis (y) and for the horizontal plane
(x and z powers added: invariant to the camera's rotation about the vertical axis; a 2-D
layout has x only in the plane).
"""

from __future__ import annotations

import numpy as np

from tdf.skeleton import Layout, layout_or_default


def valid_mask(x: np.ndarray) -> np.ndarray:
    """[N, T] True where a frame holds data (any non-zero value)."""
    return np.abs(x).sum(axis=-1) > 0


def center_in_time(x: np.ndarray) -> np.ndarray:
    """Remove each dim's temporal mean over the valid frames; padded frames stay zero."""
    valid = valid_mask(x)[..., None]
    n = np.maximum(valid.sum(axis=1, keepdims=True), 1)
    mean = (x * valid).sum(axis=1, keepdims=True) / n
    return np.where(valid, x - mean, 0.0)


def group_motion_features(x: np.ndarray, joints: list[int], bins: int = 16,
                          layout: Layout | None = None) -> np.ndarray:
    """[N, bodies × len(joints) × 2 × bins] log power spectra of the group's motion."""
    n, t, _ = x.shape
    lay = layout_or_default(layout)
    xc = center_in_time(np.asarray(x, np.float64)).reshape(n, t, *lay.frame_shape)
    xc = xc[:, :, :, joints, :]                                    # [N, T, B, J, C]
    spec = np.abs(np.fft.rfft(xc, axis=1)) ** 2                   # [N, F, B, J, C]
    spec = spec[:, 1:bins + 1]                                    # drop DC (removed anyway)
    horizontal = spec[..., 0] + spec[..., 2] if lay.coords == 3 else spec[..., 0]
    vertical = spec[..., 1]
    feats = np.stack([horizontal, vertical], axis=-1)             # [N, F, B, J, 2]
    return np.log1p(feats * 1e4).reshape(n, -1)


def freeze_outside(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Keep the dims in `mask` moving; hold every other dim at its own temporal mean (valid
    frames only; padded frames stay zero). "Only this group moves"."""
    valid = valid_mask(x)[..., None]
    n = np.maximum(valid.sum(axis=1, keepdims=True), 1)
    mean = (x * valid).sum(axis=1, keepdims=True) / n
    frozen = np.where(valid, np.broadcast_to(mean, x.shape), 0.0)
    return np.where(mask[None, None, :], x, frozen).astype(x.dtype)
