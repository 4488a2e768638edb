"""A model family registered only in the tests (tests/plain_tcn.py: a plain temporal CNN, no
residual units, layers named unlike tdf's) runs train → evaluate → diagnose → fix through the
CLI: the ranking and relevance work from its contract; the views that need a Res-TCN-like unit
chain (decoder, pyramid, paths) and LRP are skipped with their reason."""

from __future__ import annotations

import json

import pytest

import plain_tcn
from toy_data import train_tiny_run

plain_tcn.register()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # toy_3 moves exactly like toy_2: the model cannot tell them apart, so there is a weak class
    return train_tiny_run(tmp_path_factory.mktemp("family"), classes=4, per_class=50, epochs=6,
                          same_motion={3: 2}, extra=("--model", "plain_tcn"))


def _cli(*args):
    from click.testing import CliRunner
    from tdf.cli import cli
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_train_records_the_family_and_evaluate_reads_it(run, tmp_path):
    import keras
    from tdf.models.contract import contract_of
    info = json.loads((run / "run.json").read_text())
    assert info["kind"] == "plain_tcn"
    model = keras.saving.load_model(run / "model.keras")
    contract = contract_of(model)
    assert contract.family == "plain_tcn" and contract.pooled == "features" and contract.classifier == "scores"
    r = _cli("--quiet", "--json", "evaluate", run, "--out", tmp_path / "ev")
    assert r.exit_code == 0, r.output
    assert 0 <= json.loads(r.stdout)["top1"] <= 1


def test_diagnose_ranks_and_explains_and_skips_what_needs_residual_units(run, tmp_path):
    out = tmp_path / "diag"
    r = _cli("--quiet", "diagnose", run, "--out", out, "--render", "none", "--faithfulness-samples", "4",
             "--views", "decoder,relevance,faithfulness,responses,pyramid,dissect,paths")
    assert r.exit_code == 0, r.output
    d = json.loads((out / "diagnosis.json").read_text())
    assert d["model_kind"] == "plain_tcn" and d["stream"] is None
    # the weak-class rule decides whether this tiny run has anything to rank; the ranking itself
    # is checked on the model directly in the next test
    assert d["ranking_status"]["status"] in ("ranked", "no_weak_class")
    assert set(d["skipped_views"]) == {"decoder", "pyramid", "paths"}
    assert all("unit chain" in why for why in d["skipped_views"].values())
    assert set(d["faithfulness"]["methods"]) == {"gradxinput", "occlusion"}   # LRP needs residual units
    assert d["relevance"]["method"] in ("gradxinput", "occlusion")
    shares = d["relevance"]["group_share_weak"]   # the standard groups partition the joints
    assert len(shares) == 8 and sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
    assert "dissect" in d["views"] and d["files"]["responses"] and d["files"]["primitives"]
    assert not (out / "decoded.npz").exists()
    report = (out / "report.html").read_text()
    assert "Views skipped for this model" in report and "decoder" in report
    r = _cli("diagnose", run, "--out", tmp_path / "lrp", "--method", "lrp", "--render", "none")
    assert r.exit_code == 2 and "--method lrp needs" in r.output + r.stderr


def test_the_ranking_reads_the_plain_models_pooled_features(run):
    """The probe-gap ranking over the layout's groups, computed on the run's own model and data
    (a tiny run may have no class the weak-class rule calls weak, and then diagnose ranks
    nothing): every group gets a finite score with its interval."""
    import numpy as np
    from tdf.data.store import open_store
    from tdf.diagnose.ranking import RULE, RULES, rank_groups
    from tdf.run_folder import load_model
    model = load_model(run / "model.keras")
    with open_store(run.parent / "toy.h5") as s:
        idx = np.arange(min(s.n, 60))
        x, y, layout = s.read(idx), s.label[idx], s.layout
    rows = rank_groups(model, x, y, layout=layout, repeats=2, n_boot=50)
    assert [r["rank"] for r in rows] == list(range(1, len(layout.groups) + 1))
    for r in rows:
        assert np.isfinite(r["score"]) and r["score_low"] <= r["score_high"]
        comps = r["evidence"]["components"]
        # the score is the ranking rule applied to its components, and the model-side
        # components were computed on this model (its pooled features and its own classifier)
        assert r["score"] == pytest.approx(RULES[RULE](comps), abs=1e-5)
        assert all(np.isfinite(comps[k]) for k in ("model_only", "model_full", "own_without"))


def test_fix_trains_the_ms_res_tcn_from_scratch_beside_it(run, tmp_path):
    out = tmp_path / "fixed"
    r = _cli("--quiet", "fix", run, "--groups", "right_arm", "--out", out, "--epochs", "2", "--init", "scratch")
    assert r.exit_code == 0, r.output + r.stderr
    cmp = json.loads((out / "comparison.json").read_text())
    assert cmp["init"] == "scratch" and cmp["groups"] == ["right_arm"]
    assert json.loads((out / "run.json").read_text())["kind"] == "ms_res_tcn"
    r = _cli("fix", run, "--groups", "right_arm", "--out", tmp_path / "b", "--epochs", "1", "--init", "baseline")
    assert r.exit_code == 2 and "plain_tcn" in r.output + r.stderr and "--init scratch" in r.output + r.stderr
