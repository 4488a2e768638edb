"""Analytic parameter counts and forward FLOPs of Res-TCN and MS-Res-TCN configurations.

Pure arithmetic on the architecture (no Keras): benchmarks use it to turn samples/s into
GFLOP/s, and tests compare it with the built model.

FLOP convention (per sample, one inference forward pass): a multiply-accumulate is 2 FLOPs;
conv and dense layers cost 2·k·C_in·C_out per output position plus one add per output for the
bias (strided convs cost per *output* position; `same` padding zeros are counted as computed);
inference BatchNormalization costs 2 per element (scale and shift), ReLU, Add, mask and the
mean-subtraction 1 per element, global average pooling 1 per input element, softmax
3 per class. Dropout is free at inference. Time lengths follow `same` padding:
T_out = ceil(T_in / stride).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """Parameters (all weights; `trainable` excludes BN moving stats and fixed vectors) and
    forward FLOPs per sample."""

    params: int
    trainable: int
    flops: int


def _units(filters, units_per_block):
    """(in_channels, out_channels, stride) of every residual unit, as in blocks.unit_plan."""
    previous = filters[0]
    for block, width in enumerate(filters):
        for position in range(units_per_block):
            yield previous, width, (2 if block > 0 and position == 0 else 1)
            previous = width


def _conv(t_in, c_in, c_out, k, stride):
    """(params, flops, t_out) of a `same` Conv1D with bias."""
    t_out = math.ceil(t_in / stride)
    return k * c_in * c_out + c_out, t_out * c_out * (2 * k * c_in + 1), t_out


def _stream(frames, input_dim, filters, units_per_block, kernel_size, pipe_kernel_size=None):
    """Cost of conv1 + units + head BN/ReLU of one stream (plus the pipes owned by it).

    Returns (params, non_trainable, flops, t_final). With `pipe_kernel_size`, each unit also
    carries one pipe (Conv1D c_out→c_out, ReLU, Add) — used to count the MS-Res-TCN, where the
    two streams together own one pipe per unit; the caller passes it for one stream only.
    """
    params, fixed, flops, t = 0, 0, 0, frames
    p, f, t = _conv(t, input_dim, filters[0], kernel_size, 1)
    params, flops = params + p, flops + f
    for c_in, c_out, stride in _units(filters, units_per_block):
        params, fixed, flops = params + 4 * c_in, fixed + 2 * c_in, flops + 3 * t * c_in  # BN, ReLU
        p, f, t_out = _conv(t, c_in, c_out, kernel_size, stride)
        params, flops = params + p, flops + f
        if c_in != c_out:
            p, f, _ = _conv(t, c_in, c_out, 1, stride)
            params, flops = params + p, flops + f
        t = t_out
        flops += t * c_out  # Add
        if pipe_kernel_size is not None:
            p, f, _ = _conv(t, c_out, c_out, pipe_kernel_size, 1)
            params, flops = params + p, flops + f + 2 * t * c_out  # + ReLU + Add
    c = filters[-1]
    params, fixed, flops = params + 4 * c, fixed + 2 * c, flops + 3 * t * c  # head BN, ReLU
    return params, fixed, flops, t


def _check(frames, filters):
    filters = tuple(int(f) for f in filters)
    if not filters or int(frames) < 1:
        raise ValueError("need at least one block width and frames ≥ 1")
    return int(frames), filters


def res_tcn_cost(num_classes: int, frames: int = 300, input_dim: int = 150,
                 filters=(64, 128, 256), units_per_block: int = 3,
                 kernel_size: int = 8) -> Cost:
    """Parameters and per-sample forward FLOPs of `build_res_tcn` with these arguments."""
    frames, filters = _check(frames, filters)
    params, fixed, flops, t = _stream(frames, input_dim, filters, units_per_block, kernel_size)
    c = filters[-1]
    params += input_dim + c * num_classes + num_classes  # normalize mean, classifier
    fixed += input_dim
    flops += frames * input_dim + t * c + num_classes * (2 * c + 1) + 3 * num_classes
    return Cost(params, params - fixed, flops)


def ms_res_tcn_cost(num_classes: int, frames: int = 300, input_dim: int = 150,
                    filters=(64, 128, 256), units_per_block: int = 3, kernel_size: int = 8,
                    pipe_kernel_size: int = 1) -> Cost:
    """Parameters and per-sample forward FLOPs of `build_ms_res_tcn` with these arguments."""
    frames, filters = _check(frames, filters)
    main = _stream(frames, input_dim, filters, units_per_block, kernel_size, pipe_kernel_size)
    ta = _stream(frames, input_dim, filters, units_per_block, kernel_size)
    t, c = main[3], 2 * filters[-1]
    params = main[0] + ta[0] + 2 * input_dim + c * num_classes + num_classes  # + mean, mask
    fixed = main[1] + ta[1] + 2 * input_dim
    flops = (main[2] + ta[2] + 2 * frames * input_dim  # normalize, ta_mask
             + t * c + num_classes * (2 * c + 1) + 3 * num_classes)
    return Cost(params, params - fixed, flops)
