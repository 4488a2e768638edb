"""Res-TCN builder: shapes, names, strides, parameter count, FLOPs, regularisers, save/load, checks."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tdf.errors import BadInput
from tdf.models import (ConfigError, MeanSkeletonNormalization, build_res_tcn, model_kind,
                        res_tcn_cost, unit_names)

TINY = dict(filters=(8, 16, 32))


def _tiny(num_classes=5, frames=16, **kw):
    return build_res_tcn(num_classes, frames=frames, **{**TINY, **kw})


def _inputs(batch=3, frames=16, dim=150, seed=0):
    x = np.random.default_rng(seed).normal(size=(batch, frames, dim)).astype(np.float32)
    x[0, frames - 3:] = 0.0  # padded tail
    return x


def test_output_shape_and_softmax():
    out = keras.ops.convert_to_numpy(_tiny()(_inputs(), training=False))
    assert out.shape == (3, 5)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("frames, t_mid, t_last", [(16, 8, 4), (13, 7, 4), (1, 1, 1)])
def test_any_length_halves_per_block(frames, t_mid, t_last):
    model = _tiny(frames=None)
    probe = keras.Model(model.input, [model.get_layer(n).output for n in ("unit4", "unit5", "unit8")])
    a, b, c = (keras.ops.convert_to_numpy(t) for t in probe(_inputs(2, frames), training=False))
    assert a.shape == (2, frames, 8) and b.shape == (2, t_mid, 16) and c.shape == (2, t_last, 32)


def test_every_named_layer_exists_in_order():
    model = _tiny()
    expected = ["skeleton", "normalize", "conv1"]
    for l in range(2, 11):
        parts = ["bn", "relu", "dropout"] + (["shortcut"] if l in (5, 8) else []) + ["conv"]
        expected += [f"unit{l}_{p}" for p in parts] + [f"unit{l}"]
    expected += ["head_bn", "head_relu", "pool", "classifier"]
    names = [layer.name for layer in model.layers]
    assert sorted(names) == sorted(expected)
    # the graph order keeps units, conv1 and head in sequence
    order = [names.index(n) for n in ["normalize", "conv1"] + [f"unit{l}" for l in range(2, 11)]
             + ["head_bn", "head_relu", "pool", "classifier"]]
    assert order == sorted(order)
    assert model_kind(model) == "res_tcn"
    assert unit_names(model) == [f"unit{l}" for l in range(2, 11)]
    with pytest.raises(ValueError, match="one stream"):
        unit_names(model, "main")


def test_layer_settings_follow_the_paper():
    model = build_res_tcn(60)
    conv1 = model.get_layer("conv1")
    assert conv1.kernel.shape == (8, 150, 64) and conv1.strides == (1,)
    assert conv1.activation is keras.activations.linear
    widths = {**{l: 64 for l in (2, 3, 4)}, **{l: 128 for l in (5, 6, 7)}, **{l: 256 for l in (8, 9, 10)}}
    for l, width in widths.items():
        conv = model.get_layer(f"unit{l}_conv")
        assert conv.kernel.shape[0] == 8 and conv.filters == width and conv.padding == "same"
        assert conv.strides == ((2,) if l in (5, 8) else (1,))
        assert model.get_layer(f"unit{l}_dropout").rate == 0.5
    for l, c_in, c_out in ((5, 64, 128), (8, 128, 256)):
        shortcut = model.get_layer(f"unit{l}_shortcut")
        assert shortcut.kernel.shape == (1, c_in, c_out) and shortcut.strides == (2,)
    assert isinstance(model.get_layer("pool"), keras.layers.GlobalAveragePooling1D)
    assert model.get_layer("classifier").activation is keras.activations.softmax
    assert isinstance(model.get_layer("normalize"), MeanSkeletonNormalization)


def test_l1_on_every_conv_kernel_and_only_there():
    model = _tiny(l1=3e-4)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    assert len(convs) == 1 + 9 + 2
    for layer in convs:
        assert isinstance(layer.kernel_regularizer, keras.regularizers.L1)
        assert math.isclose(layer.kernel_regularizer.l1, 3e-4, rel_tol=1e-6)
        assert layer.bias_regularizer is None
    assert model.get_layer("classifier").kernel_regularizer is None
    model(_inputs(), training=False)
    assert len(model.losses) == len(convs)
    expected = sum(3e-4 * np.abs(keras.ops.convert_to_numpy(c.kernel)).sum() for c in convs)
    assert math.isclose(float(sum(keras.ops.convert_to_numpy(v) for v in model.losses)),
                        expected, rel_tol=1e-4)
    assert all(c.kernel_regularizer is None for c in _tiny(l1=0).layers
               if isinstance(c, keras.layers.Conv1D))


def _count_params_by_hand(C, D, widths, per_block, k):
    """Parameter count written out from the architecture, independent of the model code."""
    total = D                                   # normalize: mean skeleton
    total += k * D * widths[0] + widths[0]      # conv1 kernel + bias
    c_in = widths[0]
    for b, c_out in enumerate(widths):
        for u in range(per_block):
            total += 4 * c_in                   # BN gamma, beta, moving mean, moving var
            total += k * c_in * c_out + c_out   # unit conv
            if c_in != c_out:
                total += c_in * c_out + c_out   # 1×1 shortcut
            c_in = c_out
    total += 4 * c_in                           # head BN
    total += c_in * C + C                       # classifier
    return total


def test_default_parameter_count_matches_the_architecture():
    # paper model, written out term by term: 150 + (8·150·64+64) + 3·(4·64 + 8·64·64+64)
    #   + (4·64 + 8·64·128+128 + 64·128+128) + 2·(4·128 + 8·128·128+128)
    #   + (4·128 + 8·128·256+256 + 128·256+256) + 2·(4·256 + 8·256·256+256) + 4·256 + 256·60+60
    written_out = (150 + (8 * 150 * 64 + 64) + 3 * (4 * 64 + 8 * 64 * 64 + 64)
                   + (4 * 64 + 8 * 64 * 128 + 128 + 64 * 128 + 128) + 2 * (4 * 128 + 8 * 128 * 128 + 128)
                   + (4 * 128 + 8 * 128 * 256 + 256 + 128 * 256 + 256) + 2 * (4 * 256 + 8 * 256 * 256 + 256)
                   + 4 * 256 + 256 * 60 + 60)
    assert written_out == 1_877_458
    assert _count_params_by_hand(60, 150, (64, 128, 256), 3, 8) == written_out
    model = build_res_tcn(60, frames=300)
    assert model.count_params() == written_out
    # mean + BN moving stats; a unit's BN sees its *input* width: units 2–5 64, 6–8 128, 9–10 256
    non_trainable = 150 + 2 * (4 * 64 + 3 * 128 + 2 * 256 + 256)
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == non_trainable
    cost = res_tcn_cost(60, 300)
    assert (cost.params, cost.trainable) == (written_out, written_out - non_trainable)


@pytest.mark.parametrize("C, D, widths, per_block, k", [(5, 150, (8, 16, 32), 3, 8),
                                                         (3, 12, (4, 6), 2, 3), (2, 7, (5,), 1, 1)])
def test_other_configs_parameter_count(C, D, widths, per_block, k):
    model = build_res_tcn(C, frames=16, input_dim=D, filters=widths, units_per_block=per_block,
                          kernel_size=k)
    assert model.count_params() == _count_params_by_hand(C, D, widths, per_block, k)
    assert res_tcn_cost(C, 16, D, widths, per_block, k).params == model.count_params()


def _flops_from_layers(model):
    """Forward FLOPs walked from the built layers' shapes (the convention of tdf.models.flops)."""
    total = 0
    for layer in model.layers:
        out = layer.output.shape[1:]
        size_in = int(np.prod(layer.input.shape[1:])) if not isinstance(layer.input, list) else 0
        size_out = int(np.prod(out))
        if isinstance(layer, (keras.layers.Conv1D, keras.layers.Dense)):
            macs_per_output = int(np.prod(layer.kernel.shape[:-1]))
            total += size_out * (2 * macs_per_output + 1)
        elif isinstance(layer, keras.layers.BatchNormalization):
            total += 2 * size_out
        elif isinstance(layer, (keras.layers.ReLU, keras.layers.Add, MeanSkeletonNormalization)):
            total += size_out
        elif isinstance(layer, keras.layers.GlobalAveragePooling1D):
            total += size_in
        if isinstance(layer, keras.layers.Dense):
            total += 3 * size_out  # softmax
    return total


