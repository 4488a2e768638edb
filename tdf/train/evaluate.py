"""Evaluate a trained model on a split: `metrics.json`, `predictions.npz` (scores keyed by sample
name), a confusion-matrix PNG, and a table with the worst classes first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tdf.atomic import atomic_path, write_json
from tdf.console import Output
from tdf.errors import BadInput
from tdf.train.metrics import compute_metrics
from tdf.train.run import RunPaths, check_model_matches_data, load_model, read_run_json, run_split

SPLIT_PARTS = ("test", "val", "train", "all")


def predict_scores(model, store, indices: np.ndarray, frames: int, batch_size: int = 64) -> np.ndarray:
    """Class scores [N, C] for the given samples, read from the store batch by batch."""
    from tdf.data.batches import SkeletonBatches
    indices = np.asarray(indices, np.int64)
    if len(indices) == 0:
        return np.zeros((0, store.num_classes), np.float32)
    batches = SkeletonBatches(store.path, indices, batch_size=batch_size, frames=frames, shuffle=False)
    scores = model.predict(batches, verbose=0)
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


def evaluate_model(model, store, indices: np.ndarray, split: str, paths: RunPaths, frames: int,
                   batch_size: int = 64, output: Output | None = None) -> dict[str, Any]:
    """Score `indices`, write metrics/predictions/confusion PNG into `paths`, return the metrics."""
    output = output or Output(quiet=True)
    output.log(f"evaluating on {len(indices)} {split} samples")
    scores = predict_scores(model, store, indices, frames, batch_size)
    labels = store.label[indices]
    metrics = compute_metrics(scores, labels, store.class_names, split)
    metrics["data"] = str(Path(store.path).resolve())
    write_json(paths.metrics(split), metrics)
    names = np.array([store.names[i] for i in indices])
    with atomic_path(paths.predictions(split), force=True) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, names=names, scores=scores, labels=labels.astype(np.int32),
                     class_names=np.array(store.class_names))
    save_confusion_png(paths.confusion_png(split), np.array(metrics["confusion_matrix"]),
                       store.class_names, f"{paths.root.name}: {split} (n={len(indices)})")
    return metrics


def evaluate_run(run_dir: str | os.PathLike, data_path: str | os.PathLike | None = None,
                 split: str = "test", out_dir: str | os.PathLike | None = None,
                 batch_size: int = 64, output: Output | None = None) -> dict[str, Any]:
    """`tdf evaluate`: load RUN's model, check it fits the data, evaluate a split."""
    from tdf.data.store import open_store
    from tdf.train.run import data_fingerprint
    paths = RunPaths(run_dir)
    info = read_run_json(run_dir)
    data_path = Path(data_path or info["data"])
    model = load_model(paths.model)
    with open_store(data_path) as store:
        check_model_matches_data(model, store, info, paths.model)
        own = data_fingerprint(store) == info.get("data_fingerprint")
        idx = split_indices(store, info, split, own)
        out_paths = RunPaths(out_dir) if out_dir else paths
        out_paths.root.mkdir(parents=True, exist_ok=True)
        frames = int(info.get("frames") or store.T)
        return evaluate_model(model, store, idx, split, out_paths, frames, batch_size, output)


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
