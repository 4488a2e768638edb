"""Training throughput of `tdf train` against a bare `model.fit`, side by side (issue 16).

Default measurement (`--compare pipeline`): the steady second epoch of `tdf train`'s real path
(`tdf.train.fit.fit_run`: an lzf HDF5 store read by `SkeletonBatches`, the per-epoch validation
pass, history and the crash-safe checkpoint with optimizer state — timed from the end of epoch
1's checkpoint to the end of epoch 2's) against the second epoch of a bare `model.fit` on
in-memory numpy arrays of the same training rows, with a Res-TCN written here from
`keras.layers` (not imported from tdf; its parameter count is checked against tdf's). Every
measurement runs in its own process; the kinds alternate A B A B …; the report gives the best of
each and the ratio round by round (median, range). `--epochs N` times epochs 2..N of each run
together (from the end of epoch 1 to the end of epoch N), so a pause between epochs counts.

Other comparisons (same protocol):
  --compare breakdown   tdf with one part switched off at a time: op determinism, lzf
                        decompression (an uncompressed store), the checkpoint, the validation
                        pass, the sample cache — each part's cost is the ratio
  --compare cache       tdf train with its sample cache (the default), without it
                        (--cache-mb 0), and the bare fit
  --compare precision   fp32 vs bf16 (mixed_bfloat16): tdf train, model.predict of tdf's
                        model, and diagnose's decoder (4 layers, on the float32 copy)
  --compare jit         tdf train and the bare fit with XLA on vs off
  --compare inprocess   the bare model only, every variant in one process, alternating epochs:
                        fp32 vs bf16 (train, predict), jit off vs on (a loaded machine's option)
  --compare inprocess-pipeline  tdf train's real epoch vs a bare epoch, alternating in one process
  --compare inprocess-parts     tdf's model vs the bare one, store-fed vs arrays, op determinism
                        on vs off — one process, wall time and CPU time of each
  --compare inprocess-feed      the input pipelines alone, no training: tdf's feed (cache, no
                        cache) vs Keras' array adapter — CPU ms and page faults per batch

    python bench/train_throughput.py                                   # issue size: T=300, 2,280 train samples
    python bench/train_throughput.py --train-samples 768 --frames 150  # reduced size (a loaded machine)
    python bench/train_throughput.py --compare breakdown --repeat 3
    python bench/train_throughput.py --compare precision
    python bench/train_throughput.py --compare jit --repeat 3
    python bench/train_throughput.py --compare inprocess --repeat 5   # bare model only, one process
    python bench/train_throughput.py --compare inprocess-pipeline --repeat 6
    python bench/train_throughput.py --compare inprocess-parts --repeat 3
    python bench/train_throughput.py --compare inprocess-feed --repeat 6
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

VAL_FRACTION, TEST_FRACTION = 0.1, 0.2  # tdf's random split: 20 % test, then 10 % of the rest for validation


def make_store(path: Path, n: int, frames: int, classes: int, seed: int = 0, compression="lzf") -> None:
    """Random-walk skeletons shaped like NTU's: each sequence 30–45 % of `frames` long (NTU-60's
    mean is ≈ 85 of 300; the rest is zero padding) and a second body only in the last 11 of
    every 60 classes (NTU's two-person actions), so lzf has NTU's padding and absent bodies to
    compress — a real NTU store is 4.6× smaller with lzf. (Until 2026-12-03 every frame and both
    bodies were random, which lzf cannot compress: the bench then never paid for decompression.)"""
    from tdf.data.store import Sample, StoreWriter
    rng = np.random.default_rng(seed)
    with StoreWriter(path, frames, [f"c{i}" for i in range(classes)], source="bench", force=True,
                     attrs={"default_split": "random"}, compression=compression) as w:
        for i in range(n):
            t = max(2, int(frames * rng.uniform(0.30, 0.45)))
            base = rng.normal(0, 0.3, size=(1, 150)).astype(np.float32)
            walk = np.cumsum(rng.normal(0, 0.01, size=(t, 150)), axis=0).astype(np.float32)
            x = base + walk
            if i % 60 < 49:  # one person: the second body is absent
                x[:, 75:] = 0
            w.append(Sample(x, i % classes, f"s{i:06d}"))


# ------------------------------------------------------------------ the independent bare model


def bare_res_tcn(classes: int, frames: int, dim: int = 150, filters=(64, 128, 256), units: int = 3,
                 k: int = 8, dropout: float = 0.5, l1: float = 1e-4):
    """The paper's Res-TCN written out from keras.layers: conv1, then per block `units` residual
    units BN → ReLU → Dropout → Conv1D (stride 2 in a block's first unit after the first block;
    a 1×1 shortcut conv where the width or stride changes), BN → ReLU → global average → softmax."""
    import keras
    L = keras.layers

    def conv(f, size, stride=1):
        return L.Conv1D(f, size, strides=stride, padding="same", kernel_initializer="he_normal",
                        kernel_regularizer=keras.regularizers.L1(l1) if l1 else None)
    inp = keras.Input((frames, dim))
    x = conv(filters[0], k)(inp)
    width = filters[0]
    for b, f in enumerate(filters):
        for u in range(units):
            stride = 2 if b > 0 and u == 0 else 1
            y = L.Dropout(dropout)(L.ReLU()(L.BatchNormalization()(x)))
            y = conv(f, k, stride)(y)
            s = x if (f == width and stride == 1) else conv(f, 1, stride)(x)
            x = L.Add()([s, y])
            width = f
    x = L.GlobalAveragePooling1D()(L.ReLU()(L.BatchNormalization()(x)))
    out = L.Dense(classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inp, out)


def _policy(precision: str):
    import keras
    keras.config.set_dtype_policy({"fp32": "float32", "bf16": "mixed_bfloat16"}[precision])


def compiled_bare(args, precision: str, jit: bool):
    """The bench's bare Res-TCN under `precision`, compiled as tdf compiles its own (SGD with
    Nesterov momentum); the global dtype policy is float32 again afterwards."""
    import keras
    _policy(precision)
    model = bare_res_tcn(args.classes, args.frames)
    _policy("fp32")
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                  "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
    return model


def _training_rows(store: Path, frames: int):
    """The training rows of tdf's random split (seed 0), read into memory, and their labels."""
    from tdf.data.splits import make_split
    from tdf.data.store import open_store
    with open_store(store) as s:
        idx = make_split(s, "random", seed=0, val_fraction=VAL_FRACTION).train
        return s.read(idx, frames=frames), np.asarray(s.label)[idx]


