"""Refuse to start (or to go on) writing when the disk is nearly full.

HDF5 does not survive running out of space: after its "No space left on device" error, closing
the file fails and the library crashes the interpreter at exit (a segfault, rc 139, measured on
a 2 MB tmpfs). So writers of HDF5 files (stores, checkpoints) check the free space before they
start and then after every few MB, and stop with one clear line while `RESERVE` bytes are still
free — enough for HDF5 to flush and close the file it is abandoning.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tdf.errors import RunFailed

RESERVE = 16 << 20      # bytes that must stay free while tdf writes an HDF5 file
CHECK_EVERY = 4 << 20   # bytes written between two checks (well below RESERVE)


def free_bytes(folder: str | os.PathLike) -> int:
    """Bytes available to this user in the file system holding `folder`."""
    return shutil.disk_usage(folder).free


def ensure_free(folder: str | os.PathLike, need: int = 0, what: str = "the output") -> None:
    """RunFailed (one line naming the folder) unless `need` + RESERVE bytes are free there."""
    folder = Path(folder)
    free = free_bytes(folder)
    if free < need + RESERVE:
        raise RunFailed(f"not enough disk space in {folder}: {free / 1e6:.1f} MB free; writing {what} "
                        f"needs {(need + RESERVE) / 1e6:.0f} MB free (HDF5 cannot close a file on a full "
                        f"disk): free some space or write elsewhere")


class SpaceWatch:
    """Call `wrote(n)` after writing n bytes; checks the free space every CHECK_EVERY bytes."""

    def __init__(self, folder: str | os.PathLike, what: str):
        self.folder, self.what, self.pending = Path(folder), what, 0
        ensure_free(self.folder, 0, what)

    def wrote(self, n: int) -> None:
        self.pending += n
        if self.pending >= CHECK_EVERY:
            self.pending = 0
            ensure_free(self.folder, 0, self.what)
