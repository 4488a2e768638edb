import pytest

from tdf.errors import BadInput
from tdf.train_config import PRESETS, TrainConfig, resolve_config


def test_paper_defaults():
    c = TrainConfig()
    assert (c.filters, c.kernel_size, c.units_per_block, c.dropout, c.l1, c.lr, c.momentum, c.batch_size) == \
        ((64, 128, 256), 8, 3, 0.5, 1e-4, 0.01, 0.9, 128)


def test_precedence(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[train]\nepochs = 7\nfilters = "8,16,32"\nlr = 0.05\n')
    c = resolve_config("synthetic", str(f), {"lr": 0.1})
    assert c.epochs == 7 and c.filters == (8, 16, 32)        # file over preset
    assert c.lr == 0.1                                       # CLI over file
    assert c.batch_size == PRESETS["synthetic"]["batch_size"]  # preset over default
    assert c.preset == "synthetic"


def test_bad_values(tmp_path):
    with pytest.raises(BadInput, match="--dropout"):
        resolve_config(None, None, {"dropout": 1.5})
    with pytest.raises(BadInput, match="--filters"):
        resolve_config(None, None, {"filters": "a,b"})
    f = tmp_path / "c.toml"
    f.write_text("[train]\nepoch = 3\n")
    with pytest.raises(BadInput, match="unknown option"):
        resolve_config(None, str(f), {})
    with pytest.raises(BadInput, match="--bn-momentum"):
        resolve_config(None, None, {"bn_momentum": 1.0})
    with pytest.raises(BadInput, match="--preset"):
        resolve_config("huge", None, {})


def test_bn_momentum_keras_default_and_synthetic_preset():
    assert TrainConfig().bn_momentum == 0.99
    assert resolve_config("synthetic").bn_momentum == 0.9
    assert resolve_config("synthetic", None, {"bn_momentum": 0.5}).bn_momentum == 0.5
