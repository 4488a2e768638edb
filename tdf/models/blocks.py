"""Building blocks shared by the Res-TCN and the MS-Res-TCN: argument checks, the unit plan,
the pre-activation residual unit and the head activation.

Every layer is named from a stream prefix ("" for the Res-TCN, "main_"/"ta_" for the
MS-Res-TCN) so the decoder, the fix and users' scripts can find it by name (docs/design.md#models).
Convolutions follow the authors' released code: He-normal init, bias, `same` padding, and an
L1 penalty on the kernel of every convolution (including shortcuts and pipes).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import keras
import numpy as np

from tdf.errors import BadInput
from tdf.models.contract import Stream, Unit


class ConfigError(BadInput, ValueError):
    """A model argument is wrong. A ValueError for library users, exit 2 on the CLI."""


@dataclass(frozen=True)
class UnitSpec:
    """One residual unit: its index l (2…), input/output channels and stride."""

    index: int
    in_filters: int
    filters: int
    stride: int

    @property
    def has_shortcut(self) -> bool:
        """True where channels change, so S is a strided 1×1 conv (eq. 8) instead of identity."""
        return self.in_filters != self.filters


def unit_plan(filters: tuple[int, ...], units_per_block: int) -> list[UnitSpec]:
    """The residual units l = 2 … 1+len(filters)*units_per_block.

    Block b uses `filters[b]`; the first unit of every block after the first has stride 2 and a
    1×1 strided shortcut (paper defaults: units 5 and 8).
    """
    plan, previous, index = [], filters[0], 2
    for block, width in enumerate(filters):
        for position in range(units_per_block):
            stride = 2 if block > 0 and position == 0 else 1
            plan.append(UnitSpec(index, previous, width, stride))
            previous, index = width, index + 1
    return plan


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_config(*, num_classes, frames, input_dim, filters, units_per_block, kernel_size,
                 dropout, l1, name, bn_momentum=0.99) -> tuple[int, ...]:
    """Check the shared builder arguments; return `filters` as a tuple of ints."""
    if not is_int(num_classes) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer ≥ 2, got {num_classes!r}")
    if frames is not None and (not is_int(frames) or frames < 1):
        raise ConfigError(f"frames must be None (any length) or a positive integer, got {frames!r}")
    if not is_int(input_dim) or input_dim < 1:
        raise ConfigError(f"input_dim must be a positive integer, got {input_dim!r}")
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__iter__"):
        raise ConfigError(f"filters must be a sequence of block widths such as (64, 128, 256), "
                          f"got {filters!r}")
    filters = tuple(filters)
    if not filters or not all(is_int(f) and f >= 1 for f in filters):
        raise ConfigError(f"filters must be one or more positive integers, got {filters!r}")
    if any(b <= a for a, b in zip(filters, filters[1:])):
        raise ConfigError(f"filters must be strictly increasing (each block widens and halves "
                          f"the time axis), got {filters!r}")
    if not is_int(units_per_block) or units_per_block < 1:
        raise ConfigError(f"units_per_block must be a positive integer, got {units_per_block!r}")
    if not is_int(kernel_size) or kernel_size < 1:
        raise ConfigError(f"kernel_size must be a positive integer, got {kernel_size!r}")
    if not is_real(dropout) or not 0 <= dropout < 1:
        raise ConfigError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    if not is_real(l1) or not math.isfinite(l1) or l1 < 0:
        raise ConfigError(f"l1 must be a finite number ≥ 0, got {l1!r}")
    if not is_real(bn_momentum) or not 0 <= bn_momentum < 1:
        raise ConfigError(f"bn_momentum must be in [0, 1) (the weight of the old running "
                          f"statistics; Keras' default 0.99), got {bn_momentum!r}")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"name must be a non-empty string without '/', got {name!r}")
    return tuple(int(f) for f in filters)


def mean_vector(mean_skeleton, input_dim: int) -> np.ndarray:
    """`mean_skeleton` checked against `input_dim` (None → zeros), as float32[input_dim]."""
    if mean_skeleton is None:
        return np.zeros(input_dim, np.float32)
    mean = np.asarray(mean_skeleton, dtype=np.float32)
    if mean.shape != (input_dim,):
        raise ConfigError(f"mean_skeleton must have shape ({input_dim},), got {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ConfigError("mean_skeleton must be finite; it contains NaN or inf")
    return mean


def conv1d(filters: int, kernel_size: int, stride: int, l1: float, name: str) -> keras.layers.Conv1D:
    """A `same`-padded Conv1D with bias, He-normal init and an L1 kernel penalty (if l1 > 0)."""
    return keras.layers.Conv1D(
        filters, kernel_size, strides=stride, padding="same", use_bias=True,
        kernel_initializer="he_normal",
        kernel_regularizer=keras.regularizers.L1(l1) if l1 > 0 else None,
        name=name)


def apply_residual_unit(x, spec: UnitSpec, *, kernel_size: int, dropout: float, l1: float,
                        bn_momentum: float = 0.99, prefix: str = ""):
    """X_l = S(X_{l-1}) + Conv1D(Dropout(ReLU(BN(X_{l-1})))); returns the sum `{prefix}unit{l}`."""
    base = f"{prefix}unit{spec.index}"
    shortcut = x
    if spec.has_shortcut:
        shortcut = conv1d(spec.filters, 1, spec.stride, l1, f"{base}_shortcut")(x)
    y = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{base}_bn")(x)
    y = keras.layers.ReLU(name=f"{base}_relu")(y)
    y = keras.layers.Dropout(dropout, name=f"{base}_dropout")(y)
    y = conv1d(spec.filters, kernel_size, spec.stride, l1, f"{base}_conv")(y)
    return keras.layers.Add(name=base)([shortcut, y])


def apply_head_activation(x, prefix: str = "", bn_momentum: float = 0.99):
    """The final BN + ReLU of a stream (`{prefix}head_bn`, `{prefix}head_relu`)."""
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{prefix}head_bn")(x)
    return keras.layers.ReLU(name=f"{prefix}head_relu")(x)


# ----------------------------------------------------------------------------- contract records


def first_conv_record(prefix: str = "") -> Unit:
    """The contract's record of a stream's `{prefix}conv1` (X_1)."""
    return Unit(1, "first_conv", f"{prefix}conv1", f"{prefix}conv1")


def residual_unit_record(index: int, has_shortcut: bool, prefix: str = "",
                         output: str | None = None) -> Unit:
    """The contract's record of the layers `apply_residual_unit` names; `output` is the layer
    holding X_l when it is not the sum itself (an MS-Res-TCN stream's piped sum)."""
    base = f"{prefix}unit{index}"
    return Unit(index, "transition" if has_shortcut else "residual", output or base, f"{base}_conv",
                bn=f"{base}_bn", relu=f"{base}_relu", dropout=f"{base}_dropout", add=base,
                shortcut=f"{base}_shortcut" if has_shortcut else None)


def stream_record(name: str | None, prefix: str, source: str, units: list[Unit],
                  features: tuple[int, int], mask: str | None = None) -> Stream:
    """A stream of the contract: conv1, its residual units, then `apply_head_activation`'s layers."""
    return Stream(name, source, (first_conv_record(prefix), *units),
                  (f"{prefix}head_bn", f"{prefix}head_relu"), mask, features)
