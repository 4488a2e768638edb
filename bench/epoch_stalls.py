"""The pause at the start of an epoch: how often `model.fit` waits before the first batch, and why
(issue 16, fifth look).

Each variant runs `--epochs` epochs in its own process and records, per epoch, the wall time,
the process's CPU time, and the *start delay*: seconds from `on_epoch_begin` to the first
`on_train_batch_begin`. A stalled epoch has a start delay of seconds while its CPU time is that
of any other epoch (the loop waits, idle).

Variants:
  tdf            `tdf train`'s real path (`fit_run`: store, reader, validation, checkpoint), as it is
  tdf-pydataset  the same, with the reader handed to `model.fit` as a Keras PyDataset (the path
                 before `tdf.train.feed.fit_input`; Keras wraps it in from_generator + prefetch(AUTOTUNE))
  bare-autotune-on / bare-autotune-off
                 the bench's bare Res-TCN on in-memory arrays through one tf.data pipeline
                 (from_tensor_slices, seeded shuffle, batch, prefetch), identical but for
                 `options.autotune.enabled` — the controlled test of the cause
  bare-keras     a plain `model.fit(x, y, shuffle=True)` as a user writes it

    python bench/epoch_stalls.py                       # all variants, 16 epochs each, T=300, 792 samples
    python bench/epoch_stalls.py --variants tdf,tdf-pydataset --epochs 24
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import (TEST_FRACTION, VAL_FRACTION, EpochClock, _training_rows,  # noqa: E402
                              compiled_bare, determinism_off, make_store)

VARIANTS = ("tdf", "tdf-pydataset", "bare-autotune-on", "bare-autotune-off", "bare-keras")
STALL_S = 0.5  # a start delay above this is a stall (an unstalled epoch starts within ≈ 0.02 s)


def run_variant(variant: str, store: Path, args) -> list[dict]:
    import keras
    timer = EpochClock()
    clock = timer.callback

    def rows() -> list[dict]:
        return [{"epoch": e + 1, "wall_s": round(w, 3), "cpu_s": round(c, 3), "start_delay_s": round(d, 3)}
                for e, (w, c, d) in enumerate(zip(timer.times, timer.cpu, timer.start_delays))]
    if variant.startswith("tdf"):
        import tdf.train.fit as fit
        from tdf.train_config import resolve_config
        if variant == "tdf-pydataset":
            fit.fit_input = lambda batches: batches
        real_fit = keras.Model.fit

        def fit_with_clock(self, *a, **kw):
            kw["callbacks"] = [*(kw.get("callbacks") or []), clock]
            return real_fit(self, *a, **kw)
        keras.Model.fit = fit_with_clock
        cfg = resolve_config(None, None, {"epochs": args.epochs, "batch_size": args.batch_size,
                                          "val_fraction": VAL_FRACTION, "split": "random"})
        fit.fit_run(store, store.parent / f"run-{variant}", cfg, evaluate=False, force=True)
        return rows()
    import tensorflow as tf
    keras.utils.set_random_seed(0)
    x, y = _training_rows(store, args.frames)
    ns = argparse.Namespace(classes=args.classes, frames=args.frames)
    with determinism_off():
        model = compiled_bare(ns, "fp32", False)
        if variant == "bare-keras":
            model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, shuffle=True,
                      callbacks=[clock])
            return rows()
        options = tf.data.Options()
        options.autotune.enabled = variant == "bare-autotune-on"
        ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
              .batch(args.batch_size).prefetch(tf.data.AUTOTUNE).with_options(options))
        model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[clock])
    return rows()


def summarise(variant: str, rows: list[dict]) -> dict:
    steady = rows[1:]  # epoch 1 traces the step functions
    stalls = [r for r in steady if r["start_delay_s"] > STALL_S]
    return {"variant": variant, "epochs": len(steady), "stalled": len(stalls),
            "median_stall_s": round(float(np.median([r["start_delay_s"] for r in stalls])), 2) if stalls else 0.0,
            "median_wall_s": round(float(np.median([r["wall_s"] for r in steady])), 2),
            "median_cpu_s": round(float(np.median([r["cpu_s"] for r in steady])), 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--train-samples", type=int, default=792)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--out", default=None, help="append each variant's epochs as JSON lines to this file")
    ap.add_argument("--single", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single:
        print(json.dumps(run_variant(args.single, Path(args.store), args)))
        return
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    n = int(np.ceil(args.train_samples / ((1 - TEST_FRACTION) * (1 - VAL_FRACTION))))
    summaries = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TDF_BENCH_TMP")) as tmp:
        store = Path(tmp) / "lzf.h5"
        make_store(store, n, args.frames, args.classes)
        for variant in variants:
            cmd = [sys.executable, __file__, "--single", variant, "--store", str(store), "--epochs", str(args.epochs),
                   "--frames", str(args.frames), "--classes", str(args.classes), "--batch-size", str(args.batch_size)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(f"{variant}: {out.stderr[-3000:]}")
            rows = json.loads(out.stdout.strip().splitlines()[-1])
            summaries.append(summarise(variant, rows))
            print(json.dumps(summaries[-1]), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    for r in rows:
                        f.write(json.dumps({"variant": variant, "load1": round(os.getloadavg()[0], 1), **r}) + "\n")
    print(f"\nT={args.frames}, batch {args.batch_size}, {args.epochs} epochs per variant (the first, tracing, "
          f"left out); a stall = more than {STALL_S} s from on_epoch_begin to the first batch\n")
    print("| variant | stalled epochs | median stall (s) | median epoch wall (s) | median epoch CPU (s) |\n"
          "|---|---|---|---|---|")
    for s in summaries:
        print(f"| {s['variant']} | {s['stalled']} of {s['epochs']} | {s['median_stall_s']} | "
              f"{s['median_wall_s']} | {s['median_cpu_s']} |")


if __name__ == "__main__":
    main()
