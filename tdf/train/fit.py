"""The training loop behind `tdf train` (and `tdf fix`): streamed batches from the store, SGD with
Nesterov momentum, LR ÷10 on a validation-loss plateau (floor 1e-4, as the released code),
optional early stopping with the best weights restored, crash-safe per-epoch checkpoints,
resume, determinism and optional tf.distribute strategies.

`fit_run` is the library entry point; the CLI only parses options and prints.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tdf.atomic import write_json, write_text
from tdf.backend import load_backend
from tdf.console import Output
from tdf.diskspace import ensure_free
from tdf.errors import BadInput
from tdf.train.callbacks import history_csv, loop_callback, progress_callback
from tdf.train.checkpoint import latest_checkpoint, load_checkpoint_model, read_state
from tdf.train_config import TrainConfig, config_from_json
from tdf.train.determinism import seed_everything
from tdf.train.feed import fit_input
from tdf.train.multiworker import multiworker_task, prepare_multiworker_fit
from tdf.train.precision import precision_policy, resolve_precision
from tdf.run_folder import RUN_SCHEMA, RunPaths, data_fingerprint, read_run_json, versions

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
    from tdf.run_folder import check_model_matches_data
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
    model = load_checkpoint_model(ckpt)
    check_model_matches_data(model, store, info, ckpt)
    return ResumePlan(info, saved, ckpt, state, model, complete=complete, done=False)


def fit_run(data_path: str | os.PathLike, out_dir: str | os.PathLike, cfg: TrainConfig, *,
            resume: bool = False, force: bool = False, output: Output | None = None,
            build_model: ModelBuilder | None = None, kind: str = "res_tcn",
            run_extra: dict[str, Any] | None = None, evaluate: bool = True,
            finish: Callable[[Path, dict[str, Any]], None] | None = None,
            reads: Sequence[str | os.PathLike] = (),
            tensorboard: str | os.PathLike | None = None, cache_mb: int | None = None,
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
    `cache_mb`: memory for decoded samples, so epochs after the first do not read the store
    again (tdf.data.sample_cache; None: automatic, 0: none); batches and metrics do not depend
    on it.

    The data are checked (split, every row finite) before anything but the folder's marker is
    written, and the backend is imported only after that, so bad input never waits for
    TensorFlow and a failed start leaves no trace.
    """
    from tdf.data.sample_cache import resolve_budget_mb
    from tdf.data.store import open_store
    from tdf.outputs import OutputFolder

    if resume and force:
        raise BadInput("give either --resume or --force, not both")
    if tensorboard is not None:
        check_tensorboard()
    cache_mb = resolve_budget_mb(cache_mb)
    output = output or Output(quiet=True)
    data_path = Path(data_path)
    if cfg.distribute == "multiworker" and not _worker and not multiworker_task()[2]:
        # Every worker runs the same steps (collective ops); only the chief writes --out.
        return _fit_as_worker(data_path, out_dir, cfg, resume=resume, force=force, output=output,
                              build_model=build_model, kind=kind, run_extra=run_extra, evaluate=evaluate,
                              finish=finish, reads=reads, resume_epochs=resume_epochs, cache_mb=cache_mb,
                              recorded_input=recorded_input)
    store = open_store(data_path)
    try:
        ensure_free(_existing_parent(Path(out_dir)), 0, f"the run {Path(out_dir).name} (checkpoints are HDF5)")
        with OutputFolder(out_dir, "fix" if kind == "ms_res_tcn" else "run", inputs=[data_path, *reads]) as folder:
            work, plan, prepared = _open_work(folder, Path(out_dir), store, data_path, cfg, resume=resume,
                                              force=force, resume_epochs=resume_epochs,
                                              recorded_input=recorded_input)
            if prepared is None:  # resuming a run that is already complete
                output.log(f"run {out_dir} is already complete ({plan.state['epoch']} epochs); nothing to do")
                summary = _summary_of(plan.info, out_dir)
                if finish is not None:
                    finish(folder.resume(), summary)
                return summary
            summary = _fit(store, data_path, work, Path(out_dir), cfg, plan, prepared, output,
                           build_model or build_baseline, kind, run_extra, evaluate, tensorboard, cache_mb)
            if finish is not None:
                finish(work, summary)
            return summary
    finally:
        store.close()


