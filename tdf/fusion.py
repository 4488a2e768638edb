"""Late score fusion of several runs (`tdf fuse`): the weighted sum of their softmax scores on
the same test samples, scored like one model.

pyskl and CTR-GCN train one model per input feature (joint, bone, joint motion, bone motion) and
add their class scores; `--features` picks a run's channels, and this module adds the runs up.
A member is a run folder (its own test evaluation) or an evaluation folder of `tdf evaluate`:
anything holding `predictions.npz` (names, scores, labels, class_names) and `metrics.json`.
Every member must have scored the same samples with the same labels and classes on the same
data (their `data_fingerprint`s agree); samples are matched by name, so the members' orders may
differ. Nothing is read but those two files: no model, no backend.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from tdf.errors import BadInput
from tdf.readers import read_json
from tdf.run_folder import RunPaths
from tdf.train.metrics import compute_metrics

_KEYS = ("names", "scores", "labels", "class_names")


def read_member(folder: str | Path, split: str = "test") -> dict[str, Any]:
    """One member's predictions and metrics, checked; BadInput names the file at fault."""
    paths = RunPaths(folder)
    pred_path, metrics_path = paths.predictions(split), paths.metrics(split)
    if not Path(folder).is_dir():
        raise BadInput("is not a folder (give a run or an evaluation folder)", folder)
    if not pred_path.is_file():
        raise BadInput(f"is missing: {folder} holds no {split} predictions (a complete run or a "
                       f"`tdf evaluate` folder has them)", pred_path)
    try:
        with np.load(pred_path, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise BadInput(f"lacks {', '.join(missing)}; not a tdf predictions file", pred_path)
            names, scores, labels, classes = (np.asarray(z[k]) for k in _KEYS)
    except BadInput:
        raise
    except Exception as e:  # zip, pickle or format errors of a damaged file
        raise BadInput(f"cannot be read as predictions ({type(e).__name__}: {str(e).splitlines()[0][:120]})",
                       pred_path) from None
    n, c = len(names), len(classes)
    if scores.shape != (n, c) or labels.shape != (n,) or n == 0:
        raise BadInput(f"holds scores {scores.shape}, labels {labels.shape} for {n} names and {c} classes",
                       pred_path)
    if not np.issubdtype(scores.dtype, np.floating) or not np.isfinite(scores).all():
        raise BadInput("holds scores that are not finite numbers", pred_path)
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= c:
        raise BadInput(f"holds labels outside 0..{c - 1}", pred_path)
    if len(set(names.tolist())) != n:
        raise BadInput("names a sample twice", pred_path)
    metrics = read_json(metrics_path, "metrics") if metrics_path.is_file() else {}
    return {"folder": str(folder), "names": names.astype(str), "scores": scores.astype(np.float64),
            "labels": labels.astype(np.int64), "class_names": [str(x) for x in classes],
            "data_fingerprint": metrics.get("data_fingerprint") if isinstance(metrics, dict) else None,
            "data": metrics.get("data") if isinstance(metrics, dict) else None}


def check_weights(weights: list[float] | None, n: int) -> list[float]:
    """One positive finite weight per member (default: all 1)."""
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise BadInput(f"--weights gives {len(weights)} weights for {n} members")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise BadInput(f"--weights must be positive numbers, got {','.join(f'{w:g}' for w in weights)}")
    return [float(w) for w in weights]


def fuse(members: list[dict[str, Any]], weights: list[float], split: str = "test") -> tuple[dict, np.ndarray]:
    """Metrics of the weighted score sum, and the fused scores in the first member's order."""
    if len(members) < 2:
        raise BadInput(f"fusion needs at least two members, got {len(members)}")
    first = members[0]
    order = {name: i for i, name in enumerate(first["names"])}
    total = np.zeros_like(first["scores"])
    for m, w in zip(members, weights):
        where = m["folder"]
        if m["class_names"] != first["class_names"]:
            raise BadInput(f"has other classes than {first['folder']}", where)
        if m["data_fingerprint"] and first["data_fingerprint"] and m["data_fingerprint"] != first["data_fingerprint"]:
            raise BadInput(f"was scored on other data than {first['folder']} (data fingerprints differ)", where)
        if set(m["names"].tolist()) != set(order):
            foreign = len(set(m["names"].tolist()) - set(order))
            raise BadInput(f"scored other samples than {first['folder']} ({foreign} of its {len(m['names'])} "
                           f"are not among that member's {len(order)}; members must score the same split of "
                           f"the same data — with a random split, the same --seed)", where)
        idx = np.array([order[name] for name in m["names"]])
        if not np.array_equal(first["labels"][idx], m["labels"]):
            raise BadInput(f"labels its samples differently from {first['folder']}", where)
        total[idx] += w * m["scores"]
    metrics = compute_metrics(total, first["labels"], first["class_names"], split)
    metrics["members"] = [{"folder": m["folder"], "weight": w,
                           "top1": float((m["scores"].argmax(1) == m["labels"]).mean())}
                          for m, w in zip(members, weights)]
    metrics["data_fingerprint"] = first["data_fingerprint"]
    metrics["data"] = first["data"]
    return metrics, total


def fuse_runs(folders: list[str], out: str | Path, weights: list[float] | None = None, split: str = "test",
              force: bool = False) -> dict[str, Any]:
    """Fuse the members' `split` scores and write metrics.json, predictions.npz and confusion.png
    into the fusion folder `out` (staged; an existing one only with `force`). Returns the metrics
    with "out" set."""
    from tdf.outputs import output_folder
    from tdf.train.evaluate import write_evaluation
    weights = check_weights(weights, len(folders))
    if len(folders) < 2:
        raise BadInput(f"fusion needs at least two members, got {len(folders)}")
    members = [read_member(f, split) for f in folders]
    metrics, scores = fuse(members, weights, split)
    with output_folder(out, "fusion", force=force, inputs=folders) as work:
        write_evaluation(RunPaths(work), split, metrics, members[0]["names"], scores, members[0]["labels"],
                         f"fusion of {len(members)}: {split} (n={metrics['n']})")
    metrics["out"] = str(out)
    return metrics
