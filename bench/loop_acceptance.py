"""The closed loop's acceptance measurement (issue 5): for planted weak groups × seeds, run the
user's commands and tabulate the targeted fix against honest controls.

For each (G, S):
    tdf data synth D --weak-group G --seed S
    tdf loop D --out DIR --preset synthetic --seed S                  baseline → diagnosis → fix
    tdf fix DIR/baseline --groups <rank-last group> --out DIR/wrong   control: wrong target
    tdf fix DIR/baseline --groups all --out DIR/all                   control: TA stream sees all joints
    tdf train D --out DIR/long --early-stop 0 --epochs E              control: baseline given the fix's compute
(E = the fix's epochs × its FLOPs per sample / the baseline's, no early stopping.) Every fix
uses `tdf fix`'s defaults (both streams from scratch) and the synthetic preset.
Reported: fine-class (the planted classes) and coarse-class test accuracy of each model, and
the issue's bars per row (`checks`).

    python bench/loop_acceptance.py --groups hands,head,legs --seeds 0,1,2 --out /tmp/acceptance

`--diagnosis-only` runs the loop's first two stages alone (`tdf train D --out DIR/stages/run
--preset synthetic --seed S`, `tdf diagnose … --views ranking --seed S`, into DIR/stages/run and
DIR/stages/diagnosis: the same baseline and the
same ranking as the loop's) — enough for the rank and recommended columns, at half the cost.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path


def tdf(*args: str, capture: bool = True) -> str:
    cmd = [sys.executable, "-m", "tdf", "--quiet", *map(str, args)]
    r = subprocess.run(cmd, capture_output=capture, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:] if capture else ''}")
    return r.stdout if capture else ""


def class_means(metrics: dict, classes: list[str]) -> float:
    vals = [metrics["per_class_accuracy"][c] for c in classes if metrics["per_class_accuracy"].get(c) is not None]
    return sum(vals) / len(vals) if vals else float("nan")


def run_row(group: str, seed: int, root: Path, controls: bool, diagnosis_only: bool = False) -> dict:
    d = root / f"{group}-s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    data = d / "synth.h5"
    if not data.exists():
        tdf("data", "synth", data, "--weak-group", group, "--seed", seed)
    info = json.loads(tdf("--json", "data", "info", data))
    fine = info["fine_classes"] if "fine_classes" in info else json.loads(info["attributes"]["fine_classes"])
    t0 = time.time()
    loop_dir = d / "loop"
    if diagnosis_only:   # not inside a loop folder: tdf writes no output inside another
        loop_dir = d / "stages"
        base_dir, diag_dir = loop_dir / "run", loop_dir / "diagnosis"
        if not (base_dir / "metrics.json").exists():
            tdf("train", data, "--out", base_dir, "--preset", "synthetic", "--seed", seed, "--force")
        if not (diag_dir / "diagnosis.json").exists():
            tdf("diagnose", base_dir, "--out", diag_dir, "--render", "none", "--views", "ranking", "--seed", seed,
                "--force")
        controls = False
    else:
        args = ["--resume"] if loop_dir.exists() else []
        tdf("--json", "loop", data, "--out", loop_dir, "--preset", "synthetic", "--seed", seed, "--render", "none",
            *args)
        diag_dir = loop_dir / "diagnosis"
    diag = json.loads((diag_dir / "diagnosis.json").read_text())
    ranks = {g["name"]: g["rank"] for g in diag["groups"]}
    from tdf.data.layout import COMPOSITES
    parts = COMPOSITES.get(group, (group,))
    rank_of_g = max(ranks.get(p, 99) for p in parts)   # composite: the worst of its parts' ranks
    base_m = json.loads((base_dir if diagnosis_only else loop_dir / "baseline").joinpath("metrics.json").read_text())
    names = base_m["class_names"]
    coarse = [c for c in names if c not in fine]
    row = {"group": group, "seed": seed, "rank": rank_of_g, "recommended": diag["recommended_groups"],
           "ranking": [[g["name"], g["score"], g["evidence"].get("input_probe", "spectra"),
                        g["evidence"]["input_separability"]] for g in diag["groups"]],
           "baseline_fine": class_means(base_m, fine), "baseline_coarse": class_means(base_m, coarse)}
    fixed_dir = loop_dir / "fixed"
    if (fixed_dir / "metrics.json").exists():
        fm = json.loads((fixed_dir / "metrics.json").read_text())
        row.update(fixed_fine=class_means(fm, fine), fixed_coarse=class_means(fm, coarse))
    if controls:
        last = diag["groups"][-1]["name"]
        for label, extra in (("wrong", ["--groups", last]), ("all", ["--groups", "all"])):
            out = d / label
            if not (out / "metrics.json").exists():
                tdf("fix", loop_dir / "baseline", "--out", out, "--preset", "synthetic", "--seed", seed,
                    "--force", *extra)
            m = json.loads((out / "metrics.json").read_text())
            row[f"{label}_fine"] = class_means(m, fine)
            row[f"{label}_coarse"] = class_means(m, coarse)
        row["wrong_group"] = last
        from tdf.models import ms_res_tcn_cost, res_tcn_cost
        from tdf.train_config import PRESETS
        p = PRESETS["synthetic"]
        kw = dict(filters=p["filters"], units_per_block=p["units_per_block"], kernel_size=p["kernel_size"])
        ratio = ms_res_tcn_cost(len(names), 64, **kw).flops / res_tcn_cost(len(names), 64, **kw).flops
        fixed_epochs = json.loads((fixed_dir / "run.json").read_text())["epochs_run"] if fixed_dir.exists() else 60
        epochs = math.ceil(fixed_epochs * ratio)
        out = d / "long"
        if not (out / "metrics.json").exists():
            tdf("train", data, "--out", out, "--preset", "synthetic", "--seed", seed, "--early-stop", "0",
                "--epochs", epochs, "--force")
        m = json.loads((out / "metrics.json").read_text())
        row.update(long_fine=class_means(m, fine), long_coarse=class_means(m, coarse), long_epochs=epochs)
    row["seconds"] = round(time.time() - t0)
    return row


def fmt(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def checks(r: dict) -> str:
    """The issue's bars, each ✓/✗ (– where a control did not run):
    gain ≥ +0.20; wrong-group gain ≥ 0.10 below the targeted gain; targeted ≥ all-joints TA + 0.05;
    targeted > baseline with the fix's compute; coarse classes lose ≤ 0.02."""
    nan = float("nan")
    f, b = r.get("fixed_fine", nan), r["baseline_fine"]
    out = []
    def mark(label, ok):
        out.append(f"{label}{'–' if ok is None else ('✓' if ok else '✗')}")
    mark("gain", f - b >= 0.20 if f == f else None)
    w = r.get("wrong_fine")
    mark(" wrong", (f - b) - (w - b) >= 0.10 if w is not None else None)
    a = r.get("all_fine")
    mark(" all", f - a >= 0.05 if a is not None else None)
    lg = r.get("long_fine")
    mark(" 2×", f > lg if lg is not None else None)
    c0, c1 = r["baseline_coarse"], r.get("fixed_coarse", nan)
    mark(" coarse", c1 >= c0 - 0.02 if c1 == c1 else None)
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", default="hands,head,legs")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default="/tmp/tdf-acceptance")
    ap.add_argument("--rows", default=None, help="explicit G:S pairs, e.g. hands:0,head:1 (instead of the grid)")
    ap.add_argument("--no-controls", action="store_true")
    ap.add_argument("--diagnosis-only", action="store_true",
                    help="train and diagnose only (the loop's first two stages): rank and recommendation")
    ap.add_argument("--table-only", action="store_true", help="print the table of the rows already in --out")
    args = ap.parse_args()
    root = Path(args.out)
    pairs = ([(p.split(":")[0], int(p.split(":")[1])) for p in args.rows.split(",")] if args.rows else
             [(g, int(s)) for g in args.groups.split(",") for s in args.seeds.split(",")])
    rows = []
    if args.table_only:
        rows = [json.loads(p.read_text()) for p in sorted(root.glob("*/row.json"))]
    for g, s in ([] if args.table_only else pairs):
        row = run_row(g, s, root, not args.no_controls, args.diagnosis_only)
        (root / f"{g}-s{s}" / "row.json").write_text(json.dumps(row))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| G | seed | rank of G | recommended | baseline fine | fixed fine | Δ fine | wrong-group fix fine (group) "
          "| all-joints TA fine | baseline 2× compute fine (epochs) | coarse base → fixed | bars |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        delta = r.get("fixed_fine", float("nan")) - r["baseline_fine"]
        print(f"| {r['group']} | {r['seed']} | {r['rank']} | {','.join(r['recommended']) or 'none'} | {fmt(r['baseline_fine'])} | {fmt(r.get('fixed_fine'))} "
              f"| {delta:+.2f} | {fmt(r.get('wrong_fine'))} ({r.get('wrong_group', '')}) | {fmt(r.get('all_fine'))} "
              f"| {fmt(r.get('long_fine'))} ({r.get('long_epochs', '')}) | {fmt(r['baseline_coarse'])} → "
              f"{fmt(r.get('fixed_coarse'))} | {checks(r)} |")


if __name__ == "__main__":
    main()