@pytest.mark.parametrize("frames", [16, 13, 300])
def test_flops_match_a_walk_over_the_layers(frames):
    model = build_res_tcn(7, frames=frames, filters=(8, 16, 32), kernel_size=5)
    assert res_tcn_cost(7, frames, filters=(8, 16, 32), kernel_size=5).flops == _flops_from_layers(model)


def test_mean_skeleton_is_stored_and_used():
    mean = np.linspace(-1, 1, 150).astype(np.float32)
    model = _tiny(mean_skeleton=mean)
    assert np.array_equal(model.get_layer("normalize").mean_array(), mean)
    assert np.array_equal(_tiny().get_layer("normalize").mean_array(), np.zeros(150, np.float32))


def test_save_load_round_trip_is_bit_identical(tmp_path):
    keras.utils.set_random_seed(1)
    mean = np.random.default_rng(5).normal(size=150).astype(np.float32)
    model = _tiny(frames=None, mean_skeleton=mean)
    x = _inputs(4, 16, seed=3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2, 3]), epochs=1, verbose=0)  # non-trivial BN statistics
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path
        assert np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    for t in (16, 11):
        xt = _inputs(4, t, seed=t)
        assert np.array_equal(keras.ops.convert_to_numpy(model(xt, training=False)),
                              keras.ops.convert_to_numpy(loaded(xt, training=False)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_classes=1), "num_classes"),
    (dict(num_classes=2.0), "num_classes"),
    (dict(frames=0), "frames"),
    (dict(input_dim=0), "input_dim"),
    (dict(filters=(16, 8)), "increasing"),
    (dict(filters=(8, 8)), "increasing"),
    (dict(filters=()), "filters"),
    (dict(filters="8,16"), "filters"),
    (dict(filters=(0, 8)), "filters"),
    (dict(filters=(8, 16.5)), "filters"),
    (dict(units_per_block=0), "units_per_block"),
    (dict(kernel_size=0), "kernel_size"),
    (dict(kernel_size=True), "kernel_size"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(l1=-1e-4), "l1"),
    (dict(l1=float("nan")), "l1"),
    (dict(mean_skeleton=np.zeros(149)), "mean_skeleton"),
    (dict(mean_skeleton=np.full(150, np.nan)), "mean_skeleton"),
    (dict(name="a/b"), "name"),
    (dict(bn_momentum=1.0), "bn_momentum"),
    (dict(bn_momentum=-0.5), "bn_momentum"),
])
def test_argument_checks(kwargs, match):
    args = dict(num_classes=5, frames=16, **TINY)
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match) as info:
        build_res_tcn(**args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, BadInput)


