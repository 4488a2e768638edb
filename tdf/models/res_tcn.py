"""The Res-TCN of Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach for
Fine-grained Action Recognition" (arXiv:1711.08502) §3 and the authors' released code.

Layers, in order (every one named; docs/design.md#models):

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
    apply_head_activation, apply_residual_unit, check_config, conv1d, mean_vector, residual_unit_record,
    stream_record, unit_plan)
from tdf.models.contract import ModelContract, make_model
from tdf.models.normalize import MeanSkeletonNormalization


def res_tcn_contract(units: list[tuple[int, bool]], width: int, input_dim: int,
                     layout: str | None = None) -> ModelContract:
    """The contract of a Res-TCN whose residual units are `units` [(l, has_shortcut)] and whose
    last block has `width` channels (also used for models saved before contracts existed)."""
    records = [residual_unit_record(l, shortcut) for l, shortcut in units]
    return ModelContract("res_tcn", input_dim, "pool", "classifier",
                         (stream_record(None, "", "normalize", records, (0, width)),),
                         normalize="normalize", layout=layout)


def build_res_tcn(num_classes: int, frames: int | None = None, input_dim: int = 150,
                  filters=(64, 128, 256), units_per_block: int = 3, kernel_size: int = 8,
                  dropout: float = 0.5, l1: float = 1e-4, mean_skeleton=None,
                  bn_momentum: float = 0.99, name: str = "res_tcn",
                  layout: str | None = None) -> keras.Model:
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
        layout: the data layout's name, recorded in the model contract (None: not known).

    Returns a `ContractModel` whose contract (tdf.models.contract) lists these layers.

    Raises:
        ConfigError (a ValueError and a tdf BadInput) for a bad argument.
    """
    filters = check_config(num_classes=num_classes, frames=frames, input_dim=input_dim,
                           filters=filters, units_per_block=units_per_block,
                           kernel_size=kernel_size, dropout=dropout, l1=l1, name=name,
                           bn_momentum=bn_momentum)
    mean = mean_vector(mean_skeleton, input_dim)

    inputs = keras.Input(shape=(frames, input_dim), name="skeleton")
    x = MeanSkeletonNormalization(mean, name="normalize", dtype="float32")(inputs)
    x = conv1d(filters[0], kernel_size, 1, l1, "conv1")(x)
    plan = unit_plan(filters, units_per_block)
    for spec in plan:
        x = apply_residual_unit(x, spec, kernel_size=kernel_size, dropout=dropout, l1=l1,
                                bn_momentum=bn_momentum)
    x = apply_head_activation(x, bn_momentum=bn_momentum)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier",
                                 dtype="float32")(x)
    contract = res_tcn_contract([(u.index, u.has_shortcut) for u in plan], filters[-1], input_dim, layout)
    return make_model(inputs, outputs, contract, name)


def build_from_config(cfg, num_classes: int, frames: int | None, mean) -> keras.Model:
    """The Res-TCN `tdf train` trains: widths, depth and regularisation from the training config
    `cfg` (tdf.train_config.TrainConfig), any sequence length, the training set's mean skeleton
    inside (`mean` has the input's dims: the store's, or the input recipe's features)."""
    return build_res_tcn(num_classes, frames=None, input_dim=len(mean), filters=cfg.filters,
                         units_per_block=cfg.units_per_block, kernel_size=cfg.kernel_size,
                         dropout=cfg.dropout, l1=cfg.l1, bn_momentum=cfg.bn_momentum,
                         mean_skeleton=mean)
