"""Samples whose skeletons are identical, and test samples that leak from the training side.

A data set's release can hold the same recording twice under two names. If one copy is a
training sample and the other a test sample, the test score partly measures memory: N-UCLA's
common release (the `all_sqe` JSON files) has 95 of its 464 view-3 test files bit-identical to
view-2 training files (every subject of "pick up with two hands" and "drop trash").

Two samples are identical when they have the same number of valid frames and the same float32
values in them (a content hash of exactly those bytes; the padding beyond `length` is not part
of a sample). The store is streamed in chunks: memory does not grow with N.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable

import numpy as np

CHUNK = 256  # samples read per step


def sample_digests(store, progress: Callable[[int, int], None] | None = None) -> list[bytes]:
    """A content digest of every sample's valid frames (row order)."""
    lengths = np.asarray(store.length, np.int64)
    digests: list[bytes] = []
    for start in range(0, store.n, CHUNK):
        rows = np.arange(start, min(start + CHUNK, store.n))
        x = store.read(rows)
        for row, sample in zip(rows, x):
            n = int(lengths[row])
            h = hashlib.blake2b(n.to_bytes(8, "little"), digest_size=16)
            h.update(np.ascontiguousarray(sample[:n], np.float32).tobytes())
            digests.append(h.digest())
        if progress is not None:
            progress(int(rows[-1]) + 1, store.n)
    return digests


def duplicate_groups(digests: list[bytes]) -> list[list[int]]:
    """Rows grouped by identical content, only groups of two or more, ordered by first row."""
    by_digest: dict[bytes, list[int]] = defaultdict(list)
    for row, d in enumerate(digests):
        by_digest[d].append(row)
    return sorted((rows for rows in by_digest.values() if len(rows) > 1), key=lambda rows: rows[0])


def leaked_test_rows(groups: list[list[int]], train_side, test_side) -> np.ndarray:
    """Sorted test rows identical to at least one training-side row (validation included:
    it is carved from the training side)."""
    train, test = set(np.asarray(train_side).tolist()), set(np.asarray(test_side).tolist())
    leaked = {r for rows in groups if train.intersection(rows) for r in rows if r in test}
    return np.array(sorted(leaked), np.int64)


def split_leaks(store, split, progress: Callable[[int, int], None] | None = None) -> tuple[list[list[int]], np.ndarray]:
    """The store's duplicate groups, and the test rows of `split` (a `Split`) that copy a row of
    its training side (train and validation)."""
    groups = duplicate_groups(sample_digests(store, progress))
    return groups, leaked_test_rows(groups, np.concatenate([split.train, split.val]), split.test)


def duplicates_report(store, split_name: str, split, progress: Callable[[int, int], None] | None = None,
                      examples: int = 5) -> dict:
    """JSON-ready: duplicate groups of the store, and the test rows of `split` (named
    `split_name`) that a training sample duplicates (with their classes)."""
    groups, leaked = split_leaks(store, split, progress)
    labels = np.asarray(store.label)
    per_class = np.bincount(labels[leaked], minlength=store.num_classes) if len(leaked) else \
        np.zeros(store.num_classes, np.int64)
    names = store.names
    return {
        "groups": len(groups),
        "samples": sum(len(g) for g in groups),
        "examples": [[str(names[r]) for r in g] for g in groups[:examples]],
        "split": split_name,
        "test_samples": int(len(split.test)),
        "test_identical_to_train": int(len(leaked)),
        "test_identical_to_train_by_class": {store.class_names[c]: int(k)
                                             for c, k in enumerate(per_class) if k},
    }
