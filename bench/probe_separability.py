"""Input-probe separability of class pairs, per joint group and per probe (docs/diagnosis-probes.md).

For each pair of classes, the samples of one split (the store's default test part, or all) and
each joint group of the store's layout: cross-validated accuracy of the spectra probe, the
trajectory probe and the diagnosis's input probe (the better of the two). Chance is 0.50 for a
balanced pair. Plain NumPy on the stored sequences; no model.

    tdf data import ../shared/data/utd-mhad/Skeleton utd.h5 --format utd-mhad
    python bench/probe_separability.py utd.h5 \\
        --pair "right hand draw circle (clockwise)" "right hand draw circle (counter clockwise)" \\
        --pair "right arm swipe to the left" "right arm swipe to the right"
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from tdf.data.splits import default_split_name, split_sides
from tdf.data.store import open_store
from tdf.diagnose.input_probe import PROBES, input_separability


def pair_rows(store, indices: np.ndarray, a: str, b: str, seed: int, permutations: int = 0) -> list[dict]:
    """One row per group: accuracy of each probe and of the chosen one on classes a vs b; with
    `permutations`, the chosen probe's mean and max accuracy on shuffled labels (the null: what
    taking the better of two probes gives when there is nothing to find)."""
    ids = [store.class_names.index(a), store.class_names.index(b)]
    sel = np.sort(indices[np.isin(store.label[indices], ids)])
    x, y = store.read(sel), store.label[sel]
    lay = store.layout
    rows = []
    for g in lay.groups:
        r = input_separability(x, y, lay.group_joints(g), layout=lay, seed=seed)
        rows.append({"pair": [a, b], "group": g, "n": int(len(sel)), "chance": r["chance"],
                     **{p: round(r["accuracies"][p], 3) for p in PROBES}, "probe": r["probe"],
                     "input": round(r["accuracy"], 3)})
        if permutations:
            rng = np.random.default_rng(seed)
            null = [input_separability(x, rng.permutation(y), lay.group_joints(g), layout=lay, seed=seed)["accuracy"]
                    for _ in range(permutations)]
            rows[-1]["null_mean"], rows[-1]["null_max"] = round(float(np.mean(null)), 3), round(float(np.max(null)), 3)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--pair", nargs=2, action="append", required=True, metavar=("A", "B"))
    ap.add_argument("--part", default="test", choices=["test", "train", "all"],
                    help="the part of the store's default split to use (default: test)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--permutations", type=int, default=0,
                    help="also the chosen probe's accuracy on K label permutations (null control)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with open_store(args.data) as store:
        if args.part == "all":
            indices = np.arange(len(store.label))
        else:
            train, test = split_sides(store, default_split_name(store))
            indices = np.flatnonzero(test if args.part == "test" else train)
        rows = [r for a, b in args.pair for r in pair_rows(store, indices, a, b, args.seed, args.permutations)]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    null = args.permutations > 0
    print("| pair | group | n | spectra | trajectory | input probe (chosen) |" + (" shuffled labels: mean / max |" if null else ""))
    print("|---|---|---:|---:|---:|---|" + ("---:|" if null else ""))
    for r in rows:
        print(f"| {r['pair'][0]} vs {r['pair'][1]} | {r['group']} | {r['n']} | {r['spectra']:.2f} | "
              f"{r['trajectory']:.2f} | {r['input']:.2f} ({r['probe']}) |"
              + (f" {r['null_mean']:.2f} / {r['null_max']:.2f} |" if null else ""))


if __name__ == "__main__":
    main()
