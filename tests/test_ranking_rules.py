"""The ranking's components and candidate rules, against hand computation (plain numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.diagnose.ranking import (RULE, RULES, bootstrap_draws, freeze_inside, load_outcomes, own_correct,
                                  save_outcomes, score_group)

# 8 samples, 2 classes of 4: chance 0.5, skill = max(2·acc − 1, 0)
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])


def _outcomes():
    return {"input": np.array([[1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0, 0]], bool),       # acc 7/8, 6/8
            "model_only": np.array([[1, 1, 1, 0, 1, 1, 0, 0], [1, 1, 0, 0, 1, 1, 0, 0]], bool),  # 5/8, 4/8
            "model_without": np.array([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0]], bool),  # 6/8, 6/8
            "model_full": np.array([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 0]], bool),  # 8/8, 7/8
            "own_full": np.array([1, 1, 1, 1, 1, 1, 1, 0], bool),                              # 7/8
            "own_only": np.array([1, 0, 1, 0, 1, 0, 1, 0], bool),                              # 4/8
            "own_without": np.array([1, 1, 1, 0, 1, 1, 0, 0], bool)}                           # 5/8


# mean skills over the repeats, by hand: input (0.75 + 0.5)/2, model_only (0.25 + 0)/2, …
HAND = {"input": 0.625, "model_only": 0.125, "model_without": 0.5, "model_full": 0.875,
        "own_full": 0.75, "own_only": 0.0, "own_without": 0.25}
HAND_SCORES = {"gap_only": 0.625 - 0.125, "input": 0.625, "gap_full": 0.625 - 0.875,
               "reliance_probe": 0.625 - (0.875 - 0.5), "reliance_own": 0.625 - (0.75 - 0.25),
               "gap_weighted": 0.625 * (0.625 - 0.125), "gap_own": 0.625 - 0.75, "gap_own_only": 0.625 - 0.0,
               "gap_without": 0.625 - 0.5, "gap_own_without": 0.625 - 0.25}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_components_and_scores_match_hand_values(rule):
    draws = bootstrap_draws(Y, seed=3, repeats=2, n_boot=200)
    comps, score, low, high = score_group(_outcomes(), 0.5, rule, draws)
    assert comps == pytest.approx(HAND)
    assert score == pytest.approx(HAND_SCORES[rule])
    assert low <= high


@pytest.mark.parametrize("rule", ["gap_only", "reliance_own", "gap_weighted", "gap_own_without"])
def test_interval_is_the_rule_on_each_replicate(rule):
    """The interval recomputed replicate by replicate with loops (no vectorisation)."""
    resamples, pick = draws = bootstrap_draws(Y, seed=1, repeats=2, n_boot=300)
    out = _outcomes()
    reps = []
    for b in range(len(pick)):
        c = {}
        for k, v in out.items():
            row = v[pick[b]] if v.ndim == 2 else v
            acc = np.mean([row[i] for i in resamples[b]])
            c[k] = max((acc - 0.5) / 0.5, 0.0)
        reps.append(HAND_SCORES_FN[rule](c))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    _, _, low, high = score_group(out, 0.5, rule, draws)
    assert (low, high) == pytest.approx((lo, hi))


HAND_SCORES_FN = {"gap_only": lambda c: c["input"] - c["model_only"],
                  "reliance_own": lambda c: c["input"] - max(c["own_full"] - c["own_without"], 0.0),
                  "gap_weighted": lambda c: c["input"] * (c["input"] - c["model_only"]),
                  "gap_own_without": lambda c: c["input"] - c["own_without"]}


def test_bootstrap_draws_keep_class_counts_and_are_seeded():
    resamples, pick = bootstrap_draws(Y, seed=0, repeats=10, n_boot=50)
    assert all((Y[r] == 0).sum() == 4 for r in resamples)
    assert pick.min() >= 0 and pick.max() < 10
    r2, p2 = bootstrap_draws(Y, seed=0, repeats=10, n_boot=50)
    assert np.array_equal(resamples, r2) and np.array_equal(pick, p2)


def test_reliance_ignores_a_group_the_model_does_better_without():
    out = _outcomes()
    out["own_without"] = np.ones(8, bool)          # freezing g helps the model: no reliance, not negative
    comps, score, _, _ = score_group(out, 0.5, "reliance_own", bootstrap_draws(Y, 0, 2, 50))
    assert score == pytest.approx(comps["input"])


def test_outcomes_round_trip(tmp_path):
    out = _outcomes()
    save_outcomes(tmp_path / "o.npz", {"labels": Y, "groups": {"head": out, "right_hand": out}}, seed=7)
    labels, seed, groups = load_outcomes(tmp_path / "o.npz")
    assert seed == 7 and np.array_equal(labels, Y) and set(groups) == {"head", "right_hand"}
    for k, v in out.items():
        assert np.array_equal(groups["right_hand"][k], v)


def test_freeze_inside_holds_only_the_group():
    x = np.zeros((1, 6, 4))
    x[0, :4] = np.arange(16).reshape(4, 4)          # 4 valid frames, 2 padded
    mask = np.array([True, False, True, False])
    f = freeze_inside(x, mask)
    np.testing.assert_allclose(f[0, :4, 0], 6.0)    # mean of 0, 4, 8, 12
    np.testing.assert_allclose(f[0, :4, 2], 8.0)
    np.testing.assert_array_equal(f[0, :, 1], x[0, :, 1])
    assert not f[0, 4:].any()


def test_own_correct_is_the_models_argmax_among_the_ranking_classes():
    import keras
    t, d = 3, 4
    inp = keras.Input((t, d))
    out = keras.layers.Dense(4, use_bias=False)(keras.layers.GlobalAveragePooling1D()(inp))
    model = keras.Model(inp, out)
    model.layers[-1].set_weights([np.eye(4, dtype="float32")])   # class score = the dim's time mean
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, t, d)).astype("float32")
    y = rng.choice([1, 3], size=20)
    ids = np.array([1, 3])
    means = x.mean(axis=1)
    expected = ids[means[:, ids].argmax(axis=1)] == y                # class 0 and 2 cannot be picked
    np.testing.assert_array_equal(own_correct(model, x, y, ids), expected)


def test_the_chosen_rule_is_a_candidate():
    assert RULE in RULES


def test_chosen_rule_credits_an_ignored_group_and_a_relied_on_failing_one_not_a_redundant_one():
    """Three groups on the same weak classes, input skill 0.8 each: the model ignores g1 (its
    decisions are as poor without it), relies on g2 and still fails (without it they collapse),
    and does as well without g3 (the rest of the body gives the model what g3 offers)."""
    base = {"input": 0.8, "model_only": 0.5, "model_without": 0.5, "model_full": 0.5, "own_only": 0.1,
            "own_full": 0.3}
    score = RULES[RULE]
    ignored = score({**base, "own_without": 0.3})
    relied_on = score({**base, "own_without": 0.05})
    redundant = score({**base, "own_full": 0.8, "own_without": 0.8})
    assert (ignored, relied_on, redundant) == pytest.approx((0.5, 0.75, 0.0))
