"""A tdf model as an explicit numpy graph, read from its stable layer names, with a forward pass.

LRP needs every layer's input activations and a per-layer backward rule, so the Res-TCN and
the MS-Res-TCN are rebuilt here as a list of nodes in topological order (ops: normalize,
mask, conv, bn, relu, identity (dropout), add, concat, gap, dense), with the weights copied
out as numpy arrays. The graph starts at the *normalised* input x̃ (the `normalize` output) and
ends at the classifier's pre-softmax scores. Every layer with weights must be covered, so a
model this module does not understand fails loudly instead of being explained wrongly; the
tests check that the numpy forward pass reproduces the Keras logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np

from tdf.models.names import model_kind, unit_indices


@dataclass
class Node:
    """One layer: its name, op, input node names, numpy parameters, whether its output is known
    to be non-negative (ReLU output, or pooled / concatenated / dropped-out ReLU outputs) and
    whether all its inputs are (where LRP may use the z⁺/αβ rules)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    params: dict = field(default_factory=dict)
    nonneg: bool = False
    nonneg_input: bool = False


def _np(value, dtype) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=dtype)


def _conv_params(layer, dtype) -> dict:
    if not isinstance(layer, keras.layers.Conv1D):
        raise ValueError(f"layer {layer.name!r} should be a Conv1D, it is a {type(layer).__name__}")
    if layer.padding != "same" or tuple(layer.dilation_rate) != (1,) or layer.groups != 1:
        raise ValueError(f"conv {layer.name!r}: only 'same' padding, dilation 1, groups 1 are supported")
    if layer.activation not in (None, keras.activations.linear):
        raise ValueError(f"conv {layer.name!r} has an activation; tdf convs have none")
    kernel = _np(layer.kernel, dtype)
    bias = _np(layer.bias, dtype) if layer.use_bias else np.zeros(kernel.shape[2], dtype)
    return {"kernel": kernel, "bias": bias, "stride": int(layer.strides[0])}


def _bn_params(layer, dtype) -> dict:
    """Inference BN as the per-channel affine map y = a·x + c."""
    if not isinstance(layer, keras.layers.BatchNormalization):
        raise ValueError(f"layer {layer.name!r} should be a BatchNormalization")
    mean = _np(layer.moving_mean, dtype)
    var = _np(layer.moving_variance, dtype)
    gamma = _np(layer.gamma, dtype) if layer.scale else np.ones_like(mean)
    beta = _np(layer.beta, dtype) if layer.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + dtype(layer.epsilon))
    return {"scale": scale, "shift": beta - mean * scale}


def _dense_params(layer, dtype) -> dict:
    kernel = _np(layer.kernel, dtype)
    bias = _np(layer.bias, dtype) if layer.use_bias else np.zeros(kernel.shape[1], dtype)
    return {"kernel": kernel, "bias": bias}


def _check_relu(layer) -> None:
    if not isinstance(layer, keras.layers.ReLU) or layer.max_value is not None \
            or layer.negative_slope != 0 or layer.threshold != 0:
        raise ValueError(f"layer {layer.name!r} should be a plain ReLU")


