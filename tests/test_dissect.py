"""Unit dissection: IoU on hand-made masks, time pooling, concept masks on a sequence where
only one group moves, per-unit thresholds, and a whole layer with planted unit ↔ concept pairs."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.layout import JOINT_INDEX, N_JOINTS, group_joints
from tdf.diagnose.dissect import (
    DissectOptions, chance_iou, concept_masks, dissect, dissect_layer, iou, to_resolution, unit_masks, valid_at)


def test_iou_on_hand_made_masks():
    u = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], bool)          # 4 positions, 2 units
    c = np.array([[1, 0, 0], [1, 0, 1], [1, 0, 1], [0, 0, 0]], bool)  # 3 concepts
    got = iou(u, c)
    # unit0 {0,1} vs c0 {0,1,2}: 2/3; vs c1 {}: 0 (union 2); vs c2 {1,2}: 1/3
    # unit1 {1,2} vs c0: 2/3; vs c1: 0; vs c2: 2/2
    np.testing.assert_allclose(got, [[2 / 3, 0, 1 / 3], [2 / 3, 0, 1]])
    assert iou(np.zeros((3, 1), bool), np.zeros((3, 1), bool))[0, 0] == 0.0


def test_chance_iou():
    np.testing.assert_allclose(chance_iou([0.2], [0.2]), [[0.04 / 0.36]])


def test_to_resolution_windows():
    a = np.arange(8, dtype=float)[None, :, None]
    np.testing.assert_allclose(to_resolution(a, 4)[0, :, 0], [0.5, 2.5, 4.5, 6.5])
    np.testing.assert_allclose(to_resolution(a, 8), a)
    # 7 frames → 4 steps: windows [0,2) [1,4) [3,6) [5,7)
    b = np.arange(7, dtype=float)[None, :]
    np.testing.assert_allclose(to_resolution(b, 4)[0], [0.5, 2.0, 4.0, 5.5])
    valid = np.array([[True] * 5 + [False] * 3])
    assert valid_at(valid, 4).tolist() == [[True, True, True, False]]
    with pytest.raises(ValueError):
        to_resolution(a, 9)


def _still(n=2, t=20):
    x = np.zeros((n, t, 2, N_JOINTS, 3))
    x[:, :, 0, :, 1] = np.linspace(0, 1.6, N_JOINTS)       # one standing body, body 2 absent
    return x


def test_concepts_fire_for_the_moving_group_only():
    x = _still()
    hand = JOINT_INDEX["HandLeft"]
    t = np.arange(20)
    x[0, 14:, 0, hand, 0] += 0.05 * np.sin(t[14:])          # the left hand wiggles in frames 14…
    # a raised arm carries its hand: the hand's own motion (relative to the elbow) stays zero
    for j in group_joints("left_arm") + group_joints("left_hand"):
        x[1, :, 0, j, 1] += 0.02 * t
    names, masks, valid, thr = concept_masks(x.reshape(2, 20, 150), quantile=0.8, smooth=1, slight_quantile=None)
    assert valid.all() and len(names) == 8 and thr.shape == (8, 2)
    lh = names.index("left_hand moving")
    assert masks[0, 14:, lh].all() and not masks[0, :14, lh].any()
    assert not masks[1, :, lh].any()
    others = [k for k, n in enumerate(names) if n not in ("left_hand moving", "left_arm moving")]
    assert not masks[0][:, others].any()
    # with smoothing the wiggle still switches the concept on around frames 14…, never early
    names_s, masks_s, _, _ = concept_masks(x.reshape(2, 20, 150), quantile=0.8, slight_quantile=None)
    assert masks_s[0, 15:19, lh].any() and not masks_s[0, :11, lh].any()
    # direction concepts come in pairs; "slightly" doubles the speed concepts
    names_d, _, _, _ = concept_masks(x.reshape(2, 20, 150), quantile=0.8, directions=True, slight_quantile=None)
    assert len(names_d) == 3 * len(names) and "left_hand rising" in names_d
    names_l, _, _, _ = concept_masks(x.reshape(2, 20, 150))
    assert len(names_l) == 16 and "left_hand moving slightly" in names_l


def test_slight_concept_is_the_band_between_quantiles():
    x = _still(1, 41)
    hand = JOINT_INDEX["HandRight"]
    x[0, :, 0, hand, 0] += np.cumsum(np.linspace(0, 0.04, 41))    # speed grows linearly 0 … 4 cm/frame
    names, masks, _, thr = concept_masks(x.reshape(1, 41, 150), quantile=0.8, smooth=1, slight_quantile=0.5)
    fast, slight = names.index("right_hand moving"), names.index("right_hand moving slightly")
    assert not (masks[..., fast] & masks[..., slight]).any()
    on_fast = np.flatnonzero(masks[0, :, fast])
    on_slight = np.flatnonzero(masks[0, :, slight])
    assert on_fast.min() > on_slight.max()                        # speed grows with t
    assert len(on_fast) == pytest.approx(0.2 * 41, abs=2) and len(on_slight) == pytest.approx(0.3 * 41, abs=2)
    assert thr[slight][1] == thr[fast][0]
    # a data set's thresholds applied to one sample give the same masks
    _, again, _, _ = concept_masks(x.reshape(1, 41, 150), quantile=0.8, smooth=1, thresholds=thr)
    np.testing.assert_array_equal(again, masks)


def test_smoothing_keeps_padding():
    from tdf.diagnose.dissect import smooth_time
    x = np.zeros((1, 6, 150))
    x[0, :4, 0] = [1.0, 2.0, 3.0, 4.0]
    x[0, :4, 1] = 1.0
    y = smooth_time(x, 3)
    np.testing.assert_allclose(y[0, :4, 0], [1.5, 2.0, 3.0, 3.5])   # the padded frames 4, 5 do not count
    assert (y[0, 4:] == 0).all()


def test_unit_masks_use_each_units_own_threshold():
    acts = np.zeros((1, 10, 2))
    acts[0, :, 0] = np.arange(10)            # unit 0: 0…9
    acts[0, :, 1] = 100 + np.arange(10)      # unit 1: the same shape, shifted
    valid = np.ones((1, 10), bool)
    valid[0, 9] = False                      # frame 9 does not count
    on, thr = unit_masks(acts, valid, quantile=0.75)
    np.testing.assert_allclose(thr, [6.0, 106.0])
    assert on[0, :, 0].tolist() == on[0, :, 1].tolist() == [False] * 7 + [True, True, False]


def test_layer_with_planted_units():
    rng = np.random.default_rng(0)
    n, t = 4, 40
    coarse = rng.random((n, t // 2, 3)) > 0.8
    concepts = np.repeat(coarse, 2, axis=1)                     # exact at the coarse resolution
    valid = np.ones((n, t), bool)
    acts = rng.normal(0, 1, (n, t // 2, 4))                     # a stride-2 layer
    acts[..., 1] = coarse[..., 2] * 5 + rng.normal(0, 0.01, (n, t // 2))   # unit 1 = concept 2
    d = dissect_layer(acts, valid, concepts, ["a", "b", "c"], DissectOptions(unit_quantile=0.8, iou_threshold=0.5))
    assert d["unit_results"][1]["concept"] == "c" and d["unit_results"][1]["iou"] > 0.7
    assert d["units_per_concept"]["c"] >= 1
    assert d["time_steps"] == t // 2
    assert np.asarray(d["iou"]).shape == (4, 3)


def test_dissect_on_a_model():
    from tdf.models import build_res_tcn
    m = build_res_tcn(3, filters=(4, 8), units_per_block=1, kernel_size=3)
    x = np.random.default_rng(0).normal(0, 0.1, (3, 16, 150)).astype(np.float32)
    d = dissect(m, x)
    assert list(d["layers"]) == ["conv1", "unit2", "unit3"]
    assert d["layers"]["unit3"]["units"] == 8 and d["layers"]["unit3"]["time_steps"] == 8
    # 8 groups × ("moving", "moving slightly") + 8 groups × 3 rhythm bands
    assert len(d["concepts"]) == 16 + 24 and "right_leg oscillating 2.5–5 Hz" in d["concepts"]
    plain = dissect(m, x, opts=DissectOptions(rhythms=False))
    assert len(plain["concepts"]) == 16 and not plain["options"]["rhythms"]
