"""Every fix judged against an oracle and controls on real data (issue 11, item 4).

For a competitive baseline (`tdf train STORE --preset small`) on UTD-MHAD (cross-subject) and
N-UCLA (cross-view), this bench trains, for each baseline it is given:

- one fix per joint group G of the data's layout: `tdf fix BASE --groups G --preset small`
  (the TA stream sees only G) — the *oracle*: which group, trained, actually helps most;
- the all-joints control: `tdf fix BASE --groups all --preset small` (same MS-Res-TCN, same
  parameters and FLOPs, no targeting) — does targeting add anything over a second stream?
- the compute-matched baseline `wide`: the baseline's Res-TCN with block widths scaled until its
  parameters and per-sample FLOPs match the fix's (`WIDE_SCALE`; for the small preset's 32,64,128
  that is 48,96,192: 1.10 M parameters vs the fix's 1.09 M, 55 M vs 57 M FLOPs per sample),
  trained with the same epochs, schedule and seed — does the fix's extra capacity alone give the
  gain? (Chosen over "the baseline trained longer" because the fix is trained with the baseline's
  epoch budget and cosine schedule: the fix spends its extra compute on width, not on epochs, and
  the baseline's training accuracy is already ≈ 0.95 at its budget.)
- the re-seeded baseline `reseed`: the baseline's own command with the arm's seed — how much of
  an arm's gain on the weak classes is only retraining? The weak classes are the ones *this*
  baseline got wrong, so any model trained with another seed tends to do better on them
  (regression to the mean); at the baseline's own seed it must reproduce the baseline (gain 0:
  a determinism check).

and the baseline's diagnosis (`tdf diagnose BASE --views ranking`): its weak classes (the classes
every fix of this baseline is judged on — `tdf.fix.judged_classes`, the same for every arm) and
its ranking of the groups. Each arm is trained with several seeds against the same baseline.

Per arm and seed it records the top-1 and mean accuracy of the judged (weak) classes and their
gains over the baseline. Results are JSON lines appended as each run finishes; a rerun skips what
the file already holds (same dataset, baseline, arm, seed, epochs), so the bench can be stopped and
resumed. `--summary` prints the tables (markdown): per arm the gains mean ± sd, the oracle ranking
of groups by weak-class gain next to the diagnosis's ranking, Spearman's ρ between the diagnosis
scores and the oracle gains, the recommended (else top-ranked) group's gain as a fraction of the
best group's gain, and the targeted fix against each control (paired by seed).

    python bench/real_oracle.py --results bench/results/real_oracle_utd.jsonl --datasets utd \\
        --baseline utd=/path/to/baseline-run --seeds 0 --jobs 2
    python bench/real_oracle.py --results bench/results/real_oracle_utd.jsonl --summary
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tdf, for the in-process helpers
SHARED = Path(os.environ.get("TDF_SHARED_DATA", ROOT.parent / "shared" / "data"))  # ../shared/data
FORMATS = {"utd": ("utd-mhad", "utd-mhad/Skeleton"), "ucla": ("nw-ucla", "nw-ucla/all_sqe")}
CONTROLS = ("all", "wide", "reseed")
RETRAINED = ("wide", "reseed")   # controls that are the baseline's own `tdf train`, not a fix
WIDE_SCALE = 1.5  # block widths × this ≈ the MS-Res-TCN's parameters and FLOPs (see the docstring)


def _tdf(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tdf", *args], capture_output=True, text=True, env=env)


def _check(r: subprocess.CompletedProcess, what: str) -> None:
    if r.returncode:
        raise RuntimeError(f"{what} failed (exit {r.returncode}): {r.stderr.strip()[-800:]}")


def prepare_store(dataset: str, work: Path) -> Path:
    """The data set imported with tdf's own importer (its layout, its protocol split)."""
    out = work / f"{dataset}.h5"
    if not out.exists():
        fmt, sub = FORMATS[dataset]
        _check(_tdf("data", "import", str(SHARED / sub), str(out), "--format", fmt, "--quiet"), f"import {dataset}")
    return out


def prepare_baseline(dataset: str, store: Path, work: Path, given: str | None, seed: int,
                     epochs: int | None) -> Path:
    """The baseline run: a copy of `given` (pointed at `store`), else trained with --preset small."""
    out = work / f"{dataset}-base-s{seed}"
    if (out / "run.json").exists() and json.loads((out / "run.json").read_text()).get("status") == "complete":
        return out
    if given:
        shutil.copytree(given, out, dirs_exist_ok=True)
        info = json.loads((out / "run.json").read_text())
        info["data"] = str(store)  # same file contents (the fingerprint is checked by tdf)
        (out / "run.json").write_text(json.dumps(info, indent=2))
        return out
    args = ["train", str(store), "--out", str(out), "--preset", "small", "--seed", str(seed), "--force", "--quiet"]
    if epochs:
        args += ["--epochs", str(epochs)]
    _check(_tdf(*args), f"baseline {dataset}")
    return out


