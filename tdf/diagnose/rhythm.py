"""Rhythm concepts for unit dissection: how much a joint group oscillates in a frequency band,
per frame.

The per-frame motion concepts ("hand moving") say *that* a group moves, not *how*: a hand
flapping at 1 Hz and one trembling at 3 Hz are both "moving". Action classes that differ only
in such patterns (clapping vs rubbing hands, the synthetic data's fine classes) need concepts
that name the pattern, so a unit tuned to "left_hand oscillating 2.5–5 Hz" can be told from
one that fires with any hand motion.

Value of concept (g, band) at frame t: the short-time power of g's own velocity (each joint's
velocity minus that of the joint the group hangs from, as the motion concepts) in the band,
from a Hann-windowed FFT of `window` frames centred on t, summed over xyz and averaged over
the group's joints and the bodies present. Invalid (padded) frames are zero inside a window,
and frames whose window would be mostly padding are not valid for the concept. No smoothing:
the band limits already remove sensor jitter above the top band.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from tdf.diagnose.own_motion import bodies_present, joint_velocity, own_velocity, pair_valid
from tdf.skeleton import Layout, layout_or_default

FPS = 30.0                                   # NTU RGB+D (and the synthetic data) frame rate
WINDOW = 32                                  # frames: ~1.07 s at 30 fps, bins 0.94 Hz apart
BANDS = ((0.5, 1.5), (1.5, 2.5), (2.5, 5.0))  # Hz: slow, medium, fast oscillation


def band_name(group: str, band: tuple[float, float]) -> str:
    return f"{group} oscillating {band[0]:g}–{band[1]:g} Hz"


def band_bins(window: int, fps: float, band: tuple[float, float]) -> np.ndarray:
    """Indices of the rfft bins of a `window`-frame FFT whose frequency is in [lo, hi)."""
    freqs = np.fft.rfftfreq(window, d=1.0 / fps)
    return np.flatnonzero((freqs >= band[0]) & (freqs < band[1]))


def check_bands(bands: Sequence[tuple[float, float]], window: int, fps: float) -> None:
    if window < 4:
        raise ValueError(f"rhythm window must be ≥ 4 frames, got {window}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    for band in bands:
        lo, hi = band
        if not 0 <= lo < hi:
            raise ValueError(f"a band is (low Hz, high Hz) with 0 ≤ low < high, got {band!r}")
        if len(band_bins(window, fps, band)) == 0:
            raise ValueError(f"band {lo:g}–{hi:g} Hz holds no frequency of a {window}-frame window at "
                             f"{fps:g} fps (bins are {fps / window:.3g} Hz apart, up to {fps / 2:g} Hz)")


def short_time_power(signal: np.ndarray, window: int, bins_per_band: Sequence[np.ndarray],
                     chunk: int = 8) -> np.ndarray:
    """signal [N, T, C] → band power [N, T, len(bands)] of Hann windows centred on each frame,
    summed over the C channels. A window starting before frame 0 or ending after T − 1 sees zeros."""
    n, t, c = signal.shape
    hann = np.hanning(window + 2)[1:-1]               # no zero end points: every frame counts
    scale = 1.0 / np.sum(hann ** 2)
    half = window // 2
    out = np.zeros((n, t, len(bins_per_band)))
    for start in range(0, n, chunk):
        s = signal[start:start + chunk]
        padded = np.pad(s, ((0, 0), (half, window - half), (0, 0)))
        frames = np.lib.stride_tricks.sliding_window_view(padded, window, axis=1)[:, :t]  # [n, T, C, W]
        spectrum = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2 * scale               # [n, T, C, F]
        power = spectrum.sum(axis=2)                                                      # [n, T, F]
        for b, bins in enumerate(bins_per_band):
            out[start:start + chunk, :, b] = power[..., bins].sum(-1)
    return out


def group_rhythm(x: np.ndarray, groups: Mapping[str, Sequence[str]] | None = None, *,
                 fps: float = FPS, window: int = WINDOW,
                 bands: Sequence[tuple[float, float]] = BANDS,
                 layout: Layout | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(concept names, values [N, T, K·len(bands)], valid [N, T]) before thresholding.

    A frame is valid when it and the frame before are valid (the velocity needs both) and at
    least half of its window is.
    """
    check_bands(bands, window, fps)
    x = np.asarray(x, np.float64)
    lay = layout_or_default(layout, groups)
    n, t, _ = x.shape
    pair_ok = pair_valid(x)
    half = window // 2
    counts = np.pad(pair_ok.astype(np.float64), ((0, 0), (half, window - half)))
    counts = np.lib.stride_tricks.sliding_window_view(counts, window, axis=1)[:, :t].sum(-1)
    valid_out = pair_ok & (counts >= window / 2)
    present = bodies_present(x, lay)                                                   # [N, T, B]
    v_all = joint_velocity(x, lay)
    n_bodies = np.maximum(present.any(axis=1).sum(-1), 1)                              # [N]
    bins = [band_bins(window, fps, band) for band in bands]
    names, values = [], []
    for g in lay.groups:
        joints = lay.group_joints(g)
        v = own_velocity(v_all, joints, lay) * (present[..., None, None] & pair_ok[:, :, None, None, None])
        power = short_time_power(v.reshape(n, t, -1), window, bins)                    # [N, T, bands]
        power /= (len(joints) * n_bodies)[:, None, None]
        names += [band_name(g, band) for band in bands]
        values.append(power)
    return names, np.concatenate(values, axis=-1), valid_out
