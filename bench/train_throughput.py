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
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def make_store(path: Path, n: int, frames: int, classes: int, seed: int = 0) -> None:
    """Smooth random-walk skeletons (compress like real data would, unlike white noise)."""
    from tdf.data.store import Sample, StoreWriter
    rng = np.random.default_rng(seed)
    with StoreWriter(path, frames, [f"c{i}" for i in range(classes)], source="bench", force=True,
                     attrs={"default_split": "random"}) as w:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40, help="training steps per epoch")
    ap.add_argument("--epochs", type=int, default=2, help="epochs (the first is warm-up)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from tdf.models import res_tcn_cost
    from tdf.train.config import resolve_config
    from tdf.train.fit import fit_run

    n = args.steps * args.batch_size
    cfg = resolve_config(None, None, {"epochs": args.epochs, "batch_size": args.batch_size,
                                      "val_fraction": 0.0, "split": "random", "jit": False})
    flops = res_tcn_cost(args.classes, args.frames).flops
    rows = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TDF_BENCH_TMP")) as tmp:
        store = Path(tmp) / "bench.h5"
        t0 = time.perf_counter()
        make_store(store, n, args.frames, args.classes)
        size_mb = store.stat().st_size / 1e6
        print(f"store: {n} samples × {args.frames} frames, {size_mb:.0f} MB, written in {time.perf_counter() - t0:.0f} s",
              flush=True)
        # 1. tdf's pipeline (random split with 0 validation → test_fraction of the samples held out)
        summary = fit_run(store, Path(tmp) / "run", cfg, evaluate=False)
        import csv
        with open(Path(tmp) / "run" / "history.csv") as f:
            last = list(csv.DictReader(f))[-1]
        rows["tdf pipeline (HDF5 → SkeletonBatches → fit)"] = float(last["samples_per_s"])
        # 2. bare model.fit on in-memory arrays (same number of training samples)
        from tdf.data.store import open_store
        with open_store(store) as s:
            info = json.loads((Path(tmp) / "run" / "run.json").read_text())
            from tdf.train.run import run_split
            idx = run_split(s, info).train
            x = s.read(idx, frames=args.frames)
            y = s.label[idx]
        for jit in (False, True):
            sps, model = bare_fit(x, y, cfg, args.classes, args.epochs, jit)
            rows[f"bare model.fit, in-memory numpy, jit={'on' if jit else 'off'}"] = sps
        # 3. inference
        model.predict(x[: args.batch_size * 2], batch_size=args.batch_size, verbose=0)
        t0 = time.perf_counter()
        model.predict(x, batch_size=args.batch_size, verbose=0)
        infer = len(x) / (time.perf_counter() - t0)
    base = rows["bare model.fit, in-memory numpy, jit=off"]
    result = {"samples_per_epoch": len(x), "frames": args.frames, "batch_size": args.batch_size,
              "forward_gflop_per_sample": flops / 1e9, "train": rows, "inference_samples_per_s": infer,
              "pipeline_ratio": rows["tdf pipeline (HDF5 → SkeletonBatches → fit)"] / base}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"\nRes-TCN 64/128/256, T={args.frames}, D=150, {args.classes} classes, batch {args.batch_size}, "
          f"{len(x)} training samples/epoch, last of {args.epochs} epochs; forward {flops / 1e9:.3f} GFLOP/sample\n")
    print("| path | train samples/s | achieved GFLOP/s (3× forward) |")
    print("|---|---|---|")
    for k, v in rows.items():
        print(f"| {k} | {v:.1f} | {3 * v * flops / 1e9:.0f} |")
    print(f"| inference (model.predict, in-memory) | {infer:.1f} | {infer * flops / 1e9:.0f} (1× forward) |")
    print(f"\npipeline / bare ratio: {result['pipeline_ratio']:.3f}")


if __name__ == "__main__":
    main()