def test_model_kind_rejects_foreign_models():
    inputs = keras.Input((4, 3))
    other = keras.Model(inputs, keras.layers.Dense(2, name="conv1")(inputs))
    with pytest.raises(BadInput, match="neither"):
        model_kind(other)


@pytest.mark.parametrize("momentum", [0.99, 0.9])
def test_bn_momentum_reaches_every_batch_normalization(momentum):
    model = build_res_tcn(5, frames=16, bn_momentum=momentum, **TINY)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == len([l for l in model.layers if l.name.endswith("_bn")]) > 0
    assert {layer.momentum for layer in bns} == {momentum}


def test_bn_momentum_sets_how_fast_running_variance_follows_the_data():
    """One training step moves the running variance by (1 - momentum) × (batch var - old)."""
    model = build_res_tcn(3, frames=8, bn_momentum=0.9, **TINY)
    bn = model.get_layer("unit2_bn")
    probe = keras.Model(model.input, bn.input)
    x = np.random.default_rng(0).normal(size=(4, 8, 150)).astype("float32") * 5
    h = np.asarray(probe(x, training=False))
    before = np.asarray(bn.moving_variance)
    bn(keras.ops.convert_to_tensor(h), training=True)
    expected = 0.9 * before + 0.1 * h.reshape(-1, h.shape[-1]).var(axis=0)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), expected, rtol=1e-4)
