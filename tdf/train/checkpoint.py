"""Crash-safe checkpoints: each epoch's model, loop state and history go into a new folder
`checkpoints/epoch-NNNN/`; then the one-line pointer `checkpoints/LATEST` is replaced atomically.

A process killed at any moment therefore leaves either the previous complete checkpoint or the
new complete one as LATEST — never a mix of a new model and an old state.

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

from tdf.atomic import write_text
from tdf.errors import BadInput
from tdf.readers import read_json

_NAME = re.compile(r"epoch-(\d{4,9})")
_STATE_KEYS = {"epoch": int, "lr": (int, float), "best": (int, float), "best_epoch": int, "wait": int,
               "es_wait": int, "stopped_early": bool, "history": list}


def save_checkpoint(ckpt_dir: Path, epoch: int, model, state: dict[str, Any], history_csv: str) -> Path:
    """Write checkpoint `epoch` (number of completed epochs) and point LATEST at it."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch:04d}"
    tmp = ckpt_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        model.save(tmp / "model.keras")
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
    for p in (folder, folder / "model.keras", folder / "state.json"):
        if not p.exists():
            raise BadInput(f"names {text}, but {p} is missing (use --force to train the run again)", pointer)
        if p.is_symlink() or p.resolve().parent != (root if p == folder else root / text):
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
