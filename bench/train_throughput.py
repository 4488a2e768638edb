"""Training/inference throughput of the full-size Res-TCN: tdf's streamed pipeline vs in-memory.

Measures, on this machine:
  1. `tdf train`'s real path (`tdf.train.fit.fit_run`: SkeletonBatches reading an lzf-compressed
     HDF5 store, callbacks, checkpoints) — samples/s of the last epoch after a warm-up epoch;
  2. the same model fed from in-memory numpy arrays by a bare `model.fit`;
  3. inference samples/s (`model.predict` on in-memory arrays);
and the achieved GFLOP/s from the analytic FLOP count (tdf.models.res_tcn_cost; training ≈ 3×
forward). Also compares jit_compile on/off for the bare path.

    python bench/train_throughput.py                  # T=300, D=150, 60 classes, batch 128
    python bench/train_throughput.py --steps 20       # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def make_store(path: Path, n: int, frames: int, classes: int, seed: int = 0, compression="lzf") -> None:
    """Smooth random-walk skeletons (compress like real data would, unlike white noise)."""
    from tdf.data.store import Sample, StoreWriter
    rng = np.random.default_rng(seed)
    with StoreWriter(path, frames, [f"c{i}" for i in range(classes)], source="bench", force=True,
                     attrs={"default_split": "random"}, compression=compression) as w:
        for i in range(n):
            base = rng.normal(0, 0.3, size=(1, 150)).astype(np.float32)
            walk = np.cumsum(rng.normal(0, 0.01, size=(frames, 150)), axis=0).astype(np.float32)
            w.append(Sample(base + walk, i % classes, f"s{i:06d}"))


def bare_fit(x, y, cfg, classes, epochs, jit):
    import keras
    from tdf.models import build_res_tcn
    keras.utils.set_random_seed(0)
    model = build_res_tcn(classes, filters=cfg.filters, units_per_block=cfg.units_per_block,
                          kernel_size=cfg.kernel_size, dropout=cfg.dropout, l1=cfg.l1)
    model.compile(keras.optimizers.SGD(cfg.lr, momentum=cfg.momentum, nesterov=True),
                  "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
    times = []

    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, e, logs=None):
            times.append(time.perf_counter() - self.t)
    model.fit(x, y, batch_size=cfg.batch_size, epochs=epochs, verbose=0, shuffle=True, callbacks=[T()])
    return len(x) / times[-1], model


def measure(kind: str, store: Path, workdir: Path, args) -> dict:
    """One measurement in this process: 'pipeline', 'bare' or 'bare-jit'."""
    from tdf.train.config import resolve_config
    jit = kind == "bare-jit"
    cfg = resolve_config(None, None, {"epochs": args.epochs, "batch_size": args.batch_size,
                                      "val_fraction": 0.0, "split": "random", "jit": jit})
    from tdf.data.store import open_store
    from tdf.train.run import run_split
    if kind == "pipeline":
        import csv
        from tdf.train.fit import fit_run
        run = workdir / f"run-{os.getpid()}"
        fit_run(store, run, cfg, evaluate=False, force=True)
        with open(run / "history.csv") as f:
            return {"train": float(list(csv.DictReader(f))[-1]["samples_per_s"])}
    # bare: the same training rows of the same split, in memory
    from tdf.train.determinism import seed_everything
    seed_everything(0, deterministic_ops=not jit)  # Keras turns XLA off under op determinism
    with open_store(store) as s:
        info = {"split": {"name": "random", "seed": 0, "val_fraction": 0.0, "test_fraction": 0.2}}
        idx = run_split(s, info).train
        x = s.read(idx, frames=args.frames)
        y = s.label[idx]
    sps, model = bare_fit(x, y, cfg, args.classes, args.epochs, jit)
    out = {"train": sps, "jit_effective": bool(model.jit_compile)}
    if kind == "bare":
        model.predict(x[: args.batch_size * 2], batch_size=args.batch_size, verbose=0)
        t0 = time.perf_counter()
        model.predict(x, batch_size=args.batch_size, verbose=0)
        out["inference"] = len(x) / (time.perf_counter() - t0)
    out["n"] = len(x)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40, help="training steps per epoch")
    ap.add_argument("--epochs", type=int, default=2, help="epochs (the first is warm-up)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=2, help="alternate the measurements this many times; best kept")
    ap.add_argument("--compression", default="lzf", choices=["lzf", "gzip", "none"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--single", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single:  # child process: one measurement, JSON on the last line
        print(json.dumps(measure(args.single, Path(args.store), Path(args.store).parent, args)))
        return

    import subprocess
    from tdf.models import res_tcn_cost
    flops = res_tcn_cost(args.classes, args.frames).flops
    n = round(args.steps * args.batch_size / 0.8)  # the random split holds out 20 % for test
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TDF_BENCH_TMP")) as tmp:
        store = Path(tmp) / "bench.h5"
        t0 = time.perf_counter()
        make_store(store, n, args.frames, args.classes, compression=None if args.compression == "none" else args.compression)
        size_mb = store.stat().st_size / 1e6
        print(f"store: {n} samples × {args.frames} frames, {args.compression}, {size_mb:.0f} MB, "
              f"written in {time.perf_counter() - t0:.0f} s", flush=True)
        base = [sys.executable, __file__, "--steps", str(args.steps), "--epochs", str(args.epochs), "--frames",
                str(args.frames), "--classes", str(args.classes), "--batch-size", str(args.batch_size),
                "--store", str(store)]
        for r in range(args.repeat):
            for kind in ("pipeline", "bare", "bare-jit"):
                out = subprocess.run(base + ["--single", kind], capture_output=True, text=True)
                if out.returncode:
                    raise SystemExit(out.stderr[-3000:])
                res = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"  run {r + 1} {kind}: {res}", flush=True)
                if kind not in best or res["train"] > best[kind]["train"]:
                    best[kind] = res
    names = {"pipeline": "tdf pipeline (HDF5 → SkeletonBatches → fit_run)",
             "bare": "bare model.fit, in-memory numpy, jit off", "bare-jit": "bare model.fit, in-memory numpy, jit on"}
    result = {"frames": args.frames, "batch_size": args.batch_size, "compression": args.compression,
              "forward_gflop_per_sample": flops / 1e9, "train_samples_per_s": {names[k]: v["train"] for k, v in best.items()},
              "inference_samples_per_s": best["bare"]["inference"],
              "jit_effective": best["bare-jit"].get("jit_effective"),
              "pipeline_ratio": best["pipeline"]["train"] / best["bare"]["train"]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"\nRes-TCN 64/128/256, T={args.frames}, D=150, {args.classes} classes, batch {args.batch_size}, "
          f"{best['bare']['n']} training samples/epoch, last of {args.epochs} epochs, best of {args.repeat}; "
          f"forward {flops / 1e9:.3f} GFLOP/sample\n")
    print("| path | train samples/s | achieved GFLOP/s (3× forward) |")
    print("|---|---|---|")
    for k, v in best.items():
        print(f"| {names[k]} | {v['train']:.1f} | {3 * v['train'] * flops / 1e9:.0f} |")
    inf = best["bare"]["inference"]
    print(f"| inference (model.predict, in-memory) | {inf:.1f} | {inf * flops / 1e9:.0f} (1× forward) |")
    print(f"\npipeline / bare ratio: {result['pipeline_ratio']:.3f}; jit on / off: "
          f"{best['bare-jit']['train'] / best['bare']['train']:.3f} (XLA effective: {result['jit_effective']})")


if __name__ == "__main__":
    main()
