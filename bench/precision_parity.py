"""Accuracy parity of `--precision bf16` against fp32 (issue 16): `tdf data synth` (default
generator, seed S) then `tdf train --preset synthetic --seed S` once per precision, for several
seeds — or, with `--data STORE`, `tdf train STORE --preset P [--epochs E] --seed S` on a real
data set (one store for every seed; the seed changes the initialisation, order and
augmentation). Reports test top-1 and mean class accuracy of each, the difference bf16 − fp32, epochs
run, and the mean seconds per epoch from history.csv (not a side-by-side speed figure: use
bench/train_throughput.py --compare precision for that).

    python bench/precision_parity.py --seeds 0,1,2 --out /tmp/parity
    python bench/precision_parity.py --data utd.h5 --preset small --epochs 30 --out /tmp/parity-utd
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path


def tdf(*args) -> None:
    cmd = [sys.executable, "-m", "tdf", "--quiet", *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help="a store to train on (default: `tdf data synth` per seed)")
    ap.add_argument("--preset", default=None, help="training preset (default: synthetic; small with --data)")
    ap.add_argument("--epochs", type=int, default=None, help="epoch budget (default: the preset's)")
    args = ap.parse_args()
    preset = args.preset or ("small" if args.data else "synthetic")
    budget = ["--epochs", args.epochs] if args.epochs else []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        data = Path(args.data) if args.data else out / f"synth-{seed}.h5"
        if not args.data and not data.exists():
            tdf("data", "synth", data, "--seed", seed)
        for precision in args.precisions.split(","):
            run = out / f"run-{precision}-{seed}"
            if not (run / "metrics.json").exists():
                tdf("train", data, "--out", run, "--preset", preset, *budget, "--seed", seed,
                    "--precision", precision, "--force")
            m = json.loads((run / "metrics.json").read_text())
            with open(run / "history.csv") as f:
                hist = list(csv.DictReader(f))
            row = {"data": str(data), "preset": preset, "seed": seed, "precision": precision, "top1": m["top1"],
                   "mean_class_accuracy": m["mean_class_accuracy"], "epochs": len(hist),
                   "seconds_per_epoch": sum(float(h["seconds"]) for h in hist) / len(hist)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(out / "parity.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
    precisions = args.precisions.split(",")
    print("\n| seed | " + " | ".join(f"top-1 {p}" for p in precisions) + " | difference |")
    print("|---|" + "---|" * (len(precisions) + 1))
    for seed in sorted({r["seed"] for r in rows}):
        got = {r["precision"]: r for r in rows if r["seed"] == seed}
        diff = got[precisions[-1]]["top1"] - got[precisions[0]]["top1"]
        print(f"| {seed} | " + " | ".join(f"{got[p]['top1']:.4f} ({got[p]['epochs']} ep)" for p in precisions)
              + f" | {100 * diff:+.1f} points |")


if __name__ == "__main__":
    main()
