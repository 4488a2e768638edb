"""Crash-safe checkpoints: each epoch's variables, loop state and history go into a new folder
`checkpoints/epoch-NNNN/`; then the one-line pointer `checkpoints/LATEST` is replaced atomically.

A process killed at any moment therefore leaves either the previous complete checkpoint or the
new complete one as LATEST — never a mix of a new model and an old state.

Layout: `checkpoints/model.keras` is the compiled model (architecture, compile settings,
optimizer) written once, by a session's first checkpoint; each `epoch-NNNN/variables.npz` holds
every model and optimizer variable of that epoch (weights, BatchNorm statistics, momentum, the
step counter) in order, with their paths and shapes. Resume loads the model file and assigns the
epoch's variables, each checked by path and shape. Why not a whole `.keras` per epoch: Keras'
saving costs ≈ 0.3 s of CPU for the paper's 1.9 M-parameter Res-TCN — 1–2 % of an epoch's wall
time on two cores, one busy and the other idle — against ≈ 0.06 s for this whole checkpoint
(docs/benchmarks.md).
Checkpoints written before 2026-12-03 (`epoch-NNNN/model.keras`, no variables file) still resume.

Resume trusts nothing it reads back: LATEST must be exactly `epoch-NNNN`, naming a real folder
inside this run's `checkpoints/` (no absolute path, no `..`, no symlink out of the run), holding
a model and a state of the epoch it names; anything else is an exit-2 error that leaves the run
as it was (issue 15).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tdf.atomic import write_text
from tdf.errors import BadInput
from tdf.readers import read_json

_NAME = re.compile(r"epoch-(\d{4,9})")
MODEL_FILE = "model.keras"        # checkpoints/model.keras: the compiled model, written once
VARIABLES_FILE = "variables.npz"  # epoch-NNNN/variables.npz: that epoch's variables
_STATE_KEYS = {"epoch": int, "lr": (int, float), "best": (int, float), "best_epoch": int, "wait": int,
               "es_wait": int, "stopped_early": bool, "history": list}


def save_checkpoint(ckpt_dir: Path, epoch: int, model, state: dict[str, Any], history_csv: str) -> Path:
    """Write checkpoint `epoch` (number of completed epochs) and point LATEST at it."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    if not (ckpt_dir / MODEL_FILE).is_file():
        from tdf.run_folder import save_model
        save_model(model, ckpt_dir / MODEL_FILE)
    name = f"epoch-{epoch:04d}"
    tmp = ckpt_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        save_variables(tmp / VARIABLES_FILE, model)
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
        (tmp / "history.csv").write_text(history_csv)
        final = ckpt_dir / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:  # an error or an interrupt: no half checkpoint left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_text(ckpt_dir / "LATEST", name + "\n")
    for old in ckpt_dir.glob("epoch-*"):  # keep only the newest
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def _state_variables(model) -> dict[str, list]:
    """The variables a checkpoint holds, in a stable order: the model's, then its optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return {"model": list(model.variables), "optimizer": list(optimizer.variables) if optimizer is not None else []}


def save_variables(path: Path, model) -> None:
    """Every model and optimizer variable's value, path and shape into one uncompressed .npz."""
    import keras
    arrays: dict[str, Any] = {}
    for kind, variables in _state_variables(model).items():
        arrays[f"{kind}_paths"] = np.array([v.path for v in variables], dtype=str)
        for i, v in enumerate(variables):
            arrays[f"{kind}_{i:05d}"] = keras.ops.convert_to_numpy(v.value)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())


def _unnumbered(path: str) -> str:
    """A variable path without Keras' per-process numbering of unnamed objects
    (`seed_generator_3/seed_generator_state` in one session is `seed_generator/…` in another)."""
    return re.sub(r"_\d+(?=/|$)", "", path)


