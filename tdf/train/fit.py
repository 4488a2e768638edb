"""The training loop behind `tdf train` (and `tdf fix`): streamed batches from the store, SGD with
Nesterov momentum, LR ÷10 on a validation-loss plateau (floor 1e-4, as the released code),
optional early stopping with the best weights restored, crash-safe per-epoch checkpoints,
resume, determinism and optional tf.distribute strategies.

`fit_run` is the library entry point; the CLI only parses options and prints.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tdf.atomic import atomic_path, write_json, write_text
from tdf.backend import load_backend
from tdf.console import Output
from tdf.diskspace import ensure_free
from tdf.errors import BadInput
from tdf.train.checkpoint import latest_checkpoint, read_state, save_checkpoint
from tdf.train.config import TrainConfig, config_from_json
from tdf.train.determinism import reseed_epoch, seed_everything
from tdf.train.multiworker import multiworker_task, prepare_multiworker_fit
from tdf.train.precision import precision_policy, resolve_precision
from tdf.train.run import RUN_SCHEMA, RunPaths, data_fingerprint, read_run_json, versions

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_s")

# (cfg, num_classes, frames, mean_skeleton) → an uncompiled keras.Model
ModelBuilder = Callable[[TrainConfig, int, int, np.ndarray], Any]


def build_baseline(cfg: TrainConfig, num_classes: int, frames: int, mean: np.ndarray):
    """The default model: the paper's Res-TCN with the training set's mean skeleton inside
    (`mean` has the input's dims: the store's, or the input recipe's features)."""
    from tdf.model_families import DEFAULT_FAMILY, model_family
    return model_family(DEFAULT_FAMILY).build_for_training(cfg, num_classes, frames, mean)


def default_split_name(store) -> str:
    """The split used when none is given (tdf.data.splits.default_split_name)."""
    from tdf.data.splits import default_split_name as default
    return default(store)


def resolve_jit(jit: bool | None) -> bool:
    """`None` = auto: XLA on when an accelerator is visible; off on CPU, where it is slower
    (bench/train_throughput.py)."""
    if jit is not None:
        return bool(jit)
    import keras
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


def make_strategy(kind: str):
    """A tf.distribute strategy for `--distribute`, or None."""
    if kind == "none":
        return None
    import keras
    if keras.backend.backend() != "tensorflow":
        raise BadInput(f"--distribute {kind} needs the TensorFlow backend (KERAS_BACKEND={keras.backend.backend()})")
    import tensorflow as tf
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        multiworker_task()  # a clear error for a missing or malformed TF_CONFIG
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise BadInput(f"unknown --distribute {kind!r}")


def check_tensorboard() -> None:
    """`--tensorboard` writes with the tensorboard package's summary ops: refuse early without it."""
    import importlib.util
    if importlib.util.find_spec("tensorboard") is None:
        raise BadInput("--tensorboard needs the tensorboard package (pip install tensorboard)")


def _history_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    buf.write(",".join(HISTORY_COLUMNS) + "\n")
    for r in rows:
        buf.write(",".join("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]))
                           for c in HISTORY_COLUMNS) + "\n")
    return buf.getvalue()


def _progress_callback(output: Output, cfg: TrainConfig, steps: int, batch_size: int):
    import keras

    class RichProgress(keras.callbacks.Callback):
        """Per-step progress on stderr: loss, accuracy, lr, samples/s."""

        def __init__(self):
            super().__init__()
            self.progress = None
            self.task = None

        def on_train_begin(self, logs=None):
            self._cm = output.progress()
            self.progress = self._cm.__enter__()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.task = self.progress.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps, info="")

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            dt = max(time.perf_counter() - self.t0, 1e-9)
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.progress.update(self.task, completed=batch + 1, info=(
                f"loss {logs.get('loss', float('nan')):.4f} acc {logs.get('accuracy', float('nan')):.3f} "
                f"lr {lr:.0e} {(batch + 1) * batch_size / dt:.0f} samples/s"))

        def on_epoch_end(self, epoch, logs=None):
            self.progress.remove_task(self.task)

        def on_train_end(self, logs=None):
            self._cm.__exit__(None, None, None)

    return RichProgress()