class EpochClock:
    """Wall-clock seconds of each epoch (begin → end), and the CPU seconds the process spent in it
    (all threads). On a virtual machine whose host takes cycles away (steal time) the wall clock
    of one epoch can double from one minute to the next; the CPU time counts only the work done,
    so a CPU-time ratio says whether one side *does* more work, a wall-time ratio also sees waits."""

    def __init__(self):
        import keras
        times, cpu = self.times, self.cpu = [], []
        ends, cpu_ends = self.ends, self.cpu_ends = [], []  # clock readings at each epoch's end
        delays = self.start_delays = []  # seconds from on_epoch_begin to the first batch

        class C(keras.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                self.t, self.c, self.first = time.perf_counter(), time.process_time(), None

            def on_train_batch_begin(self, b, logs=None):
                if self.first is None:
                    self.first = time.perf_counter() - self.t

            def on_epoch_end(self, e, logs=None):
                times.append(time.perf_counter() - self.t)
                cpu.append(time.process_time() - self.c)
                delays.append(self.first)
                ends.append(time.perf_counter())
                cpu_ends.append(time.process_time())
        self.callback = C()


@contextlib.contextmanager
def determinism_off():
    """A context in which TensorFlow's op determinism is off (then back on if it was): the bare fit
    is run as a user runs `model.fit`, without it. It matters: Keras' shuffled in-memory array
    path gets slower under op determinism (measured in one process: 1.22–1.32× on the bare fit)."""
    import keras
    if keras.backend.backend() != "tensorflow":
        yield
        return
    from tensorflow.python.framework import config as tf_config
    was_on = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if was_on:
            tf_config.enable_op_determinism()


def measure_bare(store: Path, args) -> dict:
    import keras
    jit = args.jit == "on"
    if args.determinism == "on":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()  # Keras then turns XLA off
    keras.utils.set_random_seed(0)
    x, y = _training_rows(store, args.frames)
    model = compiled_bare(args, args.precision, jit)
    clock = EpochClock()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, shuffle=True,
              callbacks=[clock.callback])
    steady = args.epochs - 1  # epochs 2..N, from the end of epoch 1 to the end of epoch N
    return {"train": steady * len(x) / (clock.ends[-1] - clock.ends[0]),
            "cpu_s": round((clock.cpu_ends[-1] - clock.cpu_ends[0]) / steady, 2), "n": len(x),
            "params": int(model.count_params()),
            "jit_effective": bool(model.jit_compile)}


# ------------------------------------------------------------------ tdf's own path


