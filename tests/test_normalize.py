"""MeanSkeletonNormalization and DimensionMask: exact maths, padding, config, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tdf.models import DimensionMask, MeanSkeletonNormalization


def _sequence(rng, batch=3, frames=7, dim=6):
    """Random frames with some all-zero (padded) frames and one frame with a single value."""
    x = rng.normal(size=(batch, frames, dim)).astype(np.float32)
    x[0, 5:] = 0.0            # padding at the end
    x[1, 0] = 0.0             # an all-zero frame inside
    x[2, 3] = 0.0
    x[2, 3, 4] = -1.5         # one non-zero value → valid
    return x


def test_valid_frames_minus_mean_and_padded_frames_exactly_zero():
    rng = np.random.default_rng(0)
    x = _sequence(rng)
    mean = rng.normal(size=6).astype(np.float32)
    out = keras.ops.convert_to_numpy(MeanSkeletonNormalization(mean)(x))

    valid = np.abs(x).sum(axis=-1) > 0
    assert valid.tolist() == [[True] * 5 + [False] * 2, [False] + [True] * 6, [True] * 7]
    expected = np.where(valid[..., None], x - mean, np.float32(0))
    assert out.dtype == np.float32
    assert np.array_equal(out, expected)
    assert not np.signbit(out[~valid]).any()  # +0.0, not -0.0
    assert np.array_equal(out[2, 3], np.float32([0, 0, 0, 0, -1.5, 0]) - mean)


def test_mean_is_a_non_trainable_weight_and_config_round_trips():
    mean = np.arange(6, dtype=np.float32) / 7
    layer = MeanSkeletonNormalization(mean, name="normalize")
    layer.build((None, None, 6))
    assert [w.name for w in layer.non_trainable_weights] == ["mean"]
    assert layer.trainable_weights == []
    assert np.array_equal(layer.mean_array(), mean)

    clone = MeanSkeletonNormalization.from_config(layer.get_config())
    x = np.random.default_rng(1).normal(size=(2, 4, 6)).astype(np.float32)
    assert clone.name == "normalize"
    assert np.array_equal(keras.ops.convert_to_numpy(clone(x)),
                          keras.ops.convert_to_numpy(layer(x)))


def test_layers_survive_keras_file_without_custom_objects(tmp_path):
    rng = np.random.default_rng(2)
    mean = rng.normal(size=6).astype(np.float32)
    mask = np.array([True, False, True, True, False, False])
    inputs = keras.Input((None, 6))
    outputs = DimensionMask(mask, name="ta_mask")(MeanSkeletonNormalization(mean, name="normalize")(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "m.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("normalize"), MeanSkeletonNormalization)
    assert np.array_equal(loaded.get_layer("normalize").mean_array(), mean)
    assert np.array_equal(loaded.get_layer("ta_mask").mask_array(), mask)
    x = _sequence(rng)
    assert np.array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)))


def test_dimension_mask_zeroes_exactly_the_masked_out_dims():
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype(np.float32)
    mask = np.array([False, True, False, False, True, True])
    out = keras.ops.convert_to_numpy(DimensionMask(mask)(x))
    assert np.array_equal(out[..., mask], x[..., mask])
    assert np.array_equal(out[..., ~mask], np.zeros_like(x[..., ~mask]))
    assert not np.signbit(out[..., ~mask]).any()


@pytest.mark.parametrize("mean", [np.zeros((2, 3)), np.zeros(0), [0.0, np.nan], [np.inf]])
def test_bad_mean_raises(mean):
    with pytest.raises(ValueError, match="mean"):
        MeanSkeletonNormalization(mean)


@pytest.mark.parametrize("mask", [np.zeros(4, bool), np.ones(4, np.float32), np.ones((2, 2), bool)])
def test_bad_mask_raises(mask):
    with pytest.raises(ValueError, match="mask"):
        DimensionMask(mask)


def test_width_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match="6 dims.*5 dims"):
        MeanSkeletonNormalization(np.zeros(6))(np.ones((1, 2, 5), np.float32))
    with pytest.raises(ValueError, match="4 dims.*5 dims"):
        DimensionMask(np.ones(4, bool))(np.ones((1, 2, 5), np.float32))
