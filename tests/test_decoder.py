"""Feature Map Decoder: compared with an independent plain-numpy implementation of the pinned
procedure (loops over samples, transitions, time steps and channels; np.interp per channel),
on random small Res-TCNs of several shapes and both streams of an MS-Res-TCN."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tdf.data.layout import group_mask
from tdf.diagnose.activations import Activations, extract
from tdf.diagnose.decoder import (compress_kernel, decode, decode_from_activations,
                                  decoder_weights, default_layers, upsample_time)
from tdf.errors import BadInput
from tdf.models import build_ms_res_tcn, build_res_tcn


# ----------------------------------------------------------------------------- helpers


def _randomize(model, seed):
    """Random weights everywhere (BN variances positive); normalize/ta_mask left as built."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if not layer.weights or layer.name in ("normalize", "ta_mask"):
            continue
        new = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if "moving_variance" in w.path:
                new.append(rng.uniform(0.5, 2.0, shape))
            else:
                new.append(rng.normal(0.0, 0.5, shape))
        layer.set_weights([v.astype(np.float32) for v in new])
    return model


def _inputs(n, t, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n, t, 150)).astype(np.float32)
    x[0, t - 3:] = 0.0  # a padded tail
    return x


def _res_tcn(filters, upb, k, seed=0):
    mean = np.random.default_rng(seed + 100).normal(0, 1, 150)
    return _randomize(build_res_tcn(4, None, filters=filters, units_per_block=upb, kernel_size=k,
                                    mean_skeleton=mean), seed)


def _ms(filters, upb, k, seed=0):
    mean = np.random.default_rng(seed + 100).normal(0, 1, 150)
    return _randomize(build_ms_res_tcn(4, group_mask(["hands", "head"]), None, filters=filters,
                                       units_per_block=upb, kernel_size=k, mean_skeleton=mean),
                      seed)


def ref_decode(model, x, level, stream=None):
    """The pinned procedure written out with loops; `level` 1 = conv1, else unit index."""
    pre = "" if stream is None else f"{stream}_"
    names = {layer.name for layer in model.layers}

    def out_name(l):
        if l == 1:
            return f"{pre}conv1"
        return f"{pre}unit{l}_piped" if f"{pre}unit{l}_piped" in names else f"{pre}unit{l}"

    def compressed(name):
        kern = model.get_layer(name).get_weights()[0].astype(np.float64)
        k = kern.shape[0]
        a, b = math.floor((k - 1) / 2), math.ceil((k - 1) / 2)
        return (kern[a] + kern[b]) / 2

    trans = sorted(int(n[len(pre) + 4:-len("_shortcut")]) for n in names
                   if n.startswith(f"{pre}unit") and n.endswith("_shortcut"))
    trans = [b for b in trans if b <= level]
    wanted = [out_name(level)] + [out_name(b) for b in trans]
    probe = keras.Model(model.input, {n: model.get_layer(n).output for n in wanted})
    out = probe(x, training=False)
    acts = [np.asarray(out[n], np.float64) for n in wanted]
    x_l, x_bs = acts[0], dict(zip(trans, acts[1:]))
    c1 = compressed(f"{pre}conv1")
    mean = model.get_layer("normalize").get_weights()[0].astype(np.float64)

    def interp(y, t_f):
        t_c = y.shape[0]
        xp = (np.arange(t_c) + 0.5) * t_f / t_c - 0.5
        return np.stack([np.interp(np.arange(t_f), xp, y[:, c]) for c in range(y.shape[1])], 1)

    n, t_in = x.shape[0], x.shape[1]
    result = np.zeros((n, t_in, 150))
    for s in range(n):
        y = x_l[s]
        for b in reversed(trans):
            xb = x_bs[b][s]
            cb = compressed(f"{pre}unit{b}_conv")
            sb = model.get_layer(f"{pre}unit{b}_shortcut").get_weights()[0][0].astype(np.float64)
            y = interp(y, xb.shape[0])
            new = np.zeros((xb.shape[0], cb.shape[0]))
            for t in range(xb.shape[0]):
                for i in range(cb.shape[1]):
                    new[t] += cb[:, i] * (y[t, i] - xb[t, i]) + sb[:, i] * xb[t, i]
            y = new
        y = interp(y, t_in)
        for t in range(t_in):
            for i in range(c1.shape[1]):
                result[s, t] += c1[:, i] * y[t, i]
        result[s] += mean
    return result


