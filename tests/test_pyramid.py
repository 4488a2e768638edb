"""Class Feature Pyramid back-step: a toy Res-TCN whose class travels along one known channel
path, hand-checked levels, min-max edge cases, pooling over valid frames against an
independent loop, the MS stream slices, and decoding only the selected channels."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.layout import group_mask
from tdf.diagnose.pyramid import (
    backstep_weights, class_mean, class_pyramid, decode_pyramid, minmax, pooled_activations, pyramids,
    stream_slice)
from tdf.models import build_ms_res_tcn, build_res_tcn


def _set(layer, kernel=None, bias=None):
    w = layer.get_weights()
    if kernel is not None:
        w[0] = np.asarray(kernel, np.float32)
    if bias is not None:
        w[1] = np.asarray(bias, np.float32)
    layer.set_weights(w)


@pytest.fixture(scope="module")
def path_model():
    """conv1 (4) → unit2 (4, identity) → unit3 (8, stride 2, 1×1 shortcut) → classifier (3).

    Class 0 reads only channel 5 of X_3; unit3's conv and shortcut make channel 5 only from
    channel 2 of X_2; unit2's conv makes channel 2 only from channel 1 of X_1. BN shifts by +5
    so every ReLU input is positive.
    """
    m = build_res_tcn(3, filters=(4, 8), units_per_block=1, kernel_size=3, dropout=0.0)
    rng = np.random.default_rng(1)
    _set(m.get_layer("conv1"), rng.normal(0, 0.1, (3, 150, 4)), np.full(4, 1.0))
    for name in ("unit2_bn", "unit3_bn", "head_bn"):
        g, b, mu, var = m.get_layer(name).get_weights()
        m.get_layer(name).set_weights([np.ones_like(g), np.full_like(b, 5.0), np.zeros_like(mu), np.ones_like(var)])
    k2 = np.zeros((3, 4, 4)); k2[:, 1, 2] = 0.5; k2[:, 0, 0] = 0.3
    _set(m.get_layer("unit2_conv"), k2, np.zeros(4))
    k3 = np.zeros((3, 4, 8)); k3[:, 2, 5] = 0.4; k3[:, 0, 1] = 0.2
    _set(m.get_layer("unit3_conv"), k3, np.zeros(8))
    s3 = np.zeros((1, 4, 8)); s3[0, 2, 5] = 1.0; s3[0, 3, 1] = 1.0
    _set(m.get_layer("unit3_shortcut"), s3, np.zeros(8))
    w = np.zeros((8, 3)); w[5, 0] = 1.0; w[1, 1] = 1.0; w[:, 2] = 0.1
    _set(m.get_layer("classifier"), w, np.zeros(3))
    return m


def _x(n=4, t=16, seed=0):
    x = np.random.default_rng(seed).normal(0, 1, (n, t, 150)).astype(np.float32)
    x[1, 12:] = 0.0                      # a padded sample
    return x


def test_one_channel_path_carries_the_class(path_model):
    x = _x()
    p = pyramids(path_model, x, np.zeros(len(x), int), [0], ["zero", "one", "two"], theta=0.6)["zero"]
    levels = p["levels"]
    assert [lv["layer"] for lv in levels] == ["unit3", "unit2", "conv1"]
    assert levels[0]["channels"] == [5]
    assert levels[1]["children"] == {"5": {"conv": [2], "shortcut": [2]}}
    assert levels[1]["channels"] == [2] and levels[1]["connections"] == {"2": 1}
    assert levels[2]["children"] == {"2": {"conv": [1], "identity": [2]}}
    assert levels[2]["channels"] == [1, 2]
    assert [lv["layer_channels"] for lv in levels] == [[5], [2], [1, 2]]
    # class 1 reads channel 1, fed by channel 0 (conv) and channel 3 (shortcut)
    q = pyramids(path_model, x, np.ones(len(x), int), [1], ["zero", "one", "two"], theta=0.6)["one"]
    assert q["levels"][0]["channels"] == [1]
    assert q["levels"][1]["children"] == {"1": {"conv": [0], "shortcut": [3]}}
    assert q["levels"][1]["channels"] == [0, 3]


def test_depth_limits_levels(path_model):
    x = _x()
    w = backstep_weights(path_model)
    pooled = class_mean(pooled_activations(path_model, x, weights=w), slice(None))
    assert len(class_pyramid(w, pooled, 0, 0.6, depth=1)["levels"]) == 1
    assert len(class_pyramid(w, pooled, 0, 0.6, depth=2)["levels"]) == 2
    assert len(class_pyramid(w, pooled, 0, 0.6, depth=99)["levels"]) == 3
    with pytest.raises(ValueError):
        class_pyramid(w, pooled, 0, 1.5)
    with pytest.raises(ValueError):
        class_pyramid(w, pooled, 7, 0.6)


def test_minmax_and_theta_extremes():
    assert minmax(np.array([1.0, 3.0, 2.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([2.0, 2.0])).tolist() == [1.0, 1.0]
    assert minmax(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]      # a zero branch selects nothing
    assert minmax(np.array([-1.0, -1.0])).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(minmax(np.array([[0.0, 1.0], [2.0, 1.0]]), axis=0), [[0, 1], [1, 1]])
    np.testing.assert_allclose(minmax(np.array([[0.0, 0.0], [2.0, 0.0]]), axis=0), [[0, 0], [1, 0]])


def test_random_model_matches_independent_backstep():
    """One back-step level recomputed with plain loops from the layers' outputs."""
    import keras
    m = build_res_tcn(4, filters=(4, 6), units_per_block=2, kernel_size=3, dropout=0.0)
    x = _x(3, 12, seed=3)
    x[1, 12:] = 0
    w = backstep_weights(m)
    pooled = pooled_activations(m, x, weights=w)
    # independent pooled features
    sub = keras.Model(m.input, [m.get_layer("pool").output, m.get_layer("unit5_relu").output,
                                m.get_layer("unit4").output])
    feat, relu5, x4 = [np.asarray(a) for a in sub(x, training=False)]
    np.testing.assert_allclose(pooled["feature"], feat, rtol=1e-5)
    np.testing.assert_allclose(pooled["conv_in5"], relu5.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(pooled["x4"], x4.mean(axis=1), rtol=1e-5)
    mean = class_mean(pooled, slice(None))
    theta = 0.5
    p = class_pyramid(w, mean, 2, theta, depth=2)
    kernel = m.get_layer("classifier").get_weights()[0]
    top = feat.mean(0) * kernel[:, 2]
    top = (top - top.min()) / (top.max() - top.min())
    assert p["levels"][0]["channels"] == [i for i in range(len(top)) if top[i] >= theta]
    conv = m.get_layer("unit5_conv").get_weights()[0]       # unit5: 4 → 6, has a shortcut? no: unit 4 does
    for j in p["levels"][0]["channels"]:
        s = [relu5.mean(axis=1).mean(0)[i] * conv[:, i, j].sum() for i in range(conv.shape[1])]
        s = np.array(s)
        s = (s - s.min()) / (s.max() - s.min())
        assert p["levels"][1]["children"][str(j)]["conv"] == [i for i in range(len(s)) if s[i] >= theta]
        assert p["levels"][1]["children"][str(j)]["identity"] == [j]


def test_pooling_skips_padded_frames(path_model):
    import keras
    x = _x(2, 16)
    x[0, 10:] = 0
    pooled = pooled_activations(path_model, x)
    sub = keras.Model(path_model.input, path_model.get_layer("unit2").output)
    a = np.asarray(sub(x, training=False))
    np.testing.assert_allclose(pooled["x2"][0], a[0, :10].mean(0), rtol=1e-5)
    np.testing.assert_allclose(pooled["x2"][1], a[1, :12].mean(0), rtol=1e-5)   # _x pads it at 12


def test_ms_streams_use_their_classifier_rows():
    m = build_ms_res_tcn(3, group_mask("hands"), filters=(4, 6), units_per_block=1, kernel_size=3)
    kernel = m.get_layer("classifier").get_weights()[0]
    assert stream_slice(m, "main") == slice(0, 6) and stream_slice(m, "ta") == slice(6, 12)
    np.testing.assert_array_equal(backstep_weights(m, "ta").classifier, kernel[6:12])
    w = backstep_weights(m, "ta")
    assert [u.index for u in w.units] == [2, 3] and w.units[1].shortcut is not None
    np.testing.assert_allclose(w.units[0].conv, m.get_layer("ta_unit2_conv").get_weights()[0].sum(0), rtol=1e-5)
    p = pyramids(m, _x(2, 16), np.zeros(2, int), [0], ["a", "b", "c"], stream="ta")["a"]
    assert p["stream"] == "ta" and p["levels"][0]["layer"] == "unit3"


def test_decode_only_selected_channels(path_model):
    from tdf.diagnose.decoder import decode
    x = _x(2, 16)
    p = pyramids(path_model, x, np.zeros(2, int), [0], ["zero", "one", "two"])["zero"]
    out = decode_pyramid(path_model, x, p)
    ref = decode(path_model, x, layers=["conv1"], channels={"conv1": [1, 2]})["conv1"]
    np.testing.assert_allclose(out["conv1"], ref)
    assert set(out) == {"unit3", "unit2", "conv1"}


def test_layerwise_channels_are_the_most_connected():
    """Three parents: channel 0 feeds all of them, channel 1 two, channel 2 one, channel 3 none:
    counts [3, 2, 1, 0] min-max to [1, 2/3, 1/3, 0]; θ = 0.7 keeps channel 0 only, θ = 0.6
    channels 0 and 1."""
    from tdf.diagnose.pyramid import BackStepWeights, UnitWeights
    conv = np.zeros((4, 3))
    conv[0, :] = 1.0                  # channel 0 → every output
    conv[1, :2] = 1.0                 # channel 1 → outputs 0, 1
    conv[2, 2] = 1.0                  # channel 2 → output 2
    unit = UnitWeights(2, conv, shortcut=np.zeros((4, 3)))
    w = BackStepWeights(np.eye(3), (unit,), None, {}, {2: "unit2_relu"})
    pooled = {"feature": np.ones(3), "conv_in2": np.ones(4), "x1": np.ones(4)}
    p = class_pyramid(w, pooled, 0, theta=0.0)          # θ = 0 keeps every output at the top
    lv = p["levels"][1]
    assert lv["connections"] == {"0": 3, "1": 3, "2": 3, "3": 3}   # θ = 0 also keeps every input
    p = class_pyramid(w, pooled, 0, theta=0.6)
    assert p["levels"][0]["channels"] == [0]
    w3 = BackStepWeights(np.ones((3, 1)), (unit,), None, {}, {2: "unit2_relu"})
    pooled3 = {"feature": np.array([1.0, 1.0, 1.0]), "conv_in2": np.ones(4), "x1": np.ones(4)}
    p = class_pyramid(w3, pooled3, 0, 0.7)
    lv = p["levels"][1]
    assert p["levels"][0]["channels"] == [0, 1, 2]
    assert lv["connections"] == {"0": 3, "1": 2, "2": 1} and lv["channels"] == [0, 1, 2]
    assert lv["layer_channels"] == [0]
    assert class_pyramid(w3, pooled3, 0, 0.6)["levels"][1]["layer_channels"] == [0, 1]
