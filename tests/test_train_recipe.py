"""Training with an input recipe (`--preset small` and its options): run.json records it, evaluation
and fix see the same input, a seed gives the same run, bad options are exit 2."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from toy_data import make_toy_store

TINY = ["--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3", "--batch-size", "8",
        "--resample", "12"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_store(tmp_path_factory.mktemp("toy") / "toy.h5", classes=3, per_class=10, frames=16)


def train(toy, out, *extra):
    from click.testing import CliRunner
    from tdf.cli import cli
    r = CliRunner().invoke(cli, ["--quiet", "train", str(toy), "--out", str(out), "--preset", "small",
                                 "--epochs", "2", *TINY, *extra], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def small_run(toy, tmp_path_factory):
    return train(toy, tmp_path_factory.mktemp("runs") / "small")


def test_preset_small_is_recorded_in_run_json(small_run):
    info = json.loads((small_run / "run.json").read_text())
    cfg = info["config"]
    assert cfg["preset"] == "small" and cfg["normalize"] == "view" and cfg["lr_schedule"] == "cosine"
    assert cfg["features"] == ["joint", "bone", "joint_motion", "bone_motion"]
    assert (cfg["aug_rotate"], cfg["aug_scale"], cfg["aug_crop"]) == (15.0, 0.1, 0.8)
    inp = info["input"]
    assert inp["frames"] == 12 == info["frames"] and inp["normalize"] == "view"
    assert len(inp["feature_scale"]) == 4 and all(v > 0 for v in inp["feature_scale"])
    hist = (small_run / "history.csv").read_text().splitlines()[1:]
    lrs = [float(line.split(",")[5]) for line in hist]
    assert lrs == pytest.approx([0.01, 0.01 * 0.5 * (1 + math.cos(math.pi / 2))], rel=1e-4)


def test_evaluate_sees_the_runs_input(small_run, invoke):
    from tdf.run_folder import load_model
    model = load_model(small_run / "model.keras")
    assert model.input_shape[1:] == (None, 600)
    r = invoke("evaluate", str(small_run), "--json")
    assert r.exit_code == 0, r.stderr
    own = json.loads((small_run / "metrics.json").read_text())
    assert json.loads(r.stdout)["top1"] == pytest.approx(own["top1"])


def test_same_seed_same_run_with_augmentation(toy, small_run, tmp_path):
    again = train(toy, tmp_path / "again")
    a = json.loads((small_run / "metrics.json").read_text())
    b = json.loads((again / "metrics.json").read_text())
    assert a["confusion_matrix"] == b["confusion_matrix"]
    ha = (small_run / "history.csv").read_text().splitlines()
    hb = (again / "history.csv").read_text().splitlines()
    assert [r.split(",")[1] for r in ha] == [r.split(",")[1] for r in hb]  # losses


def test_fix_expands_the_ta_mask_over_channels(small_run, tmp_path, invoke):
    from tdf.data.layout import group_mask
    from tdf.run_folder import load_model
    out = tmp_path / "fix"
    r = invoke("fix", str(small_run), "--out", str(out), "--groups", "right_hand", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    model = load_model(out / "model.keras")
    mask = next(l for l in model.layers if l.__class__.__name__ == "DimensionMask").mask_array()
    assert mask.shape == (600,)
    np.testing.assert_array_equal(mask, np.repeat(group_mask("right_hand"), 4))
    base = json.loads((small_run / "run.json").read_text())["input"]
    assert json.loads((out / "run.json").read_text())["input"] == base


@pytest.mark.parametrize("args, words", [
    (["--features", "joint,velocity"], "--features"),
    (["--resample", "1"], "--resample"),
    (["--aug-crop", "0"], "--aug-crop"),
    (["--aug-scale", "1.5"], "--aug-scale"),
])
def test_bad_recipe_options_exit_2(toy, tmp_path, invoke, args, words):
    r = invoke("train", str(toy), "--out", str(tmp_path / "r"), *args)
    assert r.exit_code == 2 and words in r.stderr
    assert not (tmp_path / "r").exists()


def test_old_run_config_reads_as_raw_input():
    from tdf.data.model_input import run_recipe
    from tdf.train_config import config_from_json, resolve_config
    cfg = config_from_json({"epochs": 3, "filters": [4, 8]})
    assert cfg.normalize == "none" and cfg.features == ("joint",) and cfg.resample is None
    assert cfg.lr_schedule == "plateau" and run_recipe({"config": {}}) is None
    paper = resolve_config("paper")
    assert paper.normalize == "none" and paper.features == ("joint",) and paper.aug_rotate == 0
    small = resolve_config("small", overrides={"resample": 0, "features": "joint"})
    assert small.resample is None and small.features == ("joint",)
    assert config_from_json(small.to_json()) == small
