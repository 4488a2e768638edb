"""Evaluate a trained model on a split: `metrics.json`, `predictions.npz` (scores keyed by sample
name), a confusion-matrix PNG, and a table with the worst classes first.

`tdf train` writes the run's own evaluation (its test split) into the run. `tdf evaluate` writes
into a folder of its own — `--out`, or RUN/evaluations/<data>-<fingerprint>[-<split>]/ — and never
into the run's own files; diagnose and fix read the run's own evaluation only after checking it
was computed on the run's own data (`own_metrics`), else they evaluate in memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tdf.atomic import atomic_path, write_json
from tdf.backend import load_backend
from tdf.console import Output
from tdf.errors import BadInput
from tdf.train.metrics import compute_metrics
from tdf.run_folder import (RunPaths, check_model_file, check_model_matches_data, load_model, read_run_json,
                           run_split)

SPLIT_PARTS = ("test", "val", "train", "all")


def predict_scores(model, store, indices: np.ndarray, frames: int, batch_size: int = 64) -> np.ndarray:
    """Class scores [N, C] for the given samples, read from the store batch by batch."""
    from tdf.data.batches import SkeletonBatches
    from tdf.train.feed import fit_input
    indices = np.asarray(indices, np.int64)
    if len(indices) == 0:
        return np.zeros((0, store.num_classes), np.float32)
    from tdf.data.model_input import InputView
    if isinstance(store, InputView):  # the run's input recipe: read the store's frames, transform
        batches = SkeletonBatches(store.path, indices, batch_size=batch_size, frames=store.read_frames,
                                  shuffle=False, recipe=store.recipe)
    else:
        batches = SkeletonBatches(store.path, indices, batch_size=batch_size, frames=frames, shuffle=False)
    scores = model.predict(fit_input(batches), verbose=0)  # not Keras' from_generator: see feed.py
    return np.asarray(scores, np.float32)[: len(indices)]


def split_indices(store, run_info: dict[str, Any] | None, part: str, data_is_run_data: bool) -> np.ndarray:
    """Indices of the run's split part; on a foreign data set `test`/`all` mean every sample."""
    if part not in SPLIT_PARTS:
        raise BadInput(f"--split must be one of {', '.join(SPLIT_PARTS)}, got {part!r}")
    if part == "all":
        return np.arange(store.n)
    if not data_is_run_data or run_info is None:
        if part == "test":
            return np.arange(store.n)
        raise BadInput(f"--split {part} needs the run's own data set", store.path)
    return run_split(store, run_info).part(part)


def save_confusion_png(path: Path, cm: np.ndarray, class_names: list[str], title: str) -> None:
    """Row-normalised confusion matrix as a PNG (rows = true class)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    C = len(class_names)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = min(max(4.0, 0.25 * C + 2), 24)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if C <= 60:
        fs = 8 if C <= 20 else 5
        ax.set_xticks(range(C), class_names, rotation=90, fontsize=fs)
        ax.set_yticks(range(C), class_names, fontsize=fs)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def score_split(model, store, indices: np.ndarray, split: str, frames: int, batch_size: int = 64,
                output: Output | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics and scores [N, C] of `indices`, in memory (nothing is written)."""
    from tdf.run_folder import data_fingerprint
    output = output or Output(quiet=True)
    output.log(f"evaluating on {len(indices)} {split} samples")
    scores = predict_scores(model, store, indices, frames, batch_size)
    labels = store.label[indices]
    metrics = compute_metrics(scores, labels, store.class_names, split)
    metrics["data"] = str(Path(store.path).resolve())
    metrics["data_fingerprint"] = data_fingerprint(store)
    return metrics, scores


def evaluate_model(model, store, indices: np.ndarray, split: str, paths: RunPaths, frames: int,
                   batch_size: int = 64, output: Output | None = None, name: str | None = None) -> dict[str, Any]:
    """Score `indices`, write metrics/predictions/confusion PNG into `paths`, return the metrics.
    `name` titles the confusion matrix (default: the folder's name)."""
    metrics, scores = score_split(model, store, indices, split, frames, batch_size, output)
    names = np.array([store.names[i] for i in indices])
    write_evaluation(paths, split, metrics, names, scores, store.label[indices],
                     f"{name or paths.root.name}: {split} (n={len(indices)})")
    return metrics


def write_evaluation(paths: RunPaths, split: str, metrics: dict[str, Any], names: np.ndarray, scores: np.ndarray,
                     labels: np.ndarray, title: str) -> None:
    """metrics.json, predictions.npz (names, scores, labels, class_names) and confusion.png of
    `split` into `paths` — what an evaluation, a run's own test and a fusion hold."""
    write_json(paths.metrics(split), metrics)
    with atomic_path(paths.predictions(split), force=True) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, names=names, scores=np.asarray(scores, np.float32), labels=np.asarray(labels, np.int32),
                     class_names=np.array(metrics["class_names"]))
    save_confusion_png(paths.confusion_png(split), np.array(metrics["confusion_matrix"]), metrics["class_names"],
                       title)


def _metrics_types_ok(m: dict) -> bool:
    """The fields the diagnosis, the fix's comparison and the report read, with their types (a
    hand-edited metrics.json must not fail only after a fix has trained)."""
    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return (isinstance(m["n"], int) and not isinstance(m["n"], bool)
            and all(number(m.get(k)) for k in ("top1", "top5", "mean_class_accuracy"))
            and isinstance(m["per_class_accuracy"], dict)
            and all(v is None or number(v) for v in m["per_class_accuracy"].values())
            and isinstance(m["confusion_matrix"], list)
            and all(isinstance(r, list) and all(number(v) for v in r) for r in m["confusion_matrix"]))


