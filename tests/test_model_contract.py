"""The model contract (tdf.models.contract) and the model family registry (tdf.model_families):
one parametrised test every registered family passes — build, output shapes, save/load with the
contract intact, one training step, diagnose's minimal views — plus the legacy fallback for
models saved before contracts existed."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import plain_tcn  # noqa: E402  (the test-only family)
from tdf.model_families import MODEL_FAMILIES, model_family, trainable_families  # noqa: E402
from tdf.models.contract import ContractError, ContractModel, contract_of  # noqa: E402
from tdf.models.names import infer_contract  # noqa: E402

plain_tcn.register()

MASK = np.zeros(150, bool)
MASK[:30] = True
# Tiny arguments for each family's builder; a new family adds one line (the first test says so).
TINY = {
    "res_tcn": dict(filters=(4, 8, 16), units_per_block=2, kernel_size=3),
    "ms_res_tcn": dict(ta_mask=MASK, filters=(4, 8, 16), units_per_block=2, kernel_size=3),
    "plain_tcn": dict(filters=(4, 8, 16), kernel_size=3),
}
CLASSES, FRAMES = 5, 12


def _x(n=4, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, FRAMES, 150)).astype(np.float32)
    x[0, -3:] = 0.0   # padded frames
    return x


def _build(name):
    mean = np.random.default_rng(1).normal(size=150).astype(np.float32) * 0.1
    return model_family(name).build(CLASSES, input_dim=150, mean_skeleton=mean, **TINY[name])


def test_every_registered_family_has_tiny_arguments_here():
    assert set(MODEL_FAMILIES) <= set(TINY), "add the new family's tiny builder arguments to TINY"


@pytest.mark.parametrize("name", sorted(MODEL_FAMILIES))
def test_family_contract(name, tmp_path):
    from tdf.diagnose.relevance.common import feature_model, logits_of
    from tdf.diagnose.relevance.gradient_x_input import gradient_x_input
    model = _build(name)
    contract = contract_of(model)
    assert isinstance(model, ContractModel) and contract.family == name and not contract.legacy
    assert contract.input_dim == 150
    # every named layer exists, and the declared shapes are the model's
    names = {layer.name for layer in model.layers}
    assert contract.layer_names() <= names
    x = _x()
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (len(x), CLASSES)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    pooled = np.asarray(feature_model(model)(x, training=False))
    width = model.get_layer(contract.classifier).kernel.shape[0]
    assert pooled.shape == (len(x), width)
    assert sum(s.features[1] - s.features[0] for s in contract.streams) == width
    for stream in contract.streams:   # the last unit feeds the stream's slice of the pooled features
        assert model.get_layer(stream.units[-1].output).output.shape[-1] == stream.features[1] - stream.features[0]
    # the contract's classifier and pooled layer give the model's own scores (independent softmax)
    z = logits_of(model, x)
    softmax = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), probs, rtol=1e-4, atol=1e-6)
    # save / load: the same class, the same contract, the same outputs
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded) is ContractModel and contract_of(loaded) == contract
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), probs, rtol=1e-5, atol=1e-6)
    copy = loaded.__class__.from_config(loaded.get_config())   # as tdf.train.precision.float32_copy
    assert contract_of(copy) == contract
    # one training step changes the weights and keeps the contract
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = [np.array(w) for w in model.trainable_weights]
    model.train_on_batch(x, np.arange(len(x)) % CLASSES)
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.trainable_weights))
    assert contract_of(model) == contract
    # diagnose's minimal views: pooled features (the ranking's probes) and gradient × input
    attribution = gradient_x_input(model, x, target=np.zeros(len(x), np.int64))
    assert attribution.values.shape == x.shape and np.all(np.isfinite(attribution.values))
    np.testing.assert_allclose(attribution.logits, logits_of(model, x)[:, 0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["res_tcn", "ms_res_tcn"])
def test_models_saved_before_contracts_get_the_same_contract_from_their_names(name, tmp_path):
    """A model.keras of earlier tdf is a plain Functional with tdf's names: the legacy fallback
    infers exactly the contract the builder declares, and diagnose reads it the same way."""
    from tdf.diagnose.decoder import decode
    model = _build(name)
    legacy = keras.Model(model.inputs[0], model.outputs[0], name=model.name)   # what earlier builders returned
    legacy.save(tmp_path / "old.keras")
    old = keras.saving.load_model(tmp_path / "old.keras")
    assert type(old) is not ContractModel and getattr(old, "_contract_dict", None) is None
    inferred = contract_of(old)
    assert inferred.legacy and inferred == contract_of(model) == infer_contract(legacy)
    x = _x()
    stream = contract_of(model).default_stream
    a, b = decode(model, x, stream=stream), decode(old, x, stream=stream)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_a_model_without_contract_or_tdf_names_is_refused():
    inputs = keras.Input((4, 3))
    other = keras.Model(inputs, keras.layers.Dense(2, name="conv1")(inputs))
    with pytest.raises(ContractError, match="declares no tdf model contract"):
        contract_of(other)


def test_contract_capabilities_and_streams():
    res, ms, plain = (contract_of(_build(n)) for n in ("res_tcn", "ms_res_tcn", "plain_tcn"))
    assert res.has_residual_chain() and ms.has_residual_chain() and not plain.has_residual_chain()
    assert res.has_units() and plain.has_units()
    assert res.stream_names == (None,) and ms.stream_names == ("main", "ta")
    assert [u.kind for u in res.units()] == ["first_conv", "residual", "residual", "transition", "residual",
                                             "transition", "residual"]
    assert res.unit(4).shortcut == "unit4_shortcut" and res.unit(5).shortcut is None
    assert ms.outputs("main")["unit2"] == "main_unit2_piped" and ms.outputs("ta")["unit3"] == "ta_unit3_piped"
    assert ms.feature_slice("ta") == slice(16, 32) and ms.stream("ta").mask == "ta_mask"
    with pytest.raises(ContractError, match="one stream"):
        res.check_stream("main")
    with pytest.raises(ContractError, match="streams 'main', 'ta'"):
        ms.check_stream(None)


def test_family_registry_is_what_train_offers():
    from click.testing import CliRunner
    from tdf.cli import cli
    assert trainable_families()[0] == "res_tcn" and "ms_res_tcn" not in trainable_families()
    assert "plain_tcn" in trainable_families()   # registered at run time, offered at once
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "--model [res_tcn|plain_tcn]" in help_text
    r = CliRunner().invoke(cli, ["train", "x.h5", "--out", "o", "--model", "gcn"])
    assert r.exit_code == 2 and "gcn" in r.output + (r.stderr if hasattr(r, "stderr") else "")