def measure_tdf(store: Path, workdir: Path, args, off: str) -> dict:
    """`fit_run` for two epochs; epoch 2 timed from the end of checkpoint 1 to the end of
    checkpoint 2 (so validation, history and the checkpoint are inside). `off` switches one
    part off: determinism | checkpoint | validation | cache ('' = nothing; 'compression' is
    a different store, chosen by the parent)."""
    import tdf.train.callbacks as callbacks
    import tdf.train.fit as fit
    from tdf.train_config import resolve_config
    marks, cpu_marks, ckpt_seconds = [], [], []
    real_save = callbacks.save_checkpoint

    def timed_save(*a, **kw):
        t = time.perf_counter()
        if off != "checkpoint":
            real_save(*a, **kw)
        ckpt_seconds.append(time.perf_counter() - t)
        marks.append(time.perf_counter())
        cpu_marks.append(time.process_time())
    callbacks.save_checkpoint = timed_save   # the epoch callback's reference to it
    if off == "determinism":
        real_seed = fit.seed_everything
        fit.seed_everything = lambda seed, deterministic_ops=True: real_seed(seed, deterministic_ops=False)
    if off == "validation":
        import keras
        real_fit = keras.Model.fit

        def fit_without_validation(self, *a, **kw):
            kw["validation_data"] = None
            return real_fit(self, *a, **kw)
        keras.Model.fit = fit_without_validation
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "val_fraction": VAL_FRACTION, "split": "random",
                 "jit": args.jit == "on", "precision": args.precision}
    cfg = resolve_config(None, None, overrides)
    run = workdir / f"run-{os.getpid()}"
    summary = fit.fit_run(store, run, cfg, evaluate=False, force=True, cache_mb=0 if off == "cache" else None)
    n_train = json.loads((run / "run.json").read_text())["split"]["sizes"]["train"]
    info = json.loads((run / "run.json").read_text())
    steady = args.epochs - 1
    return {"train": steady * n_train / (marks[-1] - marks[0]),
            "cpu_s": round((cpu_marks[-1] - cpu_marks[0]) / steady, 2),
            "n": n_train, "params": summary["parameters"],
            "checkpoint_s": round(ckpt_seconds[-1], 3), "jit": info["jit"],
            "deterministic_ops": info["deterministic_ops"] and off != "determinism", "precision": info["precision"],
            "off": off or None, "data_cache": info.get("data_cache")}


def measure_infer(store: Path, args) -> dict:
    """tdf's Res-TCN under `args.precision`: model.predict samples/s (in memory), and the
    Feature Map Decoder on all four default layers as diagnose runs it (float32 copy)."""
    import keras
    from tdf.diagnose.decoder import decode, default_layers
    from tdf.models import build_res_tcn
    from tdf.train.precision import float32_copy, precision_policy
    keras.utils.set_random_seed(0)
    x, _ = _training_rows(store, args.frames)
    x = x[: max(args.batch_size * 4, 256)]
    with precision_policy(args.precision):
        model = build_res_tcn(args.classes, None)
    model.predict(x[: args.batch_size], batch_size=args.batch_size, verbose=0)  # warm-up
    t0 = time.perf_counter()
    model.predict(x, batch_size=args.batch_size, verbose=0)
    predict = len(x) / (time.perf_counter() - t0)
    xd = x[:128]
    t0 = time.perf_counter()
    f32 = float32_copy(model)
    decode(f32, xd[:8], layers=default_layers(f32), batch_size=64)  # warm-up
    t1 = time.perf_counter()
    decode(f32, xd, layers=default_layers(f32), batch_size=64)
    return {"predict": predict, "diagnose_decode": len(xd) / (time.perf_counter() - t1),
            "float32_copy_s": round(t1 - t0, 2), "n_predict": len(x)}


# ------------------------------------------------------------------ in one process


def measure_inprocess(store: Path, args) -> None:
    """The bare Res-TCN only, all variants in this one process (no start-up per measurement, so
    many alternations fit in a few minutes on a loaded machine): fp32 vs bf16 (training epochs
    and model.predict) and jit off vs on (training epochs), each variant warmed up by one epoch,
    then `--repeat` rounds alternating A B A B; the median and best of each are printed."""
    import keras
    keras.utils.set_random_seed(0)
    x, y = _training_rows(store, args.frames)
    variants = {}
    for name, precision, jit in (("fp32", "fp32", False), ("bf16", "bf16", False), ("fp32 jit", "fp32", True)):
        model = compiled_bare(args, precision, jit)
        model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)  # warm-up (tracing, XLA)
        model.predict(x[: args.batch_size], batch_size=args.batch_size, verbose=0)
        variants[name] = model
    got: dict[str, list] = {}
    for r in range(args.repeat):
        for name, model in variants.items():
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True)
            got.setdefault(f"train {name}", []).append(len(x) / (time.perf_counter() - t0))
            if "jit" not in name:
                t0 = time.perf_counter()
                model.predict(x, batch_size=args.batch_size, verbose=0)
                got.setdefault(f"predict {name}", []).append(len(x) / (time.perf_counter() - t0))
        load = round(os.getloadavg()[0], 1)
        print(f"  round {r + 1} (load {load}): " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in got.items()), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps({"compare": "inprocess", "round": r + 1, "load1": load, "frames": args.frames,
                                    "n": len(x), **{k: v[-1] for k, v in got.items()}}) + "\n")
    med = {k: float(np.median(v)) for k, v in got.items()}
    print(f"\nbare Res-TCN 64/128/256, T={args.frames}, batch {args.batch_size}, {len(x)} samples; "
          f"{args.repeat} alternating rounds in one process (samples/s, median [min–max])\n")
    print("| | samples/s | ratio |\n|---|---|---|")
    for k, v in got.items():
        base = {"train bf16": "train fp32", "predict bf16": "predict fp32", "train fp32 jit": "train fp32"}.get(k)
        ratios = [a / b for a, b in zip(v, got[base])] if base else None
        rtxt = f"{np.median(ratios):.2f} [{min(ratios):.2f}–{max(ratios):.2f}] vs {base}" if ratios else ""
        print(f"| {k} | {med[k]:.1f} [{min(v):.1f}–{max(v):.1f}] | {rtxt} |")