def _loop_callback(paths: RunPaths, cfg: TrainConfig, state: dict, train_batches, n_train: int,
                   has_val: bool, output: Output):
    import keras

    class LoopState(keras.callbacks.Callback):
        """LR plateau schedule, early stopping, best weights, history and checkpoints — with all
        their state in one dict that the checkpoint saves, so resume restores it exactly."""

        def on_epoch_begin(self, epoch, logs=None):
            reseed_epoch(self.model, cfg.seed, epoch)
            train_batches.set_epoch(epoch)
            if cfg.lr_schedule == "cosine":  # a function of the epoch alone: resume-safe
                state["lr"] = cosine_lr(cfg.lr, epoch, cfg.epochs)
            self.model.optimizer.learning_rate.assign(state["lr"])
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            seconds = time.perf_counter() - self.t0
            row = {"epoch": epoch + 1, "loss": float(logs.get("loss", math.nan)),
                   "accuracy": float(logs.get("accuracy", math.nan)),
                   "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                   "val_accuracy": float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                   "lr": float(state["lr"]), "seconds": round(seconds, 3),
                   "samples_per_s": round(n_train / max(seconds, 1e-9), 1)}
            state["history"].append(row)
            monitor = row["val_loss"] if has_val else row["loss"]
            if monitor is not None and monitor < state["best"] - 1e-6:
                state["best"], state["best_epoch"] = float(monitor), epoch + 1
                state["wait"], state["es_wait"] = 0, 0
                if cfg.early_stop:
                    with atomic_path(paths.best, force=True) as tmp:
                        best_tmp = tmp.with_name(tmp.name + ".weights.h5")
                        self.model.save_weights(best_tmp)
                        os.replace(best_tmp, tmp)
            else:
                state["wait"] += 1
                state["es_wait"] += 1
            lr_changed = (cfg.lr_schedule == "plateau" and state["wait"] >= cfg.patience
                          and state["lr"] > cfg.min_lr * (1 + 1e-9))
            if lr_changed:  # takes effect from the next epoch (on_epoch_begin assigns it)
                state["lr"] = max(state["lr"] / 10.0, cfg.min_lr)
                state["wait"] = 0
            if cfg.early_stop and state["es_wait"] >= cfg.early_stop:
                state["stopped_early"] = True
                self.model.stop_training = True
            state["epoch"] = epoch + 1
            history = _history_csv(state["history"])
            save_checkpoint(paths.checkpoints, epoch + 1, self.model, state, history)
            write_text(paths.history, history)
            val = "" if row["val_loss"] is None else f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.3f}"
            output.log(f"epoch {epoch + 1}/{cfg.epochs}  loss {row['loss']:.4f}  acc {row['accuracy']:.3f}"
                       f"{val}  lr {row['lr']:.0e}  {row['samples_per_s']:.0f} samples/s")
            if lr_changed:  # logged after the epoch it follows, naming the epoch it applies to
                watched = "val_loss" if has_val else "training loss"
                output.log(f"  learning rate → {state['lr']:.0e} from epoch {epoch + 2} (no {watched} "
                           f"improvement for {cfg.patience} epoch{'s' if cfg.patience > 1 else ''})")

    return LoopState()


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The cosine schedule: lr · ½(1 + cos(π · epoch / epochs)) for 0-based `epoch`."""
    return float(lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1))))


@dataclass
class PreparedData:
    """The split, frame counts, input recipe and mean input of a run, computed (and every row the
    run will read checked finite) before anything is written or the backend is loaded.
    `read_frames`: frames read per sample from the store; `frames`: the model's."""

    split: Any
    frames: int
    mean: np.ndarray
    recipe: Any = None
    read_frames: int | None = None


