"""Re-score recorded diagnoses with every candidate ranking rule, without retraining (issue 11).

`tdf diagnose` records, beside diagnosis.json, the per-sample outcomes behind every group's
ranking components (`ranking_outcomes.npz`, tdf.diagnose.ranking.save_outcomes). This script
recomputes, for each rule of `tdf.diagnose.ranking.RULES`, every group's score and its 95 %
bootstrap interval exactly as `tdf diagnose` would (same seeded draws), ranks the groups, applies
the recommendation (THRESHOLD on the interval's lower end, the composite-halves rule), and
reports:

- real data (`--real NAME=DIAG_DIR` with `--oracle RESULTS.jsonl` from bench/real_oracle.py):
  Spearman's ρ between the rule's scores and the oracle's mean weak-class gains, the rank the
  rule gives the oracle's best group, the top-ranked and the recommended groups, and the
  recommended (else top-ranked) group's gain;
- synthetic acceptance rows (`--synthetic DIR` of bench/loop_acceptance.py --diagnosis-only):
  on how many rows exactly the planted group is recommended, and the planted group's rank.

    python bench/ranking_rules.py --real utd=/work/out/realrank/utd-diag \\
        --oracle bench/results/real_oracle_utd.jsonl --synthetic /work/out/realrank/acceptance
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.real_oracle import spearman  # noqa: E402
from tdf.diagnose.ranking import (BOOTSTRAP, RULES, bootstrap_draws, load_outcomes, recommend,  # noqa: E402
                                  score_group)


def rescore(diag_dir: Path, rule: str, composites: dict | None = None) -> tuple[list[dict], list[str]]:
    """(rows sorted as tdf ranks them, recommended groups) of a diagnosis under `rule`."""
    d = json.loads((diag_dir / "diagnosis.json").read_text())
    labels, seed, outcomes = load_outcomes(diag_dir / "ranking_outcomes.npz")
    joints = {g["name"]: g["joints"] for g in d["groups"]}
    chance = d["groups"][0]["evidence"]["chance"]
    repeats = next(iter(outcomes.values()))["input"].shape[0]
    draws = bootstrap_draws(labels, seed, repeats, BOOTSTRAP)
    rows = []
    for name, comps in outcomes.items():
        c, score, low, high = score_group(comps, chance, rule, draws)
        rows.append({"name": name, "joints": joints[name], "score": round(score, 6),
                     "score_low": round(low, 6), "score_high": round(high, 6), "components": c})
    rows.sort(key=lambda r: (-r["score"], r["joints"], r["name"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows, recommend(rows, composites=composites if composites is not None else composites_of(d))


def composites_of(d: dict) -> dict:
    """The composites (hands, legs, …) of the diagnosed data's layout."""
    from tdf.data.store import open_store
    with open_store(d["data"]) as s:
        return dict(s.layout.composites)


def oracle_gains(paths: list[Path], baseline: str) -> dict[int, dict[str, float]]:
    """{arm epochs: {group: mean weak-class gain}} of bench/real_oracle.py's arms on `baseline`."""
    out: dict[int, dict[str, list[float]]] = {}
    for p in paths:
        for line in p.read_text().splitlines():
            r = json.loads(line) if line.strip() else {}
            if r.get("kind") == "arm" and "error" not in r and r.get("baseline") == baseline:
                out.setdefault(r["epochs"], {}).setdefault(r["arm"], []).append(r["gain_judged"])
    return {ep: {a: float(np.mean(v)) for a, v in arms.items()} for ep, arms in out.items()}


def real_table(name: str, diag_dir: Path, oracle_paths: list[Path]) -> list[str]:
    d = json.loads((diag_dir / "diagnosis.json").read_text())
    comps = composites_of(d)
    base = Path(d["run"]).name
    by_epochs = oracle_gains(oracle_paths, base)
    out = []
    for ep, gains in sorted(by_epochs.items()):
        groups = [g["name"] for g in d["groups"] if g["name"] in gains]   # ρ over the layout's groups only
        if not groups:
            continue
        best = max(groups, key=lambda g: gains[g])
        out.append(f"\n#### {name}: diagnosis {diag_dir} (baseline {base}), oracle arms at {ep} epochs, "
                   f"{len(groups)} of {len(d['groups'])} groups run (best: {best} {gains[best]:+.3f}; all-joints "
                   f"control {gains.get('all', float('nan')):+.3f}; wide {gains.get('wide', float('nan')):+.3f})\n")
        out.append("| rule | ρ with oracle | rank of " + best + " | top-ranked (score [95 %]) | recommended | "
                   "gain of recommended (else top) (arm) |")
        out.append("|---|---:|---:|---|---|---:|")
        for rule in RULES:
            rows, rec = rescore(diag_dir, rule, comps)
            by = {r["name"]: r for r in rows}
            rho = spearman([by[g]["score"] for g in groups], [gains[g] for g in groups])
            top = rows[0]
            together = ",".join(rec)   # the recommended groups trained as one fix (`tdf fix --groups A,B`) …
            chosen = together if together in gains else (rec[0] if rec else top["name"])   # … else the first
            g_chosen = gains.get(chosen, float("nan"))   # a composite (arms) is its own arm: nan unless it ran
            out.append(f"| {rule} | {rho:+.2f} | {by[best]['rank']} | {top['name']} {top['score']:+.3f} "
                       f"[{top['score_low']:+.3f}, {top['score_high']:+.3f}] | {', '.join(rec) or '—'} | "
                       f"{g_chosen:+.3f} ({chosen}) |")
    return out


def synthetic_table(root: Path) -> list[str]:
    rows_dirs = sorted(p for p in root.glob("*-s*/stages/diagnosis") if (p / "ranking_outcomes.npz").exists())
    if not rows_dirs:
        return [f"\n(no acceptance rows with ranking_outcomes.npz under {root})"]
    comps = None
    out = [f"\n#### synthetic acceptance rows under {root} ({len(rows_dirs)} rows)\n",
           "| rule | planted group recommended exactly | planted rank per row | lowest planted score_low | "
           "highest other score_high |", "|---|---:|---|---:|---:|"]
    for rule in RULES:
        ok, ranks, lows, highs = 0, [], [], []
        for p in rows_dirs:
            planted, seed = p.parents[1].name.rsplit("-s", 1)
            if comps is None:
                comps = composites_of(json.loads((p / "diagnosis.json").read_text()))
            rows, rec = rescore(p, rule, comps)
            parts = comps.get(planted, (planted,))
            by = {r["name"]: r for r in rows}
            ok += rec == [planted]
            ranks.append(f"{planted}-s{seed}:{max(by[q]['rank'] for q in parts)}")
            lows.append(min(by[q]["score_low"] for q in parts))
            highs.append(max(r["score_high"] for r in rows if r["name"] not in parts))
        out.append(f"| {rule} | {ok}/{len(rows_dirs)} | {' '.join(ranks)} | {min(lows):+.3f} | {max(highs):+.3f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", action="append", default=[], metavar="NAME=DIAG_DIR")
    ap.add_argument("--oracle", action="append", default=[], type=Path, metavar="RESULTS.jsonl")
    ap.add_argument("--synthetic", type=Path, help="bench/loop_acceptance.py --diagnosis-only output folder")
    a = ap.parse_args()
    lines = []
    for spec in a.real:
        name, _, path = spec.partition("=")
        lines += real_table(name, Path(path), [p for p in a.oracle if p.exists()])
    if a.synthetic:
        lines += synthetic_table(a.synthetic)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
