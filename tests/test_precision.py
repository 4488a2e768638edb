"""`--precision bf16` (Keras' mixed_bfloat16): which layers compute in which dtype, determinism of a
seeded bf16 run, run.json, and the float32 copy that diagnose computes the decoder and relevance on."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from test_decoder import _all_levels, _close, _inputs, _ms, _res_tcn, ref_decode
from tdf.diagnose.decoder import decode
from tdf.train.precision import float32_copy, model_precision, precision_policy, resolve_precision
from toy_data import TINY, make_toy_store


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_store(tmp_path_factory.mktemp("toy") / "toy.h5", classes=3, per_class=12, frames=16)


def _dtypes(model):
    return {layer.name: layer.compute_dtype for layer in model.layers}


def test_bf16_policy_keeps_input_and_classifier_in_float32():
    with precision_policy("bf16"):
        model = _res_tcn((4, 8, 16), 1, 3)
        ms = _ms((4, 8, 16), 1, 3)
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    d = _dtypes(model)
    assert d["normalize"] == d["classifier"] == "float32"
    assert d["conv1"] == d["unit2_conv"] == d["unit2_bn"] == "bfloat16"
    assert model.output.dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)  # weights stay float32
    d = _dtypes(ms)
    assert d["normalize"] == d["ta_mask"] == d["classifier"] == "float32" and d["main_conv1"] == "bfloat16"
    assert model_precision(model) == model_precision(ms) == "bf16"


def test_float32_copy_same_weights_float32_everywhere():
    with precision_policy("bf16"):
        model = _res_tcn((4, 8, 16), 2, 4, seed=3)
    copy = float32_copy(model)
    assert set(_dtypes(copy).values()) == {"float32"} and model_precision(copy) == "fp32"
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Independently: the same architecture built in float32 with those weights gives the same scores.
    ref = _res_tcn((4, 8, 16), 2, 4, seed=0)
    ref.set_weights(model.get_weights())
    x = _inputs(4, 13, seed=1)
    np.testing.assert_array_equal(copy.predict(x, verbose=0), ref.predict(x, verbose=0))
    # bf16 scores are close to float32's but not equal (it really computes in bfloat16)
    bf = model.predict(x, verbose=0)
    assert not np.array_equal(bf, ref.predict(x, verbose=0))
    np.testing.assert_allclose(bf, ref.predict(x, verbose=0), atol=0.05)
    assert float32_copy(ref) is ref  # a float32 model is used as it is


@pytest.mark.parametrize("maker", ["res", "ms"])
def test_decoder_exact_on_float32_copy_of_bf16_model(maker):
    with precision_policy("bf16"):
        model = _res_tcn((4, 8, 16), 2, 4, seed=5) if maker == "res" else _ms((4, 8, 16), 2, 4, seed=5)
    copy = float32_copy(model)
    stream = None if maker == "res" else "main"
    x = _inputs(3, 13, seed=2)
    layers = _all_levels(copy, stream)
    got = decode(copy, x, layers=layers, stream=stream)
    for name in layers:
        level = 1 if name == "conv1" else int(name[4:])
        _close(got[name], ref_decode(copy, x, level, stream))


def test_resolve_precision_cpu_default_is_fp32():
    assert resolve_precision(None) == "fp32"  # no GPU in the test environment
    assert resolve_precision("bf16") == "bf16"


def _train(invoke, toy, out, *extra):
    r = invoke("--quiet", "train", toy, "--out", out, "--epochs", "2", "--seed", "3", *TINY, *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads((out / "metrics.json").read_text()), json.loads((out / "run.json").read_text())


def test_bf16_runs_with_one_seed_have_identical_metrics(toy, tmp_path, invoke):
    m1, info = _train(invoke, toy, tmp_path / "a", "--precision", "bf16")
    m2, _ = _train(invoke, toy, tmp_path / "b", "--precision", "bf16")
    assert m1 == m2
    assert info["precision"] == "bf16" and info["config"]["precision"] == "bf16"
    model = keras.saving.load_model(tmp_path / "a" / "model.keras")
    assert model_precision(model) == "bf16" and _dtypes(model)["classifier"] == "float32"
    p1 = np.load(tmp_path / "a" / "predictions.npz")["scores"]
    p2 = np.load(tmp_path / "b" / "predictions.npz")["scores"]
    np.testing.assert_array_equal(p1, p2)
    # fp32 (the CPU default) is a different computation: recorded as such
    _, info32 = _train(invoke, toy, tmp_path / "c")
    assert info32["precision"] == "fp32" and info32["config"]["precision"] is None


def test_diagnose_a_bf16_run(toy, tmp_path, invoke):
    _train(invoke, toy, tmp_path / "run", "--precision", "bf16")
    r = invoke("--quiet", "diagnose", tmp_path / "run", "--out", tmp_path / "diag", "--render", "none", "--json")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "diag" / "diagnosis.json").is_file()


def test_bad_precision_is_exit_2(toy, tmp_path, invoke):
    r = invoke("train", toy, "--out", tmp_path / "r", "--precision", "fp16")
    assert r.exit_code == 2 and "fp16" in r.stderr
    cfg = tmp_path / "c.toml"
    cfg.write_text('[train]\nprecision = "half"\n')
    r = invoke("train", toy, "--out", tmp_path / "r", "--config", cfg)
    assert r.exit_code == 2 and "precision" in r.stderr and str(cfg) in r.stderr
    assert not (tmp_path / "r").exists()