def prepare_data(store, data_path: Path, cfg: TrainConfig, recorded_input: dict | None = None) -> PreparedData:
    """Resolve the split and check the data: the training rows are read for the mean skeleton
    (and, with an input recipe, its feature scales), the validation and test rows are scanned;
    `Store.read` names any non-finite sample. `recorded_input`: a resumed run's recipe, reused."""
    from tdf.data.model_input import fit_recipe, input_mean, recipe_for, recipe_from_json
    from tdf.data.splits import make_split
    from tdf.data.stats import mean_skeleton
    from tdf.data.validate import scan_finite
    from tdf.data.splits import SPLITS, applicable_splits, parse_field_split, stored_splits
    cfg.split = cfg.split or default_split_name(store)
    if cfg.split not in SPLITS and parse_field_split(cfg.split) is None and cfg.split not in stored_splits(store):
        source = getattr(cfg, "split_source", None)
        raise BadInput(f"split {cfg.split!r} is not a split of data {data_path}; it offers "
                       f"{', '.join(applicable_splits(store))} (or FIELD:VALUES, e.g. subject:1,3,5,7)", source)
    split = make_split(store, cfg.split, seed=cfg.seed, val_fraction=cfg.val_fraction)
    if len(split.train) == 0:
        raise BadInput(f"split {cfg.split!r} leaves no training samples", data_path)
    read_frames = int(cfg.max_frames or store.T)
    recipe = recipe_from_json(recorded_input) if recorded_input else None
    if recipe is None:
        recipe = fit_recipe(recipe_for(cfg, store), store, split.train)
    if recipe.is_raw:
        mean = mean_skeleton(store, split.train)
    else:
        mean = input_mean(store, recipe, split.train)
    scan_finite(store, np.concatenate([split.val, split.test]))
    return PreparedData(split, recipe.out_frames(read_frames), mean, recipe, read_frames)


@dataclass
class ResumePlan:
    """What `--resume` found in a run, all checked before anything is written."""

    info: dict[str, Any]
    cfg: TrainConfig
    ckpt: Path | None            # None: killed during its first epoch, start at epoch 0
    state: dict[str, Any] | None
    model: Any                   # the checkpoint's model, loaded (and so checked)
    complete: bool               # run.json says the run finished
    done: bool                   # finished and nothing to add: leave it as it is


def plan_resume(root: Path, store, data_path: Path, extend_to: int | None = None) -> ResumePlan:
    """Check a run can be resumed on this data: run.json, the data fingerprint, LATEST and the
    checkpoint it names (state and model). Raises BadInput without writing anything.
    `extend_to`: a larger epoch budget asked for on the command line; None keeps the run's."""
    from tdf.train.run import check_model_matches_data, load_model
    paths = RunPaths(root)
    info = read_run_json(root)
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise BadInput("has no 'config' object; not a run that can be resumed", paths.run_json)
    saved = config_from_json(info["config"], paths.run_json)
    # The options that shape the model, the data and the randomness come from the run;
    # only the epoch budget may be extended on resume.
    if extend_to is not None:
        saved.epochs = max(saved.epochs, int(extend_to))
    if info.get("data_fingerprint") != data_fingerprint(store):
        raise BadInput(f"data {data_path} is not the data run {root} was trained on "
                       f"(fingerprint {data_fingerprint(store)} ≠ {info.get('data_fingerprint')})")
    complete = info.get("status") == "complete"
    ckpt = latest_checkpoint(paths.checkpoints)
    if ckpt is None:
        if complete or paths.model.exists():
            raise BadInput("is a finished run without checkpoints/LATEST; it cannot be resumed "
                           "(use --force to train it again)", root)
        return ResumePlan(info, saved, None, None, None, complete=False, done=False)
    state = read_state(ckpt)
    done = complete and paths.model.is_file() and (state["epoch"] >= saved.epochs or state["stopped_early"])
    if done:
        return ResumePlan(info, saved, ckpt, state, None, complete=True, done=True)
    model = load_model(ckpt / "model.keras", compile=True)
    check_model_matches_data(model, store, info, ckpt / "model.keras")
    return ResumePlan(info, saved, ckpt, state, model, complete=complete, done=False)


