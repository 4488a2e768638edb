"""The Res-TCN of papers/train-diagnose-fix.txt §3 and the authors' released code.

Layers, in order (every one named; design.md "Models"):

    skeleton (Input [T, D])
    normalize                       MeanSkeletonNormalization (non-trainable mean skeleton)
    conv1                           Conv1D filters[0], length k, stride 1, no activation: X1 = W1 * X0
    for l = 2 … 1 + len(filters) * units_per_block:
      unit{l}_bn → unit{l}_relu → unit{l}_dropout → unit{l}_conv      the residual branch F
      unit{l}_shortcut              1×1 Conv1D with the unit's stride, only where channels change
      unit{l}                       Add: X_l = S(X_{l-1}) + F(X_{l-1})
    head_bn → head_relu → pool (GlobalAveragePooling1D) → classifier (Dense softmax)

With the defaults (the paper's): units 2–4 have 64 filters, unit 5 128 with stride 2, units
6–7 128, unit 8 256 with stride 2, units 9–10 256; filter length 8. A block after the first
halves the time axis (`same` padding: T → ceil(T/2)), so any T works.

*Decision — pooling over padded frames*: `pool` is a plain global average over all T frames,
padding included, exactly as the released code (AveragePooling1D over the whole sequence).
Padded frames are zero after `normalize`, but conv biases and BN make their activations
non-zero, so they do contribute; the model learns with that, and keeping it makes trained
weights and accuracies comparable with the paper's. A masked mean would change the model.
"""

from __future__ import annotations

import keras

from tdf.models.blocks import (
    apply_head_activation, apply_residual_unit, check_config, conv1d, mean_vector, unit_plan)
from tdf.models.normalize import MeanSkeletonNormalization


def build_res_tcn(num_classes: int, frames: int | None = None, input_dim: int = 150,
                  filters=(64, 128, 256), units_per_block: int = 3, kernel_size: int = 8,
                  dropout: float = 0.5, l1: float = 1e-4, mean_skeleton=None,
                  bn_momentum: float = 0.99, name: str = "res_tcn") -> keras.Model:
    """Build the (uncompiled) Res-TCN; input `[batch, frames, input_dim]`, output class scores.

    Args:
        num_classes: number of classes (≥ 2) of the softmax `classifier`.
        frames: fixed sequence length, or None to accept any length.
        input_dim: values per frame (the layout's D = bodies × joints × coords; ntu25: 150).
        filters: strictly increasing widths, one per block of `units_per_block` units.
        units_per_block: residual units per block (3 in the paper: 9 units in all).
        kernel_size: temporal filter length of `conv1` and every unit conv (8).
        dropout: rate of every `unit{l}_dropout` (0.5).
        l1: L1 penalty on every conv kernel (1e-4; 0 disables it).
        mean_skeleton: float[input_dim] mean over the training split's valid frames;
            None → zeros (then `normalize` is the identity on valid frames).
        bn_momentum: momentum of every BatchNormalization's running statistics (Keras' 0.99).
            With few steps per epoch (small data sets) 0.99 leaves the running variance far
            from the data's for many epochs, so inference-mode validation is wrong; 0.9 fixes it.
        name: the model's name.

    Raises:
        ConfigError (a ValueError and a tdf BadInput) for a bad argument.
    """
    filters = check_config(num_classes=num_classes, frames=frames, input_dim=input_dim,
                           filters=filters, units_per_block=units_per_block,
                           kernel_size=kernel_size, dropout=dropout, l1=l1, name=name,
                           bn_momentum=bn_momentum)
    mean = mean_vector(mean_skeleton, input_dim)

    inputs = keras.Input(shape=(frames, input_dim), name="skeleton")
    x = MeanSkeletonNormalization(mean, name="normalize")(inputs)
    x = conv1d(filters[0], kernel_size, 1, l1, "conv1")(x)
    for spec in unit_plan(filters, units_per_block):
        x = apply_residual_unit(x, spec, kernel_size=kernel_size, dropout=dropout, l1=l1,
                                bn_momentum=bn_momentum)
    x = apply_head_activation(x, bn_momentum=bn_momentum)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)
