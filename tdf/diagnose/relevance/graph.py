"""A tdf model as an explicit numpy graph, read from its contract (tdf.models.contract), with a
forward pass.

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

from tdf.models.contract import contract_of


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
    """The nodes of a model with a residual unit chain (a Res-TCN or an MS-Res-TCN), in
    topological order from the normalised input on, read from the model's contract."""
    contract = contract_of(model)
    if not contract.has_residual_chain():
        raise ValueError(f"model {model.name!r} ({contract.family}) has no residual unit chain; "
                         f"LRP explains models made of first convs, residual units and pipes only")
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

    def relu(name, previous):
        _check_relu(layers[name])
        return add(name, "relu", [previous])

    def unit(u, previous):
        y = add(u.bn, "bn", [previous], _bn_params(layers[u.bn], dtype))
        y = relu(u.relu, y)
        y = add(u.dropout, "identity", [y])    # inference: dropout is the identity
        y = add(u.conv, "conv", [y], _conv_params(layers[u.conv], dtype))
        shortcut = previous
        if u.shortcut is not None:
            shortcut = add(u.shortcut, "conv", [previous], _conv_params(layers[u.shortcut], dtype))
        return add(u.add, "add", [shortcut, y])

    top = add(contract.normalize or model.layers[0].name, "input", [])
    sources = {s.name: add(s.mask, "mask", [top], {"mask": layers[s.mask].mask_array()}) if s.mask else top
               for s in contract.streams}
    heads = {s.name: add(s.units[0].conv, "conv", [sources[s.name]], _conv_params(layers[s.units[0].conv], dtype))
             for s in contract.streams}
    pipes = {p.index: p for p in contract.pipes}
    for position in range(1, len(contract.streams[0].units)):
        for stream in contract.streams:
            heads[stream.name] = unit(stream.units[position], heads[stream.name])
        pipe = pipes.get(contract.streams[0].units[position].index)
        if pipe is not None:
            y = add(pipe.conv, "conv", [heads[pipe.source]], _conv_params(layers[pipe.conv], dtype))
            y = relu(pipe.relu, y)
            heads[pipe.target] = add(pipe.output, "add", [heads[pipe.target], y])
    outs = []
    for stream in contract.streams:
        bn, relu_name = stream.head
        y = add(bn, "bn", [heads[stream.name]], _bn_params(layers[bn], dtype))
        outs.append(relu(relu_name, y))
    merged = outs[0] if len(outs) == 1 else add(contract.merge, "concat", outs)
    add(contract.pooled, "gap", [merged])
    add(contract.classifier, "dense", [contract.pooled], _dense_params(layers[contract.classifier], dtype))

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
