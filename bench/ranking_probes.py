"""Would another input probe have ranked the oracle's best group higher? (issue 11)

The ranking's score is input skill − the model's own skill with the group frozen
(`tdf.diagnose.ranking`). On N-UCLA the oracle's best group (right_hand) is ranked last and its
input skill is the lowest of all groups (docs/real-oracle.md). This script asks whether that is
the input probe's fault: it re-probes the samples a recorded diagnosis ranked on with other
feature sets of each group's motion, keeps the recorded model side (`ranking_outcomes.npz`:
the model's own decisions with the group frozen), scores every group by the same rule with the
same seeded bootstrap, and compares the ranking with the oracle's weak-class gains
(`bench/real_oracle.py` results):

- `spectra`: the diagnosis's rhythm probe (time-centred log power spectra);
- `trajectory`: the diagnosis's trajectory probe (each joint relative to its parent joint, in the
  body-yaw frame, resampled to 20 frames, with its velocity);
- `trajectory_centre`: the same, each joint relative to the layout's centre joint instead of its
  parent — where the group goes relative to the body (a hand reaching the floor, a foot stepping),
  not how its last bone turns;
- `diagnosis`: the better of spectra and trajectory per group (what `tdf diagnose` uses);
- `best_of_three`: the better of all three per group.

Plain NumPy on the stored sequences; no model is run (the model side is read from the record).

    python bench/ranking_probes.py --real ucla=DIAG_DIR --oracle bench/results/real_oracle_ucla.jsonl \\
        --real utd=DIAG_DIR2 --oracle bench/results/real_oracle_utd_full.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ranking_rules import composites_of, oracle_gains  # noqa: E402
from bench.real_oracle import spearman  # noqa: E402
from tdf.diagnose.features import group_motion_features  # noqa: E402
from tdf.diagnose.input_probe import facing_pairs  # noqa: E402
from tdf.diagnose.probe import probe_correct, skill_of  # noqa: E402
from tdf.diagnose.ranking import (BOOTSTRAP, REPEATS, RULE, bootstrap_draws, load_outcomes, recommend,  # noqa: E402
                                  score_group, select_samples)
from tdf.diagnose.trajectory import group_trajectory_features  # noqa: E402

FEATURE_SETS = ("spectra", "trajectory", "trajectory_centre")
CHOICES = {"diagnosis": ("spectra", "trajectory"), "best_of_three": FEATURE_SETS}


def centre_trajectory_features(x: np.ndarray, joints, layout) -> np.ndarray:
    """The diagnosis's trajectory features with every joint's "parent" set to the layout's centre
    joint: the group relative to the body centre, in the body-yaw frame, resampled, with velocity."""
    centre = layout.joints.index(layout.centre)
    return group_trajectory_features(x, joints, [centre] * layout.n_joints, facing_pairs(layout),
                                     bodies=layout.bodies, n_joints=layout.n_joints, coords=layout.coords)


def feature_sets(x: np.ndarray, joints, layout) -> dict[str, np.ndarray]:
    return {"spectra": group_motion_features(x, list(joints), layout=layout),
            "trajectory": group_trajectory_features(x, joints, layout.parents, facing_pairs(layout),
                                                    bodies=layout.bodies, n_joints=layout.n_joints,
                                                    coords=layout.coords),
            "trajectory_centre": centre_trajectory_features(x, joints, layout)}


def ranking_samples(diag_dir: Path, per_class: int):
    """(joint positions [N, T, D], labels, layout, diagnosis, recorded outcomes, seed) of the samples
    the diagnosis ranked on, re-selected as `tdf diagnose` selects them and checked against the
    labels it recorded."""
    from tdf.data.model_input import run_recipe, view_for_run
    from tdf.data.store import open_store
    from tdf.run_folder import read_run_json, run_split
    d = json.loads((diag_dir / "diagnosis.json").read_text())
    labels, seed, outcomes = load_outcomes(diag_dir / "ranking_outcomes.npz")
    run = Path(d["run"])
    info = read_run_json(run)
    with open_store(d["data"]) as raw:
        store = view_for_run(raw, info, run / "run.json")
        indices = run_split(store, info, run / "run.json").part(d["split"])
        ids = [store.class_names.index(c) for c in d["ranking_samples"]["classes"]]
        sel = select_samples(store.label, np.asarray(indices), ids, per_class, seed)
        x, y = store.read(sel, frames=int(info.get("frames") or store.T)), store.label[sel]
        layout = raw.layout
    if len(y) != len(labels) or (y != labels).any():
        raise SystemExit(f"{diag_dir}: the re-selected samples are not the ones the diagnosis ranked on "
                         f"(per-class {per_class}, seed {seed}); pass the diagnosis's --per-class")
    recipe = run_recipe(info, run / "run.json")
    positions = x if recipe is None or recipe.is_raw else recipe.joint_channels(x)
    return positions, y, layout, d, outcomes, seed


def rescore_inputs(diag_dir: Path, per_class: int = 60, rule: str = RULE) -> dict[str, list[dict]]:
    """{feature set or choice: rows sorted by score} — every group re-scored with that input side."""
    x, y, layout, d, outcomes, seed = ranking_samples(diag_dir, per_class)
    chance = d["groups"][0]["evidence"]["chance"]
    draws = bootstrap_draws(y, seed, REPEATS, BOOTSTRAP)
    sizes = {g["name"]: g["joints"] for g in d["groups"]}
    per_group = {}
    for g in outcomes:
        feats = feature_sets(x, layout.group_joints(g), layout)
        per_group[g] = {k: np.stack([probe_correct(f, y, k=5, seed=seed + r)[0] for r in range(REPEATS)]).astype(float)
                        for k, f in feats.items()}
    tables = {}
    for name in FEATURE_SETS + tuple(CHOICES):
        rows = []
        for g, comps in outcomes.items():
            options = CHOICES.get(name, (name,))
            skills = {k: float(skill_of(per_group[g][k].mean(axis=1), chance).mean()) for k in options}
            best = max(options, key=lambda k: (skills[k], -options.index(k)))
            c, score, low, high = score_group({**comps, "input": per_group[g][best]}, chance, rule, draws)
            rows.append({"name": g, "joints": sizes[g], "score": score, "score_low": low, "score_high": high,
                         "input": c["input"], "probe": best})
        rows.sort(key=lambda r: (-r["score"], r["joints"], r["name"]))
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        tables[name] = rows
    return tables


def real_table(name: str, diag_dir: Path, oracle_paths: list[Path], per_class: int) -> list[str]:
    d = json.loads((diag_dir / "diagnosis.json").read_text())
    base = Path(d["run"]).name
    gains_by_epochs = oracle_gains(oracle_paths, base)
    if not gains_by_epochs:
        return [f"\n(no oracle arms for baseline {base} in {', '.join(map(str, oracle_paths))})"]
    ep, gains = max(gains_by_epochs.items(), key=lambda kv: len(kv[1]))
    composites = composites_of(d)
    tables = rescore_inputs(diag_dir, per_class)
    groups = [g for g in tables["diagnosis"] if g["name"] in gains]
    names = [g["name"] for g in groups]
    best = max(names, key=lambda g: gains[g])
    out = [f"\n#### {name}: diagnosis {diag_dir.name} (baseline {base}), oracle arms at {ep} epochs, "
           f"{len(names)} groups; oracle best {best} ({gains[best]:+.3f})\n",
           f"| input side | ρ with oracle | rank of {best} | {best}: input skill, score | top-ranked (input, score) "
           f"| recommended | gain of recommended (else top) |", "|---|---:|---:|---|---|---|---:|"]
    for kind, rows in tables.items():
        by = {r["name"]: r for r in rows}
        rho = spearman([by[g]["score"] for g in names], [gains[g] for g in names])
        rec = recommend(rows, composites=composites)
        top = rows[0]
        chosen = "+".join(rec) if "+".join(rec) in gains else (rec[0] if rec else top["name"])
        out.append(f"| {kind} | {rho:+.2f} | {by[best]['rank']} | {by[best]['input']:.2f}, {by[best]['score']:+.3f} | "
                   f"{top['name']} ({top['input']:.2f}, {top['score']:+.3f}) | {', '.join(rec) or '—'} | "
                   f"{gains.get(chosen, float('nan')):+.3f} ({chosen}) |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", action="append", default=[], metavar="NAME=DIAG_DIR")
    ap.add_argument("--oracle", action="append", default=[], type=Path, metavar="RESULTS.jsonl")
    ap.add_argument("--per-class", type=int, default=60, help="the diagnosis's ranking samples per class")
    a = ap.parse_args()
    lines = []
    for spec in a.real:
        name, _, path = spec.partition("=")
        lines += real_table(name, Path(path), [p for p in a.oracle if p.exists()], a.per_class)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
