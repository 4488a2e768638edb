"""Which classes the model fails on, and what it confuses them with (from `metrics.json`)."""

from __future__ import annotations

import numpy as np


def weak_classes(metrics: dict, margin: float = 0.1, max_classes: int | None = None,
                 max_confusers: int = 3) -> list[dict]:
    """Classes whose accuracy is below (median − margin), worst first, with their confusions.

    When no class is that far below the median (a uniformly good or bad model), the worst
    ⌈C/5⌉ classes (at least 2) are taken so a ranking always has something to explain.
    Each entry: {"class", "accuracy", "confused_with": [[name, fraction of its samples], …]}.
    """
    names = metrics["class_names"]
    cm = np.asarray(metrics["confusion_matrix"], np.float64)
    accs = {c: a for c, a in metrics["per_class_accuracy"].items() if a is not None}
    if not accs:
        return []
    median = float(np.median(list(accs.values())))
    chosen = sorted((c for c, a in accs.items() if a < median - margin), key=lambda c: (accs[c], c))
    if not chosen:
        k = max(2, int(np.ceil(len(accs) / 5)))
        chosen = sorted(accs, key=lambda c: (accs[c], c))[:k]
    if max_classes:
        chosen = chosen[:max_classes]
    out = []
    for c in chosen:
        i = names.index(c)
        row = cm[i].copy()
        total = row.sum()
        row[i] = 0
        order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0][:max_confusers]
        out.append({"class": c, "accuracy": accs[c],
                    "confused_with": [[names[j], float(row[j] / total)] for j in order]})
    return out


def confusion_set(weak: list[dict]) -> list[str]:
    """The weak classes plus the classes they are confused with, in first-seen order."""
    seen: list[str] = []
    for w in weak:
        for c in [w["class"]] + [c for c, _ in w["confused_with"]]:
            if c not in seen:
                seen.append(c)
    return seen


def best_classes(metrics: dict, k: int = 1, exclude: set[str] | None = None) -> list[str]:
    """The k best-learned classes (for contrast in plots)."""
    accs = [(a, c) for c, a in metrics["per_class_accuracy"].items()
            if a is not None and c not in (exclude or set())]
    return [c for a, c in sorted(accs, key=lambda t: (-t[0], t[1]))[:k]]