def _close(got, ref):
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def _all_levels(model, stream=None):
    return ["conv1"] + [f"unit{l}" for l in decoder_weights(model, stream).units]


# ----------------------------------------------------------------------------- pieces


def test_compress_kernel_taps():
    kern = np.arange(8 * 2 * 3, dtype=np.float64).reshape(8, 2, 3)
    np.testing.assert_array_equal(compress_kernel(kern), (kern[3] + kern[4]) / 2)  # f/2, f/2+1
    k3 = np.arange(3 * 2 * 3, dtype=np.float64).reshape(3, 2, 3)
    np.testing.assert_array_equal(compress_kernel(k3), k3[1])
    k4 = np.arange(4 * 2 * 3, dtype=np.float64).reshape(4, 2, 3)
    np.testing.assert_array_equal(compress_kernel(k4), (k4[1] + k4[2]) / 2)
    k1 = np.ones((1, 2, 3))
    np.testing.assert_array_equal(compress_kernel(k1), k1[0])
    with pytest.raises(ValueError):
        compress_kernel(np.ones((2, 3)))


@pytest.mark.parametrize("t_c,t_f", [(7, 13), (8, 16), (4, 13), (1, 5), (5, 5), (3, 4)])
def test_upsample_time_matches_np_interp(t_c, t_f):
    y = np.random.default_rng(t_c * 31 + t_f).normal(size=(2, t_c, 3))
    got = upsample_time(y, t_f)
    xp = (np.arange(t_c) + 0.5) * t_f / t_c - 0.5
    for s in range(2):
        for c in range(3):
            np.testing.assert_allclose(got[s, :, c], np.interp(np.arange(t_f), xp, y[s, :, c]),
                                       rtol=1e-12, atol=1e-12)


def test_upsample_hand_values():
    # 2 → 4: coarse steps at fine times 0.5 and 2.5; ends held constant.
    got = upsample_time(np.array([[0.0], [4.0]]), 4)[:, 0]
    np.testing.assert_allclose(got, [0.0, 1.0, 3.0, 4.0])
    with pytest.raises(ValueError):
        upsample_time(np.zeros((5, 1)), 3)


# ----------------------------------------------------------------------------- the decoder


RES_SHAPES = [
    ((4, 8, 16), 1, 3, 16),
    ((4, 8, 16), 1, 8, 13),
    ((4, 8, 16), 2, 4, 13),
    ((4, 8, 16), 2, 8, 16),
    ((4, 8), 2, 3, 13),       # a 2-block model
    ((4, 8, 16), 1, 4, 5),    # T so short that the last block has 2 steps
]


@pytest.mark.parametrize("filters,upb,k,t", RES_SHAPES)
def test_decoder_matches_reference_res_tcn(filters, upb, k, t):
    model = _res_tcn(filters, upb, k, seed=len(filters) + upb + k + t)
    x = _inputs(3, t, seed=t)
    layers = _all_levels(model)
    got = decode(model, x, layers=layers, batch_size=2)  # 2 batches: one full, one partial
    assert list(got) == layers
    for name in layers:
        level = 1 if name == "conv1" else int(name[4:])
        assert got[name].shape == (3, t, 150) and got[name].dtype == np.float32
        _close(got[name], ref_decode(model, x, level))


@pytest.mark.parametrize("stream", ["main", "ta"])
def test_decoder_matches_reference_ms_streams(stream):
    model = _ms((4, 8, 16), 2, 4, seed=7)
    x = _inputs(3, 13, seed=3)
    layers = _all_levels(model, stream)
    got = decode(model, x, layers=layers, stream=stream)
    for name in layers:
        level = 1 if name == "conv1" else int(name[4:])
        _close(got[name], ref_decode(model, x, level, stream))


