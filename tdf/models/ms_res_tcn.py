"""The MS-Res-TCN of Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach for
Fine-grained Action Recognition" (arXiv:1711.08502) §4.2 (eqs. 11–16): a main stream and a
Targeted Attention (TA) stream of the Res-TCN's shape, exchanging information through Pipes.

Layers (every one named; Keras 3 forbids '/' in names, so streams are name prefixes):

    skeleton (Input [T, D]) → normalize                  shared MeanSkeletonNormalization
    ta_mask                                              DimensionMask: dims outside the targeted
                                                         groups set to 0 — the TA stream's input
    main_conv1, ta_conv1                                 X_1 = W_1 * X_0 per stream
    for l = 2 … N+1, in both streams s ∈ {main, ta}:
      s_unit{l}_bn, s_unit{l}_relu, s_unit{l}_dropout, s_unit{l}_conv, s_unit{l}_shortcut
      s_unit{l}                                          Add: S(X_{l-1}) + F(X_{l-1}), as the Res-TCN
      pipe{l}, pipe{l}_relu                              H = ReLU(Conv1D(other stream's s_unit{l}))
      even l: main_unit{l}_piped = main_unit{l} + H(ta_unit{l})      (eq. 11 with eq. 15)
      odd l:  ta_unit{l}_piped   = ta_unit{l}   + H(main_unit{l})    (eq. 12 with eq. 16)
    main_head_bn → main_head_relu, ta_head_bn → ta_head_relu
    concat (channels) → pool (GlobalAveragePooling1D) → classifier (Dense softmax)

A stream's output X_l of unit l is `{s}_unit{l}_piped` where a pipe feeds that stream and
`{s}_unit{l}` otherwise; `tdf.models.unit_names(model, stream)` returns exactly these names.
Before the first pipe into it (unit 3), the TA stream sees only the targeted dims.

*Assumption* (docs/design.md#models): pipe convs have length 1 (`pipe_kernel_size`), stride 1, `same`, with
bias and the L1 kernel penalty like every conv. The pooling is plain GAP as in the Res-TCN.
"""

from __future__ import annotations

import keras
import numpy as np

from tdf.errors import BadInput
from tdf.models.blocks import (
    ConfigError, is_int, apply_head_activation, apply_residual_unit, check_config, conv1d,
    mean_vector, residual_unit_record, stream_record, unit_plan)
from tdf.models.contract import ModelContract, Pipe, contract_of, make_model
from tdf.models.normalize import DimensionMask, MeanSkeletonNormalization


def _feeds(stream: str, index: int) -> bool:
    """Whether a pipe feeds `stream` at unit `index` (eq. 15: main at even l; eq. 16: ta at odd l)."""
    return (index % 2 == 0) == (stream == "main")


def ms_res_tcn_contract(units: list[tuple[int, bool]], width: int, input_dim: int,
                        layout: str | None = None) -> ModelContract:
    """The contract of an MS-Res-TCN whose residual units are `units` [(l, has_shortcut)] and
    whose last block has `width` channels per stream (also used for models saved before
    contracts existed)."""
    streams = []
    for position, (stream, source, mask) in enumerate((("main", "normalize", None),
                                                       ("ta", "ta_mask", "ta_mask"))):
        records = [residual_unit_record(l, shortcut, f"{stream}_",
                                        f"{stream}_unit{l}_piped" if _feeds(stream, l) else None)
                   for l, shortcut in units]
        streams.append(stream_record(stream, f"{stream}_", source, records,
                                     (position * width, (position + 1) * width), mask))
    pipes = []
    for l, _ in units:
        source, target = ("ta", "main") if _feeds("main", l) else ("main", "ta")
        pipes.append(Pipe(l, source, target, f"pipe{l}", f"pipe{l}_relu", f"{target}_unit{l}_piped"))
    return ModelContract("ms_res_tcn", input_dim, "pool", "classifier", tuple(streams),
                         normalize="normalize", layout=layout, pipes=tuple(pipes), merge="concat")


def _check_mask(ta_mask, input_dim: int) -> np.ndarray:
    mask = np.asarray(ta_mask)
    if mask.dtype != bool:
        raise ConfigError(f"ta_mask must be a boolean vector (e.g. from Layout.group_mask, tdf.skeleton), "
                          f"got dtype {mask.dtype}")
    if mask.shape != (input_dim,):
        raise ConfigError(f"ta_mask must have shape ({input_dim},), got {mask.shape}")
    if not mask.any():
        raise ConfigError("ta_mask selects no input dim; the TA stream would see only zeros")
    return mask


