"""MS-Res-TCN builder: shapes, names, pipe wiring, TA isolation, params/FLOPs, init, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tdf.data.layout import group_mask
from tdf.errors import BadInput
from tdf.models import (ConfigError, DimensionMask, MeanSkeletonNormalization, build_ms_res_tcn,
                        build_res_tcn, init_main_from_baseline, model_kind, ms_res_tcn_cost,
                        ta_mask_of, unit_names)

TINY = dict(filters=(8, 16, 32))
HANDS = group_mask(["hands"])


def _tiny(num_classes=5, frames=16, mask=HANDS, **kw):
    return build_ms_res_tcn(num_classes, mask, frames=frames, **{**TINY, **kw})


def _inputs(batch=3, frames=16, dim=150, seed=0):
    x = np.random.default_rng(seed).normal(size=(batch, frames, dim)).astype(np.float32)
    x[0, frames - 3:] = 0.0
    return x


def _np(t):
    return keras.ops.convert_to_numpy(t)


def test_output_shape_and_softmax():
    out = _np(_tiny()(_inputs(), training=False))
    assert out.shape == (3, 5)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert _np(_tiny(frames=None)(_inputs(2, 11), training=False)).shape == (2, 5)


def test_every_named_layer_exists():
    model = _tiny()
    expected = {"skeleton", "normalize", "ta_mask", "main_conv1", "ta_conv1", "concat", "pool",
                "classifier"}
    for s in ("main", "ta"):
        expected |= {f"{s}_head_bn", f"{s}_head_relu"}
        for l in range(2, 11):
            parts = ["bn", "relu", "dropout", "conv"] + (["shortcut"] if l in (5, 8) else [])
            expected |= {f"{s}_unit{l}_{p}" for p in parts} | {f"{s}_unit{l}"}
    for l in range(2, 11):
        expected |= {f"pipe{l}", f"pipe{l}_relu",
                     f"main_unit{l}_piped" if l % 2 == 0 else f"ta_unit{l}_piped"}
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    assert set(names) == expected
    assert isinstance(model.get_layer("normalize"), MeanSkeletonNormalization)
    assert isinstance(model.get_layer("ta_mask"), DimensionMask)
    assert model_kind(model) == "ms_res_tcn"


def test_pipes_connect_the_right_streams_at_the_right_units():
    model = _tiny(pipe_kernel_size=3)
    out = lambda n: model.get_layer(n).output  # noqa: E731
    for l in range(2, 11):
        pipe = model.get_layer(f"pipe{l}")
        width = 8 if l < 5 else 16 if l < 8 else 32
        assert pipe.kernel.shape == (3, width, width) and pipe.strides == (1,)
        assert isinstance(pipe.kernel_regularizer, keras.regularizers.L1)
        receiver, sender = ("main", "ta") if l % 2 == 0 else ("ta", "main")
        assert pipe.input is out(f"{sender}_unit{l}")
        assert model.get_layer(f"pipe{l}_relu").input is out(f"pipe{l}")
        merged = model.get_layer(f"{receiver}_unit{l}_piped")
        assert merged.input[0] is out(f"{receiver}_unit{l}")
        assert merged.input[1] is out(f"pipe{l}_relu")
    # the next unit reads the piped output of the receiver and the plain output of the sender
    assert model.get_layer("main_unit3_bn").input is out("main_unit2_piped")
    assert model.get_layer("ta_unit3_bn").input is out("ta_unit2")
    assert model.get_layer("ta_unit4_bn").input is out("ta_unit3_piped")
    assert model.get_layer("main_head_bn").input is out("main_unit10_piped")
    assert model.get_layer("ta_head_bn").input is out("ta_unit10")
    assert model.get_layer("ta_conv1").input is out("ta_mask")
    assert model.get_layer("main_conv1").input is out("normalize")
    assert unit_names(model, "main") == [f"main_unit{l}" + ("_piped" if l % 2 == 0 else "")
                                         for l in range(2, 11)]
    assert unit_names(model, "ta") == [f"ta_unit{l}" + ("_piped" if l % 2 else "")
                                       for l in range(2, 11)]
    with pytest.raises(ValueError, match="streams"):
        unit_names(model)


def test_ta_stream_ignores_masked_out_dims_before_the_first_pipe():
    model = _tiny(mean_skeleton=np.random.default_rng(9).normal(size=150).astype(np.float32))
    probe = keras.Model(model.input, [model.get_layer(n).output
                                      for n in ("ta_unit2", "ta_unit3", "ta_unit3_piped")])
    x = _inputs()
    x[0, -3:] = 0.0
    noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    valid = (np.abs(x).sum(-1) > 0)[..., None]

    out_dims = x + np.where(valid & ~HANDS, noise, 0).astype(np.float32)
    in_dims = x + np.where(valid & HANDS, noise, 0).astype(np.float32)
    base = [_np(t) for t in probe(x, training=False)]
    moved_out = [_np(t) for t in probe(out_dims, training=False)]
    moved_in = [_np(t) for t in probe(in_dims, training=False)]
    assert np.array_equal(moved_out[0], base[0]) and np.array_equal(moved_out[1], base[1])
    assert not np.allclose(moved_out[2], base[2])  # after the pipe, the main stream leaks in
    assert not np.allclose(moved_in[0], base[0])


def _count_ms_params_by_hand(C, D, widths, per_block, k, kp):
    """MS-Res-TCN parameters written out from the architecture, independent of the model code."""
    stream = k * D * widths[0] + widths[0]                    # conv1
    pipes = 0
    c_in = widths[0]
    for c_out in widths:
        for _ in range(per_block):
            stream += 4 * c_in + k * c_in * c_out + c_out       # BN + unit conv
            if c_in != c_out:
                stream += c_in * c_out + c_out                  # 1×1 shortcut
            pipes += kp * c_out * c_out + c_out                 # one pipe per unit
            c_in = c_out
    stream += 4 * c_in                                          # head BN
    return D + D + 2 * stream + pipes + 2 * c_in * C + C        # mean, mask, streams, classifier


@pytest.mark.parametrize("C, D, widths, per_block, k, kp", [(60, 150, (64, 128, 256), 3, 8, 1),
                                                             (5, 150, (8, 16, 32), 3, 8, 3),
                                                             (3, 12, (4, 6), 2, 3, 1)])
def test_parameter_count_matches_the_architecture(C, D, widths, per_block, k, kp):
    mask = np.zeros(D, bool)
    mask[:3] = True
    model = build_ms_res_tcn(C, mask, frames=16, input_dim=D, filters=widths,
                             units_per_block=per_block, kernel_size=k, pipe_kernel_size=kp)
    expected = _count_ms_params_by_hand(C, D, widths, per_block, k, kp)
    assert model.count_params() == expected
    cost = ms_res_tcn_cost(C, 16, D, widths, per_block, k, kp)
    assert cost.params == expected
    assert cost.trainable == sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_flops_match_a_walk_over_the_layers():
    model = _tiny(num_classes=7, frames=13, pipe_kernel_size=3)
    total = 0
    for layer in model.layers:
        size_out = int(np.prod(layer.output.shape[1:]))
        if isinstance(layer, (keras.layers.Conv1D, keras.layers.Dense)):
            total += size_out * (2 * int(np.prod(layer.kernel.shape[:-1])) + 1)
        elif isinstance(layer, keras.layers.BatchNormalization):
            total += 2 * size_out
        elif isinstance(layer, (keras.layers.ReLU, keras.layers.Add, MeanSkeletonNormalization,
                                DimensionMask)):
            total += size_out
        elif isinstance(layer, keras.layers.GlobalAveragePooling1D):
            total += int(np.prod(layer.input.shape[1:]))
        if isinstance(layer, keras.layers.Dense):
            total += 3 * size_out
    assert ms_res_tcn_cost(7, 13, filters=(8, 16, 32), pipe_kernel_size=3).flops == total


def _trained_baseline(seed=0, **kw):
    keras.utils.set_random_seed(seed)
    mean = np.random.default_rng(seed).normal(size=150).astype(np.float32)
    baseline = build_res_tcn(5, frames=16, mean_skeleton=mean, **{**TINY, **kw})
    baseline.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    baseline.fit(_inputs(4), np.arange(4), epochs=1, verbose=0)  # non-trivial BN statistics
    return baseline


def test_init_main_from_baseline_copies_weights_exactly():
    baseline = _trained_baseline()
    model = _tiny()
    before = {w.path: _np(w).copy() for w in model.weights}
    copied = init_main_from_baseline(model, baseline)

    assert "normalize" in copied and "main_conv1" in copied and "main_unit5_shortcut" in copied
    assert "main_head_bn" in copied and "classifier" not in copied
    for layer in baseline.layers:
        if not layer.weights or layer.name == "classifier":
            continue
        target = model.get_layer("normalize" if layer.name == "normalize" else f"main_{layer.name}")
        for a, b in zip(layer.weights, target.weights, strict=True):
            assert np.array_equal(_np(a), _np(b)), (a.path, b.path)
    changed = {w.path for w in model.weights if not np.array_equal(_np(w), before[w.path])}
    assert changed, "nothing was copied"
    for path in changed:
        assert path.startswith(("main_", "normalize/")), path
    for w in model.weights:  # TA stream, pipes, mask and classifier untouched
        if w.path.startswith(("ta_", "pipe", "classifier")):
            assert np.array_equal(_np(w), before[w.path]), w.path


def test_init_main_from_baseline_rejects_mismatches_and_copies_nothing():
    model = _tiny()
    before = [_np(w).copy() for w in model.weights]
    with pytest.raises(BadInput, match="shape"):
        init_main_from_baseline(model, build_res_tcn(5, frames=16, filters=(8, 16, 64)))
    with pytest.raises(BadInput, match="differ"):
        init_main_from_baseline(model, build_res_tcn(5, frames=16, filters=(8, 16, 32, 64)))
    with pytest.raises(BadInput, match="lacks"):
        init_main_from_baseline(model, build_res_tcn(5, frames=16, filters=(8, 16)))
    with pytest.raises(BadInput, match="MS-Res-TCN"):
        init_main_from_baseline(model, _tiny())
    with pytest.raises(BadInput, match="not an MS-Res-TCN"):
        init_main_from_baseline(build_res_tcn(5, frames=16, **TINY), build_res_tcn(5, frames=16, **TINY))
    assert all(np.array_equal(_np(w), b) for w, b in zip(model.weights, before))


def test_save_load_round_trip_is_bit_identical(tmp_path):
    keras.utils.set_random_seed(2)
    mask = group_mask(["right_hand", "head"])
    mean = np.random.default_rng(4).normal(size=150).astype(np.float32)
    model = _tiny(frames=None, mask=mask, mean_skeleton=mean)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(_inputs(4), np.arange(4), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert model_kind(loaded) == "ms_res_tcn"
    assert np.array_equal(ta_mask_of(loaded), mask)
    assert np.array_equal(loaded.get_layer("normalize").mean_array(), mean)
    for a, b in zip(model.weights, loaded.weights, strict=True):
        assert a.path == b.path and np.array_equal(_np(a), _np(b))
    for t in (16, 9):
        x = _inputs(4, t, seed=t)
        assert np.array_equal(_np(model(x, training=False)), _np(loaded(x, training=False)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(mask=np.ones(149, bool)), "ta_mask"),
    (dict(mask=np.zeros(150, bool)), "ta_mask"),
    (dict(mask=np.ones(150, np.int8)), "ta_mask"),
    (dict(pipe_kernel_size=0), "pipe_kernel_size"),
    (dict(filters=(16, 8)), "increasing"),
    (dict(dropout=1.5), "dropout"),
    (dict(name="ms/x"), "name"),
])
def test_argument_checks(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _tiny(**kwargs)


def test_ta_mask_of_rejects_a_baseline():
    with pytest.raises(BadInput, match="only an MS-Res-TCN"):
        ta_mask_of(build_res_tcn(5, frames=16, **TINY))