def test_ms_streams_use_their_own_layers():
    model = _ms((4, 8), 1, 3, seed=2)
    w_main, w_ta = decoder_weights(model, "main"), decoder_weights(model, "ta")
    assert w_main.outputs["unit2"] == "main_unit2_piped" and w_ta.outputs["unit2"] == "ta_unit2"
    assert w_main.outputs["unit3"] == "main_unit3" and w_ta.outputs["unit3"] == "ta_unit3_piped"
    assert not np.allclose(w_main.c1, w_ta.c1)
    x = _inputs(2, 9, seed=1)
    a, b = decode(model, x, ["unit3"], stream="main"), decode(model, x, ["unit3"], stream="ta")
    assert not np.allclose(a["unit3"], b["unit3"])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_identity_conv1_reproduces_input(k):
    """Only the middle tap non-zero and equal to I (odd k: ⌊(k−1)/2⌋ = ⌈(k−1)/2⌉), no bias:
    X_1 = normalised input, Ĉ1 = I, so x̂ = x_normalised + mean exactly."""
    mean = np.random.default_rng(5).normal(0, 1, 150).astype(np.float32)
    model = build_res_tcn(3, None, filters=(150, 160), units_per_block=1, kernel_size=k,
                          mean_skeleton=mean)
    kern = np.zeros((k, 150, 150), np.float32)
    kern[(k - 1) // 2] = np.eye(150)
    model.get_layer("conv1").set_weights([kern, np.zeros(150, np.float32)])
    x = _inputs(2, 7, seed=4)
    valid = np.any(x != 0, axis=-1, keepdims=True)
    x_norm = np.where(valid, x - mean, 0.0)
    got = decode(model, x, ["conv1"])["conv1"]
    np.testing.assert_allclose(got, x_norm + mean, rtol=0, atol=1e-5)


def test_even_kernel_two_identity_taps_hand_computed():
    """k = 4 with taps 1 and 2 both I: Ĉ1 = I and X_1(t) = x(t) + x(t+1) (`same` padding puts
    tap ⌊(k−1)/2⌋ on frame t), so x̂(t) = x_n(t) + x_n(t+1) + mean, x_n(T) = 0."""
    mean = np.random.default_rng(6).normal(0, 1, 150).astype(np.float32)
    model = build_res_tcn(3, None, filters=(150, 160), units_per_block=1, kernel_size=4,
                          mean_skeleton=mean)
    kern = np.zeros((4, 150, 150), np.float32)
    kern[1] = kern[2] = np.eye(150)
    model.get_layer("conv1").set_weights([kern, np.zeros(150, np.float32)])
    x = _inputs(2, 6, seed=8)
    valid = np.any(x != 0, axis=-1, keepdims=True)
    xn = np.where(valid, x - mean, 0.0)
    shifted = np.concatenate([xn[:, 1:], np.zeros_like(xn[:, :1])], axis=1)
    got = decode(model, x, ["conv1"])["conv1"]
    np.testing.assert_allclose(got, xn + shifted + mean, rtol=0, atol=1e-5)


def test_channels_option_zeroes_other_channels_of_x_l():
    model = _res_tcn((4, 8, 16), 2, 3, seed=11)   # units 2..7, transitions 4 and 6
    x = _inputs(2, 12, seed=2)
    weights = decoder_weights(model)
    layers = ["unit5", "unit6", "conv1"]
    needed = weights.needed(layers)
    raw = extract(model, x, [weights.outputs[n] for n in needed])
    acts = {n: raw[weights.outputs[n]] for n in needed}
    sel = {"unit5": [0, 5], "unit6": [1, 2, 15], "conv1": [2]}
    got = decode(model, x, layers, channels=sel)

    def only(a, idx):
        return a * np.isin(np.arange(a.shape[-1]), idx)

    # unit5 (not a transition): only X_5 masked, X_4 whole → the reference on masked X_5.
    want = decode_from_activations({**acts, "unit5": only(acts["unit5"], sel["unit5"])},
                                   weights, 12, ["unit5"])
    _close(got["unit5"], want["unit5"])
    # unit6 (a transition): X_6 is X_b too → Y = masked X_6·S_6ᵀ, then transition 4, decode.
    y = only(acts["unit6"], sel["unit6"]).astype(np.float64) @ weights.transitions[1].shortcut.T
    y = upsample_time(y, acts["unit4"].shape[1])
    x4 = acts["unit4"].astype(np.float64)
    tr4 = weights.transitions[0]
    y = (y - x4) @ tr4.conv.T + x4 @ tr4.shortcut.T
    _close(got["unit6"], upsample_time(y, 12) @ weights.c1.T + weights.mean)
    # Block A by hand: only channel 2 of X_1 → mean + X_1[..., 2] ⊗ Ĉ1[:, 2].
    by_hand = acts["conv1"][..., 2:3].astype(np.float64) * weights.c1[:, 2] + weights.mean
    _close(got["conv1"], by_hand)
    full = decode(model, x, ["unit5"])["unit5"]
    assert not np.allclose(full, got["unit5"])
    every = decode(model, x, ["unit6"], channels={"unit6": range(16)})["unit6"]
    _close(every, decode(model, x, ["unit6"])["unit6"])
    with pytest.raises(BadInput, match="outside"):
        decode(model, x, ["unit4"], channels={"unit4": [8]})
    with pytest.raises(BadInput, match="not decoded"):
        decode(model, x, ["unit4"], channels={"unit2": [0]})


def test_default_layers_and_names():
    paper = build_res_tcn(5, 16, filters=(4, 8, 16), units_per_block=3)
    assert default_layers(paper) == ("conv1", "unit4", "unit7", "unit10")
    small = build_res_tcn(5, 16, filters=(4, 8), units_per_block=2)
    assert default_layers(small) == ("conv1", "unit3", "unit5")
    x = _inputs(2, 16, seed=0)
    assert list(decode(small, x)) == ["conv1", "unit3", "unit5"]
    assert list(decode(small, x, layers=[1, "4", "unit5"])) == ["conv1", "unit4", "unit5"]
    with pytest.raises(BadInput, match="unknown layer"):
        decode(small, x, layers=["unit9"])


def test_stream_argument_checked():
    res = build_res_tcn(5, 16, filters=(4, 8), units_per_block=1)
    with pytest.raises(BadInput, match="one stream"):
        decoder_weights(res, "main")
    ms = build_ms_res_tcn(5, group_mask(["hands"]), 16, filters=(4, 8), units_per_block=1)
    with pytest.raises(BadInput, match="stream"):
        decoder_weights(ms, None)


def test_decode_from_store_with_indices(tmp_path):
    from tdf.data.store import Sample, StoreWriter, open_store
    model = _res_tcn((4, 8), 1, 3, seed=3)
    x = _inputs(5, 10, seed=9)
    path = tmp_path / "d.h5"
    with StoreWriter(path, 10, ["a", "b"], source="test") as w:
        for i in range(5):
            w.append(Sample(x[i].reshape(10, 2, 25, 3), i % 2, f"s{i}", 1, 1, 1, 1))
    with open_store(path) as store:
        got = decode(model, store, ["unit3"], indices=[4, 1, 2], batch_size=2)
    want = decode(model, x[[4, 1, 2]], ["unit3"])
    # float32 sums of ~50 computed with other batch sizes differ in the last bits (oneDNN picks
    # kernels by batch shape); a real decoding error is orders of magnitude larger.
    np.testing.assert_allclose(got["unit3"], want["unit3"], rtol=1e-4, atol=1e-4)


def test_activations_batched_equals_one_pass_and_counts():
    model = _res_tcn((4, 8), 1, 3, seed=4)
    x = _inputs(5, 10, seed=10)
    seen = []
    acts = Activations(model, ["conv1", "unit3", "conv1"]).run(x, batch_size=2, on_batch=seen.append)
    assert list(acts) == ["conv1", "unit3"] and seen == [2, 2, 1]
    whole = keras.Model(model.input, model.get_layer("unit3").output)(x, training=False)
    np.testing.assert_allclose(acts["unit3"], np.asarray(whole), rtol=1e-5, atol=1e-5)
    assert acts["unit3"].shape == (5, 5, 8)
    with pytest.raises(BadInput, match="no layer"):
        Activations(model, ["unit9"])


def test_decode_batches_streams_the_same_numbers():
    from tdf.diagnose.decoder import decode_batches
    model = _res_tcn((4, 8), 2, 3, seed=5)
    x = _inputs(5, 9, seed=12)
    whole = decode(model, x, ["conv1", "unit5"])
    sizes, parts = [], []
    for xb, dec in decode_batches(model, x, ["conv1", "unit5"], batch_size=2):
        sizes.append(len(xb))
        parts.append(dec["unit5"])
        assert list(dec) == ["conv1", "unit5"]
    assert sizes == [2, 2, 1]
    weights = decoder_weights(model)
    acts = extract(model, x, ["conv1", "unit4", "unit5"])
    assert list(decode_from_activations(acts, weights, 9)) == ["conv1", "unit4", "unit5"]
    np.testing.assert_allclose(np.concatenate(parts), whole["unit5"], rtol=1e-4, atol=1e-4)  # batch-shape rounding
    with pytest.raises(ValueError, match="no samples"):
        decode(model, x[:0])
