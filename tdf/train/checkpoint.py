"""Crash-safe checkpoints: each epoch's model, loop state and history go into a new folder
`checkpoints/epoch-NNNN/`; then the one-line pointer `checkpoints/LATEST` is replaced atomically.

A process killed at any moment therefore leaves either the previous complete checkpoint or the
new complete one as LATEST — never a mix of a new model and an old state.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tdf.atomic import write_text


def save_checkpoint(ckpt_dir: Path, epoch: int, model, state: dict[str, Any], history_csv: str) -> Path:
    """Write checkpoint `epoch` (number of completed epochs) and point LATEST at it."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch:04d}"
    tmp = ckpt_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    model.save(tmp / "model.keras")
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    (tmp / "history.csv").write_text(history_csv)
    final = ckpt_dir / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_text(ckpt_dir / "LATEST", name + "\n")
    for old in ckpt_dir.glob("epoch-*"):  # keep only the newest
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The folder LATEST points to, or None when there is no complete checkpoint."""
    pointer = ckpt_dir / "LATEST"
    if not pointer.is_file():
        return None
    folder = ckpt_dir / pointer.read_text().strip()
    if not (folder / "model.keras").is_file() or not (folder / "state.json").is_file():
        return None
    return folder


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "state.json").read_text())
