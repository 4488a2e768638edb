"""Write outputs so that a crash never leaves a half-written file and nothing is overwritten
without `--force`: write to a temporary file in the same folder, then `os.replace` it.

Temporary files and folders get the permissions the umask gives a new file or folder (as
`open()` and `mkdir` would), not the private 0600/0700 of `tempfile`, so a renamed result is
readable by whoever could read a file written directly (issue 14: results on a shared server).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from tdf.errors import BadInput
from tdf.signals import raise_if_pending


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc), else by a swap."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new regular file: 0666 minus the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a new folder: 0777 minus the umask."""
    return 0o777 & ~current_umask()


def temp_file_beside(path: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """An empty hidden temporary file in `path`'s folder, with the umask's mode."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    return Path(tmp)


def temp_dir_in(parent: str | os.PathLike, prefix: str) -> Path:
    """A new temporary folder in `parent`, with the umask's mode."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, dir_mode())
    return tmp


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
    tmp = temp_file_beside(path)
    try:
        yield tmp
        raise_if_pending()  # a SIGTERM swallowed in a finalizer: keep the old file
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
