"""Faithfulness of relevance maps: deletion/insertion curves checked by hand on a linear toy
model, a Res-TCN that can only see the head, and the model-randomisation sanity check."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.layout import D, GROUPS, group_mask
from tdf.diagnose.deletion import (area, curves, occlusion_relevance, random_orders, relevance_order,
                                   segment_masks, unit_relevance)
from tdf.diagnose.randomisation import cascade_stages, randomisation_check, spearman

NAMES = list(GROUPS)
MASKS = np.stack([group_mask(g) for g in NAMES])
HEAD = NAMES.index("head")


def _linear_predict(weight=2.0):
    """Logits [a·s(x), 0] with s(x) = Σ over the head's dims and all frames of x (reference 0):
    only the head matters; p_0 = sigmoid(a·s)."""
    head = MASKS[HEAD]

    def predict(x):
        s = x[:, :, head].sum(axis=(1, 2))
        return np.stack([weight * s, np.zeros_like(s)], axis=1)
    return predict


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _toy_x(n=3, t=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.1, size=(n, t, D)).astype(np.float32)   # positive: head is evidence for class 0
    x[0, 3] = 0                                                        # a padded frame
    return x


def test_area_is_the_trapezoid():
    assert area(np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert area(np.array([1.0, 0.5, 0.5])) == pytest.approx((1.5 / 2 + 1.0 / 2) / 2)


def test_deletion_of_the_only_used_group_first_is_steepest():
    x, predict = _toy_x(), _linear_predict()
    targets = np.zeros(len(x), np.int64)
    # gradient × input of this linear model, by hand: 2·x on the head's dims, 0 elsewhere
    values = np.where(MASKS[HEAD][None, None], 2.0 * x, 0.0)
    rel = unit_relevance(values, MASKS)
    assert (relevance_order(rel)[:, 0] == HEAD).all()
    orders = np.concatenate([relevance_order(rel)[:, None], random_orders(len(x), len(NAMES), 5, seed=1)], axis=1)
    deletion, insertion = curves(predict, x, targets, MASKS, orders, np.zeros(D, np.float32), batch_size=7)
    p = _sigmoid(2.0 * x[:, :, MASKS[HEAD]].sum(axis=(1, 2)))
    # head first: p, then 0.5 (logit 0) for every later step; insertion the mirror image
    np.testing.assert_allclose(deletion[:, 0], np.c_[p, np.full((3, 8), 0.5)], atol=1e-6)
    np.testing.assert_allclose(insertion[:, 0], np.c_[np.full((3, 1), 0.5), np.tile(p[:, None], 8)], atol=1e-6)
    np.testing.assert_allclose(area(deletion[:, 0]), (p + 0.5) / 16 + 7 * 0.5 / 8, atol=1e-6)
    # a random order removes the head at its position r: deletion = p until then, 0.5 after
    for i in range(3):
        for k in range(1, 6):
            r = int(np.flatnonzero(orders[i, k] == HEAD)[0]) + 1
            expect = np.where(np.arange(9) < r, p[i], 0.5)
            np.testing.assert_allclose(deletion[i, k], expect, atol=1e-6)
    assert (area(deletion[:, 0]) <= area(deletion[:, 1:]).min(axis=1) + 1e-9).all()
    assert (area(insertion[:, 0]) >= area(insertion[:, 1:]).max(axis=1) - 1e-9).all()


def test_padded_frames_stay_zero_and_occlusion_by_hand():
    x, predict = _toy_x(), _linear_predict(1.0)
    occ = occlusion_relevance(predict, x, np.zeros(3, np.int64), MASKS, np.zeros(D, np.float32))
    expect = np.zeros((3, len(NAMES)))
    expect[:, HEAD] = x[:, :, MASKS[HEAD]].sum(axis=(1, 2))    # logit drop = a·s(x) with reference 0
    np.testing.assert_allclose(occ, expect, rtol=1e-5)
    seg = segment_masks(x, 3)
    assert not seg[0, :, 3].any()                                 # the padded frame is in no segment
    assert seg[1].sum(axis=0).all() and (seg[1].sum(axis=0) == 1).all()


def test_spearman_by_hand():
    a = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [1, 1, 2, 2]], np.float64)
    b = np.array([[10, 20, 30, 40], [4, 3, 2, 1], [1, 2, 3, 4]], np.float64)
    r = spearman(a, b)
    assert r[0] == pytest.approx(1) and r[1] == pytest.approx(-1)
    # ties: ranks [0.5, 0.5, 2.5, 2.5] vs [0, 1, 2, 3] → ρ = 4/√(4·5) = 0.8944
    assert r[2] == pytest.approx(4 / np.sqrt(20))


@pytest.fixture(scope="module")
def head_only_model():
    """A random tiny Res-TCN whose first layer reads only the head's dims: it uses nothing else."""
    from tdf.models import build_res_tcn
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = build_res_tcn(3, frames=12, input_dim=D, filters=(4, 8), units_per_block=1, kernel_size=3,
                          dropout=0.0, l1=0.0, mean_skeleton=np.zeros(D, np.float32))
    conv = model.get_layer("conv1")
    kernel, bias = conv.get_weights()
    kernel[:, ~MASKS[HEAD], :] = 0
    conv.set_weights([kernel * 5, bias])
    return model


