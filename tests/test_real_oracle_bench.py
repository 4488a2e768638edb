"""bench/real_oracle.py's arithmetic: Spearman's ρ against scipy, and the summary's gains,
ranks, fraction and paired control difference against numbers computed by hand."""

import json

import numpy as np
import pytest
from bench_modules import load_bench

def _bench():
    return load_bench("real_oracle")


def _summary_of(tmp_path, diag: dict, gains: dict, scale: float) -> str:
    """The bench's summary of a diagnosis and arms {(arm, seed): weak-class gain} (top-1 gain =
    gain × scale), written as the bench writes them."""
    arms = [{"kind": "arm", "dataset": "d", "baseline": diag["baseline"], "arm": a, "seed": s, "epochs": 5,
             "top1": 0.5 + g * scale, "baseline_top1": 0.5, "gain_all": g * scale, "gain_judged": g,
             "judged_classes": ["c"], "baseline_judged_mean": 0.3} for (a, s), g in gains.items()]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [diag] + arms))
    return _bench().summary([path])


@pytest.mark.parametrize("a,b", [([1, 2, 3, 4], [4, 3, 2, 1]), ([1, 2, 2, 3, 5], [2, 1, 4, 3, 3]),
                                 ([0.3, -0.1, 0.2, 0.0, 0.05], [0.1, 0.2, 0.3, 0.4, 0.5])])
def test_spearman_matches_scipy(a, b):
    stats = pytest.importorskip("scipy.stats")
    assert _bench().spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)


def test_summary_by_hand(tmp_path):
    diag = {"kind": "diagnosis", "dataset": "d", "baseline": "b", "baseline_top1": 0.5,
            "layout_groups": ["g1", "g2", "g3"], "recommended_groups": ["g2"],
            "groups": [{"name": "g2", "rank": 1, "score": 0.3, "input": 0.5, "model": 0.2},
                       {"name": "g1", "rank": 2, "score": 0.1, "input": 0.4, "model": 0.3},
                       {"name": "g3", "rank": 3, "score": -0.2, "input": 0.1, "model": 0.3}]}
    gains = {("g1", 0): 0.20, ("g1", 1): 0.10, ("g2", 0): 0.10, ("g2", 1): 0.08,
             ("g3", 0): -0.1, ("g3", 1): -0.1, ("all", 0): 0.05, ("all", 1): 0.01}
    text = _summary_of(tmp_path, diag, gains, 1 / 2)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| g")}
    assert "+0.150 ± 0.071" in rows["g1"] and "| 1 | 2 |" in rows["g1"]   # mean, sd; oracle 1, diagnosis 2
    assert "+0.090 ± 0.014" in rows["g2"] and "| 2 | 1 |" in rows["g2"]
    # scores 0.1, 0.3, -0.2 against gains 0.15, 0.09, -0.1: ranks (2,3,1) vs (3,2,1) → ρ = 0.5
    assert "groups): +0.50" in text
    assert f"fraction {0.09 / 0.15:.2f}" in text                          # recommended g2 / best g1
    # g2 − all paired by seed: 0.10−0.05, 0.08−0.01 → mean 0.06, sd 0.0141
    assert f"paired by seed: +0.060 ± {np.std([0.05, 0.07], ddof=1):.3f}" in text


