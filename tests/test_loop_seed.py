"""`tdf loop` diagnoses with the configured seed wherever it was set: on the command line, in
--config, or by the preset — the CLI and the library agree (issue 12: the CLI used
`overrides.get("seed", 0)`, so a seed set only in --config gave a different diagnosis)."""

import pytest

from toy_data import make_toy_store


@pytest.fixture
def captured(monkeypatch):
    seen = {}

    def fake_stages(loop):
        seen["train_seed"], seen["diagnose_seed"] = loop.cfg.seed, loop.diagnose_options.seed
        return {"baseline_metrics": {"top1": 0, "mean_class_accuracy": 0}, "recommended_groups": [],
                "report": str(loop.out / "report.html")}
    monkeypatch.setattr("tdf.loop._stages", fake_stages)
    return seen


@pytest.mark.parametrize("where", ["config", "cli", "default"])
def test_loop_diagnoses_with_the_configured_seed(where, captured, invoke, tmp_path):
    data = make_toy_store(tmp_path / "d.h5")
    args = ["loop", data, "--out", tmp_path / "loop", "--preset", "synthetic"]
    if where == "config":
        cfg = tmp_path / "c.toml"
        cfg.write_text("[train]\nseed = 7\n")
        args += ["--config", cfg]
    elif where == "cli":
        args += ["--seed", "7"]
    r = invoke(*args)
    assert r.exit_code == 0, r.stderr
    expected = 0 if where == "default" else 7
    assert captured == {"train_seed": expected, "diagnose_seed": expected}


def test_a_seed_only_in_config_gives_the_cli_and_the_library_the_same_diagnosis_seed(captured, invoke, tmp_path):
    """The same --config (seed 7, nothing on the command line) through `tdf loop` and through
    `tdf.loop.run_loop` with its defaults: both train and diagnose with 7."""
    from tdf.loop import run_loop
    data = make_toy_store(tmp_path / "d.h5")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nseed = 7\n")
    r = invoke("loop", data, "--out", tmp_path / "cli", "--preset", "synthetic", "--config", cfg)
    assert r.exit_code == 0, r.stderr
    cli = dict(captured)
    captured.clear()
    run_loop(data, tmp_path / "lib", preset="synthetic", config_file=str(cfg))
    assert cli == captured == {"train_seed": 7, "diagnose_seed": 7}