def _open_work(folder, out_dir: Path, store, data_path: Path, cfg: TrainConfig, *, resume: bool, force: bool,
               resume_epochs: int | None, recorded_input: dict[str, Any] | None
               ) -> tuple[Path | None, ResumePlan | None, PreparedData | None]:
    """(the folder to train in, the resume plan — None for a new run —, the checked data).
    A run asked to resume that is already complete: (None, its plan, None), nothing touched."""
    if not resume:
        work = folder.create(force=force, in_place=True, hint=" (or --resume to continue it)")
        # before anything but the marker is written: a failure leaves no trace (tdf.outputs)
        return work, None, prepare_data(store, data_path, cfg, recorded_input)
    if folder.empty:
        read_run_json(out_dir)  # the clear "not found" / "not a run folder" error
    plan = plan_resume(folder.out, store, data_path, resume_epochs)
    if plan.done:
        return None, plan, None
    prepared = prepare_data(store, data_path, plan.cfg, plan.info.get("input"))
    if plan.complete:  # more epochs for a finished run: build them beside it
        work = folder.replace(copy_old=True)
        plan.ckpt = work / "checkpoints" / plan.ckpt.name
    else:
        work = folder.resume()
    return work, plan, prepared


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
         run_extra: dict[str, Any] | None, evaluate: bool, tensorboard=None,
         cache_mb: int = 0) -> dict[str, Any]:
    """Train into `work` (the run folder itself, or its staging folder)."""
    strategy = _start_backend(cfg)
    paths = RunPaths(work)
    if plan is not None:
        cfg = plan.cfg
    jit = resolve_jit(cfg.jit)
    precision = resolve_precision(cfg.precision)
    seed_everything(cfg.seed, deterministic_ops=not jit)
    run_info = _new_run_info(store, data_path, cfg, plan, prepared, kind, run_extra, jit, precision)
    run_info["data_cache"] = {"budget_mb": cache_mb}
    if strategy is None:
        strategy = make_strategy(cfg.distribute)
    replicas = _record_devices(run_info, cfg, strategy)
    model = _compiled_model(cfg, plan, strategy, build_model, store.num_classes, prepared, precision, jit)
    if not (plan is not None and work == Path(os.path.abspath(out_dir))):
        # A resumed run keeps its run.json until it completes; a new one is marked "training".
        write_json(paths.run_json, run_info)
    state = _start_state(cfg, plan, out_dir, output)
    train_batches, val_batches = _batches(store, data_path, prepared, cfg, strategy is not None, replicas, output,
                                          cache_mb)
    callbacks = _callbacks(paths, cfg, state, train_batches, len(prepared.split.train), val_batches, tensorboard,
                           output)
    split = prepared.split
    output.log(f"training {kind} on {data_path.name}: {len(split.train)} train / {len(split.val)} val / "
               f"{len(split.test)} test samples ({cfg.split}), {prepared.frames} frames, "
               f"{model.count_params():,} parameters, {replicas} device(s)")
    train_seconds = _train(model, cfg, strategy, state, train_batches, val_batches, callbacks)
    if train_batches.cache is not None:
        run_info["data_cache"] = train_batches.cache.stats()
    _save_model(model, paths, cfg, state)
    summary: dict[str, Any] = {"run": str(out_dir), "kind": kind, "epochs_run": state["epoch"],
                               "best_epoch": state["best_epoch"], "stopped_early": state["stopped_early"],
                               "parameters": int(model.count_params()), "split": cfg.split,
                               "history": state["history"][-1] if state["history"] else None}
    if evaluate and len(split.test):
        summary["metrics"] = _evaluate(model, store, prepared, paths, cfg, output, out_dir.name)
    # run.json last: "complete" only once the model and its metrics are in place.
    run_info.update({"status": "complete", "epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
                     "stopped_early": state["stopped_early"], "final_lr": state["lr"],
                     "train_seconds_this_session": round(train_seconds, 2),
                     "parameters": int(model.count_params())})
    write_json(paths.run_json, run_info)
    return summary


