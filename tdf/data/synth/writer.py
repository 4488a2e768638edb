"""The synthetic data set as a whole: the sample plan (class × subject × camera), NTU-style
names, streaming into an HDF5 store, or all arrays in memory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from tdf.data.store import Sample
from tdf.data.synth.config import SynthConfig, class_names, coarse_names, fine_names, is_train_subject, subject_ids
from tdf.data.synth.sample import generate_one
from tdf.errors import BadInput


def _setup_of(subject: int) -> int:
    """An NTU-like setup id (1..17) for a subject."""
    return 1 + (subject - 1) % 17


@dataclass
class SynthSample:
    """A generated sample plus the shortcut class planted in it (not stored)."""

    sample: Sample
    shortcut: int


def plan(cfg: SynthConfig) -> list[tuple[int, int, int, int, int]]:
    """(label, index, subject, camera, replication) for every sample, class by class.

    Samples of a class cycle over subjects, then cameras, then replications, so every
    subject performs every class about equally often."""
    subjects = subject_ids(cfg)
    rows = []
    for label in range(cfg.coarse_classes + cfg.fine_classes):
        for i in range(cfg.per_class):
            subject = subjects[i % len(subjects)]
            camera = 1 + (i // len(subjects)) % cfg.cameras
            rep = 1 + i // (len(subjects) * cfg.cameras)
            rows.append((label, i, subject, camera, rep))
    return rows


def iter_samples(cfg: SynthConfig) -> Iterator[SynthSample]:
    """Stream the data set in store order (deterministic for cfg.seed)."""
    cfg.validate()
    if cfg.per_class > cfg.subjects * cfg.cameras * 999:
        raise BadInput("--per-class too large for the NTU name scheme (replication ≤ 999)")
    for label, i, subject, camera, rep in plan(cfg):
        x, k = generate_one(cfg, label, i, subject, camera)
        setup = _setup_of(subject)
        name = f"S{setup:03d}C{camera:03d}P{subject:03d}R{rep:03d}A{label + 1:03d}"
        yield SynthSample(Sample(x, label, name, subject, camera, setup, rep), k)


def store_attrs(cfg: SynthConfig) -> dict:
    """The store attributes that describe the planted property."""
    return {
        "planted_group": cfg.weak_group,
        "shortcut_group": cfg.shortcut,
        "fine_classes": json.dumps(fine_names(cfg)),
        "coarse_classes": json.dumps(coarse_names(cfg)),
        "generator": cfg.to_json(),
        "default_split": "xsub",
    }


def generate_arrays(cfg: SynthConfig) -> dict[str, np.ndarray]:
    """The whole data set in memory: x [N, T, 150], label, subject, camera, shortcut [N]
    (for experiments and tests; the CLI streams into a store instead)."""
    xs, labels, subj, cam, sc = [], [], [], [], []
    for s in iter_samples(cfg):
        xs.append(s.sample.x.reshape(cfg.frames, -1))
        labels.append(s.sample.label)
        subj.append(s.sample.subject)
        cam.append(s.sample.camera)
        sc.append(s.shortcut)
    return {"x": np.stack(xs).astype(np.float32), "label": np.array(labels, np.int32),
            "subject": np.array(subj, np.int16), "camera": np.array(cam, np.int16),
            "shortcut": np.array(sc, np.int32)}


def write_store(cfg: SynthConfig, path, force: bool = False,
                progress: Callable[[int], None] | None = None) -> dict:
    """Generate the data set into an HDF5 store at `path`; returns a summary dict."""
    from tdf.data.store import StoreWriter
    cfg.validate()
    names = class_names(cfg)
    n = len(names) * cfg.per_class
    with StoreWriter(path, cfg.frames, names, source="tdf data synth", force=force,
                     attrs=store_attrs(cfg), expected=n) as w:
        for s in iter_samples(cfg):
            w.append(s.sample)
            if progress is not None:
                progress(1)
    train = sum(1 for sub in subject_ids(cfg) if is_train_subject(cfg, sub))
    return {"path": str(path), "n": n, "frames": cfg.frames, "classes": names,
            "coarse_classes": coarse_names(cfg), "fine_classes": fine_names(cfg),
            "planted_group": cfg.weak_group, "shortcut_group": cfg.shortcut,
            "subjects": cfg.subjects, "train_subjects": train, "cameras": cfg.cameras,
            "seed": cfg.seed}