def current_rule() -> str:
    """The ranking rule `tdf diagnose` uses now (tdf.diagnose.ranking.RULE)."""
    from tdf.diagnose.ranking import RULE
    return RULE


def diagnose(base: Path, work: Path, rule: str) -> dict:
    """The baseline's diagnosis (ranking only): weak classes, ranked groups, recommendation — one
    folder per ranking rule (the rule before "gap_own_without" wrote `BASE-diagnosis`), so a
    change of rule re-diagnoses and the arms, which do not depend on the diagnosis, are kept."""
    out = work / (f"{base.name}-diagnosis" if rule == "gap_only" else f"{base.name}-diagnosis-{rule}")
    if not (out / "diagnosis.json").exists():
        _check(_tdf("diagnose", str(base), "--out", str(out), "--views", "ranking", "--render", "none",
                    "--force", "--quiet"), f"diagnose {base}")
    return json.loads((out / "diagnosis.json").read_text())


def layout_groups(store: Path) -> list[str]:
    r = _tdf("data", "info", str(store), "--json")
    _check(r, f"data info {store}")
    from tdf.skeleton import get_layout
    return list(get_layout(json.loads(r.stdout)["joint_layout"]).groups)


def judged(base_metrics: dict) -> list[str]:
    from tdf.fix import judged_classes
    return judged_classes(base_metrics)["classes"]


def _mean(metrics: dict, classes: list[str]) -> float:
    return float(np.mean([metrics["per_class_accuracy"][c] for c in classes]))


def run_arm(dataset: str, base: Path, arm: str, seed: int, epochs: int | None, work: Path) -> dict:
    """Train one arm (a group's fix, 'all', 'wide' or 'reseed') and measure it against the baseline."""
    out = work / f"{base.name}-{arm}-s{seed}"
    base_info = json.loads((base / "run.json").read_text())
    base_metrics = json.loads((base / "metrics.json").read_text())
    if arm in RETRAINED:
        args = ["train", base_info["data"], "--out", str(out), "--preset", "small"]
        if arm == "wide":
            args += ["--filters", ",".join(str(int(round(f * WIDE_SCALE))) for f in base_info["config"]["filters"])]
    else:
        args = ["fix", str(base), "--out", str(out), "--groups", arm.replace("+", ","), "--preset", "small"]
    args += ["--seed", str(seed), "--force", "--quiet", "--epochs", str(epochs or base_info["config"]["epochs"])]
    t0 = time.time()
    reused = _finished(out, arm, seed, int(args[-1]), base)
    r = None if reused else _tdf(*args)
    rec = {"kind": "arm", "dataset": dataset, "baseline": base.name, "arm": arm, "seed": seed,
           "epochs": epochs or base_info["config"]["epochs"],
           "command": "tdf " + " ".join(args), "seconds": round(time.time() - t0, 1)}
    if reused:
        rec["seconds"] = reused.get("train_seconds_this_session")
        rec["reused_run"] = True
    if r is not None and r.returncode:
        return {**rec, "error": r.stderr.strip()[-800:]}
    m = json.loads((out / "metrics.json").read_text())
    classes = judged(base_metrics)
    info = json.loads((out / "run.json").read_text())
    rec.update({"top1": m["top1"], "baseline_top1": base_metrics["top1"],
                "gain_all": m["top1"] - base_metrics["top1"],
                "mean_class_accuracy": m["mean_class_accuracy"],
                "judged_classes": classes, "judged_mean": _mean(m, classes),
                "baseline_judged_mean": _mean(base_metrics, classes),
                "gain_judged": _mean(m, classes) - _mean(base_metrics, classes),
                "epochs_run": info.get("epochs_run"), "parameters": info.get("parameters"),
                "filters": info["config"]["filters"], "val_accuracy": final_val_accuracy(out)})
    if arm not in RETRAINED:
        cmp = json.loads((out / "comparison.json").read_text())
        assert cmp["judged_classes"] == classes, "tdf fix judged other classes than the bench"
    return rec


def final_val_accuracy(out: Path) -> float | None:
    """The validation top-1 of the evaluated model (history.csv's last epoch: the arms train a
    fixed budget without early stopping), None without a history."""
    try:
        lines = (out / "history.csv").read_text().splitlines()
        head, last = lines[0].split(","), lines[-1].split(",")
        return float(last[head.index("val_accuracy")])
    except (OSError, ValueError, IndexError):
        return None