def _start_backend(cfg: TrainConfig):
    """Load the backend (quietly, and only now that the input is known to be good); a
    multi-worker strategy is made before the runtime starts (it configures collective ops),
    and returned; otherwise None."""
    strategy = None
    if cfg.distribute == "multiworker":
        from tdf.backend import quiet_import_backend
        from tdf.console import get_output
        quiet_import_backend(debug=get_output().debug, init=False)
        strategy = make_strategy(cfg.distribute)
    load_backend()
    return strategy


def _new_run_info(store, data_path: Path, cfg: TrainConfig, plan: ResumePlan | None, prepared: PreparedData,
                  kind: str, run_extra: dict[str, Any] | None, jit: bool, precision: str) -> dict[str, Any]:
    """run.json of this training session, marked "training" (a resumed run keeps its own
    start time, targets and kind)."""
    run_info: dict[str, Any] = {
        "schema": RUN_SCHEMA, "kind": kind, "status": "training",
        "data": str(data_path.resolve()), "data_fingerprint": data_fingerprint(store),
        "class_names": store.class_names, "joint_layout": store.layout.name,
        "layout": store.layout.to_toml(),
        "num_classes": store.num_classes, "frames": prepared.frames, "split": prepared.split.to_json(),
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
    return run_info


def _record_devices(run_info: dict[str, Any], cfg: TrainConfig, strategy) -> int:
    """Record the replicas (and a multi-worker cluster) in run_info; check the batch splits evenly."""
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    run_info["replicas"] = replicas
    if cfg.distribute == "multiworker":
        task, index, _ = multiworker_task()
        cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        run_info["cluster"] = {"tasks": sum(len(v) for v in cluster.values()), "written_by": f"{task}:{index}"}
    if cfg.batch_size % replicas:
        raise BadInput(f"--batch-size {cfg.batch_size} is not divisible by the {replicas} devices")
    return replicas


def _compiled_model(cfg: TrainConfig, plan: ResumePlan | None, strategy, build_model: ModelBuilder,
                    num_classes: int, prepared: PreparedData, precision: str, jit: bool):
    """The model to train: the checkpoint's when resuming, else a new one, compiled (SGD with
    Nesterov momentum), inside the strategy's scope when there is one."""
    import contextlib

    import keras

    def build_and_compile():
        if plan is not None and plan.ckpt is not None:
            if strategy is None:
                return plan.model
            return load_checkpoint_model(plan.ckpt)
        with precision_policy(precision):
            model = build_model(cfg, num_classes, prepared.frames, prepared.mean)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=cfg.lr, momentum=cfg.momentum, nesterov=True),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
        return model

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return build_and_compile()


def _start_state(cfg: TrainConfig, plan: ResumePlan | None, out_dir: Path, output: Output) -> dict[str, Any]:
    """The loop state the checkpoints carry: fresh, or the resumed run's."""
    if plan is not None and plan.state is not None:
        output.log(f"resuming {out_dir} after epoch {plan.state['epoch']} (lr {plan.state['lr']:.0e})")
        return plan.state
    return {"epoch": 0, "lr": cfg.lr, "best": math.inf, "best_epoch": 0,
            "wait": 0, "es_wait": 0, "stopped_early": False, "history": []}


