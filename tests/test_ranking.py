"""The pieces of the weak-group ranking: probe, motion features, weak classes, recommendation."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.layout import group_joints, group_mask
from tdf.diagnose.features import center_in_time, freeze_outside, group_motion_features
from tdf.diagnose.probe import probe_accuracy, stratified_folds
from tdf.diagnose.ranking import recommend
from tdf.diagnose.weak_classes import confusion_set, weak_classes


def test_folds_are_a_stratified_partition():
    y = np.array([0] * 10 + [1] * 5)
    folds = stratified_folds(y, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(15))
    assert all((y[f] == 1).sum() == 1 for f in folds)


def test_probe_separable_vs_noise():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    x = rng.normal(size=(90, 5))
    assert probe_accuracy(x, y, seed=0)["skill"] < 0.25
    x[:, 0] += 3 * y  # one informative feature
    r = probe_accuracy(x, y, seed=0)
    assert r["accuracy"] > 0.9 and r["skill"] > 0.85 and r["chance"] == pytest.approx(1 / 3)
    assert probe_accuracy(x, y, seed=0) == r  # deterministic


def _seq(n=4, t=32):
    x = np.zeros((n, t, 150))
    x[:, :, :] = 0.5  # a static posture everywhere
    return x


def test_motion_features_ignore_static_offsets_and_see_motion():
    x = _seq()
    x[1] += 0.3                                  # another posture, no motion
    j = group_joints("right_hand")[0]
    x[2, :, 3 * j] += 0.05 * np.sin(np.arange(32))  # right hand moves (body a, x)
    f = group_motion_features(x, group_joints("right_hand"))
    np.testing.assert_allclose(f[0], f[1])       # a static offset is not motion
    assert f[2].sum() > f[0].sum() + 1
    f_left = group_motion_features(x, group_joints("left_hand"))
    np.testing.assert_allclose(f_left[2], f_left[0])


def test_center_and_freeze_keep_padding_zero():
    x = _seq(1, 10)
    x[0, 7:] = 0  # 7 valid frames
    x[0, :7, 0] = np.arange(7)
    c = center_in_time(x)
    assert np.allclose(c[0, :7, 0], np.arange(7) - 3) and not c[0, 7:].any()
    mask = group_mask("head")
    fr = freeze_outside(x, mask)
    assert np.allclose(fr[0, :7, 0], 3) and not fr[0, 7:].any()   # dim 0 (SpineBase) frozen at its mean
    assert np.array_equal(fr[:, :, mask], x[:, :, mask])


def test_weak_classes_and_confusions():
    metrics = {"class_names": ["a", "b", "c", "d"],
               "per_class_accuracy": {"a": 1.0, "b": 0.9, "c": 0.2, "d": 0.95},
               "confusion_matrix": [[10, 0, 0, 0], [1, 9, 0, 0], [0, 6, 2, 2], [0, 0, 0, 10]]}
    weak = weak_classes(metrics)
    assert [w["class"] for w in weak] == ["c"]
    assert weak[0]["confused_with"] == [["b", 0.6], ["d", 0.2]]
    assert confusion_set(weak) == ["c", "b", "d"]


def test_recommend_merges_composites():
    rows = [{"name": "right_hand", "score": 0.8}, {"name": "left_hand", "score": 0.7},
            {"name": "head", "score": 0.1}]
    assert recommend(rows) == ["hands"]
    rows[1]["score"] = 0.2
    assert recommend(rows) == ["right_hand"]
    assert recommend([{"name": "head", "score": 0.05}]) == []


def test_recommend_needs_the_interval_to_clear_the_threshold():
    from tdf.diagnose.ranking import THRESHOLD
    rows = [{"name": "head", "score": 0.6, "score_low": THRESHOLD - 0.01, "score_high": 0.9},
            {"name": "torso", "score": 0.4, "score_low": THRESHOLD + 0.01, "score_high": 0.5}]
    assert recommend(rows) == ["torso"]          # head scores higher but is not sure
    rows[1]["score_low"] = 0.0
    assert recommend(rows) == []


def test_stratified_resamples_keep_class_counts():
    from tdf.diagnose.ranking import stratified_resamples
    y = np.array([0] * 7 + [1] * 3 + [2] * 5)
    r = stratified_resamples(y, 50, np.random.default_rng(0))
    assert r.shape == (50, 15)
    assert (y[r] == y[None, :]).all()            # each position keeps its class
    assert len(np.unique(r[:, :7])) > 1


def test_probe_correct_averages_to_probe_accuracy():
    from tdf.diagnose.probe import probe_correct, skill_of
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 20)
    x = rng.normal(size=(60, 4))
    x[:, 0] += 1.5 * y
    correct, chance = probe_correct(x, y, seed=3)
    r = probe_accuracy(x, y, seed=3)
    assert correct.mean() == pytest.approx(r["accuracy"]) and chance == pytest.approx(1 / 3)
    assert skill_of(correct.mean(), chance) == pytest.approx(r["skill"])


def test_probe_on_constant_features_is_chance():
    y = np.repeat([0, 1], 10)
    r = probe_accuracy(np.zeros((20, 6)), y, seed=0)
    assert r["skill"] == 0.0