def fit_run(data_path: str | os.PathLike, out_dir: str | os.PathLike, cfg: TrainConfig, *,
            resume: bool = False, force: bool = False, output: Output | None = None,
            build_model: ModelBuilder | None = None, kind: str = "res_tcn",
            run_extra: dict[str, Any] | None = None, evaluate: bool = True,
            finish: Callable[[Path, dict[str, Any]], None] | None = None,
            reads: Sequence[str | os.PathLike] = (),
            tensorboard: str | os.PathLike | None = None,
            resume_epochs: int | None = None, recorded_input: dict[str, Any] | None = None,
            _worker: bool = False) -> dict[str, Any]:
    """Train a model on a store into a run folder; returns the summary printed by `tdf train`.

    The folder is written under tdf.outputs' rule: a new run in place (a killed run can be
    resumed); a replacement (`force`) or the extension of a finished run (`resume` with more
    epochs) is built beside the old run and swapped in only when complete. `resume` of an
    unfinished run continues in place and rewrites run.json only when it completes.
    `finish(folder, summary)` runs on the finished folder before it is swapped in (`tdf fix`
    writes its comparison there, so the fix is replaced as a whole). `reads`: other inputs (the
    baseline run of a fix), which an output that contains them may never replace.
    `tensorboard`: a folder for TensorBoard event files (Keras' callback: loss, accuracy and
    learning rate per epoch, for training and validation). `resume_epochs`: with `resume`, a
    larger epoch budget than the run's (`tdf train --resume --epochs N`); None keeps the run's
    own, so resuming never trains longer than the run was set up to. `recorded_input`: an input
    recipe to reuse as it is (a fix takes its baseline's, so both see the same input).

    The data are checked (split, every row finite) before anything but the folder's marker is
    written, and the backend is imported only after that, so bad input never waits for
    TensorFlow and a failed start leaves no trace.
    """
    from tdf.data.store import open_store
    from tdf.outputs import OutputFolder

    if resume and force:
        raise BadInput("give either --resume or --force, not both")
    if tensorboard is not None:
        check_tensorboard()
    output = output or Output(quiet=True)
    data_path = Path(data_path)
    if cfg.distribute == "multiworker" and not _worker and not multiworker_task()[2]:
        # Every worker runs the same steps (collective ops); only the chief writes --out.
        return _fit_as_worker(data_path, out_dir, cfg, resume=resume, force=force, output=output,
                              build_model=build_model, kind=kind, run_extra=run_extra, evaluate=evaluate,
                              finish=finish, reads=reads, resume_epochs=resume_epochs,
                              recorded_input=recorded_input)
    store = open_store(data_path)
    try:
        ensure_free(_existing_parent(Path(out_dir)), 0, f"the run {Path(out_dir).name} (checkpoints are HDF5)")
        with OutputFolder(out_dir, "fix" if kind == "ms_res_tcn" else "run", inputs=[data_path, *reads]) as folder:
            plan = None
            if resume:
                if folder.empty:
                    read_run_json(out_dir)  # the clear "not found" / "not a run folder" error
                plan = plan_resume(folder.out, store, data_path, resume_epochs)
                if plan.done:
                    output.log(f"run {out_dir} is already complete ({plan.state['epoch']} epochs); "
                               f"nothing to do")
                    summary = _summary_of(plan.info, out_dir)
                    if finish is not None:
                        finish(folder.resume(), summary)
                    return summary
                prepared = prepare_data(store, data_path, plan.cfg, plan.info.get("input"))
                if plan.complete:  # more epochs for a finished run: build them beside it
                    work = folder.replace(copy_old=True)
                    plan.ckpt = work / "checkpoints" / plan.ckpt.name
                else:
                    work = folder.resume()
            else:
                work = folder.create(force=force, in_place=True, hint=" (or --resume to continue it)")
                # before anything but the marker is written: a failure leaves no trace (tdf.outputs)
                prepared = prepare_data(store, data_path, cfg, recorded_input)
            summary = _fit(store, data_path, work, Path(out_dir), cfg, plan, prepared, output,
                           build_model or build_baseline, kind, run_extra, evaluate, tensorboard)
            if finish is not None:
                finish(work, summary)
            return summary
    finally:
        store.close()


def _fit_as_worker(data_path: Path, out_dir, cfg: TrainConfig, *, resume: bool, **kwargs) -> dict[str, Any]:
    """A non-chief worker of `--distribute multiworker`: the same training into a temporary
    folder (a copy of the chief's run when resuming), removed afterwards, so --out and its lock
    belong to the chief alone."""
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tdf-worker-") as tmp:
        work = Path(tmp) / Path(out_dir).name
        if resume and Path(out_dir).is_dir():
            shutil.copytree(out_dir, work, ignore=shutil.ignore_patterns(".*tdf-lock"))
        summary = fit_run(data_path, work, cfg, resume=resume, _worker=True, **kwargs)
    summary["run"] = str(out_dir)
    summary["worker"] = True
    return summary


