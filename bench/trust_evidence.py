"""Evidence for issue 13 ("trust the diagnosis"), written to --out as JSON as it comes and printed
as Markdown tables (docs/trust.md quotes them).

1. **null**: false-recommendation rate on data where nothing is wrong. For each data seed D
   and training seed S: `tdf data synth N.h5 --cue-amplitude 0.3 --shortcut-correlation 0.25
   --weak-group G --per-class P --frames T --seed D` with G = hands, head, legs for D = 0, 1, 2
   (mod 3) and P, T = 240, 64 (the generator's defaults; `--null-per-class`, `--null-frames`):
   the fine cue is large and the shortcut uninformative, so every class is learnable, `tdf train --preset synthetic --seed S`, `tdf diagnose --views
   ranking --seed S`. A false recommendation = a non-empty `recommended_groups`.
2. **planted**: from the diagnoses of the acceptance folders (bench/loop_acceptance.py's
   G-sS/loop/diagnosis and the train+diagnose rows given with --diag-dirs): each relevance
   method's deletion/insertion areas against random orders, its verdict, and the randomisation
   correlations, per row.
3. **planted group**: for rows with a fixed model (G-sS/loop/fixed), each method's share of
   |relevance| on the planted group G (and on the shortcut group) for the fine classes' test
   samples, explained for their true class, in the baseline and in the fixed model.

    python bench/trust_evidence.py --out /tmp/trust/evidence.json \
        --acceptance /tmp/acceptance [--diag-dirs DIR,...] [--null-data 0,1,2] [--null-seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

METHODS = ("gradxinput", "lrp", "occlusion")


def tdf(*args) -> str:
    cmd = [sys.executable, "-m", "tdf", "--quiet", *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def save(results: dict, out: Path) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(out)


NULL_GROUPS = ("hands", "head", "legs")   # data seed d plants its (large, learnable) cue in NULL_GROUPS[d % 3]


def null_rows(root: Path, data_seeds, train_seeds, results: dict, out: Path, per_class: int = 240,
              frames: int = 64) -> None:
    """False recommendations on data where nothing is wrong: a large fine cue, no informative shortcut."""
    done = {(r["data_seed"], r["train_seed"]) for r in results["null"]}
    for d in data_seeds:
        group = NULL_GROUPS[d % len(NULL_GROUPS)]
        data = root / f"null-d{d}-{group}-n{per_class}-t{frames}.h5"
        if not data.exists():
            tdf("data", "synth", data, "--cue-amplitude", 0.3, "--shortcut-correlation", 0.25, "--per-class",
                per_class, "--frames", frames, "--weak-group", group, "--seed", d)
        for s in train_seeds:
            if (d, s) in done:
                continue
            run = root / f"{data.stem}-s{s}"
            if not (run / "metrics.json").exists():
                tdf("train", data, "--out", run, "--preset", "synthetic", "--seed", s, "--force")
            diag = root / f"{data.stem}-s{s}-diag"
            tdf("diagnose", run, "--out", diag, "--views", "ranking", "--render", "none", "--seed", s, "--force")
            doc = json.loads((diag / "diagnosis.json").read_text())
            m = json.loads((run / "metrics.json").read_text())
            results["null"].append({"data_seed": d, "train_seed": s, "cue_group": group, "per_class": per_class,
                                    "frames": frames, "top1": m["top1"],
                                    "worst_class": min(v for v in m["per_class_accuracy"].values() if v is not None),
                                    "weak_classes": [w["class"] for w in doc["weak_classes"]],
                                    "status": doc["ranking_status"]["status"],
                                    "recommended": doc["recommended_groups"]})
            save(results, out)
            print(json.dumps(results["null"][-1]), flush=True)


def planted_diagnoses(acceptance: Path | None, extra: list[Path]) -> list[tuple[str, int, Path, Path, Path | None]]:
    """(group, seed, diagnosis folder, baseline run, fixed run or None) of every planted row found."""
    rows = []
    if acceptance and acceptance.is_dir():
        for d in sorted(acceptance.glob("*-s*")):
            diag = d / "loop" / "diagnosis" / "diagnosis.json"
            if diag.is_file():
                g, s = d.name.rsplit("-s", 1)
                fixed = d / "loop" / "fixed"
                rows.append((g, int(s), diag.parent, d / "loop" / "baseline",
                             fixed if (fixed / "model.keras").is_file() else None))
    for root in extra:
        for d in sorted(root.glob("*-s*")):
            diag = d / "diag" / "diagnosis.json"
            if diag.is_file():
                g, s = d.name.rsplit("-s", 1)
                rows.append((g, int(s), diag.parent, d / "run", None))
    return rows


def faithfulness_rows(rows, results: dict, out: Path) -> None:
    results["planted"] = []
    for g, s, diag, _, _ in rows:
        d = json.loads((diag / "diagnosis.json").read_text())
        f = d.get("faithfulness")
        if not f:
            continue
        row = {"group": g, "seed": s, "recommended": d["recommended_groups"],
               "chosen": f.get("chosen"), "random": {a: f[a]["random"] for a in ("groups", "frames") if f.get(a)}}
        for m in METHODS:
            row[m] = {"deletion": f["groups"][m]["deletion_area"], "insertion": f["groups"][m]["insertion_area"],
                      "margin": f["groups"][m]["margin"], "margin_low": f["groups"][m]["margin_low"],
                      "margin_high": f["groups"][m]["margin_high"],
                      "frames_margin": f["frames"][m]["margin"] if f.get("frames") else None,
                      "rho": f["randomisation"]["rho"][m], "verdict": f["methods"][m]["verdict"]}
        for a in ("groups", "frames"):
            if f.get(a):
                for k in ("deletion_curve", "insertion_curve"):
                    row["random"][a].pop(k, None)
        results["planted"].append(row)
    save(results, out)


def planted_share_rows(rows, results: dict, out: Path, per_class: int = 30) -> None:
    """Share of |relevance| on the planted and shortcut groups, baseline vs fixed."""
    from tdf.backend import load_backend
    load_backend()
    from tdf.data.layout import group_mask
    from tdf.data.store import open_store
    from tdf.diagnose.deletion import occlusion_relevance
    from tdf.diagnose.faithfulness import predictor
    from tdf.diagnose.ranking import select_samples
    from tdf.diagnose.relevance import gradient_x_input, lrp
    from tdf.diagnose.relevance.common import mean_skeleton
    from tdf.run_folder import load_model, read_run_json, run_split
    results.setdefault("shares", [])
    done = {(r["group"], r["seed"]) for r in results["shares"]}
    for g, s, _, base, fixed in rows:
        if (g, s) in done or not (base / "model.keras").is_file():
            continue
        info = read_run_json(base)
        with open_store(info["data"]) as store:
            fine = store.json_attr("fine_classes")
            shortcut = store.attr("shortcut_group")
            split = run_split(store, info)
            ids = [store.class_names.index(c) for c in fine]
            sel = select_samples(store.label, split.part("test"), ids, per_class, s)
            x = store.read(sel, frames=int(info.get("frames") or store.T))
            y = store.label[sel]
        masks = {"planted_group": group_mask(g), "shortcut": group_mask(shortcut) if shortcut else None}
        row = {"group": g, "seed": s, "shortcut_group": shortcut, "samples": int(len(sel))}
        for which, folder in (("baseline", base), ("fixed", fixed)):
            if folder is None:
                continue
            model = load_model(folder / "model.keras")
            for m in METHODS:
                if m == "occlusion":
                    names = [k for k in ("planted_group", "shortcut") if masks[k] is not None]
                    rest = ~np.any([masks[k] for k in names], axis=0)
                    occ = occlusion_relevance(predictor(model), x, y,
                                              np.stack([masks[k] for k in names] + [rest]), mean_skeleton(model))
                    a = np.abs(occ)
                    tot = a.sum(axis=1, keepdims=True)
                    sh = np.divide(a, tot, out=np.zeros_like(a), where=tot > 0).mean(axis=0)
                    row[f"{which}_{m}"] = {k: round(float(v), 4) for k, v in zip(names, sh)}
                else:
                    fn = gradient_x_input if m == "gradxinput" else lrp
                    v = np.abs(fn(model, x, target=y).values)
                    tot = v.sum(axis=(1, 2))
                    row[f"{which}_{m}"] = {k: round(float(np.mean(v[..., masks[k]].sum(axis=(1, 2)) / np.maximum(tot, 1e-12))), 4)
                                           for k in ("planted_group", "shortcut") if masks[k] is not None}
        row["joint_fraction_planted"] = round(float(masks["planted_group"].mean()), 4)
        results["shares"].append(row)
        save(results, out)
        print(json.dumps(row), flush=True)


def tables(results: dict) -> str:
    out = []
    if results.get("null"):
        n = len(results["null"])
        bad = sum(bool(r["recommended"]) for r in results["null"])
        out.append(f"### Null data: false recommendations {bad}/{n}\n")
        out.append("| data seed | cue group | per class × frames | train seed | top-1 | worst class | weak classes | status | recommended |")
        out.append("|---|---|---|---|---:|---:|---|---|---|")
        for r in results["null"]:
            size = f"{r['per_class']} × {r['frames']}" if "per_class" in r else "40 × 32"
            out.append(f"| {r['data_seed']} | {r.get('cue_group', 'hands')} | {size} | {r['train_seed']} | "
                       f"{r['top1']:.3f} | {r['worst_class']:.3f} | "
                       f"{', '.join(r['weak_classes']) or '—'} | {r['status']} | {', '.join(r['recommended']) or '—'} |")
    if results.get("planted"):
        out.append("\n### Planted data: faithfulness of each method on the baseline (joint groups)\n")
        out.append("| G | seed | recommended | random del / ins | " + " | ".join(
            f"{m} del / ins (margin [95 %]) ; frames margin ; ρ per stage ; verdict" for m in METHODS) + " | auto |")
        out.append("|---|---|---|---|" + "---|" * len(METHODS) + "---|")
        for r in results["planted"]:
            rg = r["random"]["groups"]
            cells = []
            for m in METHODS:
                v = r[m]
                cells.append(f"{v['deletion']:.2f} / {v['insertion']:.2f} ({v['margin']:+.2f} [{v['margin_low']:+.2f}, "
                             f"{v['margin_high']:+.2f}]) ; {v['frames_margin']:+.2f} ; "
                             f"{' → '.join(f'{x:.2f}' for x in v['rho'])} ; {v['verdict']}")
            out.append(f"| {r['group']} | {r['seed']} | {', '.join(r['recommended'])} | "
                       f"{rg['deletion_area']:.2f} / {rg['insertion_area']:.2f} | " + " | ".join(cells)
                       + f" | {r['chosen']} |")
    if results.get("shares"):
        out.append("\n### Share of |relevance| on the planted group G (and the shortcut group), fine classes, "
                   "baseline → fixed\n")
        out.append("| G | seed | G's share of the joints' dims | " + " | ".join(f"{m}: G" for m in METHODS)
                   + " | " + " | ".join(f"{m}: shortcut" for m in METHODS) + " |")
        out.append("|---|---|---:|" + "---|" * (2 * len(METHODS)))
        for r in results["shares"]:
            def cell(m, key):
                b = f"{r['baseline_' + m][key]:.2f}"
                return b + (f" → {r['fixed_' + m][key]:.2f}" if "fixed_" + m in r else " → (no fixed model)")
            cells_g = [cell(m, "planted_group") for m in METHODS]
            cells_s = [cell(m, "shortcut") for m in METHODS]
            out.append(f"| {r['group']} | {r['seed']} ({r['shortcut_group']}) | {r['joint_fraction_planted']:.2f} | "
                       + " | ".join(cells_g) + " | " + " | ".join(cells_s) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/tmp/tdf-trust-evidence", help="folder for the null data and runs")
    ap.add_argument("--acceptance", default=None, help="bench/loop_acceptance.py's --out folder")
    ap.add_argument("--diag-dirs", default="", help="folders of G-sS/{run,diag} train+diagnose rows")
    ap.add_argument("--null-data", default="0,1,2")
    ap.add_argument("--null-seeds", default="0,1")
    ap.add_argument("--null-per-class", type=int, default=240, help="samples per class of the null data")
    ap.add_argument("--null-frames", type=int, default=64, help="frames per sequence of the null data")
    ap.add_argument("--parts", default="null,planted,shares")
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {"null": [], "planted": [], "shares": []}
    parts = args.parts.split(",")
    if not args.table_only:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        rows = planted_diagnoses(Path(args.acceptance) if args.acceptance else None,
                                 [Path(p) for p in args.diag_dirs.split(",") if p])
        if "planted" in parts:
            faithfulness_rows(rows, results, out)
        if "shares" in parts:
            planted_share_rows(rows, results, out)
        if "null" in parts:
            null_rows(work, [int(v) for v in args.null_data.split(",")], [int(v) for v in args.null_seeds.split(",")],
                      results, out, per_class=args.null_per_class, frames=args.null_frames)
    print(tables(results))


if __name__ == "__main__":
    main()
