"""Rhythm concepts: band power against an explicit DFT, band assignment of pure tones, padding,
and their use as dissection concepts."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.layout import JOINT_INDEX, N_JOINTS, group_joints
from tdf.diagnose.dissect import concept_masks
from tdf.diagnose.rhythm import band_name, check_bands, group_rhythm

FPS, W = 30.0, 32


def _still(n=1, t=96):
    x = np.zeros((n, t, 2, N_JOINTS, 3))
    x[:, :, 0, :, 1] = np.linspace(0, 1.6, N_JOINTS)       # one standing body, body 2 absent
    return x


def _wiggle(x, joint, hz, amp=0.05, frames=slice(None)):
    t = np.arange(x.shape[1])[frames]
    x[:, frames, 0, JOINT_INDEX[joint], 0] += amp * np.sin(2 * np.pi * hz * t / FPS)
    return x


def test_band_power_matches_an_explicit_dft():
    x = _wiggle(_still(), "HandLeft", 2.0)
    bands = ((0.5, 1.5), (1.5, 2.5), (2.5, 5.0))
    names, values, valid = group_rhythm(x.reshape(1, 96, 150), fps=FPS, window=W, bands=bands)
    # independent: the hand's own velocity (relative to the wrist, which is still), one frame's
    # Hann window centred on it, a DFT written out as a sum, averaged over the group's joints
    p = x.reshape(1, 96, 150)[0].reshape(96, 2, N_JOINTS, 3)[:, 0]
    v = np.diff(p, axis=0, prepend=p[:1])
    v[0] = v[1]
    t0, half = 40, W // 2
    seg = v[t0 - half:t0 - half + W]                          # [W, 25, 3]
    hann = np.hanning(W + 2)[1:-1]
    k = np.arange(W // 2 + 1)
    n = np.arange(W)
    dft = (hann[:, None] * np.exp(-2j * np.pi * np.outer(n, k) / W)).T    # [F, W]
    joints = group_joints("left_hand")
    power = sum((np.abs(dft @ seg[:, j, c]) ** 2) for j in joints for c in range(3)) / np.sum(hann ** 2)
    freqs = k * FPS / W
    expected = [power[(freqs >= lo) & (freqs < hi)].sum() / len(joints) for lo, hi in bands]
    got = [values[0, t0, names.index(band_name("left_hand", b))] for b in bands]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert valid[0, half:-half].all()


@pytest.mark.parametrize("hz, band", [(0.94, 0), (1.9, 1), (3.75, 2)])
def test_a_pure_tone_lands_in_its_band_for_its_group_only(hz, band):
    x = _wiggle(_still(), "HandRight", hz)
    names, values, valid = group_rhythm(x.reshape(1, 96, 150), fps=FPS, window=W)
    mid = values[0, 40:56]
    rh = [names.index(n) for n in names if n.startswith("right_hand ")]
    powers = mid[:, rh].mean(0)
    # a Hann window leaks a quarter of an on-bin tone's amplitude into each neighbouring bin
    # (power 1/16 each), and bands of one bin have only one neighbour in another band: > 3×
    assert np.argmax(powers) == band and powers[band] > 3 * np.delete(powers, band).max()
    others = [k for k, n in enumerate(names) if not n.startswith(("right_hand ", "right_arm "))]
    assert np.abs(mid[:, others]).max() < 1e-20


def test_padding_is_invalid_and_does_not_leak():
    x = _wiggle(_still(t=96), "HandLeft", 3.75)
    x[:, 60:] = 0                                           # a 60-frame sequence padded to 96
    names, values, valid = group_rhythm(x.reshape(1, 96, 150), fps=FPS, window=W)
    assert not valid[0, 60:].any()
    assert valid[0, :60].all()          # a centred window is at least half inside the sequence
    # … unless the sequence is shorter than half a window: then no frame has a rhythm
    tiny = _still(t=96)
    tiny[:, 12:] = 0
    assert not group_rhythm(tiny.reshape(1, 96, 150), fps=FPS, window=W)[2].any()
    short = x[:, :60].reshape(1, 60, 150)
    _, v60, _ = group_rhythm(short, fps=FPS, window=W)
    np.testing.assert_allclose(values[0, :60], v60[0], atol=1e-15)


def test_rhythm_concepts_fire_where_the_group_oscillates():
    x = np.concatenate([_wiggle(_still(), "HandLeft", 3.75, frames=slice(48, None)), _still()])
    names, masks, valid, thr = concept_masks(x.reshape(2, 96, 150), quantile=0.8, slight_quantile=None,
                                             rhythms=True)
    fast = names.index("left_hand oscillating 2.5–5 Hz")
    slow = names.index("left_hand oscillating 0.5–1.5 Hz")
    assert masks[0, 64:80, fast].all() and not masks[0, :24, fast].any() and not masks[1, :, fast].any()
    assert not masks[0, 64:80, slow].any()                   # a 3.75 Hz tremor is not a slow swing
    # applying the data set's thresholds to one sample gives the same masks
    _, again, _, _ = concept_masks(x[:1].reshape(1, 96, 150), quantile=0.8, slight_quantile=None,
                                   rhythms=True, thresholds=thr)
    assert np.array_equal(again[0], masks[0])


@pytest.mark.parametrize("bands, window, match", [
    (((1.0, 0.5),), 32, "low < high"),
    (((0.1, 0.5),), 32, "holds no frequency"),
    (((0.5, 1.5),), 2, "window"),
])
def test_bad_bands(bands, window, match):
    with pytest.raises(ValueError, match=match):
        check_bands(bands, window, FPS)