def _val_of(rec: dict) -> float | None:
    """An arm's validation top-1: recorded, or read from its run folder (records made before
    the field existed; the folder is named by the command's --out)."""
    if rec.get("val_accuracy") is not None:
        return rec["val_accuracy"]
    words = rec.get("command", "").split()
    return final_val_accuracy(Path(words[words.index("--out") + 1])) if "--out" in words else None


def _finished(out: Path, arm: str, seed: int, epochs: int, base: Path) -> dict | None:
    """run.json of a complete run in `out` made by this arm's command (a bench stopped after its
    tdf child finished), else None — it is measured without training it again."""
    try:
        info = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return None
    same = (info.get("status") == "complete" and info.get("seed") == seed
            and info.get("config", {}).get("epochs") == epochs and (out / "metrics.json").exists())
    if arm in RETRAINED:
        same = same and info.get("kind") == "res_tcn"
    else:
        same = (same and info.get("groups") == arm.split("+")
                and Path(info.get("baseline_run", "")).name == base.name)
    return info if same else None


def done_keys(results: Path) -> set[tuple]:
    keys = set()
    if results.exists():
        for line in results.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("kind") == "arm" and "error" not in r:
                    keys.add((r["dataset"], r["baseline"], r["arm"], int(r["seed"]), r["epochs"]))
    return keys