def measure_pipeline_inprocess(store: Path, workdir: Path, args) -> None:
    """`tdf train`'s own epoch and a bare fit's epoch, alternating in one process (on a noisy
    machine two processes can differ by 2× at the same load; one process sees the same
    neighbours on both sides of a pair).

    `fit_run` runs as `tdf train` does — store, split, model, compile, loop callback with the
    crash-safe checkpoint and history, validation, all epochs in **one** `model.fit` call as
    `tdf train` makes it (so the validation iterator is built once, as there) — and a callback
    placed after tdf's own runs one bare epoch after every tdf epoch (in-memory arrays of the
    same training rows, the bench's own Res-TCN, op determinism off as a user's bare fit has it;
    `fit_run` has it on for tdf's epoch). A tdf epoch is timed from its start to the end of its
    checkpoint. Epoch 1 of each is the warm-up (tracing); then tdf epoch e is paired with bare
    epoch e, run right after it for odd e and right before it for even e (T1 B1 B2 T2 T3 B3 …), so
    who goes first alternates and every epoch is in exactly one pair.
    Both wall time and process CPU time are recorded. (Until 2026-12-03 every tdf epoch was its
    own `model.fit` call, which also rebuilt the validation iterator each epoch — ≈ 0.2 s that
    `tdf train` does not spend.)"""
    import keras

    import tdf.train.fit as fit
    from tdf.train.feed import fit_input
    from tdf.train_config import resolve_config
    x, y = _training_rows(store, args.frames)
    got: dict[str, list] = {"tdf": [], "bare": [], "tdf_cpu": [], "bare_cpu": []}

    def alternate(model, cfg, strategy, state, train_batches, val_batches, callbacks) -> float:
        tdf_clock, bare_clock = EpochClock(), EpochClock()
        bare = compiled_bare(args, args.precision, args.jit == "on")
        n_train = len(train_batches.indices)

        def bare_epoch():
            with determinism_off():
                bare.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True,
                         callbacks=[bare_clock.callback])

        def record(r: int, t: int, b: int):
            got["tdf"].append(n_train / tdf_clock.times[t])
            got["bare"].append(len(x) / bare_clock.times[b])
            got["tdf_cpu"].append(tdf_clock.cpu[t] / n_train)   # CPU seconds per sample
            got["bare_cpu"].append(bare_clock.cpu[b] / len(x))
            load = round(os.getloadavg()[0], 1)
            print(f"  round {r} (load {load}): tdf {got['tdf'][-1]:.1f}, bare {got['bare'][-1]:.1f}, "
                  f"ratio {got['tdf'][-1] / got['bare'][-1]:.3f}; CPU per sample bare/tdf "
                  f"{got['bare_cpu'][-1] / got['tdf_cpu'][-1]:.3f}", flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps({"compare": "inprocess-pipeline", "round": r, "load1": load,
                                         "frames": args.frames, "n": n_train, "precision": args.precision,
                                         "tdf": got["tdf"][-1], "bare": got["bare"][-1],
                                         "tdf_cpu_s": tdf_clock.cpu[t], "bare_cpu_s": bare_clock.cpu[b],
                                         "bare_determinism": False, "one_fit": True,
                                         "val_every": args.val_every, "checkpoint": "variables",
                                         "store_compression": args.store_compression}) + "\n")

        class BareBetween(keras.callbacks.Callback):
            """Last callback of tdf's fit: closes tdf's epoch clock, then runs the bare epochs due.

            Order T1 B1 B2 T2 T3 B3 B4 T4 …: after the warm-up pair, tdf epoch e is paired with
            bare epoch e, which runs right after it for odd e and right before it for even e."""

            def on_epoch_end(self, epoch, logs=None):
                tdf_clock.callback.on_epoch_end(epoch)
                e = len(tdf_clock.times) - 1  # 0 = warm-up
                if e >= 1 and e % 2 == 0:
                    record(e, e, e)           # bare epoch e ran before this tdf epoch
                if e == 0 or e % 2 == 1:
                    bare_epoch()              # the warm-up, or bare epoch e (after tdf's)
                if e % 2 == 1:
                    record(e, e, e)
                    if e < args.repeat:
                        bare_epoch()          # bare epoch e + 1, before tdf epoch e + 1

        # tdf's clock starts before tdf's own callbacks and stops after them (checkpoint included)
        first = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs=None: tdf_clock.callback.on_epoch_begin(e))
        model.fit(fit_input(train_batches), validation_data=fit_input(val_batches),  # as tdf's own _train
                  epochs=args.repeat + 1, initial_epoch=0, callbacks=[first, *callbacks, BareBetween()],
                  verbose=0, shuffle=False)
        return 0.0

    fit._train = alternate
    overrides = {"epochs": args.repeat + 1, "batch_size": args.batch_size, "val_fraction": VAL_FRACTION,
                 "split": "random", "jit": args.jit == "on", "precision": args.precision, "val_every": args.val_every}
    fit.fit_run(store, workdir / "run-inprocess", resolve_config(None, None, overrides), evaluate=False, force=True)
    ratios = [a / b for a, b in zip(got["tdf"], got["bare"])]
    print(f"\ntdf train's epoch vs a bare fit's, Res-TCN 64/128/256, T={args.frames}, batch {args.batch_size}, "
          f"{args.precision}; {args.repeat} alternating rounds in one process\n")
    print("| | samples/s, median [min–max] | tdf / bare, pair by pair: median [min–max] |\n|---|---|---|")
    print(f"| tdf train (store, validation, checkpoint) | {np.median(got['tdf']):.1f} "
          f"[{min(got['tdf']):.1f}–{max(got['tdf']):.1f}] | {np.median(ratios):.3f} "
          f"[{min(ratios):.3f}–{max(ratios):.3f}] |")
    print(f"| bare model.fit (in-memory arrays, op determinism off) | {np.median(got['bare']):.1f} "
          f"[{min(got['bare']):.1f}–{max(got['bare']):.1f}] | |")
    print(f"\nbest of each (the issue's measure: each side's least disturbed epoch): tdf {max(got['tdf']):.1f} / "
          f"bare {max(got['bare']):.1f} = {max(got['tdf']) / max(got['bare']):.3f}")
    cpu = [b / a for a, b in zip(got["tdf_cpu"], got["bare_cpu"])]
    print(f"\nCPU seconds per sample, bare / tdf, pair by pair (the work done, blind to steal time): "
          f"{np.median(cpu):.3f} [{min(cpu):.3f}–{max(cpu):.3f}]")


