"""Evidence of use for issue 6: dissection and class pyramids of a baseline vs its fix.

On a synthetic set with a planted weak group G (the fine classes' only true cue):

    tdf data synth D.h5 --weak-group hands
    tdf train D.h5 --out RUN --preset synthetic
    tdf fix RUN --groups hands --out RUN2
    python bench/dissect_evidence.py RUN RUN2 --group hands --class fine_hands_circle

prints two markdown tables:
1. per model/stream and dissected layer, the units interpretable for G's concepts
   ("<part of G> moving" / "moving slightly") against all interpretable units;
2. the class pyramid of a fine class: selected channels per level, and for the top level the
   share of the decoded (selected channels only) motion that falls on G's joints, mean over the
   class's test samples (motion = temporal std of each decoded dim over the valid frames).
The same test samples (seeded) are used for every model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def group_concepts(group: str, concepts: list[str]) -> list[str]:
    from tdf.data.layout import parts_of
    parts = parts_of(group)
    return [c for c in concepts if any(c.startswith(p + " ") for p in parts)]


def motion_share(decoded: np.ndarray, lengths: np.ndarray, mask: np.ndarray) -> float:
    """Mean over samples of (Σ_dims∈mask std_t) / (Σ_dims std_t) of decoded [N, T, 150]."""
    shares = []
    for seq, n in zip(decoded, lengths):
        std = seq[:int(n)].std(axis=0)
        shares.append(std[mask].sum() / max(std.sum(), 1e-12))
    return float(np.mean(shares))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline")
    ap.add_argument("fixed")
    ap.add_argument("--group", default="hands")
    ap.add_argument("--class", dest="cls", default=None, help="fine class for the pyramid (default: the first fine class)")
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--theta", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write everything here")
    ap.add_argument("--directions", action="store_true", help="add the 'rising'/'falling' concepts")
    ap.add_argument("--rhythms", action="store_true",
                    help="add the rhythm concepts ('g oscillating 2.5–5 Hz', tdf.diagnose.rhythm)")
    ap.add_argument("--within-fine", action="store_true",
                    help="dissect on the fine classes' test samples only (concepts then vary within the "
                         "classes the planted cue separates, not between fine and coarse classes)")
    args = ap.parse_args()

    from tdf.data.layout import group_mask
    from tdf.data.store import open_store
    from tdf.diagnose.dissect import DissectOptions, dissect
    from tdf.diagnose.pyramid import backstep_weights, class_rows, decode_pyramid, pooled_activations, pyramids
    from tdf.run_folder import load_model, read_run_json, run_split

    info = read_run_json(args.baseline)
    models = {"baseline": (load_model(os.path.join(args.baseline, "model.keras")), [None]),
              "fix": (load_model(os.path.join(args.fixed, "model.keras")), ["main", "ta"])}
    mask = group_mask(args.group)
    out = {"dissection": [], "pyramid": []}
    with open_store(info["data"]) as store:
        test = run_split(store, info).part("test")
        fine_all = store.json_attr("fine_classes") or [c for c in store.class_names if c.startswith("fine_")]
        if args.within_fine:
            ids = [store.class_names.index(f) for f in fine_all]
            test = test[np.isin(store.label[test], ids)]
        rng = np.random.default_rng(args.seed)
        pick = np.sort(rng.choice(test, size=min(args.samples, len(test)), replace=False))
        x = store.read(pick)
        cls = args.cls or fine_all[0]
        c = store.class_names.index(cls)
        rows = class_rows(store, test, [c], 64, args.seed)
        xc, lc, lengths = store.read(rows), store.label[rows], store.length[rows]
        names = list(store.class_names)
    for label, (model, streams) in models.items():
        for stream in streams:
            t0 = time.perf_counter()
            d = dissect(model, x, stream=stream, opts=DissectOptions(directions=args.directions, rhythms=args.rhythms))
            wanted = group_concepts(args.group, d["concepts"])
            for layer, res in d["layers"].items():
                g_units = sum(res["units_per_concept"][k] for k in wanted)
                g_rhythm = sum(res["units_per_concept"][k] for k in wanted if " oscillating " in k)
                cols = [d["concepts"].index(k) for k in wanted]
                best = float(np.max(np.asarray(res["iou"])[:, cols])) if cols else 0.0
                out["dissection"].append({"model": label, "stream": stream or "—", "layer": layer,
                                          "units": res["units"], "interpretable": res["interpretable"],
                                          "group_units": g_units, "group_rhythm_units": g_rhythm,
                                          "best_group_iou": round(best, 3),
                                          "by_concept": {k: res["units_per_concept"][k] for k in wanted
                                                         if res["units_per_concept"][k]}})
            p = pyramids(model, xc, lc, [c], names, stream=stream, theta=args.theta)[cls]
            w = backstep_weights(model, stream)
            score = float((pooled_activations(model, xc, stream, w)["feature"] @ w.classifier[:, c]).mean())
            dec = decode_pyramid(model, xc, p, stream)
            top = p["levels"][0]["layer"]
            out["pyramid"].append({"model": label, "stream": stream or "—",
                                   "levels": [len(lv["channels"]) for lv in p["levels"]],
                                   "layerwise": [len(lv["layer_channels"]) for lv in p["levels"]],
                                   "top_channels": p["levels"][0]["channels"], "class_score": round(score, 3),
                                   "top_group_motion_share": round(motion_share(dec[top], lengths, mask), 3)
                                   if top in dec else None,
                                   "seconds": round(time.perf_counter() - t0, 1)})
            print(f"done {label} {stream}", file=sys.stderr)

    print(f"\nDissection on {len(x)} test samples{' of the fine classes' if args.within_fine else ''} (concepts of '{args.group}': units interpretable for them / "
          f"all interpretable / units)\n")
    print("| model | stream | layer | units for " + args.group + " concepts | … of them rhythm concepts | "
          "best IoU with a " + args.group + " concept | interpretable | units | by concept |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in out["dissection"]:
        print(f"| {r['model']} | {r['stream']} | {r['layer']} | {r['group_units']} | {r['group_rhythm_units']} | "
              f"{r['best_group_iou']:.3f} | "
              f"{r['interpretable']} | "
              f"{r['units']} | {', '.join(f'{k}: {v}' for k, v in r['by_concept'].items())} |")
    print(f"\nClass feature pyramid of {cls} (θ = {args.theta}, {len(rows)} test samples of the class)\n")
    print(f"| model | stream | selected channels per level, union (layer-wise), top → conv1 | top-level channels | "
          f"stream's part of the class score (mean) | {args.group} share of the top level's decoded motion |")
    print("|---|---|---|---|---:|---:|")
    for r in out["pyramid"]:
        levels = " → ".join(f"{a} ({b})" for a, b in zip(r["levels"], r["layerwise"]))
        print(f"| {r['model']} | {r['stream']} | {levels} | {r['top_channels']} | {r['class_score']} | "
              f"{r['top_group_motion_share']} |")
    share = float(mask.sum() / mask.size)
    print(f"\n(the group's share of the 150 dims is {share:.2f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