def _append(results: Path, rec: dict) -> None:
    with open(results, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


# ---------------------------------------------------------------- summary

def spearman(a, b) -> float:
    """Spearman's ρ with average ranks for ties (plain numpy, no scipy)."""
    def ranks(v):
        v = np.asarray(v, float)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for x in np.unique(v):
            r[v == x] = r[v == x].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _ms(v: list[float]) -> str:
    return f"{np.mean(v):+.3f} ± {np.std(v, ddof=1):.3f}" if len(v) > 1 else f"{np.mean(v):+.3f}"


def summary(paths: list[Path]) -> str:
    recs = [json.loads(l) for p in paths for l in p.read_text().splitlines() if l.strip()]
    diags = {(r["dataset"], r["baseline"]): r for r in recs if r.get("kind") == "diagnosis"}  # the latest rule's
    arms: dict[tuple, dict[str, list[dict]]] = {}
    for r in recs:
        if r.get("kind") == "arm" and "error" not in r:
            arms.setdefault((r["dataset"], r["baseline"], r["epochs"]), {}).setdefault(r["arm"], []).append(r)
    out = []
    for (ds, base, ep), by_arm in sorted(arms.items()):
        d = diags.get((ds, base))
        if d is None:
            continue
        first = next(iter(by_arm.values()))[0]
        # the reseeded baseline at the baseline's own seed IS the baseline (a determinism check,
        # reported below), not a draw of "another training run": it is left out of the control
        own = [r for r in by_arm.get("reseed", []) if r["seed"] == baseline_seed(base)]
        if "reseed" in by_arm:
            by_arm = {**by_arm, "reseed": [r for r in by_arm["reseed"] if r not in own]}
            if not by_arm["reseed"]:
                del by_arm["reseed"]
        out.append(f"### {ds}: baseline {base} (top-1 {first['baseline_top1']:.3f}, judged classes "
                   f"{first['baseline_judged_mean']:.3f} mean over {len(first['judged_classes'])}: "
                   f"{', '.join(first['judged_classes'])}), arms trained {ep} epochs; ranking rule "
                   f"{d.get('rule', 'gap_only')}\n")
        score = {g["name"]: g for g in d["groups"]}
        gain = {a: [r["gain_judged"] for r in v] for a, v in by_arm.items()}
        gall = {a: [r["gain_all"] for r in v] for a, v in by_arm.items()}
        groups = [g for g in d["layout_groups"] if g in gain]
        oracle = sorted(groups, key=lambda g: -np.mean(gain[g]))
        out.append("| arm | seeds | weak-class gain | all-class gain (top-1) | top-1 | oracle rank | "
                   "diagnosis rank | diagnosis score (input − model term) | weak-class gain over reseed (paired) |")
        out.append("|---|---:|---|---|---|---:|---:|---|---|")
        combos = [a for a in gain if a not in d["layout_groups"] and a not in CONTROLS]
        for a in oracle + combos + [c for c in CONTROLS if c in gain]:
            t1 = [r["top1"] for r in by_arm[a]]
            orank = oracle.index(a) + 1 if a in oracle else "–"
            drank = score[a]["rank"] if a in score else "–"
            dsc = (f"{score[a]['score']:+.3f} ({score[a]['input']:.2f} − {score[a]['model']:.2f})"
                   if a in score else "–")
            label = {"all": "all joints (control)", "wide": "wide baseline (control)",
                     "reseed": "baseline retrained, arm's seed (control)"}.get(a, a)
            over = _paired(by_arm[a], by_arm["reseed"]) if "reseed" in by_arm and a != "reseed" else []
            out.append(f"| {label} | {len(gain[a])} | {_ms(gain[a])} | {_ms(gall[a])} | "
                       f"{np.mean(t1):.3f} | {orank} | {drank} | {dsc} | "
                       f"{_ms(over) + f' ({len(over)})' if over else '–'} |")
        for g in sorted((g for g in d["layout_groups"] if g not in gain and g in score), key=lambda g: score[g]["rank"]):
            out.append(f"| {g} | 0 | not run | | | | {score[g]['rank']} | {score[g]['score']:+.3f} "
                       f"({score[g]['input']:.2f} − {score[g]['model']:.2f}) | |")
        rec = d["recommended_groups"]
        top = min(d["groups"], key=lambda g: g["rank"])["name"]
        combo = "+".join(rec)       # the fix `tdf fix --diagnosis` trains: one TA stream on every recommended group
        chosen = combo if combo in gain else rec[0] if rec and rec[0] in gain else top
        best = oracle[0] if oracle else None
        out.append("")
        if len(groups) >= 3:
            rho = spearman([score[g]["score"] for g in groups], [np.mean(gain[g]) for g in groups])
            out.append(f"- Spearman ρ (diagnosis score vs oracle weak-class gain, {len(groups)} groups): {rho:+.2f}")
            rho_in = spearman([score[g]["input"] for g in groups], [np.mean(gain[g]) for g in groups])
            out.append(f"- Spearman ρ (the diagnosis's input separability alone vs oracle weak-class gain): {rho_in:+.2f}")
        vals = {g: [v for v in map(_val_of, by_arm[g]) if v is not None] for g in groups}
        if len(groups) >= 3 and all(vals.values()):
            # a trial search: train each group's fix, keep the one with the best validation top-1
            val = {g: float(np.mean(v)) for g, v in vals.items()}
            pick = max(groups, key=lambda g: val[g])
            rho_val = spearman([val[g] for g in groups], [np.mean(gain[g]) for g in groups])
            out.append(f"- trial search on the validation split (each group's fix, the best validation top-1 "
                       f"kept): picks {pick} (validation {val[pick]:.3f}, weak-class gain {np.mean(gain[pick]):+.3f}); "
                       f"oracle best {oracle[0]} has validation {val[oracle[0]]:.3f}, rank "
                       f"{sorted(groups, key=lambda g: -val[g]).index(oracle[0]) + 1} of {len(groups)}; "
                       f"Spearman ρ (validation top-1 vs oracle weak-class gain): {rho_val:+.2f}")
        out.append(f"- diagnosis recommends: {', '.join(rec) if rec else 'nothing (no score clears the threshold)'}; "
                   f"top-ranked: {top}")
        if best and chosen in gain:
            b, c = np.mean(gain[best]), np.mean(gain[chosen])
            frac = (f"{c / b:.2f}" + (" (negative: the chosen group loses)" if c < 0 else "")
                    if b > 0 else "n/a (the best group's gain is not positive)")
            out.append(f"- {'recommended' if rec else 'top-ranked'} group {chosen}: weak-class gain {c:+.3f}; "
                       f"oracle best {best}: {b:+.3f}; fraction {frac}")
            for ctl in CONTROLS:
                if ctl in gain:
                    pb = _paired(by_arm[best], by_arm[ctl])
                    out.append(f"- oracle best {best} − {ctl}: weak classes {b - np.mean(gain[ctl]):+.3f} "
                               f"(paired by seed: {_ms(pb) if pb else 'no common seeds'}), "
                               f"all classes {np.mean(gall[best]) - np.mean(gall[ctl]):+.3f}")
                    diff = _paired(by_arm[chosen], by_arm[ctl])
                    out.append(f"- {chosen} − {ctl}: weak classes {c - np.mean(gain[ctl]):+.3f} "
                               f"(paired by seed: {_ms(diff) if diff else 'no common seeds'}), all classes "
                               f"{np.mean(gall[chosen]) - np.mean(gall[ctl]):+.3f}")
        for r in own:
            same = r["top1"] == r["baseline_top1"] and r["gain_judged"] == 0
            out.append(f"- determinism: the baseline's own command at its own seed {r['seed']} gives top-1 "
                       f"{r['top1']:.4f} against the baseline's {r['baseline_top1']:.4f} "
                       f"({'identical' if same else 'NOT identical'}; left out of the reseed control)")
        out.append("")
    return "\n".join(out) if out else "no results"


def baseline_seed(name: str) -> int | None:
    """The seed of a baseline named as this bench names them (`{dataset}-base-s{seed}`)."""
    head, _, seed = name.rpartition("-base-s")
    return int(seed) if head and seed.isdigit() else None


def _paired(a: list[dict], b: list[dict]) -> list[float]:
    """Weak-class gain of arm a − arm b on each seed both have."""
    gb = {r["seed"]: r["gain_judged"] for r in b}
    return [r["gain_judged"] - gb[r["seed"]] for r in sorted(a, key=lambda r: r["seed"]) if r["seed"] in gb]


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, nargs="+", default=[ROOT / "bench" / "results" / "real_oracle.jsonl"],
                    help="JSON lines file (runs append to the first; --summary reads them all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/real_oracle"))
    ap.add_argument("--datasets", default="utd,ucla")
    ap.add_argument("--baseline", action="append", default=[],
                    help="DATASET=RUN: use this finished --preset small run as the baseline (copied into --work)")
    ap.add_argument("--baseline-seed", type=int, default=0)
    ap.add_argument("--baseline-epochs", type=int, default=None, help="epochs of a baseline trained here")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of every arm")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of every arm (default: the baseline's)")
    ap.add_argument("--arms", default=None, help="comma-separated subset of groups/all/wide/reseed (default: every one)")
    ap.add_argument("--jobs", type=int, default=1, help="arms trained at the same time")
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    if a.summary:
        print(summary(a.results))
        return
    results = a.results[0]
    results.parent.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    given = dict(b.split("=", 1) for b in a.baseline)
    seeds = [int(s) for s in a.seeds.split(",")]
    for ds in a.datasets.split(","):
        store = prepare_store(ds, a.work)
        base = prepare_baseline(ds, store, a.work, given.get(ds), a.baseline_seed, a.baseline_epochs)
        rule = current_rule()
        diag = diagnose(base, a.work, rule)
        groups = layout_groups(store)
        recs = [json.loads(l) for l in results.read_text().splitlines() if l.strip()] if results.exists() else []
        if not any(r.get("kind") == "diagnosis" and r["dataset"] == ds and r["baseline"] == base.name
                   and r.get("rule", "gap_only") == rule for r in recs):
            base_metrics = json.loads((base / "metrics.json").read_text())
            _append(results, {"kind": "diagnosis", "dataset": ds, "baseline": base.name, "rule": rule,
                              "baseline_top1": base_metrics["top1"], "layout_groups": groups,
                              "weak_classes": [w["class"] for w in diag["weak_classes"]],
                              "judged_classes": judged(base_metrics),
                              "recommended_groups": diag["recommended_groups"],
                              "groups": [{k: g[k] for k in ("name", "rank", "score")} | {
                                  "input": g["evidence"]["input_separability"],
                                  "model": g["evidence"].get("model_term", g["evidence"]["model_separability"]),
                                  "rule": g["evidence"].get("rule", "gap_only"),
                                  "components": g["evidence"].get("components"),
                                  "probe": g["evidence"].get("input_probe")} for g in diag["groups"]]})
        # the diagnosis's order first (top-ranked group, then the controls), so a stopped pass has the
        # numbers that matter most
        ranked = [g["name"] for g in sorted(diag["groups"], key=lambda g: g["rank"]) if g["name"] in groups]
        order = ranked[:1] + list(CONTROLS) + ranked[1:] + [g for g in groups if g not in ranked]
        if a.arms:   # a subset; an arm "G1+G2" is one fix whose TA stream sees both groups
            wanted = a.arms.split(",")
            order = [x for x in order if x in wanted] + [x for x in wanted if x not in order]
        done = done_keys(results)
        epochs = a.epochs or json.loads((base / "run.json").read_text())["config"]["epochs"]
        todo = [(arm, s) for s in seeds for arm in order if (ds, base.name, arm, s, epochs) not in done]
        print(f"{ds}: baseline {base}, {len(todo)} arm runs to do", file=sys.stderr, flush=True)
        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            futures = [pool.submit(run_arm, ds, base, arm, s, epochs, a.work) for arm, s in todo]
            for f in as_completed(futures):
                rec = f.result()
                _append(results, rec)
                print(json.dumps({k: rec.get(k) for k in ("arm", "seed", "top1", "gain_judged", "gain_all",
                                                          "seconds", "error")}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
