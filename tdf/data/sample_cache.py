"""A bounded in-memory cache of decoded samples, so epochs after the first skip HDF5 and lzf.

Reading a batch from the store (h5py, lzf decompression, padding) runs beside the training step
on the same cores; on a 2-core CPU it made `tdf train`'s steps 5–9 % slower than steps fed from
in-memory arrays, and a cached batch brings them level (docs/benchmarks.md, issue 16). The cache
keeps each sample's frames up to its last non-zero frame (the rest is zero padding, rebuilt on
the way out), so a batch read through it is bit-identical to `Store.read`.

It is bounded: samples are kept in the order they are first read until `budget_bytes` is used;
later ones are read from the store every time (a data set larger than the budget is still read
correctly, just not all from memory). Nothing is ever evicted, so memory use only grows to the
budget. Each process has its own cache (it is not pickled into worker processes).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from tdf.data.aligned import empty_aligned
from tdf.errors import BadInput

MB = 1 << 20
AUTO_CAP_MB = 4096      # the automatic budget's ceiling
AUTO_RAM_SHARE = 4      # ... and at most a quarter of the machine's memory


def physical_memory_bytes() -> int | None:
    """The machine's physical memory, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def auto_budget_mb() -> int:
    """The default budget: a quarter of physical memory, at most AUTO_CAP_MB (1 GiB when unknown)."""
    total = physical_memory_bytes()
    if total is None:
        return 1024
    return int(min(AUTO_CAP_MB, total // AUTO_RAM_SHARE // MB))


class BudgetError(BadInput, ValueError):
    """A cache budget that is not an integer ≥ 0: a ValueError for library users, exit 2 on the CLI."""


def resolve_budget_mb(cache_mb: int | None) -> int:
    """`--cache-mb` as given (None → `auto_budget_mb()`); BudgetError for anything but an int ≥ 0."""
    if cache_mb is None:
        return auto_budget_mb()
    if isinstance(cache_mb, bool) or not isinstance(cache_mb, int) or cache_mb < 0:
        raise BudgetError(f"--cache-mb must be an integer ≥ 0 (0 = no cache), got {cache_mb!r}")
    return cache_mb


class SampleCache:
    """Decoded samples of one store, keyed by (row, frames read), up to `budget_bytes`."""

    def __init__(self, budget_bytes: int):
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be ≥ 0, got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self.used_bytes = 0
        self.hits = 0
        self.misses = 0
        self._samples: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._samples)

    def read(self, store, rows, frames: int | None = None) -> np.ndarray:
        """`store.read(rows, frames)`, bit for bit, from memory where the samples are cached."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        frames = store.T if frames is None else int(frames)
        if self.budget_bytes == 0:
            return store.read(rows, frames=frames)
        found = [self._samples.get((int(r), frames)) for r in rows]
        missing = [k for k, a in enumerate(found) if a is None]
        if missing:
            # The store's own read checks the rows, the data's integrity and finiteness.
            fresh = store.read(rows[missing], frames=frames)
            for k, x in zip(missing, fresh):
                found[k] = self._keep(int(rows[k]), frames, x)
        out = empty_aligned((len(rows), frames, store.layout.D))  # TensorFlow takes it without a copy
        for k, a in enumerate(found):  # every byte written once: the frames, then the padding
            out[k, :len(a)] = a
            out[k, len(a):] = 0
        with self._lock:
            self.hits += len(rows) - len(missing)
            self.misses += len(missing)
        return out

    def _keep(self, row: int, frames: int, x: np.ndarray) -> np.ndarray:
        """`x` without its trailing all-zero frames, cached (as a copy) if the budget allows;
        over the budget the view is returned and nothing is copied."""
        nonzero = np.flatnonzero(x.reshape(len(x), -1).any(axis=1))
        trimmed = x[: nonzero[-1] + 1 if len(nonzero) else 0]
        with self._lock:
            if (row, frames) not in self._samples and self.used_bytes + trimmed.nbytes <= self.budget_bytes:
                trimmed = trimmed.copy()  # not a view of the whole batch read
                self._samples[(row, frames)] = trimmed
                self.used_bytes += trimmed.nbytes
        return trimmed

    def stats(self) -> dict[str, int | float]:
        """Samples held, MB used of the budget, hits and misses so far."""
        return {"samples": len(self._samples), "used_mb": round(self.used_bytes / MB, 1),
                "budget_mb": round(self.budget_bytes / MB, 1), "hits": self.hits, "misses": self.misses}

    # A worker process starts with an empty cache of the same budget (never an h5py handle,
    # never a copy of the parent's arrays).
    def __getstate__(self):
        return {"budget_bytes": self.budget_bytes}

    def __setstate__(self, state):
        self.__init__(state["budget_bytes"])