def measure_parts_inprocess(store: Path, args) -> None:
    """Where a tdf epoch's extra work goes, one process, variants rotating (`--compare
    inprocess-parts`): tdf's Res-TCN (`build_from_config`, as `tdf train` builds it, mean skeleton
    inside) and the bench's bare one, each fed by `SkeletonBatches` from the lzf store (read every
    time, or through `tdf train`'s sample cache, filled by the warm-up epoch) or by in-memory
    arrays, with op determinism on or off. Per variant: wall samples/s and CPU seconds per epoch
    (medians), and both as ratios to the bare fit (arrays, determinism off) round by round; the
    wall figure is also given from each epoch's first batch on ("steps"), without the pause Keras
    may take before it. No validation or checkpoint here (their cost: `--compare
    inprocess-pipeline`'s docs)."""
    import keras

    from tdf.data.batches import SkeletonBatches
    from tdf.data.sample_cache import MB, SampleCache, resolve_budget_mb
    from tdf.data.splits import make_split
    from tdf.data.store import open_store
    from tdf.models.res_tcn import build_from_config
    from tdf.train.feed import fit_input
    from tdf.train_config import resolve_config
    keras.utils.set_random_seed(0)
    x, y = _training_rows(store, args.frames)
    with open_store(store) as s:
        train = make_split(s, "random", seed=0, val_fraction=VAL_FRACTION).train
    feeds = {"store": SkeletonBatches(store, train, batch_size=args.batch_size, frames=args.frames, shuffle=True,
                                      seed=0),
             "store+cache": SkeletonBatches(store, train, batch_size=args.batch_size, frames=args.frames,
                                            shuffle=True, seed=0,
                                            cache=SampleCache(resolve_budget_mb(None) * MB))}  # tdf train's default
    cfg = resolve_config(None, None, {"batch_size": args.batch_size})
    tdf_model = build_from_config(cfg, args.classes, args.frames, np.zeros(x.shape[-1], np.float32))
    tdf_model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    models = {"tdf": tdf_model, "bare": compiled_bare(args, "fp32", False)}
    clock = EpochClock()

    def epoch(model: str, feed: str, determinism: bool):
        with contextlib.nullcontext() if determinism else determinism_off():
            if feed in feeds:
                batches = feeds[feed]
                batches.set_epoch(batches.epoch + 1)  # as tdf's loop callback moves it on
                models[model].fit(fit_input(batches), epochs=1, verbose=0, shuffle=False, callbacks=[clock.callback])
            else:
                models[model].fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True,
                                  callbacks=[clock.callback])
    variants = {f"{m} model, {f}, determinism {'on' if d else 'off'}": (m, f, d)
                for m, f, d in (("tdf", "store", True), ("tdf", "store+cache", True), ("tdf", "store", False),
                                ("tdf", "arrays", False),
                                ("bare", "store", False), ("bare", "arrays", False), ("bare", "arrays", True))}
    reference = "bare model, arrays, determinism off"
    from tdf.train.determinism import seed_everything
    seed_everything(0)  # op determinism on for the process, as in tdf train; variants switch it off
    for v in variants.values():
        epoch(*v)  # warm-up: tracing
    names = list(variants)
    wall: dict[str, list] = {k: [] for k in names}
    steps: dict[str, list] = {k: [] for k in names}
    cpu: dict[str, list] = {k: [] for k in names}
    for r in range(args.repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:  # who goes first rotates
            epoch(*variants[k])
            wall[k].append(len(x) / clock.times[-1])
            steps[k].append(len(x) / (clock.times[-1] - clock.start_delays[-1]))
            cpu[k].append(clock.cpu[-1])
        load = round(os.getloadavg()[0], 1)
        print(f"  round {r + 1} (load {load}): " + "; ".join(f"{k} {wall[k][-1]:.1f}/s {cpu[k][-1]:.1f} CPU s"
                                                           for k in names), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps({"compare": "inprocess-parts", "round": r + 1, "load1": load, "frames": args.frames,
                                     "n": len(x), "wall_samples_per_s": {k: wall[k][-1] for k in names},
                                     "steps_samples_per_s": {k: steps[k][-1] for k in names},
                                     "cpu_s": {k: cpu[k][-1] for k in names}}) + "\n")
    print(f"\none epoch of {len(x)} samples, T={args.frames}, batch {args.batch_size}, fp32; {args.repeat} rotating "
          f"rounds in one process; ratios to '{reference}' round by round, median [min–max]\n")
    print("| variant | samples/s | speed ratio | steps ratio | CPU s per epoch | CPU ratio |\n"
          "|---|---|---|---|---|---|")
    for k in names:
        sr = [a / b for a, b in zip(wall[k], wall[reference])]
        st = [a / b for a, b in zip(steps[k], steps[reference])]
        cr = [a / b for a, b in zip(cpu[k], cpu[reference])]
        print(f"| {k} | {np.median(wall[k]):.1f} | {np.median(sr):.3f} [{min(sr):.3f}–{max(sr):.3f}] | "
              f"{np.median(st):.3f} [{min(st):.3f}–{max(st):.3f}] | "
              f"{np.median(cpu[k]):.1f} | {np.median(cr):.3f} [{min(cr):.3f}–{max(cr):.3f}] |")


def measure_feed_inprocess(store: Path, args) -> None:
    """What feeding the training loop costs, without training (`--compare inprocess-feed`): one
    epoch of batches drawn by a compiled consumer (as `model.fit`'s step function draws them) from
    tdf's feed (`fit_input` over `SkeletonBatches` through the sample cache, as `tdf train` reads,
    and without the cache, decompressing lzf every time) and from Keras' own adapter for in-memory
    arrays (shuffled, as a bare `model.fit(x, y)` gets). One process, variants rotating; per
    variant the process's CPU ms and minor page faults per batch (medians). Whatever a feed costs
    here runs beside every training step, on the same cores."""
    import resource

    import tensorflow as tf
    from keras.src.trainers.data_adapters import get_data_adapter

    from tdf.data.batches import SkeletonBatches
    from tdf.data.sample_cache import MB, SampleCache, resolve_budget_mb
    from tdf.data.splits import make_split
    from tdf.data.store import open_store
    from tdf.train.feed import fit_input
    x, y = _training_rows(store, args.frames)
    with open_store(store) as s:
        train = make_split(s, "random", seed=0, val_fraction=VAL_FRACTION).train
    readers = {"tdf feed, sample cache (tdf train's default)":
               SkeletonBatches(store, train, batch_size=args.batch_size, frames=args.frames, shuffle=True, seed=0,
                               cache=SampleCache(resolve_budget_mb(None) * MB)),
               "tdf feed, no cache (lzf store)":
               SkeletonBatches(store, train, batch_size=args.batch_size, frames=args.frames, shuffle=True, seed=0)}
    arrays = get_data_adapter(x, y, batch_size=args.batch_size, shuffle=True)
    makers = {k: (lambda r=r: fit_input(r)) for k, r in readers.items()}
    makers["Keras array adapter (bare model.fit)"] = arrays.get_tf_dataset
    steps = len(next(iter(readers.values())))

    @tf.function
    def draw(iterator, n):
        total = tf.constant(0.0)
        for _ in tf.range(n):
            xb, _yb = next(iterator)
            total += tf.reshape(tf.cast(xb[0, 0, 0], tf.float32), [])
        return total

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def epoch(name: str) -> tuple[float, float]:
        for r in readers.values():
            r.set_epoch(r.epoch + 1)
        iterator = iter(makers[name]())
        c, f = time.process_time(), faults()
        draw(iterator, steps).numpy()
        return (time.process_time() - c) / steps * 1e3, (faults() - f) / steps

    names = list(makers)
    for k in names:
        epoch(k)  # warm-up: tracing, the cache's first fill
    cpu: dict[str, list] = {k: [] for k in names}
    flt: dict[str, list] = {k: [] for k in names}
    for r in range(args.repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:
            c, f = epoch(k)
            cpu[k].append(c)
            flt[k].append(f)
        load = round(os.getloadavg()[0], 1)
        print(f"  round {r + 1} (load {load}): " + "; ".join(f"{k} {cpu[k][-1]:.1f} ms" for k in names), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps({"compare": "inprocess-feed", "round": r + 1, "load1": load, "frames": args.frames,
                                     "batch_size": args.batch_size, "batches": steps,
                                     "cpu_ms_per_batch": {k: cpu[k][-1] for k in names},
                                     "faults_per_batch": {k: flt[k][-1] for k in names}}) + "\n")
    print(f"\n{steps} batches of {args.batch_size} × {args.frames} frames per epoch; {args.repeat} rotating rounds "
          f"in one process; median [min–max]\n")
    print("| feed | CPU ms per batch | minor page faults per batch |\n|---|---|---|")
    for k in names:
        print(f"| {k} | {np.median(cpu[k]):.1f} [{min(cpu[k]):.1f}–{max(cpu[k]):.1f}] | {np.median(flt[k]):.0f} |")


# ------------------------------------------------------------------ the parent


def kinds_for(args) -> list[tuple[str, dict]]:
    """(label, child options) of each measurement, in the order they alternate."""
    if args.compare == "pipeline":
        return [("tdf", {"kind": "tdf"}), ("bare", {"kind": "bare"})]
    if args.compare == "breakdown":
        return [("tdf", {"kind": "tdf"}), ("bare", {"kind": "bare"})] + \
               [(f"tdf, {o} off", {"kind": "tdf", "off": o})
                for o in ("determinism", "compression", "checkpoint", "validation", "cache")]
    if args.compare == "cache":
        return [("tdf", {"kind": "tdf"}), ("tdf, cache off", {"kind": "tdf", "off": "cache"}),
                ("bare", {"kind": "bare"})]
    if args.compare == "precision":
        return [(f"tdf {q}", {"kind": "tdf", "precision": q}) for q in ("fp32", "bf16")] + \
               [(f"infer {q}", {"kind": "infer", "precision": q}) for q in ("fp32", "bf16")]
    if args.compare == "jit":
        return [(f"{k} jit {q}", {"kind": k, "jit": q}) for k in ("tdf", "bare") for q in ("off", "on")]
    raise SystemExit(f"unknown --compare {args.compare}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", default="pipeline", choices=["pipeline", "breakdown", "precision", "jit", "cache", "inprocess", "inprocess-pipeline",
                                                         "inprocess-parts", "inprocess-feed"])
    ap.add_argument("--train-samples", type=int, default=2280, help="training samples per epoch (issue: 2,280)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--jit", default="off", choices=["off", "on"])
    ap.add_argument("--determinism", default="off", choices=["off", "on"],
                    help="op determinism in the bare fit (tdf has it on unless jit)")
    ap.add_argument("--store-compression", default="lzf", choices=["lzf", "none"],
                    help="in-process comparisons: the compression of the store tdf reads (`tdf data repack`)")
    ap.add_argument("--val-every", type=int, default=1,
                    help="tdf train --val-every for inprocess-pipeline (1 = validate every epoch, the default)")
    ap.add_argument("--epochs", type=int, default=2,
                    help="cross-process comparisons: epochs per run; epochs 2..N are timed together "
                         "(default 2: the issue's steady second epoch)")
    ap.add_argument("--repeat", type=int, default=2, help="alternations (rounds); the report gives the best of each kind and round-by-round ratios")
    ap.add_argument("--out", default=None, help="append each result as a JSON line to this file")
    ap.add_argument("--single", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--off", default="", help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epochs < 2:
        raise SystemExit("--epochs must be ≥ 2 (epoch 1 traces the step functions and is not timed)")
    if args.single:  # child process: one measurement, JSON on the last line
        store = Path(args.store)
        if args.single == "bare":
            res = measure_bare(store, args)
        elif args.single == "infer":
            res = measure_infer(store, args)
        else:
            res = measure_tdf(store, store.parent, args, args.off)
        print(json.dumps(res))
        return

    # samples in the store so that the random split leaves --train-samples for training
    n = int(np.ceil(args.train_samples / ((1 - TEST_FRACTION) * (1 - VAL_FRACTION))))
    if args.compare.startswith("inprocess"):
        with tempfile.TemporaryDirectory(dir=os.environ.get("TDF_BENCH_TMP")) as tmp:
            store = Path(tmp) / f"{args.store_compression}.h5"
            make_store(store, n, args.frames, args.classes,
                       compression=None if args.store_compression == "none" else args.store_compression)
            if args.compare == "inprocess":
                measure_inprocess(store, args)
            elif args.compare == "inprocess-parts":
                measure_parts_inprocess(store, args)
            elif args.compare == "inprocess-feed":
                measure_feed_inprocess(store, args)
            else:
                measure_pipeline_inprocess(store, Path(tmp), args)
        return
    kinds = kinds_for(args)
    best: dict[str, dict] = {}
    runs: dict[str, list] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TDF_BENCH_TMP")) as tmp:
        stores = {"lzf": Path(tmp) / "lzf.h5", "none": Path(tmp) / "none.h5"}
        t0 = time.perf_counter()
        make_store(stores["lzf"], n, args.frames, args.classes)
        if args.compare == "breakdown":
            make_store(stores["none"], n, args.frames, args.classes, compression=None)
        print(f"store: {n} samples × {args.frames} frames ({stores['lzf'].stat().st_size / 1e6:.0f} MB lzf), "
              f"written in {time.perf_counter() - t0:.0f} s", flush=True)
        for r in range(args.repeat):
            for label, opts in kinds:
                off = opts.get("off", "")
                store = stores["none"] if off == "compression" else stores["lzf"]
                cmd = [sys.executable, __file__, "--single", opts["kind"], "--store", str(store),
                       "--frames", str(args.frames), "--classes", str(args.classes),
                       "--batch-size", str(args.batch_size), "--epochs", str(args.epochs),
                       "--precision", opts.get("precision", args.precision), "--jit", opts.get("jit", args.jit),
                       "--determinism", args.determinism, "--off", "" if off == "compression" else off]
                out = subprocess.run(cmd, capture_output=True, text=True)
                if out.returncode:
                    raise SystemExit(f"{label}: {out.stderr[-3000:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                res["load1"] = round(os.getloadavg()[0], 1)  # how busy the machine was
                print(f"  round {r + 1} {label}: {json.dumps(res)}", flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps({"compare": args.compare, "round": r + 1, "label": label,
                                            **vars(args), **res}) + "\n")
                runs.setdefault(label, []).append(res)
                key = "train" if "train" in res else "predict"
                if label not in best or res[key] > best[label][key]:
                    best[label] = res
    report(args, kinds, best, runs)


def report(args, kinds, best, runs) -> None:
    print(f"\nRes-TCN 64/128/256, T={args.frames}, 60 classes, batch {args.batch_size}; "
          f"{args.compare}; epochs 2..{args.epochs} of each run timed; best of {args.repeat} alternating runs "
          f"each (samples/s)\n")
    first = kinds[0][0]
    if args.compare == "precision":
        print("| | fp32 | bf16 | bf16 / fp32 |\n|---|---|---|---|")
        rows = [("train (tdf train, epoch 2 with validation + checkpoint)", "tdf", "train"),
                ("predict (model.predict)", "infer", "predict"),
                ("diagnose decoder, 4 layers (float32 copy)", "infer", "diagnose_decode")]
        for name, kind, key in rows:
            a, b = best[f"{kind} fp32"][key], best[f"{kind} bf16"][key]
            print(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
        return
    print("| path | samples/s | ratio to first | per-run |\n|---|---|---|---|")
    for label, _ in kinds:
        v = best[label]["train"]
        per = ", ".join(f"{r['train']:.1f}" for r in runs[label])
        print(f"| {label} | {v:.1f} | {v / best[first]['train']:.3f} | {per} |")
    if "bare" in best:
        print(f"\nparameters: tdf {best['tdf']['params']:,}, bare {best['bare']['params']:,}; "
              f"tdf checkpoint {best['tdf']['checkpoint_s']} s; pipeline / bare = "
              f"{best['tdf']['train'] / best['bare']['train']:.3f} (best of each)")
        pairs = pair_ratios(runs["tdf"], runs["bare"])
        print(f"pair by pair (tdf run r / bare run r, adjacent in time), {len(pairs)} pairs: median "
              f"{np.median(pairs):.3f} [{min(pairs):.3f}–{max(pairs):.3f}]; "
              f"{sum(q >= 0.95 for q in pairs)} of {len(pairs)} pairs ≥ 0.95")
        if all("cpu_s" in r for r in runs["tdf"] + runs["bare"]):
            work = [b["cpu_s"] / t["cpu_s"] for t, b in zip(runs["tdf"], runs["bare"])]
            print(f"CPU seconds of the timed epoch (all threads), bare / tdf, pair by pair: median "
                  f"{np.median(work):.3f} [{min(work):.3f}–{max(work):.3f}] (below 1: tdf does more work)")
        for label, _ in kinds:
            if label in ("tdf", "bare"):
                continue
            pairs = pair_ratios(runs[label], runs["bare"])
            own = pair_ratios(runs["tdf"], runs[label])
            print(f"{label}: / bare pair by pair median {np.median(pairs):.3f} [{min(pairs):.3f}–{max(pairs):.3f}]; "
                  f"tdf / {label} pair by pair median {np.median(own):.3f} [{min(own):.3f}–{max(own):.3f}]")


def pair_ratios(tdf_runs: list[dict], bare_runs: list[dict]) -> list[float]:
    """tdf / bare of each round: the two runs of a round ran one after the other, so they share
    most of the machine's state; the best of each kind, taken apart, can pair a fast minute of one
    side with an ordinary minute of the other."""
    return [t["train"] / b["train"] for t, b in zip(tdf_runs, bare_runs)]


if __name__ == "__main__":
    main()