def _existing_parent(path: Path) -> Path:
    """The nearest folder of `path` (itself included) that exists (for the free-space check)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _summary_of(info: dict[str, Any], out_dir) -> dict[str, Any]:
    """The summary of a finished run, from its run.json and metrics.json (nothing is recomputed
    or written)."""
    from tdf.train.evaluate import read_own_metrics
    summary = {"run": str(out_dir), "kind": info.get("kind"), "epochs_run": info.get("epochs_run"),
               "best_epoch": info.get("best_epoch"), "stopped_early": info.get("stopped_early"),
               "parameters": info.get("parameters"), "split": (info.get("split") or {}).get("name"),
               "history": None}
    metrics, _ = read_own_metrics(out_dir, info)
    if metrics is not None:
        summary["metrics"] = {k: metrics.get(k) for k in ("split", "n", "top1", "top5", "mean_class_accuracy")}
    return summary


def _fit(store, data_path: Path, work: Path, out_dir: Path, cfg: TrainConfig, plan: ResumePlan | None,
         prepared: PreparedData, output: Output, build_model: ModelBuilder, kind: str,
         run_extra: dict[str, Any] | None, evaluate: bool, tensorboard=None) -> dict[str, Any]:
    """Train into `work` (the run folder itself, or its staging folder)."""
    from tdf.data.splits import no_val_reason
    strategy = None
    if cfg.distribute == "multiworker":
        # MultiWorkerMirroredStrategy configures collective ops: before the runtime starts.
        from tdf.backend import quiet_import_backend
        from tdf.console import get_output
        quiet_import_backend(debug=get_output().debug, init=False)
        strategy = make_strategy(cfg.distribute)
    load_backend()  # quietly, and only now that the input is known to be good
    import keras

    from tdf.data.batches import SkeletonBatches

    paths = RunPaths(work)
    in_place_resume = plan is not None and work == Path(os.path.abspath(out_dir))
    if plan is not None:
        cfg = plan.cfg
    split, frames, mean = prepared.split, prepared.frames, prepared.mean
    split_name = cfg.split
    jit = resolve_jit(cfg.jit)
    precision = resolve_precision(cfg.precision)
    seed_everything(cfg.seed, deterministic_ops=not jit)

    run_info: dict[str, Any] = {
        "schema": RUN_SCHEMA, "kind": kind, "status": "training",
        "data": str(data_path.resolve()), "data_fingerprint": data_fingerprint(store),
        "class_names": store.class_names, "joint_layout": store.layout.name,
        "layout": store.layout.to_toml(),
        "num_classes": store.num_classes, "frames": frames, "split": split.to_json(),
        "seed": cfg.seed, "config": cfg.to_json(), "input": prepared.recipe.to_json(),
        "versions": versions(),
        "jit": jit, "deterministic_ops": not jit, "precision": precision,
        "determinism": ("seeded, TensorFlow op determinism on: the same seed gives identical metrics on CPU"
                        if not jit else
                        "seeded, op determinism off (Keras turns XLA off under it): identical metrics "
                        "are not guaranteed"),
    }
    if plan is not None:
        for k in ("started", "groups", "baseline_run", "diagnosis", "init", "kind"):
            if k in plan.info:
                run_info[k] = plan.info[k]
    run_info.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    run_info.update(run_extra or {})

    if strategy is None:
        strategy = make_strategy(cfg.distribute)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    run_info["replicas"] = replicas
    if cfg.distribute == "multiworker":
        task, index, _ = multiworker_task()
        cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        run_info["cluster"] = {"tasks": sum(len(v) for v in cluster.values()), "written_by": f"{task}:{index}"}
    if cfg.batch_size % replicas:
        raise BadInput(f"--batch-size {cfg.batch_size} is not divisible by the {replicas} devices")

    def build_and_compile():
        if plan is not None and plan.ckpt is not None:
            if strategy is None:
                return plan.model
            from tdf.train.run import load_model
            return load_model(plan.ckpt / "model.keras", compile=True)
        with precision_policy(precision):
            model = build_model(cfg, store.num_classes, frames, mean)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=cfg.lr, momentum=cfg.momentum, nesterov=True),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"],
            jit_compile=run_info["jit"])
        return model

    if strategy is not None:
        with strategy.scope():
            model = build_and_compile()
    else:
        model = build_and_compile()
    if not in_place_resume:
        # A resumed run keeps its run.json until it completes; a new one is marked "training".
        write_json(paths.run_json, run_info)

    state: dict[str, Any] = {"epoch": 0, "lr": cfg.lr, "best": math.inf, "best_epoch": 0,
                             "wait": 0, "es_wait": 0, "stopped_early": False, "history": []}
    if plan is not None and plan.state is not None:
        state = plan.state
        output.log(f"resuming {out_dir} after epoch {state['epoch']} (lr {state['lr']:.0e})")
    # Under a tf.distribute strategy every replica needs an equal share of each batch, so
    # batches are full-size only (the remainder of an epoch is skipped; it changes each epoch).
    even = strategy is not None
    recipe = None if prepared.recipe.is_raw else prepared.recipe
    read_frames = prepared.read_frames or frames
    train_batches = SkeletonBatches(data_path, split.train, batch_size=cfg.batch_size, frames=read_frames,
                                    shuffle=True, seed=cfg.seed, drop_remainder=even, recipe=recipe,
                                    training=True)
    val_batches = None
    if len(split.val) >= (cfg.batch_size if even else 1):
        val_batches = SkeletonBatches(data_path, split.val, batch_size=cfg.batch_size, frames=read_frames,
                                      shuffle=False, seed=cfg.seed, drop_remainder=even, recipe=recipe)
    else:
        why = (no_val_reason(store, split) if len(split.val) == 0 else
               f"{len(split.val)} validation samples make no full batch of {cfg.batch_size} for {replicas} devices")
        stop = f" and early stopping (after {cfg.early_stop})" if cfg.early_stop else ""
        output.warn(f"no validation data: {why}. The LR schedule (÷10 after {cfg.patience} epochs without "
                    f"improvement){stop} will watch the training loss instead, and the best epoch is the one "
                    f"with the lowest training loss.")
    callbacks = [_loop_callback(paths, cfg, state, train_batches, len(split.train), val_batches is not None, output)]
    if tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard), histogram_freq=0,
                                                     write_graph=False, update_freq="epoch"))
    if not output.quiet:
        callbacks.append(_progress_callback(output, cfg, len(train_batches), cfg.batch_size))

    output.log(f"training {kind} on {data_path.name}: {len(split.train)} train / {len(split.val)} val / "
               f"{len(split.test)} test samples ({split_name}), {frames} frames, "
               f"{model.count_params():,} parameters, {replicas} device(s)")
    if cfg.distribute == "multiworker":
        prepare_multiworker_fit(model, strategy, train_batches)
    t0 = time.perf_counter()
    if state["epoch"] < cfg.epochs and not state.get("stopped_early"):
        model.fit(train_batches, validation_data=val_batches, epochs=cfg.epochs,
                  initial_epoch=state["epoch"], callbacks=callbacks, verbose=0, shuffle=False)
    train_seconds = time.perf_counter() - t0
    if cfg.early_stop and state["best_epoch"] and paths.best.is_file():
        model.load_weights(paths.best)
    with atomic_path(paths.model, force=True) as tmp:
        tmp_model = tmp.with_name(tmp.name + ".keras")
        model.save(tmp_model)
        os.replace(tmp_model, tmp)
    write_text(paths.history, _history_csv(state["history"]))

    summary: dict[str, Any] = {"run": str(out_dir), "kind": kind, "epochs_run": state["epoch"],
                               "best_epoch": state["best_epoch"], "stopped_early": state["stopped_early"],
                               "parameters": int(model.count_params()), "split": split_name,
                               "history": state["history"][-1] if state["history"] else None}
    if evaluate and len(split.test):
        from tdf.train.evaluate import evaluate_model
        from tdf.data.model_input import InputView
        seen = store if recipe is None else InputView(store, recipe, read_frames)
        metrics = evaluate_model(model, seen, split.test, "test", paths, frames=frames,
                                 batch_size=cfg.batch_size, output=output, name=out_dir.name)
        summary["metrics"] = {k: metrics[k] for k in ("split", "n", "top1", "top5", "mean_class_accuracy")}
    # run.json last: "complete" only once the model and its metrics are in place.
    run_info.update({"status": "complete", "epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
                     "stopped_early": state["stopped_early"], "final_lr": state["lr"],
                     "train_seconds_this_session": round(train_seconds, 2),
                     "parameters": int(model.count_params())})
    write_json(paths.run_json, run_info)
    return summary
