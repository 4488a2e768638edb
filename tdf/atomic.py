"""Write outputs so that a crash never leaves a half-written file and nothing is overwritten
without `--force`: write to a temporary file in the same folder, then `os.replace` it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from tdf.errors import BadInput


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse an existing output unless `force`; make sure the parent folder exists."""
    path = Path(path)
    if path.exists() and not force:
        raise BadInput("already exists; pass --force to overwrite it", path)
    if path.exists() and path.is_dir():
        raise BadInput("is a folder, expected a file path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj, force: bool = True) -> None:
    """Write `obj` as indented JSON atomically."""
    with atomic_path(path, force) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(path: str | os.PathLike, text: str, force: bool = True) -> None:
    """Write text atomically."""
    with atomic_path(path, force) as tmp:
        tmp.write_text(text)
