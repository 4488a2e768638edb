"""Non-trainable input layers stored inside the models: mean-skeleton normalisation, dim mask.

`MeanSkeletonNormalization` subtracts the training set's mean skeleton (per-dimension mean
over valid frames, docs/design.md#models) from every *valid* frame — a frame with any non-zero
value — and leaves padded (all-zero) frames exactly zero, so padding stays recognisable
downstream. Keeping the mean in the model makes a saved `model.keras` self-contained and gives
the Feature Map Decoder the mean it must add back.

`DimensionMask` zeroes every input dimension outside a boolean mask; the MS-Res-TCN uses it as
`ta_mask` to build the Targeted Attention stream's input.

Both layers are registered with Keras under the package "tdf", so `keras.saving.load_model`
restores them without `custom_objects` once `tdf.models` has been imported.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _as_vector(values, what: str, dtype) -> np.ndarray:
    """`values` as a finite 1-D numpy array, or a ValueError naming `what`."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{what} must be a non-empty 1-D vector, got shape {arr.shape}")
    if dtype is bool:
        if arr.dtype != bool:
            raise ValueError(f"{what} must be boolean, got dtype {arr.dtype}")
        return arr
    arr = arr.astype(dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite; it contains NaN or inf")
    return arr


def _check_last_dim(layer: keras.layers.Layer, input_shape, dim: int) -> None:
    if input_shape[-1] != dim:
        raise ValueError(
            f"layer {layer.name!r} holds a vector of {dim} dims but its input has "
            f"{input_shape[-1]} dims per frame (shape {tuple(input_shape)})")


@keras.saving.register_keras_serializable(package="tdf")
class MeanSkeletonNormalization(keras.layers.Layer):
    """Subtract a fixed mean skeleton from valid frames; padded frames stay exactly zero.

    Input `[batch, T, D]`; `mean` is a length-D vector stored as the non-trainable weight
    `mean`. A frame is valid when any of its D values is non-zero.
    """

    def __init__(self, mean, **kwargs):
        super().__init__(**kwargs)
        self._initial_mean = _as_vector(mean, "mean", np.float32)
        self.dim = int(self._initial_mean.shape[0])

    def build(self, input_shape):
        _check_last_dim(self, input_shape, self.dim)
        self.mean = self.add_weight(
            name="mean", shape=(self.dim,), initializer="zeros", trainable=False)
        self.mean.assign(self._initial_mean)

    def call(self, inputs):
        valid = ops.any(ops.not_equal(inputs, 0), axis=-1, keepdims=True)
        mean = ops.cast(self.mean, inputs.dtype)
        return ops.where(valid, inputs - mean, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        mean = ops.convert_to_numpy(self.mean) if self.built else self._initial_mean
        config["mean"] = [float(v) for v in mean]
        return config

    def mean_array(self) -> np.ndarray:
        """The mean skeleton as a numpy float32[D] (what the decoder adds back)."""
        if not self.built:
            return self._initial_mean.copy()
        return ops.convert_to_numpy(self.mean).astype(np.float32)


@keras.saving.register_keras_serializable(package="tdf")
class DimensionMask(keras.layers.Layer):
    """Keep the input dims where `mask` is True and set every other dim to exactly zero.

    Input `[batch, T, D]`; `mask` is a boolean length-D vector stored as the non-trainable
    0/1 weight `mask` (attribute `dim_mask`).
    """

    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self._initial_mask = _as_vector(mask, "mask", bool)
        if not self._initial_mask.any():
            raise ValueError("mask selects no dimension; the stream would see only zeros")
        self.dim = int(self._initial_mask.shape[0])

    def build(self, input_shape):
        _check_last_dim(self, input_shape, self.dim)
        self.dim_mask = self.add_weight(
            name="mask", shape=(self.dim,), initializer="zeros", trainable=False)
        self.dim_mask.assign(self._initial_mask.astype(np.float32))

    def call(self, inputs):
        keep = ops.greater(ops.cast(self.dim_mask, inputs.dtype), 0.5)
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        mask = ops.convert_to_numpy(self.dim_mask) > 0.5 if self.built else self._initial_mask
        config["mask"] = [bool(v) for v in mask]
        return config

    def mask_array(self) -> np.ndarray:
        """The mask as a numpy bool[D]."""
        if not self.built:
            return self._initial_mask.copy()
        return ops.convert_to_numpy(self.dim_mask) > 0.5