def test_head_only_model_all_methods_put_everything_on_the_head(head_only_model):
    from tdf.diagnose.faithfulness import method_maps, predictor
    x = np.random.default_rng(3).normal(0, 0.3, size=(4, 12, D)).astype(np.float32)
    targets = np.argmax(predictor(head_only_model)(x), axis=1)
    seg = segment_masks(x, 4)
    for method in ("gradxinput", "lrp", "occlusion"):
        g, s = method_maps(head_only_model, method, x, targets, MASKS, seg)
        others = np.delete(g, HEAD, axis=1)
        assert np.abs(others).max() < 1e-5 * max(np.abs(g).max(), 1e-9), method
        assert s.shape == (4, 4)
    # deletion in any order: the score changes only at the step that removes the head
    orders = random_orders(4, len(NAMES), 3, seed=0)
    deletion, _ = curves(predictor(head_only_model), x, targets, MASKS, orders, np.zeros(D, np.float32))
    for i in range(4):
        for k in range(3):
            r = int(np.flatnonzero(orders[i, k] == HEAD)[0])
            steps = np.abs(np.diff(deletion[i, k]))
            assert np.delete(steps, r).max() < 1e-5


def test_randomising_the_model_changes_faithful_maps_not_model_blind_ones(head_only_model):
    from tdf.diagnose.faithfulness import method_maps, predictor
    model = head_only_model
    before = [w.numpy().copy() for w in model.weights]
    x = np.random.default_rng(4).normal(0, 0.3, size=(6, 12, D)).astype(np.float32)
    targets = np.argmax(predictor(model)(x), axis=1)

    def blind(_model):
        # |x| per group: does not look at the model at all
        return unit_relevance(np.abs(x), MASKS)
    fns = {"gradxinput": lambda m: method_maps(m, "gradxinput", x, targets, MASKS, None)[0], "blind": blind}
    out = randomisation_check(model, fns, stages=3, seed=1)
    assert out["stages"][0] == "classifier" and len(out["stages"]) == 3
    assert out["rho"]["blind"] == [1.0, 1.0, 1.0] and out["flagged"]["blind"]
    # after randomising conv1 the head is no longer the only group used: the maps must change
    assert out["rho"]["gradxinput"][-1] < 0.5 and not out["flagged"]["gradxinput"]
    for w, b in zip(model.weights, before):                      # weights restored
        np.testing.assert_array_equal(w.numpy(), b)


def test_cascade_goes_top_down(head_only_model):
    stages = cascade_stages(head_only_model, 3)
    flat = [n for _, names in stages for n in names]
    assert flat[0] == "classifier" and flat[-1] == "conv1" and "normalize" not in flat
