"""Pure numpy transforms of skeleton sequences: view normalisation, augmentation, resampling and
the derived input features of pyskl / CTR-GCN (joint, bone, joint motion, bone motion).

A sequence is `x [t, bodies, joints, coords]` holding only its valid frames (no padding); a body
absent from a frame is all zeros there and stays all zeros through every transform. The vertical
axis is coordinate 1 (y, as Kinect writes it); a rotation "about the vertical axis" mixes x and z.
Nothing here reads files or keeps state: the batch reader (`tdf.data.model_input`) calls these per
sample, so the data pipeline stays streaming.

References for the recipe: pyskl's PreNormalize3D (translate to a centre joint, rotate to a
canonical view), RandomRot / RandomScale and UniformSample; CTR-GCN's bone and motion streams
(Chen et al., "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action
Recognition", arXiv:2107.12213; Duan et al., "PYSKL: Towards Good Practices for Skeleton Action
Recognition", arXiv:2205.09443).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

FEATURES = ("joint", "bone", "joint_motion", "bone_motion")
VERTICAL = 1  # y


def present(x: np.ndarray) -> np.ndarray:
    """bool [t, bodies]: the body has a non-zero value in that frame."""
    return np.any(x != 0, axis=-1).any(axis=-1)


def valid_length(x: np.ndarray) -> int:
    """Frames up to the last one with any non-zero value (the store's `length` rule), for a
    zero-padded `x [T, ...]`."""
    nz = np.flatnonzero(np.any(x.reshape(len(x), -1) != 0, axis=1))
    return int(nz[-1]) + 1 if len(nz) else 0


def _keep_absent_zero(out: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None, None], out, 0).astype(np.float32)


def yaw_rotation(angle: float) -> np.ndarray:
    """3×3 rotation by `angle` (radians) about the vertical axis y:
    x' = cos·x + sin·z, z' = −sin·x + cos·z (applied as `v @ R.T`)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotate_yaw(x: np.ndarray, angle: float) -> np.ndarray:
    """Rotate every joint of `x` by `angle` radians about the vertical axis (3-D only)."""
    if x.shape[-1] != 3:
        return x.astype(np.float32)
    mask = present(x)
    return _keep_absent_zero(x @ yaw_rotation(angle).T, mask)


def body_yaw(x: np.ndarray, across: Sequence[tuple[int, int]]) -> float | None:
    """The heading of body 0: the angle of its mean left − right vector (over the `across` joint
    pairs, e.g. shoulders and hips, and its present frames) in the horizontal x–z plane,
    measured from +x towards +z. None when the body is absent or the vector is vertical."""
    mask = present(x)[:, 0]
    if not mask.any() or not across or x.shape[-1] != 3:
        return None
    body = x[mask, 0].astype(np.float64)
    v = sum(body[:, left] - body[:, right] for left, right in across).mean(axis=0)
    if np.hypot(v[0], v[2]) < 1e-9:
        return None
    return float(np.arctan2(v[2], v[0]))


def body_up(x: np.ndarray, across: Sequence[tuple[int, int]]) -> np.ndarray | None:
    """Body 0's spine direction: the mean (over its present frames) of the midpoint of the first
    `across` pair (the shoulders) minus the midpoint of the second (the hips). None without two
    pairs, without body 0, or when the two midpoints coincide."""
    mask = present(x)[:, 0]
    if len(across) < 2 or not mask.any() or x.shape[-1] != 3:
        return None
    body = x[mask, 0].astype(np.float64)
    (l1, r1), (l2, r2) = across[0], across[1]
    v = ((body[:, l1] + body[:, r1]) - (body[:, l2] + body[:, r2])).mean(axis=0) / 2
    n = np.linalg.norm(v)
    return None if n < 1e-9 else v / n


def rotation_onto(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The 3×3 rotation (smallest angle, about u × v) taking unit vector `u` onto unit vector `v`
    (Rodrigues' formula; applied as `p @ R.T`)."""
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    axis = np.cross(u, v)
    s, c = np.linalg.norm(axis), float(np.dot(u, v))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # opposite: half a turn about any axis perpendicular to u
        w = np.cross(u, np.eye(3)[int(np.argmin(np.abs(u)))])
        w /= np.linalg.norm(w)
        return 2 * np.outer(w, w) - np.eye(3)
    k = axis / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * K + (1 - c) * (K @ K)


def normalize_view(x: np.ndarray, centre: int, across: Sequence[tuple[int, int]] = (),
                   rotate: bool = True, upright: bool = False) -> np.ndarray:
    """Translate so body 0's `centre` joint in its first present frame is the origin (every body,
    every frame: the global trajectory is kept, as the first frame fixes the origin), then, with
    `rotate`, turn about the vertical axis so body 0's left − right vector points along +x
    (a canonical view). With `upright` as well, first rotate body 0's spine (hips' midpoint →
    shoulders' midpoint, `body_up`) onto the vertical axis — a camera's tilt and roll removed
    too, as pyskl's PreNormalize3D aligns the spine with one axis and the shoulders with another.
    Absent bodies stay zero."""
    mask = present(x)
    if not mask[:, 0].any():
        return x.astype(np.float32)
    first = int(np.flatnonzero(mask[:, 0])[0])
    out = x.astype(np.float64) - x[first, 0, centre].astype(np.float64)
    out = np.where(mask[..., None, None], out, 0)
    if upright:
        up = body_up(out, across)
        if up is not None:
            out = out @ rotation_onto(up, np.eye(3)[VERTICAL]).T
    if rotate or upright:
        yaw = body_yaw(out, across)
        if yaw is not None:
            # rotating by +yaw maps heading yaw to 0: x' = cos·x + sin·z on (cos yaw, sin yaw) = 1
            out = out @ yaw_rotation(yaw).T
    return _keep_absent_zero(out, mask)


def resample(x: np.ndarray, frames: int, start: float = 0.0, stop: float | None = None) -> np.ndarray:
    """`frames` frames linearly interpolated over x[start … stop] (default: all of x; positions
    in frames, evenly spaced, both ends included). A body is present in an output frame when it
    is present in both frames it is interpolated from."""
    t = len(x)
    if t == 0:
        return np.zeros((frames,) + x.shape[1:], np.float32)
    stop = float(t - 1) if stop is None else float(stop)
    pos = np.linspace(float(start), stop, frames) if frames > 1 else np.array([(start + stop) / 2])
    pos = np.clip(pos, 0, t - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[:, None, None, None]
    out = x[lo] * (1 - w) + x[hi] * w
    mask = present(x)
    both = mask[lo] & np.where(w[:, :, 0, 0] > 0, mask[hi], True)
    return _keep_absent_zero(out, both)


def bones(x: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """joint − parent joint for every joint (the root, parent −1, gets zeros)."""
    parents = np.asarray(parents, np.int64)
    par = np.where(parents < 0, np.arange(len(parents)), parents)
    return np.where(present(x)[..., None, None], x - x[..., par, :], 0).astype(np.float32)


def motion(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """x[t+1] − x[t] along the time axis of `x [..., t, bodies, joints, coords]`, zero in the last
    frame and wherever the body is absent (per `mask [..., t, bodies]`, default: `present(x)`)
    in either frame."""
    out = np.zeros_like(x, dtype=np.float32)
    if x.shape[-4] < 2:
        return out
    mask = present(x) if mask is None else mask
    both = mask[..., 1:, :] & mask[..., :-1, :]
    out[..., :-1, :, :, :] = np.where(both[..., None, None], x[..., 1:, :, :, :] - x[..., :-1, :, :, :], 0)
    return out


def features(x: np.ndarray, parents: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Stack the named features of `x [..., t, bodies, joints, coords]` as a last axis:
    `[..., t, bodies, joints, coords, len(names)]` — every feature stays at its joint, so a mask
    over joints selects all of a joint's channels."""
    mask = present(x)
    out = []
    b = None
    for name in names:
        if name == "joint":
            out.append(x.astype(np.float32))
        elif name == "bone":
            b = bones(x, parents) if b is None else b
            out.append(b)
        elif name == "joint_motion":
            out.append(motion(x, mask))
        elif name == "bone_motion":
            b = bones(x, parents) if b is None else b
            out.append(motion(b, mask))
        else:
            raise ValueError(f"unknown feature {name!r}; known: {', '.join(FEATURES)}")
    return np.stack(out, axis=-1)


def augment(x: np.ndarray, rng: np.random.Generator, rotate_deg: float = 0.0,
            scale: float = 0.0, crop: float = 1.0) -> tuple[np.ndarray, float, float]:
    """Random training augmentation of one sequence: rotation about the vertical axis by
    U(−rotate_deg, rotate_deg), per-axis scaling by 1 + U(−scale, scale), and a temporal crop to
    a fraction U(crop, 1) of the frames at a random start. Returns (x, crop start, crop stop) —
    the crop as frame positions for `resample`, so cropping and resampling interpolate once.
    The draws are made in a fixed order whatever is switched off, so one rng state gives one
    augmentation."""
    angle = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg))
    factors = 1.0 + rng.uniform(-scale, scale, size=x.shape[-1])
    frac = rng.uniform(crop, 1.0)
    offset = rng.uniform(0.0, 1.0)
    mask = present(x)
    out = x.astype(np.float64)
    if rotate_deg > 0 and x.shape[-1] == 3:
        out = out @ yaw_rotation(angle).T
    if scale > 0:
        out = out * factors
    t = len(x)
    span = (t - 1) * (frac if crop < 1 else 1.0)
    start = (t - 1 - span) * offset
    return _keep_absent_zero(out, mask), float(start), float(start + span)
