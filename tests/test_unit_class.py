"""Unit → class readout on a model with a known last layer, the exact logit-gap decomposition
of a mistake, feeders one level down, and concepts attached from a dissection."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tdf.data.layout import group_mask
from tdf.diagnose.unit_class import (
    classifier_readout, concept_path, mistake_contributions, path_text, top_classes_per_unit)
from tdf.models import build_ms_res_tcn, build_res_tcn

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def model():
    m = build_res_tcn(3, filters=(4, 8), units_per_block=1, kernel_size=3, dropout=0.0)
    w = np.zeros((8, 3), np.float32)
    w[0] = [3, 2, 1]          # unit 0 → a, b, c
    w[1] = [0, 5, -1]         # unit 1 → b, a, c
    w[2] = [-2, 0, 4]         # unit 2 → c, b, a
    w[3:] = np.arange(15).reshape(5, 3) * 0.1
    m.get_layer("classifier").set_weights([w, np.array([7.0, -7.0, 1.0], np.float32)])
    return m


def test_readout_is_one_hot_through_the_classifier(model):
    readout = classifier_readout(model)
    # independent: the classifier's logits for one-hot pooled features with the bias set to 0
    dense = model.get_layer("classifier")
    w, b = dense.get_weights()
    probe = keras.layers.Dense(3, use_bias=False)
    probe.build((None, 8))
    probe.set_weights([w])
    np.testing.assert_allclose(readout, np.asarray(probe(np.eye(8, dtype=np.float32))), rtol=1e-6)
    top = top_classes_per_unit(model, CLASSES, k=3)
    assert [c for c, _ in top[0]["classes"]] == ["a", "b", "c"]
    assert [c for c, _ in top[1]["classes"]] == ["b", "a", "c"]
    assert [c for c, _ in top[2]["classes"]] == ["c", "b", "a"]
    assert top[1]["classes"][0][1] == 5.0


def test_mistake_contributions_by_hand():
    readout = np.array([[3.0, 2.0], [0.0, 5.0], [-2.0, 0.0]])
    p = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(mistake_contributions(p, readout, true=0, wrong=1), [-1.0, 10.0, 1.0])


def test_concept_path_decomposes_the_logit_gap(model):
    x = np.random.default_rng(0).normal(0, 1, (16, 150)).astype(np.float32)
    dissection = {"layers": {
        "unit3": {"unit_results": [{"unit": k, "concept": "left_hand moving" if k == 1 else None,
                                    "best_concept": "left_hand moving", "iou": 0.3} for k in range(8)]},
        "unit2": {"unit_results": [{"unit": k, "concept": "head moving", "best_concept": "head moving",
                                    "iou": 0.25} for k in range(4)]}}}
    path = concept_path(model, x, true=0, wrong=1, class_names=CLASSES, dissection=dissection, top=8)
    logits = np.log(np.asarray(model(x[None], training=False))[0])
    assert path["logit_gap"] == pytest.approx(logits[1] - logits[0], abs=1e-3)
    total = sum(u["contribution"] for u in path["units"])
    assert total + path["bias_gap"] == pytest.approx(path["logit_gap"], abs=1e-3)
    assert path["bias_gap"] == -14.0 and path["other_stream"] == pytest.approx(0, abs=1e-3)
    contribs = [u["contribution"] for u in path["units"]]
    assert contribs == sorted(contribs, reverse=True)
    by_unit = {u["unit"]: u for u in path["units"]}
    assert by_unit[1]["concept"] == "left_hand moving" and by_unit[0]["concept"] is None
    assert path["layer"] == "unit3" and path["feeder_layer"] == "unit2"
    assert all(f["concept"] == "head moving" for u in path["units"] for f in u["feeders"])
    assert len(path_text(path)) == 8


def test_feeders_follow_the_kernel():
    """unit3 channel 5 is fed only by channel 2 of X_2 (conv and shortcut)."""
    m = build_res_tcn(3, filters=(4, 8), units_per_block=1, kernel_size=3, dropout=0.0)
    for name in ("unit3_bn",):
        g, b, mu, var = m.get_layer(name).get_weights()
        m.get_layer(name).set_weights([np.ones_like(g), np.full_like(b, 5.0), np.zeros_like(mu), np.ones_like(var)])
    k = np.zeros((3, 4, 8), np.float32); k[:, 2, 5] = 1.0
    m.get_layer("unit3_conv").set_weights([k, np.zeros(8, np.float32)])
    s = np.zeros((1, 4, 8), np.float32); s[0, 2, 5] = 1.0
    m.get_layer("unit3_shortcut").set_weights([s, np.zeros(8, np.float32)])
    w = np.zeros((8, 3), np.float32); w[5, 1] = 1.0
    m.get_layer("classifier").set_weights([w, np.zeros(3, np.float32)])
    x = np.random.default_rng(1).normal(0, 1, (16, 150)).astype(np.float32)
    path = concept_path(m, x, true=0, wrong=1, class_names=CLASSES, top=1, top_feeders=1)
    assert path["units"][0]["unit"] == 5
    f = path["units"][0]["feeders"][0]
    assert f["unit"] == 2 and f["conv"] > 0
    assert f["contribution"] == pytest.approx(f["conv"] + f["shortcut"], abs=1e-4)


def test_ms_stream_parts_add_up():
    m = build_ms_res_tcn(3, group_mask("hands"), filters=(4, 6), units_per_block=1, kernel_size=3)
    x = np.random.default_rng(2).normal(0, 1, (16, 150)).astype(np.float32)
    main = concept_path(m, x, 0, 2, CLASSES, stream="main", top=6)
    ta = concept_path(m, x, 0, 2, CLASSES, stream="ta", top=6)
    assert main["logit_gap"] == pytest.approx(ta["logit_gap"], abs=1e-4)
    assert main["stream_sum"] + ta["stream_sum"] + main["bias_gap"] == pytest.approx(main["logit_gap"], abs=1e-3)
    assert classifier_readout(m, "ta").shape == (6, 3)
