"""Keras batch reader over a store: lazy, seeded per-epoch shuffle, fixed frame count.

`SkeletonBatches` is a `keras.utils.PyDataset`: each `__getitem__` reads only its batch's rows
from `/x` (via `Store.read`), so memory does not grow with N. HDF5 handles are opened lazily and
kept in a small per-process pool: a read borrows a free handle (opening one only when all are
in use by other threads) and returns it, so concurrent reader threads never share one, a handle
never crosses a fork, and no read pays for opening the file again. (Until 2026-12-04 the handles
were thread-local; TensorFlow calls `tf.numpy_function` from its own C++ threads, whose Python
thread state — and with it every `threading.local` — is new on each call, so every batch
reopened the file: ≈ 5 ms of CPU beside each training step; docs/benchmarks.md, issue 16.)

Order: epoch e visits the rows in `indices[default_rng(seed + e).permutation(len(indices))]`
(or in the given order with `shuffle=False`). After every epoch Keras runs, the reader moves to
the next epoch (`epoch` counts them); a resumed run calls `set_epoch(initial_epoch)` to get the
same order as an uninterrupted one. Pass `shuffle=False` to `model.fit` so Keras does not reorder the batches
itself (its batch shuffle uses Python's global RNG).
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import keras
import numpy as np

from tdf.data.store import Store
from tdf.errors import BadInput


class SkeletonBatches(keras.utils.PyDataset):
    """Batches `(x float32 [B, frames, D], y int32 [B])` of the rows `indices` of a store (or
    `[B, recipe.frames, recipe.dim]` with a recipe).

    Args:
        store: a store path or an open `Store` (only its path is kept).
        indices: row indices to iterate (e.g. `split.train`).
        batch_size: rows per batch.
        frames: frames per sample; longer samples are cropped to their first `frames`
            frames, shorter ones are zero-padded. Defaults to the store's T.
        shuffle: reshuffle every epoch (seeded); otherwise keep the order of `indices`.
        seed: base seed; epoch e uses seed + e.
        drop_remainder: drop the last, smaller batch.
        recipe: a `tdf.data.model_input.InputRecipe` turning the frames read into model input
            (normalised, resampled, features); `frames` is then what is read from the store.
        training: augment with the recipe (seeded by seed, epoch and row: a resumed run gets
            the same augmentation as an uninterrupted one).
        cache: a `tdf.data.sample_cache.SampleCache` to read through (decoded samples kept in
            memory up to its budget; batches stay bit-identical), or None to read the store
            every time.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of `PyDataset`.
    """

    def __init__(self, store: Store | str | os.PathLike, indices, batch_size: int = 64,
                 frames: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_remainder: bool = False, recipe=None, training: bool = False, cache=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.recipe = recipe
        self.cache = cache
        self.training = bool(training)
        self.path = Path(store.path if isinstance(store, Store) else store)
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if batch_size < 1:
            raise BadInput(f"batch size must be ≥ 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_remainder = bool(drop_remainder)
        meta = store if isinstance(store, Store) else Store(self.path)
        try:
            if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= meta.n):
                raise BadInput(f"sample indices outside 0..{meta.n - 1}", self.path)
            self.frames = int(frames) if frames is not None else meta.T
            if self.frames < 1:
                raise BadInput(f"frames must be ≥ 1, got {frames}")
            # labels of the selected rows only: small (4 bytes per row), kept in memory
            self._labels = np.asarray(meta.label, np.int32)[self.indices]
            self.num_classes = meta.num_classes
        finally:
            if meta is not store:
                meta.close()
        if len(self) == 0:
            raise BadInput(f"{len(self.indices)} samples make no batch of {self.batch_size}"
                           + (" with drop_remainder" if self.drop_remainder else ""), self.path)
        self._pool = (os.getpid(), [])  # (owner pid, free Store handles)
        self.set_epoch(0)

    # -- order ---------------------------------------------------------------------------
    def _order_for(self, epoch: int) -> np.ndarray:
        """Positions into `self.indices` in the order epoch `epoch` visits them."""
        if not self.shuffle:
            return np.arange(len(self.indices))
        return np.random.default_rng(self.seed + epoch).permutation(len(self.indices))

    def set_epoch(self, epoch: int) -> None:
        """Use epoch `epoch`'s order from now on (for resumed runs)."""
        self.epoch = int(epoch)
        self._order = self._order_for(self.epoch)
        self._begun = False

    def on_epoch_begin(self) -> None:
        self._begun = True

    def on_epoch_end(self) -> None:
        """Advance to the next epoch's order, but only after an epoch really began.

        Keras also calls this once before training starts (`EpochIterator.reset`), which must
        not skip epoch 0. With worker pools Keras starts the workers *before* calling
        `on_epoch_begin`, so the order must already be right at that point: it changes here.
        """
        if self._begun:
            self.set_epoch(self.epoch + 1)

    def epoch_indices(self, epoch: int | None = None) -> np.ndarray:
        """Store rows in the order of `epoch` (default: the current one), remainder included."""
        order = self._order if epoch is None else self._order_for(epoch)
        return self.indices[order]

    # -- reading -------------------------------------------------------------------------
    def _free_handles(self) -> list[Store]:
        """This process's free handles (a forked child starts with none of its parent's)."""
        pid, free = self._pool
        if pid != os.getpid():
            free = []
            self._pool = (os.getpid(), free)
        return free

    @contextlib.contextmanager
    def _store(self):
        """A handle for one read: a free one from the pool, or a newly opened one; returned to
        the pool afterwards. (list.pop/append are atomic, so reader threads need no lock.)"""
        free = self._free_handles()
        try:
            st = free.pop()
        except IndexError:
            st = Store(self.path)
        try:
            yield st
        finally:
            free.append(st)

    def __len__(self) -> int:
        n = len(self.indices)
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)

    def batch_rows(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(store rows, positions into `indices`) of batch i of the current epoch."""
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} outside 0..{len(self) - 1}")
        pos = self._order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.indices[pos], pos

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rows, pos = self.batch_rows(i)
        with self._store() as store:
            x = (self.cache.read(store, rows, frames=self.frames) if self.cache is not None
                 else store.read(rows, frames=self.frames))
        if self.recipe is not None:
            x = self.recipe.batch(x, rows, epoch=self.epoch, seed=self.seed, training=self.training)
        return x, self._labels[pos]

    def close(self) -> None:
        """Close this process's free handles (one still in use by a read closes with its
        process; a later read opens a new one)."""
        free = self._free_handles()
        while free:
            try:
                free.pop().close()
            except IndexError:  # another thread took the last one meanwhile
                break

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pool"] = (None, [])  # never ship an open h5py handle to another process
        return state