def build_graph(model: keras.Model, dtype=np.float32) -> list[Node]:
    """The nodes of a tdf Res-TCN or MS-Res-TCN, in topological order, from `normalize` on."""
    kind = model_kind(model)
    layers = {layer.name: layer for layer in model.layers}
    nodes: list[Node] = []
    by_name: dict[str, Node] = {}

    def add(name, op, inputs, params=None):
        nonneg_input = bool(inputs) and all(by_name[i].nonneg for i in inputs)
        nonneg = op == "relu" or (op in ("identity", "gap", "concat") and nonneg_input)
        node = Node(name, op, tuple(inputs), params or {}, nonneg, nonneg_input)
        nodes.append(node)
        by_name[name] = node
        return name

    def layer(name):
        if name not in layers:
            raise ValueError(f"model {model.name!r} has no layer {name!r}; not a tdf {kind}")
        return layers[name]

    def unit(prefix, index, previous):
        base = f"{prefix}unit{index}"
        y = add(f"{base}_bn", "bn", [previous], _bn_params(layer(f"{base}_bn"), dtype))
        _check_relu(layer(f"{base}_relu"))
        y = add(f"{base}_relu", "relu", [y])
        layer(f"{base}_dropout")
        y = add(f"{base}_dropout", "identity", [y])    # inference: dropout is the identity
        y = add(f"{base}_conv", "conv", [y], _conv_params(layer(f"{base}_conv"), dtype))
        shortcut = previous
        if f"{base}_shortcut" in layers:
            shortcut = add(f"{base}_shortcut", "conv", [previous],
                           _conv_params(layers[f"{base}_shortcut"], dtype))
        return add(base, "add", [shortcut, y])

    def head(prefix, previous):
        y = add(f"{prefix}head_bn", "bn", [previous], _bn_params(layer(f"{prefix}head_bn"), dtype))
        _check_relu(layer(f"{prefix}head_relu"))
        return add(f"{prefix}head_relu", "relu", [y])

    add("normalize", "input", [])
    if kind == "res_tcn":
        streams = {"": add("conv1", "conv", ["normalize"], _conv_params(layer("conv1"), dtype))}
    else:
        mask = layer("ta_mask").mask_array()
        add("ta_mask", "mask", ["normalize"], {"mask": mask})
        streams = {"main_": add("main_conv1", "conv", ["normalize"],
                                _conv_params(layer("main_conv1"), dtype)),
                   "ta_": add("ta_conv1", "conv", ["ta_mask"], _conv_params(layer("ta_conv1"), dtype))}
    for index in unit_indices(model):
        for prefix in streams:
            streams[prefix] = unit(prefix, index, streams[prefix])
        if kind == "ms_res_tcn":   # even l: main ← pipe(ta); odd l: ta ← pipe(main)
            source, target = ("ta_", "main_") if index % 2 == 0 else ("main_", "ta_")
            pipe = add(f"pipe{index}", "conv", [streams[source]],
                       _conv_params(layer(f"pipe{index}"), dtype))
            _check_relu(layer(f"pipe{index}_relu"))
            pipe = add(f"pipe{index}_relu", "relu", [pipe])
            streams[target] = add(f"{target}unit{index}_piped", "add", [streams[target], pipe])
    outs = [head(prefix, out) for prefix, out in streams.items()]
    top = outs[0] if len(outs) == 1 else add("concat", "concat", outs)
    layer("pool")
    add("pool", "gap", [top])
    add("classifier", "dense", ["pool"], _dense_params(layer("classifier"), dtype))

    weighted = {name for name, lay in layers.items() if lay.weights}
    missing = sorted(weighted - set(by_name))
    if missing:
        raise ValueError(f"model {model.name!r} has layers with weights this graph does not "
                         f"know how to explain: {missing}")
    return nodes


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(output length, left pad, right pad) of Keras/TensorFlow 'same' padding."""
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return out, total // 2, total - total // 2


def _valid_conv(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Unpadded cross-correlation through keras.ops (the backend's threaded conv kernels)."""
    out = keras.ops.conv(x, kernel.astype(x.dtype, copy=False), strides=stride, padding="valid")
    return np.asarray(keras.ops.convert_to_numpy(out), dtype=x.dtype)


def conv1d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, stride: int) -> np.ndarray:
    """'same' Conv1D of x [N, T, Cin] with kernel [k, Cin, Cout] (explicit padding + valid conv)."""
    _, left, right = same_padding(x.shape[1], kernel.shape[0], stride)
    z = _valid_conv(np.pad(x, ((0, 0), (left, right), (0, 0))), kernel, stride)
    return z + bias if bias is not None else z


def conv1d_transpose(s: np.ndarray, kernel: np.ndarray, stride: int, length: int) -> np.ndarray:
    """The adjoint of `conv1d` (no bias): c [N, length, Cin] with c_i = Σ_j w_ij s_j.

    With the forward z[t] = Σ_tap x_pad[t·stride + tap]·W[tap], the adjoint is
    c[p] = Σ_tap s_d[p + left − tap]·W[tap]ᵀ, s_d being s with stride − 1 zeros between steps:
    a valid correlation of s_d, padded by (k − 1 − left, length − span + left), with the kernel
    flipped in time and transposed in channels.
    """
    k = kernel.shape[0]
    out, left, _ = same_padding(length, k, stride)
    span = (out - 1) * stride + 1
    if stride > 1:
        dilated = np.zeros((s.shape[0], out * stride, s.shape[2]), s.dtype)
        dilated[:, ::stride] = s
        s = dilated[:, :span]
    padded = np.pad(s, ((0, 0), (k - 1 - left, length - span + left), (0, 0)))
    return _valid_conv(padded, np.ascontiguousarray(kernel[::-1].transpose(0, 2, 1)), 1)


def forward(nodes: list[Node], x_norm: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's output for the normalised input x̃ [N, T, D]; 'classifier' holds the logits."""
    acts: dict[str, np.ndarray] = {}
    for node in nodes:
        ins = [acts[name] for name in node.inputs]
        p = node.params
        if node.op == "input":
            out = x_norm
        elif node.op == "mask":
            out = np.where(p["mask"], ins[0], 0).astype(ins[0].dtype)
        elif node.op == "conv":
            out = conv1d(ins[0], p["kernel"], p["bias"], p["stride"])
        elif node.op == "bn":
            out = ins[0] * p["scale"] + p["shift"]
        elif node.op == "relu":
            out = np.maximum(ins[0], 0)
        elif node.op == "identity":
            out = ins[0]
        elif node.op == "add":
            out = ins[0] + ins[1]
        elif node.op == "concat":
            out = np.concatenate(ins, axis=-1)
        elif node.op == "gap":
            out = ins[0].mean(axis=1)
        elif node.op == "dense":
            out = ins[0] @ p["kernel"] + p["bias"]
        else:  # pragma: no cover - build_graph only makes the ops above
            raise AssertionError(node.op)
        acts[node.name] = out
    return acts