def restore_variables(path: Path, model) -> None:
    """Assign a checkpoint's variables to `model` (loaded from checkpoints/model.keras). BadInput
    naming the file when it cannot be read or does not match the model variable by variable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            stored = {kind: ([str(p) for p in z[f"{kind}_paths"]],
                             [z[f"{kind}_{i:05d}"] for i in range(len(z[f"{kind}_paths"]))])
                      for kind in ("model", "optimizer")}
    except Exception as e:  # a truncated zip, a missing member, a garbage file: all one line
        raise BadInput(f"cannot read the checkpoint's variables ({e.__class__.__name__}: "
                       f"{str(e).splitlines()[0][:160] if str(e) else 'damaged'})", path) from None
    for kind, variables in _state_variables(model).items():
        paths, values = stored[kind]
        if len(paths) != len(variables):
            raise BadInput(f"holds {len(paths)} {kind} variables but {path.parent.parent / MODEL_FILE} "
                           f"has {len(variables)}; the checkpoint is not of this model", path)
        for v, p, value in zip(variables, paths, values):
            if _unnumbered(p) != _unnumbered(v.path) or tuple(value.shape) != tuple(v.shape):
                raise BadInput(f"variable {p} {tuple(value.shape)} does not match the model's {v.path} "
                               f"{tuple(v.shape)}; the checkpoint is not of this model", path)
    for kind, variables in _state_variables(model).items():
        for v, value in zip(variables, stored[kind][1]):
            v.assign(value)


def load_checkpoint_model(folder: Path):
    """The compiled model of checkpoint `folder` (checked by `latest_checkpoint`), its epoch's
    variables assigned; a checkpoint written before 2026-12-03 is one whole .keras file."""
    from tdf.run_folder import load_model
    if (folder / MODEL_FILE).is_file():  # the older layout
        return load_model(folder / MODEL_FILE, compile=True)
    model = load_model(folder.parent / MODEL_FILE, compile=True)
    restore_variables(folder / VARIABLES_FILE, model)
    return model


def _checkpoint_folders(ckpt_dir: Path) -> list[Path]:
    return sorted(p for p in ckpt_dir.glob("epoch-*") if p.is_dir()) if ckpt_dir.is_dir() else []


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The checkpoint folder LATEST points to, checked to lie inside `ckpt_dir`; None when the
    run has no checkpoint yet (no LATEST and no epoch folder: killed during its first epoch).
    BadInput for a LATEST that is garbage, points elsewhere or names a missing/incomplete folder."""
    pointer = ckpt_dir / "LATEST"
    if not pointer.is_file():
        found = _checkpoint_folders(ckpt_dir)
        if found:
            raise BadInput(f"is missing but {found[-1].name} exists; the checkpoints are inconsistent "
                           f"(use --force to train the run again)", pointer)
        return None
    try:
        text = pointer.read_bytes()[:64].decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadInput("is not a checkpoint name (binary content)", pointer) from None
    if not _NAME.fullmatch(text):
        raise BadInput(f"must name a checkpoint folder epoch-NNNN inside {ckpt_dir}, "
                       f"not {text[:40]!r}", pointer)
    folder = ckpt_dir / text
    root = ckpt_dir.resolve()
    legacy = (folder / MODEL_FILE).exists() and not (folder / VARIABLES_FILE).exists()
    needed = ([folder, folder / MODEL_FILE, folder / "state.json"] if legacy else
              [folder, folder / VARIABLES_FILE, folder / "state.json", ckpt_dir / MODEL_FILE])
    for p in needed:
        if not p.exists():
            raise BadInput(f"names {text}, but {p} is missing (use --force to train the run again)", pointer)
        inside = root if p in (folder, ckpt_dir / MODEL_FILE) else root / text
        if p.is_symlink() or p.resolve().parent != inside:
            raise BadInput(f"names {text}, which leads outside {ckpt_dir}; refusing to load it", pointer)
    return folder


def read_state(folder: Path) -> dict[str, Any]:
    """The loop state of a checkpoint, checked field by field; BadInput names the file."""
    path = folder / "state.json"
    state = read_json(path, "checkpoint state")  # size- and nesting-safe
    if not isinstance(state, dict):
        raise BadInput("not a checkpoint state (expected a JSON object)", path)
    for key, types in _STATE_KEYS.items():
        value = state.get(key)
        if not isinstance(value, types) or (types is int and isinstance(value, bool)):
            raise BadInput(f"field {key!r} is missing or of the wrong type", path)
    if not (math.isfinite(state["lr"]) and state["lr"] > 0):
        raise BadInput(f"field 'lr' must be a positive number, got {state['lr']}", path)
    m = _NAME.fullmatch(folder.name)
    if m and int(m.group(1)) != state["epoch"]:
        raise BadInput(f"says epoch {state['epoch']} but lies in {folder.name}", path)
    return state