def test_trial_search_by_validation_by_hand(tmp_path):
    """The summary's validation line: each group's mean validation top-1 (recorded, or read from
    the arm's history.csv when the record predates the field), the group it picks, and ρ."""
    diag = {"kind": "diagnosis", "dataset": "d", "baseline": "b", "baseline_top1": 0.5,
            "layout_groups": ["g1", "g2", "g3"], "recommended_groups": [],
            "groups": [{"name": f"g{i}", "rank": i, "score": -0.1 * i, "input": 0.3, "model": 0.4} for i in (1, 2, 3)]}
    run = tmp_path / "g3-run"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,samples_per_s\n"
                                     "1,2.0,0.5,2.1,0.40,0.01,1,1\n2,1.0,0.7,1.2,0.90,0.01,1,1\n")
    arms = [{"kind": "arm", "dataset": "d", "baseline": "b", "arm": a, "seed": 0, "epochs": 5, "top1": 0.5,
             "baseline_top1": 0.5, "gain_all": 0.0, "gain_judged": g, "judged_classes": ["c"],
             "baseline_judged_mean": 0.3, **extra}
            for a, g, extra in (("g1", 0.2, {"val_accuracy": 0.6}), ("g2", 0.1, {"val_accuracy": 0.8}),
                                ("g3", -0.1, {"command": f"tdf fix b --out {run} --groups g3"}))]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [diag] + arms))
    text = _bench().summary([path])
    # validation 0.6, 0.8, 0.9 (g3's last epoch) against gains 0.2, 0.1, −0.1: ρ = −1
    assert "picks g3 (validation 0.900, weak-class gain -0.100)" in text
    assert "oracle best g1 has validation 0.600, rank 3 of 3" in text
    assert "oracle weak-class gain): -1.00" in text


def test_reseed_control_is_labelled_and_paired_by_seed(tmp_path):
    diag = {"kind": "diagnosis", "dataset": "d", "baseline": "b", "baseline_top1": 0.5,
            "layout_groups": ["g1", "g2", "g3"], "recommended_groups": ["g1"],
            "groups": [{"name": f"g{i}", "rank": i, "score": 0.5 - 0.1 * i, "input": 0.6, "model": 0.1} for i in (1, 2, 3)]}
    gains = {("g1", 0): 0.0, ("g1", 1): 0.30, ("g2", 0): -0.05, ("g2", 1): 0.1, ("g3", 0): -0.1, ("g3", 1): 0.0,
             ("reseed", 0): 0.0, ("reseed", 1): 0.20}
    arms = [{"kind": "arm", "dataset": "d", "baseline": "b", "arm": a, "seed": s, "epochs": 5, "top1": 0.5,
             "baseline_top1": 0.5, "gain_all": 0.0, "gain_judged": g, "judged_classes": ["c"],
             "baseline_judged_mean": 0.3} for (a, s), g in gains.items()]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [diag] + arms))
    text = _bench().summary([path])
    assert "| baseline retrained, arm's seed (control) | 2 | +0.100 ± 0.141 |" in text
    # g1 − reseed by seed: 0.0 − 0.0, 0.30 − 0.20 → +0.05 ± 0.071
    assert f"oracle best g1 − reseed: weak classes +0.050 (paired by seed: +0.050 ± {np.std([0, 0.1], ddof=1):.3f})" in text


def test_reseed_at_the_baselines_own_seed_is_a_determinism_check_not_a_control(tmp_path):
    diag = {"kind": "diagnosis", "dataset": "d", "baseline": "d-base-s0", "baseline_top1": 0.5,
            "layout_groups": ["g1", "g2", "g3"], "recommended_groups": ["g1"],
            "groups": [{"name": f"g{i}", "rank": i, "score": 0.5 - 0.1 * i, "input": 0.6, "model": 0.1} for i in (1, 2, 3)]}
    gains = {("g1", 0): 0.5, ("g1", 1): 0.4, ("g1", 2): 0.5, ("g2", 0): 0.1, ("g3", 0): 0.0,
             ("reseed", 0): 0.0, ("reseed", 1): 0.3, ("reseed", 2): 0.4}
    text = _summary_of(tmp_path, diag, gains, 1 / 4)
    assert _bench().baseline_seed("ucla-base-s12") == 12 and _bench().baseline_seed("mine") is None
    # seeds 1 and 2 only: mean 0.35; g1 − reseed paired on seeds 1, 2: +0.1, +0.1
    assert "| baseline retrained, arm's seed (control) | 2 | +0.350 ± 0.071 |" in text
    assert "oracle best g1 − reseed: weak classes +0.117 (paired by seed: +0.100 ± 0.000)" in text
    assert "own seed 0 gives top-1 0.5000 against the baseline's 0.5000 (identical" in text
    g1 = next(line for line in text.splitlines() if line.startswith("| g1 |"))
    assert g1.endswith("| +0.100 ± 0.000 (2) |")                  # the table's column: over reseed, paired