def _batches(store, data_path: Path, prepared: PreparedData, cfg: TrainConfig, even: bool, replicas: int,
             output: Output, cache_mb: int = 0):
    """Training and validation batches (None without validation data, which is said), reading
    through one sample cache of `cache_mb` MB (0: none).
    Under a tf.distribute strategy (`even`) every replica needs an equal share of each batch, so
    batches are full-size only (the remainder of an epoch is skipped; it changes each epoch)."""
    from tdf.data.batches import SkeletonBatches
    from tdf.data.sample_cache import MB, SampleCache
    from tdf.data.splits import no_val_reason
    cache = SampleCache(cache_mb * MB) if cache_mb > 0 else None
    split = prepared.split
    recipe = None if prepared.recipe.is_raw else prepared.recipe
    read_frames = prepared.read_frames or prepared.frames
    train_batches = SkeletonBatches(data_path, split.train, batch_size=cfg.batch_size, frames=read_frames,
                                    shuffle=True, seed=cfg.seed, drop_remainder=even, recipe=recipe,
                                    training=True, cache=cache)
    if len(split.val) >= (cfg.batch_size if even else 1):
        return train_batches, SkeletonBatches(data_path, split.val, batch_size=cfg.batch_size, frames=read_frames,
                                              shuffle=False, seed=cfg.seed, drop_remainder=even, recipe=recipe,
                                              cache=cache)
    why = (no_val_reason(store, split) if len(split.val) == 0 else
           f"{len(split.val)} validation samples make no full batch of {cfg.batch_size} for {replicas} devices")
    stop = f" and early stopping (after {cfg.early_stop})" if cfg.early_stop else ""
    output.warn(f"no validation data: {why}. The LR schedule (÷10 after {cfg.patience} epochs without "
                f"improvement){stop} will watch the training loss instead, and the best epoch is the one "
                f"with the lowest training loss.")
    return train_batches, None


def _callbacks(paths: RunPaths, cfg: TrainConfig, state: dict, train_batches, n_train: int, val_batches,
               tensorboard, output: Output) -> list:
    """The loop's state keeper, TensorBoard when asked, and progress unless quiet."""
    import keras
    callbacks = [loop_callback(paths, cfg, state, train_batches, n_train, val_batches is not None, output)]
    if tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard), histogram_freq=0,
                                                     write_graph=False, update_freq="epoch"))
    if not output.quiet:
        callbacks.append(progress_callback(output, cfg, len(train_batches), cfg.batch_size))
    return callbacks


def _train(model, cfg: TrainConfig, strategy, state: dict, train_batches, val_batches, callbacks) -> float:
    """Run the remaining epochs (none when the state says the run is done); returns the seconds."""
    if cfg.distribute == "multiworker":
        prepare_multiworker_fit(model, strategy, train_batches)
    t0 = time.perf_counter()
    if state["epoch"] < cfg.epochs and not state.get("stopped_early"):
        model.fit(fit_input(train_batches), validation_data=fit_input(val_batches), epochs=cfg.epochs,
                  validation_freq=cfg.val_every, initial_epoch=state["epoch"], callbacks=callbacks,
                  verbose=0, shuffle=False)
    return time.perf_counter() - t0


def _save_model(model, paths: RunPaths, cfg: TrainConfig, state: dict) -> None:
    """model.keras (the best epoch's weights under early stopping) and history.csv."""
    if cfg.early_stop and state["best_epoch"] and paths.best.is_file():
        model.load_weights(paths.best)
    from tdf.run_folder import save_model
    save_model(model, paths.model)
    write_text(paths.history, history_csv(state["history"]))


def _evaluate(model, store, prepared: PreparedData, paths: RunPaths, cfg: TrainConfig, output: Output,
              name: str) -> dict[str, Any]:
    """Test-split metrics written into the run (metrics.json, predictions.npz); their headline."""
    from tdf.data.model_input import InputView
    from tdf.train.evaluate import evaluate_model
    recipe = None if prepared.recipe.is_raw else prepared.recipe
    seen = store if recipe is None else InputView(store, recipe, prepared.read_frames or prepared.frames)
    metrics = evaluate_model(model, seen, prepared.split.test, "test", paths, frames=prepared.frames,
                             batch_size=cfg.batch_size, output=output, name=name)
    return {k: metrics[k] for k in ("split", "n", "top1", "top5", "mean_class_accuracy")}