def build_ms_res_tcn(num_classes: int, ta_mask, frames: int | None = None, input_dim: int = 150,
                     filters=(64, 128, 256), units_per_block: int = 3, kernel_size: int = 8,
                     dropout: float = 0.5, l1: float = 1e-4, pipe_kernel_size: int = 1,
                     mean_skeleton=None, bn_momentum: float = 0.99,
                     name: str = "ms_res_tcn", layout: str | None = None) -> keras.Model:
    """Build the (uncompiled) MS-Res-TCN; arguments as `build_res_tcn`, plus:

    Args:
        ta_mask: bool[input_dim], True for the dims the TA stream sees (the targeted groups).
        pipe_kernel_size: temporal length of the pipe convs (1).
        layout: the data layout's name, recorded in the model contract (None: not known).

    Raises:
        ConfigError (a ValueError and a tdf BadInput) for a bad argument, including a
        `ta_mask` that is not `input_dim` booleans or selects no dimension.
    """
    filters = check_config(num_classes=num_classes, frames=frames, input_dim=input_dim,
                           filters=filters, units_per_block=units_per_block,
                           kernel_size=kernel_size, dropout=dropout, l1=l1, name=name,
                           bn_momentum=bn_momentum)
    if not is_int(pipe_kernel_size) or pipe_kernel_size < 1:
        raise ConfigError(f"pipe_kernel_size must be a positive integer, got {pipe_kernel_size!r}")
    mask = _check_mask(ta_mask, input_dim)
    mean = mean_vector(mean_skeleton, input_dim)

    inputs = keras.Input(shape=(frames, input_dim), name="skeleton")
    x0 = MeanSkeletonNormalization(mean, name="normalize", dtype="float32")(inputs)
    ta0 = DimensionMask(mask, name="ta_mask", dtype="float32")(x0)
    main = conv1d(filters[0], kernel_size, 1, l1, "main_conv1")(x0)
    ta = conv1d(filters[0], kernel_size, 1, l1, "ta_conv1")(ta0)
    unit = dict(kernel_size=kernel_size, dropout=dropout, l1=l1, bn_momentum=bn_momentum)
    plan = unit_plan(filters, units_per_block)
    for spec in plan:
        main = apply_residual_unit(main, spec, prefix="main_", **unit)
        ta = apply_residual_unit(ta, spec, prefix="ta_", **unit)
        l = spec.index
        source = ta if l % 2 == 0 else main
        piped = conv1d(spec.filters, pipe_kernel_size, 1, l1, f"pipe{l}")(source)
        piped = keras.layers.ReLU(name=f"pipe{l}_relu")(piped)
        if l % 2 == 0:   # eq. 15: the main stream receives from the TA stream
            main = keras.layers.Add(name=f"main_unit{l}_piped")([main, piped])
        else:            # eq. 16: the TA stream receives from the main stream
            ta = keras.layers.Add(name=f"ta_unit{l}_piped")([ta, piped])
    main = apply_head_activation(main, "main_", bn_momentum)
    ta = apply_head_activation(ta, "ta_", bn_momentum)
    x = keras.layers.Concatenate(axis=-1, name="concat")([main, ta])
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier", dtype="float32")(x)
    contract = ms_res_tcn_contract([(u.index, u.has_shortcut) for u in plan], filters[-1], input_dim, layout)
    return make_model(inputs, outputs, contract, name)


def ta_mask_of(model: keras.Model) -> np.ndarray:
    """The bool[D] mask of an MS-Res-TCN's TA stream."""
    contract = contract_of(model)
    mask = contract.stream("ta").mask if "ta" in contract.stream_names else None
    if mask is None:
        raise BadInput(f"model {model.name!r} is a {contract.family}; only an MS-Res-TCN has a TA mask")
    return model.get_layer(mask).mask_array()


def init_main_from_baseline(ms_model: keras.Model, baseline_model: keras.Model) -> list[str]:
    """Copy a trained Res-TCN's weights into the MS-Res-TCN's main stream; return the names set.

    Every baseline layer with weights goes to the same-named `main_*` layer (`normalize` to the
    shared `normalize`), except `classifier`, whose input is twice as wide in the MS model and
    so starts from scratch. Everything is checked before anything is copied: a model of the
    wrong kind, a missing layer or a shape mismatch raises BadInput and leaves `ms_model` as it
    was.
    """
    if contract_of(baseline_model).family != "res_tcn":
        raise BadInput(f"the baseline {baseline_model.name!r} is a {contract_of(baseline_model).family} "
                       f"model; the MS-Res-TCN's main stream can only start from a plain Res-TCN")
    if contract_of(ms_model).family != "ms_res_tcn":
        raise BadInput(f"{ms_model.name!r} is a {contract_of(ms_model).family}, not an MS-Res-TCN to initialise")
    ms_names = {layer.name for layer in ms_model.layers}
    pairs = []
    for layer in baseline_model.layers:
        if not layer.weights or layer.name == "classifier":
            continue
        target = layer.name if layer.name == "normalize" else f"main_{layer.name}"
        if target not in ms_names:
            raise BadInput(f"the baseline has layer {layer.name!r} but the MS-Res-TCN has no "
                           f"{target!r}: the two architectures differ (depth or shortcuts)")
        pairs.append((layer, ms_model.get_layer(target)))
    covered = {target.name for _, target in pairs}
    missing = sorted(layer.name for layer in ms_model.layers if layer.weights
                     and layer.name.startswith("main_") and layer.name not in covered)
    if missing:
        raise BadInput(f"the MS-Res-TCN's main stream has layers the baseline lacks: {missing}")
    for source, target in pairs:
        for a, b in zip(source.weights, target.weights, strict=True):
            if tuple(a.shape) != tuple(b.shape):
                raise BadInput(f"baseline weight {a.path!r} has shape {tuple(a.shape)} but "
                               f"MS-Res-TCN weight {b.path!r} has {tuple(b.shape)}: the models were "
                               f"built with different widths, filter lengths or input dims")
    for source, target in pairs:
        target.set_weights(source.get_weights())
    return [target.name for _, target in pairs]
