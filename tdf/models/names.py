"""Find a model's kind and the layers that hold each residual unit's output X_l, by name.

Tools that read hidden layers (the decoder, the fix) go through these helpers instead of
guessing names: a Res-TCN's X_l is layer `unit{l}`; an MS-Res-TCN stream's X_l is
`{stream}_unit{l}_piped` where a pipe feeds that stream at unit l, else `{stream}_unit{l}`
(see tdf/models/ms_res_tcn.py).
"""

from __future__ import annotations

import re

import keras

from tdf.errors import BadInput
from tdf.streams import STREAMS

_UNIT = re.compile(r"^(?:(main|ta)_)?unit(\d+)$")


def model_kind(model: keras.Model) -> str:
    """"res_tcn" or "ms_res_tcn", from the layer names; BadInput for anything else."""
    names = {layer.name for layer in model.layers}
    if {"normalize", "main_conv1", "ta_conv1", "ta_mask"} <= names:
        return "ms_res_tcn"
    if {"normalize", "conv1", "unit2"} <= names:
        return "res_tcn"
    raise BadInput(f"model {model.name!r} is neither a tdf Res-TCN nor an MS-Res-TCN "
                   f"(no 'normalize'/'conv1'/'unit2' or 'main_conv1'/'ta_conv1' layers)")


def _check_stream(model: keras.Model, stream: str | None) -> str:
    kind = model_kind(model)
    if kind == "res_tcn" and stream is not None:
        raise ValueError(f"a Res-TCN has one stream; pass stream=None, not {stream!r}")
    if kind == "ms_res_tcn" and stream not in STREAMS:
        raise ValueError(f"an MS-Res-TCN has streams {STREAMS}; pass one of them, not {stream!r}")
    return kind


def layer_name(model: keras.Model, base: str, stream: str | None = None) -> str:
    """The name of layer `base` (e.g. "conv1", "head_relu") in `stream` of `model`."""
    _check_stream(model, stream)
    return base if stream is None else f"{stream}_{base}"


def unit_indices(model: keras.Model) -> list[int]:
    """The residual unit indices l (2 … N+1) of `model`, ascending."""
    model_kind(model)
    found = {int(m.group(2)) for m in map(_UNIT.match, (layer.name for layer in model.layers)) if m}
    return sorted(found)


def unit_names(model: keras.Model, stream: str | None = None) -> list[str]:
    """Names of the layers whose outputs are X_2 … X_N of `model` (of `stream` for an MS model)."""
    _check_stream(model, stream)
    names = {layer.name for layer in model.layers}
    result = []
    for index in unit_indices(model):
        base = f"unit{index}" if stream is None else f"{stream}_unit{index}"
        result.append(f"{base}_piped" if f"{base}_piped" in names else base)
    return result
