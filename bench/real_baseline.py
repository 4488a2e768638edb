"""The competitive baseline on small real data sets (issue 11, item 1): `--preset small` against
the raw input and an ablation of its ingredients, several seeds, on the standard test splits.

Data: UTD-MHAD (cross-subject: subjects 1, 3, 5, 7 train, 2, 4, 6, 8 test) and N-UCLA
(cross-view: views 1, 2 train, view 3 tests), from ../shared/data. They are imported with
`tdf data import --format utd-mhad | nw-ucla` when this tdf has those formats; otherwise the
bench writes the stores itself with tdf's StoreWriter, mapping the 20 Kinect v1 joints onto the
ntu25 layout (Neck = ShoulderCenter, hand tips and thumbs = the hand) and the protocol onto the
NTU splits (`xsub` / `xview` via subject and camera ids); every result line says which.

Each training is `python -m tdf train STORE --out DIR --seed S <config options> --json`; the test
top-1 comes from its JSON. Results are appended to `--results` as JSON lines as they finish, and
a rerun skips the (dataset, config, seed) already there, so the bench can be stopped and resumed.
`--summary` prints the mean ± sd table (markdown) of what the file holds.

    python bench/real_baseline.py --results bench/results/real_baseline.jsonl [--epochs 60]
    python bench/real_baseline.py --results bench/results/real_baseline.jsonl --summary
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TDF_SHARED_DATA", ROOT.parent / "shared" / "data"))  # ../shared/data

# name → (description, options after `tdf train`)
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "small": ("--preset small", ["--preset", "small"]),
    "raw": ("small model and training, the paper's raw input (no normalisation, joint channels, "
            "crop/pad instead of resampling, no augmentation)",
            ["--preset", "small", "--normalize", "none", "--features", "joint", "--resample", "0",
             "--aug-rotate", "0", "--aug-scale", "0", "--aug-crop", "1"]),
    "no_norm": ("small without view normalisation", ["--preset", "small", "--normalize", "none"]),
    "no_aug": ("small without augmentation",
               ["--preset", "small", "--aug-rotate", "0", "--aug-scale", "0", "--aug-crop", "1"]),
    "joint_only": ("small with joint channels only", ["--preset", "small", "--features", "joint"]),
    "root_only": ("small, translation only (no rotation to a canonical view)",
                  ["--preset", "small", "--normalize", "root"]),
    "plateau": ("small with the paper's plateau LR schedule instead of cosine",
                ["--preset", "small", "--lr-schedule", "plateau"]),
    "wide": ("small with 1.5× block widths (48,96,192: the oracle's compute-matched control)",
             ["--preset", "small", "--filters", "48,96,192"]),
    "paper": ("--preset paper (the paper's model, training and raw input)", ["--preset", "paper"]),
    # two streams for late score fusion (as pyskl / CTR-GCN: one model per input, softmax scores summed)
    "joint_stream": ("small with joint + joint-motion channels", ["--preset", "small", "--features", "joint,joint_motion"]),
    "bone_stream": ("small with bone + bone-motion channels", ["--preset", "small", "--features", "bone,bone_motion"]),
    # `small` again under its own name, so a fusion's members live in their own result rows
    "small_stream": ("--preset small as a fusion member (all four feature channels)", ["--preset", "small"]),
    # the spine stood upright before the heading is turned (camera tilt and roll removed too)
    "spine": ("small with --normalize spine", ["--preset", "small", "--normalize", "spine"]),
    "joint_stream_spine": ("joint_stream with --normalize spine",
                           ["--preset", "small", "--features", "joint,joint_motion", "--normalize", "spine"]),
    "bone_stream_spine": ("bone_stream with --normalize spine",
                          ["--preset", "small", "--features", "bone,bone_motion", "--normalize", "spine"]),
    # N-UCLA's test view holds shorter sequences of the same actions (walk around: median 19
    # frames in view 3 against 48 and 30 in the training views; carry 17 against 37 and 26), so
    # a stronger temporal crop: U(0.5, 1) of the frames instead of U(0.8, 1)
    "spine_crop": ("spine with --aug-crop 0.5", ["--preset", "small", "--normalize", "spine", "--aug-crop", "0.5"]),
    "joint_stream_spine_crop": ("joint_stream_spine with --aug-crop 0.5",
                                ["--preset", "small", "--features", "joint,joint_motion", "--normalize", "spine",
                                 "--aug-crop", "0.5"]),
    "bone_stream_spine_crop": ("bone_stream_spine with --aug-crop 0.5",
                               ["--preset", "small", "--features", "bone,bone_motion", "--normalize", "spine",
                                "--aug-crop", "0.5"]),
    "motion_stream_spine_crop": ("joint motion + bone motion channels, --normalize spine --aug-crop 0.5",
                                 ["--preset", "small", "--features", "joint_motion,bone_motion", "--normalize",
                                  "spine", "--aug-crop", "0.5"]),
}
FUSIONS = {"fusion": ("joint_stream", "bone_stream"),
           "fusion3": ("joint_stream", "bone_stream", "small_stream"),
           "fusion_spine": ("joint_stream_spine", "bone_stream_spine"),
           "fusion3_spine": ("joint_stream_spine", "bone_stream_spine", "spine"),
           "fusion3_spine_crop": ("joint_stream_spine_crop", "bone_stream_spine_crop", "spine_crop"),
           "fusion4_spine_crop": ("joint_stream_spine_crop", "bone_stream_spine_crop", "spine_crop",
                                  "motion_stream_spine_crop")}
DATASETS = ("utd", "ucla")

# Kinect v1 (20 joints) → ntu25, by ntu25 index: the source joint. UTD-MHAD order: head,
# shoulder_center, spine, hip_center, L sh/elb/wrist/hand, R …, L hip/knee/ankle/foot, R …;
# N-UCLA (Kinect SDK order): hip_center, spine, shoulder_center, head, then the same limbs.
_UTD_TO_NTU = [3, 2, 1, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1, 7, 7, 11, 11]
_UCLA_TO_NTU = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 2, 7, 7, 11, 11]
_UTD_SUBJECT = {1: 1, 3: 2, 5: 4, 7: 5, 2: 3, 4: 6, 6: 7, 8: 10}  # train → NTU xsub training ids
_UCLA_CAMERA = {1: 2, 2: 3, 3: 1}                                # views 1, 2 → NTU xview training cameras


def _ntu25(j20: np.ndarray, mapping) -> np.ndarray:
    x = np.zeros((len(j20), 2, 25, 3), np.float32)
    x[:, 0] = j20[:, mapping]
    return x


def _write_utd(out: Path) -> None:
    import scipy.io
    from tdf.data.store import Sample, StoreWriter
    files = sorted(glob.glob(str(SHARED / "utd-mhad" / "Skeleton" / "a*_s*_t*_skeleton.mat")))
    with StoreWriter(out, 125, [f"a{i}" for i in range(1, 28)], "utd-mhad (bench/real_baseline.py)",
                     force=True, attrs={"default_split": "xsub"}) as w:
        for f in files:
            a, s, t = map(int, re.findall(r"a(\d+)_s(\d+)_t(\d+)", f)[0])
            d = scipy.io.loadmat(f)["d_skel"].transpose(2, 0, 1)
            w.append(Sample(_ntu25(d, _UTD_TO_NTU), a - 1, f"a{a}_s{s}_t{t}", subject=_UTD_SUBJECT[s]))


def _write_ucla(out: Path) -> None:
    from tdf.data.store import Sample, StoreWriter
    files = sorted(glob.glob(str(SHARED / "nw-ucla" / "all_sqe" / "*.json")))
    labels = sorted({int(re.findall(r"a(\d+)", os.path.basename(f))[0]) for f in files})
    with StoreWriter(out, 201, [f"a{a:02d}" for a in labels], "nw-ucla (bench/real_baseline.py)", force=True,
                     attrs={"default_split": "xview"}) as w:
        for f in files:
            a, s, e, v = map(int, re.findall(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)", f)[0])
            with open(f) as fh:
                d = np.asarray(json.load(fh)["skeletons"], np.float32)
            w.append(Sample(_ntu25(d, _UCLA_TO_NTU), labels.index(a), os.path.basename(f)[:-5],
                            subject=s, camera=_UCLA_CAMERA[v]))


def _tdf(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tdf", *args], capture_output=True, text=True, env=env, **kw)


def prepare_store(name: str, work: Path) -> tuple[Path, str]:
    """The data set as a store, and how it was made."""
    fmt = {"utd": "utd-mhad", "ucla": "nw-ucla"}[name]
    src = {"utd": SHARED / "utd-mhad", "ucla": SHARED / "nw-ucla"}[name]
    out = work / f"{name}.h5"
    if fmt in _tdf("data", "import", "--help").stdout:
        if not out.exists():
            r = _tdf("data", "import", str(src), str(out), "--format", fmt, "--quiet")
            if r.returncode:
                raise SystemExit(f"import of {src} failed: {r.stderr.strip()}")
        return out, f"tdf data import --format {fmt}"
    if not out.exists():
        (_write_utd if name == "utd" else _write_ucla)(out)
    return out, "bench writer (ntu25 mapping)"


def train_copies(store: Path) -> set[str]:
    """Names of the default split's test samples identical to a training-side sample (N-UCLA's
    release: 95 view-3 files repeat view 2; what `tdf data info --duplicates` counts)."""
    from tdf.data.duplicates import split_leaks
    from tdf.data.splits import default_split_name, make_split
    from tdf.data.store import open_store
    with open_store(store) as st:
        _, rows = split_leaks(st, make_split(st, default_split_name(st)))
        return {str(st.names[r]) for r in rows}


def unseen_top1(names, scores, labels, copies: set[str]) -> dict:
    """Top-1 on the test samples that have no copy on the training side (all of them when none has)."""
    keep = np.array([str(n) not in copies for n in names])
    return {"top1_unseen": float((np.asarray(scores).argmax(1)[keep] == np.asarray(labels)[keep]).mean()),
            "n_unseen": int(keep.sum())}


def done_keys(results: Path, epochs: int | None) -> set[tuple[str, str, int]]:
    """(dataset, config, seed) already in the file with this epoch budget (None: the config's)."""
    keys = set()
    if results.exists():
        for line in results.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("epochs") == epochs:
                    keys.add((r["dataset"], r["config"], int(r["seed"])))
    return keys


def plan(datasets, configs, seeds) -> list[tuple[str, str, int]]:
    """Seed-major: every (dataset, config) gets seed 0 before any gets seed 1, so an interrupted
    bench still has one number per cell."""
    return [(d, c, s) for s in seeds for c in configs for d in datasets]


def run_one(store: Path, source: str, dataset: str, config: str, seed: int, work: Path,
            epochs: int | None, copies: set[str] = frozenset()) -> dict:
    out = work / "runs" / f"{dataset}-{config}-s{seed}"
    args = ["train", str(store), "--out", str(out), "--seed", str(seed), "--force", "--json", "--quiet",
            *CONFIGS[config][1]]
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    t0 = time.time()
    r = _tdf(*args)
    if r.returncode:
        return {"dataset": dataset, "config": config, "seed": seed, "epochs": epochs,
                "error": r.stderr.strip()[-500:], "command": "tdf " + " ".join(args)}
    doc = json.loads(r.stdout)
    info = json.loads((out / "run.json").read_text())
    pred = np.load(out / "predictions.npz")
    return {"dataset": dataset, "config": config, "seed": seed, "epochs": epochs, "top1": doc["metrics"]["top1"],
            "mean_class_accuracy": doc["metrics"]["mean_class_accuracy"], "n_test": doc["metrics"]["n"],
            "epochs_run": doc["epochs_run"], "val_accuracy": (doc.get("history") or {}).get("val_accuracy"),
            "seconds": round(time.time() - t0, 1), "split": info["split"]["name"],
            "split_sizes": info["split"]["sizes"], "store": source, "input": info.get("input"),
            **unseen_top1(pred["names"], pred["scores"], pred["labels"], copies),
            "command": "tdf " + " ".join(a if a != str(store) else store.name for a in args)}


def fuse(work: Path, dataset: str, seed: int, streams, results: Path, epochs, name: str = "fusion",
         copies: set[str] = frozenset()) -> dict | None:
    """Late score fusion with `tdf fuse` (the sum of the streams' test softmax scores), as a
    result line; None until every stream has run."""
    runs = [work / "runs" / f"{dataset}-{c}-s{seed}" for c in streams]
    if not all((r / "predictions.npz").is_file() for r in runs):
        return None
    out = work / "fusions" / f"{dataset}-{name}-s{seed}"
    args = ["fuse", *map(str, runs), "--out", str(out), "--force", "--json", "--quiet"]
    r = _tdf(*args)
    if r.returncode:
        raise SystemExit(f"tdf fuse failed: {r.stderr.strip()}")
    doc = json.loads(r.stdout)
    pred = np.load(out / "predictions.npz")
    return {"dataset": dataset, "config": name, "seed": seed, "epochs": epochs, "top1": doc["top1"],
            "mean_class_accuracy": doc["mean_class_accuracy"], "n_test": doc["n"],
            "epochs_run": epochs, "streams": list(streams), "stream_top1": [m["top1"] for m in doc["members"]],
            **unseen_top1(pred["names"], pred["scores"], pred["labels"], copies),
            "command": "tdf fuse " + " ".join(f"RUNS/{r.name}" for r in runs) + " --out FUSION"}


def _mean_sd(values: list[float]) -> str:
    sd = f"{np.std(values, ddof=1):.3f}" if len(values) > 1 else "–"
    return f"{np.mean(values):.3f} ± {sd}"


def summary(results: list[Path]) -> str:
    """Markdown: top-1 mean ± sd (sample sd over seeds) per data set, config and epoch budget;
    beside it top-1 on the test samples without a training copy, for the rows that have it."""
    rows: dict[tuple[str, str, int], list[tuple[int, float, float | None]]] = {}
    lines_in = [line for path in results for line in path.read_text().splitlines()]
    for line in lines_in:
        if line.strip():
            r = json.loads(line)
            if "top1" in r:
                rows.setdefault((r["dataset"], r["config"], r["epochs_run"]), []).append(
                    (r["seed"], r["top1"], r.get("top1_unseen")))
    lines = ["| data set | config | epochs | top-1 mean ± sd | seeds | top-1 per seed | top-1 without train copies |",
             "|---|---|---:|---|---:|---|---|"]
    for (d, c, e), v in sorted(rows.items(), key=lambda kv: (kv[0][0], (list(CONFIGS) + list(FUSIONS)).index(kv[0][1]), kv[0][2])):
        v = sorted(v, key=lambda t: t[:2])
        unseen = [u for _, _, u in v if u is not None]
        lines.append(f"| {d} | {c} | {e} | {_mean_sd([a for _, a, _ in v])} | {len(v)} | "
                     f"{', '.join(f's{s}: {a:.3f}' for s, a, _ in v)} | "
                     f"{_mean_sd(unseen) + (f' ({len(unseen)} seeds)' if len(unseen) != len(v) else '') if unseen else '–'} |")
    return "\n".join(lines)


def backfill(results: Path, work: Path) -> int:
    """Add top1_unseen to the result lines that lack it, from the run folders still in `work`
    (a fusion from its streams' folders); the file is replaced atomically. Returns lines filled."""
    filled, out, copies = 0, [], {}
    for line in results.read_text().splitlines():
        r = json.loads(line) if line.strip() else None
        if r and "top1" in r and "top1_unseen" not in r:
            streams = r.get("streams") or [r["config"]]
            preds = [work / "runs" / f"{r['dataset']}-{c}-s{r['seed']}" / "predictions.npz" for c in streams]
            if all(p.is_file() for p in preds):
                if r["dataset"] not in copies:
                    copies[r["dataset"]] = train_copies(work / f"{r['dataset']}.h5")
                loaded = [np.load(p) for p in preds]
                scores = sum(d["scores"].astype(np.float64) for d in loaded)
                if abs(float((scores.argmax(1) == loaded[0]["labels"]).mean()) - r["top1"]) > 1e-9:
                    print(f"skipped {r['config']} s{r['seed']}: {preds[0].parent} holds another run now")
                else:
                    r.update(unseen_top1(loaded[0]["names"], scores, loaded[0]["labels"], copies[r["dataset"]]))
                    filled += 1
            line = json.dumps(r)
        out.append(line)
    tmp = results.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n")
    os.replace(tmp, results)
    return filled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, nargs="+", default=[ROOT / "bench" / "results" / "real_baseline.jsonl"],
                    help="JSON lines file (runs append to the first; --summary reads them all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/real_baseline"))
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--configs", default="small,raw,no_norm,no_aug,joint_only",
                    help=f"of {', '.join(CONFIGS)}; a fusion ({', '.join(FUSIONS)}) trains its streams and "
                         f"sums their softmax scores")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=None, help="override every config's epochs")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--backfill", action="store_true",
                    help="add top-1 without train copies to the lines of --results that lack it, from the run "
                         "folders in --work")
    a = ap.parse_args()
    if a.summary:
        print(summary(a.results))
        return
    if a.backfill:
        for path in a.results:
            print(f"{path}: {backfill(path, a.work)} lines filled")
        return
    if not SHARED.is_dir():
        raise SystemExit(f"no data at {SHARED}")
    datasets = a.datasets.split(",")
    configs = a.configs.split(",")
    fusions = [c for c in configs if c in FUSIONS]
    configs = [c for c in configs if c not in FUSIONS]
    for f in fusions:
        configs += [c for c in FUSIONS[f] if c not in configs]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; known: {', '.join(CONFIGS)}")
    a.work.mkdir(parents=True, exist_ok=True)
    results = a.results[0]
    results.parent.mkdir(parents=True, exist_ok=True)
    stores = {d: prepare_store(d, a.work) for d in datasets}
    copies = {d: train_copies(stores[d][0]) for d in datasets}
    done = done_keys(results, a.epochs)
    for d, c, s in plan(datasets, configs, [int(x) for x in a.seeds.split(",")]):
        if (d, c, s) in done:
            continue
        r = run_one(*stores[d], d, c, s, a.work, a.epochs, copies[d])
        with open(results, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps({k: r.get(k) for k in ("dataset", "config", "seed", "top1", "seconds", "error")}),
              flush=True)
    for f in fusions:
        for d in datasets:
            for s in [int(x) for x in a.seeds.split(",")]:
                if (d, f, s) in done_keys(results, a.epochs):
                    continue
                r = fuse(a.work, d, s, FUSIONS[f], results, a.epochs, f, copies[d])
                if r is not None:
                    with open(results, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                    print(json.dumps({k: r.get(k) for k in ("dataset", "config", "seed", "top1", "stream_top1")}))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
