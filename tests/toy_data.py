"""A tiny learnable data set for training tests: each class moves a different joint with a
different frequency, plus noise; written with the real StoreWriter."""

from __future__ import annotations

import numpy as np

from tdf.data.store import Sample, StoreWriter


def make_toy_store(path, classes: int = 3, per_class: int = 16, frames: int = 16, seed: int = 0,
                   default_split: str = "random", class_names: list[str] | None = None,
                   same_motion: dict[int, int] | None = None):
    """`same_motion` {c: d}: class c moves exactly like class d (the two cannot be told apart,
    so a trained model has weak classes)."""
    rng = np.random.default_rng(seed)
    names = list(class_names) if class_names else [f"toy_{c}" for c in range(classes)]
    with StoreWriter(path, frames, names, source="tests/toy_data.py", force=True,
                     attrs={"default_split": default_split}) as w:
        i = 0
        for rep in range(per_class):
            for c in range(classes):
                t = np.arange(frames)
                x = rng.normal(0, 0.02, size=(frames, 2, 25, 3)).astype(np.float32)
                x[:, 0, :, 1] += np.linspace(0, 1.5, 25)           # a standing "body"
                m = (same_motion or {}).get(c, c)
                x[:, 0, 3 + 4 * m, 0] += 0.3 * np.sin(2 * np.pi * (m + 1) * t / frames)
                x[:, 1] = 0.0                                       # one person
                length = frames - int(rng.integers(0, frames // 4))
                w.append(Sample(x[:length], c, f"S001C00{1 + rep % 3}P{1 + rep:03d}R001A{c + 1:03d}",
                                subject=1 + rep, camera=1 + rep % 3, setup=1, replication=1))
                i += 1
    return path


# A tiny Res-TCN that trains in seconds, for tests that need a run folder.
TINY = ["--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3", "--batch-size", "8"]


def train_tiny_run(root, classes: int, per_class: int, epochs: int, frames: int = 16, seed: int = 0,
                   same_motion: dict[int, int] | None = None, extra: tuple[str, ...] = ()):
    """Write a toy store in `root` and train a tiny run on it with the CLI (`extra`: more train
    options); returns the run folder."""
    from click.testing import CliRunner
    from tdf.cli import cli
    data = make_toy_store(root / "toy.h5", classes=classes, per_class=per_class, frames=frames,
                          same_motion=same_motion)
    r = CliRunner().invoke(cli, ["--quiet", "train", str(data), "--out", str(root / "run"), "--epochs", str(epochs),
                                 "--seed", str(seed), *TINY, *extra], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return root / "run"