def read_own_metrics(run_dir: str | os.PathLike, info: dict[str, Any], n: int | None = None) -> tuple[dict | None, str]:
    """The run's own `metrics.json` (its test split, written by `tdf train`) when it was computed
    on the run's own data: (metrics, "") or (None, why not).

    Checked by the data fingerprint it records; a metrics.json of an older tdf (no fingerprint)
    must name the run's data file and have the test split's size — an older `tdf evaluate RUN
    OTHER.h5` overwrote it with another data set's numbers (issue 14).
    """
    path = RunPaths(run_dir).metrics()
    if not path.is_file():
        return None, f"{path} is missing"
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None, f"{path} is not valid JSON"
    if not isinstance(m, dict) or not {"n", "per_class_accuracy", "confusion_matrix"} <= set(m) \
            or not _metrics_types_ok(m):
        return None, f"{path} is not a tdf metrics file"
    if m.get("class_names") is not None and list(m["class_names"]) != list(info.get("class_names") or []):
        return None, f"{path} has other classes than the run"
    if "data_fingerprint" in m:
        if m["data_fingerprint"] != info.get("data_fingerprint"):
            return None, f"{path} was computed on other data ({m.get('data')})"
    elif m.get("data") != info.get("data") or (n is not None and m.get("n") != n):
        return None, f"{path} was computed on other data ({m.get('data')}, n = {m.get('n')})"
    return m, ""


def own_metrics(run_dir, info: dict[str, Any], model, store, indices: np.ndarray, split: str, frames: int,
                output: Output | None = None) -> dict[str, Any]:
    """The metrics of the run's own `split`: its metrics.json when that checks out (test split),
    else computed now, in memory — the run folder is never written."""
    output = output or Output(quiet=True)
    if split == "test":
        m, why = read_own_metrics(run_dir, info, n=len(indices))
        if m is not None:
            return m
        output.warn(f"{why}: evaluating the run's own test split now (the run is not modified)")
    return score_split(model, store, indices, split, frames, output=output)[0]


def evaluation_folder(run_dir: str | os.PathLike, data_path: str | os.PathLike, fingerprint: str,
                      split: str) -> Path:
    """Where `tdf evaluate RUN [DATA]` writes without `--out`: RUN/evaluations/<data>-<fingerprint>[-<split>]/,
    a folder evaluate owns; the run's own files are never touched."""
    name = f"{Path(data_path).stem}-{fingerprint}" + ("" if split == "test" else f"-{split}")
    return Path(run_dir) / "evaluations" / name


def evaluate_run(run_dir: str | os.PathLike, data_path: str | os.PathLike | None = None,
                 split: str = "test", out_dir: str | os.PathLike | None = None,
                 batch_size: int = 64, output: Output | None = None, force: bool = False) -> dict[str, Any]:
    """`tdf evaluate`: load RUN's model, check it fits the data, evaluate a split and write the
    results into an evaluation folder (`out_dir`, default RUN/evaluations/…); returns the
    metrics with "out" set to that folder."""
    from tdf.data.store import open_store
    from tdf.outputs import output_folder
    from tdf.run_folder import data_fingerprint
    paths = RunPaths(run_dir)
    info = read_run_json(run_dir)
    data_path = Path(data_path or info["data"])
    if batch_size < 1:
        raise BadInput(f"--batch-size must be ≥ 1, got {batch_size}")
    check_model_file(paths.model)
    from tdf.data.model_input import view_for_run
    with open_store(data_path) as raw_store:
        store = view_for_run(raw_store, info, paths.run_json)
        fingerprint = data_fingerprint(store)
        own = fingerprint == info.get("data_fingerprint")
        idx = split_indices(store, info, split, own)
        out = Path(out_dir) if out_dir else evaluation_folder(run_dir, data_path, fingerprint, split)
        load_backend()  # after the cheap checks: bad input never waits for TensorFlow
        model = load_model(paths.model)
        check_model_matches_data(model, store, info, paths.model)
        frames = int(info.get("frames") or store.T)
        with output_folder(out, "evaluation", force=force, inputs=[data_path, paths.root]) as work:
            metrics = evaluate_model(model, store, idx, split, RunPaths(work), frames, batch_size, output,
                                     name=f"{paths.root.name} on {data_path.name}")
    metrics["out"] = str(out)
    return metrics


def metrics_table(metrics: dict[str, Any], console, limit: int | None = None) -> None:
    """Print overall numbers and per-class accuracy, worst classes first (rich table)."""
    from rich.table import Table
    cm = np.array(metrics["confusion_matrix"])
    names = metrics["class_names"]
    t = Table(title=f"{metrics['split']} split, n = {metrics['n']}", title_justify="left")
    t.add_column("class")
    t.add_column("accuracy", justify="right")
    t.add_column("n", justify="right")
    t.add_column("most confused with")
    rows = [(acc, c) for c, acc in metrics["per_class_accuracy"].items() if acc is not None]
    rows.sort(key=lambda r: (r[0], r[1]))
    for acc, c in rows[:limit]:
        i = names.index(c)
        off = cm[i].copy()
        off[i] = 0
        j = int(off.argmax())
        conf = f"{names[j]} ({off[j] / max(cm[i].sum(), 1):.0%})" if off[j] else ""
        t.add_row(c, f"{acc:.3f}", str(int(cm[i].sum())), conf)
    console.print(t)
    console.print(f"top-1 {metrics['top1']:.4f}   top-5 {metrics['top5']:.4f}   "
                  f"mean class accuracy {metrics['mean_class_accuracy']:.4f}")
