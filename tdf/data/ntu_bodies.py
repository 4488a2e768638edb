"""Denoise the bodies of one NTU sample and place the two main actors (docs/ntu-format.md#choosing-the-bodies).

The rule is CTR-GCN's (`Uason-Chen/CTR-GCN:data/ntu/get_raw_denoised_data.py`, borrowed from
SGN), which follows the official FAQ ("add up the variance of X, Y and Z of all joints; the body
with the higher value is the main subject"; noise bodies such as furniture have an implausible
X spread over Y spread):

1. Frames that list no body are dropped.
2. A sample with one bodyID keeps it, whatever its length.
3. With several bodyIDs, `motion = sum over x, y, z of var(all joints of all its frames)`.
4. Length filter: drop every bodyID seen in ≤ 11 frames.
5. Spread filter (skipped when one bodyID is left): a frame of a body is noisy when
   `x.max()-x.min() > 0.8 * (y.max()-y.min())` over its 25 joints. Bodies are visited in
   first-appearance order; a body with noisy-frame ratio ≥ 0.69754 is dropped unless it is the
   last one left, otherwise, if it has noisy frames, its motion becomes
   `min(motion, motion over its non-noisy frames)`.
6. Remaining bodies sorted by motion, descending (ties keep first-appearance order). Actor 1 =
   the first. Each next body goes to actor 1's slot if its frame span [first, last] does not
   overlap actor 1's span (which then grows to cover it), else to actor 2's slot under the same
   test, else it is discarded.
7. Frames where neither actor is present are removed; the rest is `[t, 2, 25, 3]`, zeros in a
   slot without a body. A single actor leaves slot 2 at zero (CTR-GCN's NTU-60 convention).

Two deliberate differences from CTR-GCN's code, both fixing its bookkeeping, not the rule:
spans use the true frame indices (CTR-GCN assumes a body is present in consecutive frames
after its first one), and "no overlap" means the spans share no frame (CTR-GCN's
`min(end) - max(start) <= 0` lets spans that share one frame overwrite each other there; an
empty actor-2 slot accepts any body, where CTR-GCN's virtual span [0, 0] did so only by that
same quirk). Presence, not a zero coordinate sum, decides which frames are empty.

A sample whose frames all end up empty (all frames had no body, or no bodyID outlived the length
filter) gives t = 0: the caller treats it as a missing-skeleton sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tdf.data.ntu_reader import BodyTrack, SkeletonFile

NOISE_LEN_THRES = 11
NOISE_SPR_THRES1 = 0.8
NOISE_SPR_THRES2 = 0.69754


@dataclass
class BodyChoice:
    """The result of denoising one sample."""

    x: np.ndarray                 # float32 [t, 2, 25, 3]
    frames: np.ndarray            # int32 [t] source frame index of each row
    actors: tuple[list[int], list[int]]  # bodyIDs placed in slot 1 and slot 2, placement order
    motion: dict[int, float] = field(default_factory=dict)  # final motion of each kept bodyID
    dropped: dict[int, str] = field(default_factory=dict)   # bodyID → why it was dropped

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


def body_motion(xyz: np.ndarray) -> float:
    """Sum over x, y, z of the variance of all joint positions (official FAQ / CTR-GCN)."""
    if len(xyz) == 0:
        return 0.0
    return float(np.var(np.asarray(xyz, np.float64).reshape(-1, 3), axis=0).sum())


def noisy_frames(xyz: np.ndarray) -> np.ndarray:
    """bool [n]: frames whose x spread exceeds 0.8 × the y spread (furniture-like bodies)."""
    xyz = np.asarray(xyz, np.float64)
    xs = xyz[:, :, 0].max(1) - xyz[:, :, 0].min(1)
    ys = xyz[:, :, 1].max(1) - xyz[:, :, 1].min(1)
    return xs > NOISE_SPR_THRES1 * ys


def choose_bodies(sk: SkeletonFile) -> BodyChoice:
    """Apply the rule of the module docstring to a parsed file."""
    tracks: dict[int, BodyTrack] = dict(sk.bodies)
    motion: dict[int, float] = {}
    dropped: dict[int, str] = {}
    if len(tracks) > 1:
        motion = {bid: body_motion(t.xyz) for bid, t in tracks.items()}
        for bid, t in list(tracks.items()):
            if len(t) <= NOISE_LEN_THRES:
                dropped[bid] = f"length {len(t)} ≤ {NOISE_LEN_THRES} frames"
                del tracks[bid]
        if len(tracks) > 1:
            for bid, t in list(tracks.items()):
                if len(tracks) == 1:
                    break
                noisy = noisy_frames(t.xyz)
                n_noisy = int(noisy.sum())
                if n_noisy == 0:
                    continue
                ratio = n_noisy / len(t)
                if ratio >= NOISE_SPR_THRES2:
                    dropped[bid] = f"spread: {ratio:.3f} of frames have x-spread > 0.8·y-spread"
                    del tracks[bid]
                else:
                    motion[bid] = min(motion[bid], body_motion(t.xyz[~noisy]))
    order = sorted(tracks, key=lambda b: -motion.get(b, 0.0))  # stable: ties keep file order
    return _place(sk, [tracks[b] for b in order], {b: motion[b] for b in order if b in motion}, dropped)


def _place(sk: SkeletonFile, ranked: list[BodyTrack], motion: dict[int, float],
           dropped: dict[int, str]) -> BodyChoice:
    """Fill the two actor slots by non-overlapping spans and drop frames without an actor."""
    x = np.zeros((sk.n_frames, 2, 25, 3), np.float32)
    present = np.zeros((sk.n_frames, 2), bool)
    actors: tuple[list[int], list[int]] = ([], [])
    spans: list[tuple[int, int] | None] = [None, None]
    for t in ranked:
        s, e = int(t.frames[0]), int(t.frames[-1])
        for slot in (0, 1):
            span = spans[slot]
            if span is None or min(span[1], e) < max(span[0], s):  # no shared frame
                x[t.frames, slot] = t.xyz
                present[t.frames, slot] = True
                spans[slot] = (s, e) if span is None else (min(s, span[0]), max(e, span[1]))
                actors[slot].append(t.body_id)
                break
        else:
            dropped[t.body_id] = "overlaps both actors"
    keep = np.flatnonzero(present.any(1)).astype(np.int32)
    return BodyChoice(x[keep], keep, actors, motion, dropped)
