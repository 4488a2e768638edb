"""Train / validation / test splits of a store (docs/design.md#splits,
docs/ntu-format.md#evaluation-protocols).

Official NTU protocols use the metadata parsed from the sample names:

- `xsub`    (NTU-60 cross-subject): the 20 training performers below; test = the other
  performers of 1–40.
- `xview`   (NTU-60 cross-view): cameras 2 and 3 train, camera 1 tests.
- `xsub120` (NTU-120 cross-subject): the 53 training performers below; test = the rest of 1–106.
- `xset`    (NTU-120 cross-setup): even setup ids train, odd setup ids test.
- `random`  for anything else: seeded and stratified by label (`test_fraction` of each class).

In every split the validation part (for early stopping / LR scheduling) is carved from the
training side, stratified by label and seeded, never from the test side. All index arrays
are sorted int64 row indices into the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from tdf.errors import BadInput

SPLITS = ("xsub", "xview", "xsub120", "xset", "random")

XSUB_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XSUB120_TRAIN_SUBJECTS = XSUB_TRAIN_SUBJECTS + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
    91, 92, 93, 94, 95, 97, 98, 100, 103)
XVIEW_TRAIN_CAMERAS = (2, 3)
XVIEW_TEST_CAMERAS = (1,)

# field checked by each official split, and the id range the protocol is defined on
_RULE_FIELD = {"xsub": ("subject", 40), "xview": ("camera", 3), "xsub120": ("subject", 106),
               "xset": ("setup", 32)}


@dataclass(frozen=True)
class Split:
    """A split: sorted int64 row indices of the train, val and test parts."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float | None = None  # only for `random`

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def part(self, name: str) -> np.ndarray:
        """Indices of part `train`, `val` or `test`."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split part {name!r}")
        return getattr(self, name)

    def digest(self) -> str:
        """sha256 over the three index arrays, so a run can prove which rows it used."""
        h = hashlib.sha256()
        for part in (self.train, self.val, self.test):
            h.update(np.asarray(part, "<i8").tobytes())
            h.update(b"|")
        return h.hexdigest()

    def to_json(self) -> dict:
        """What a run records: enough to recompute the split and check it (sizes, digest)."""
        return {"name": self.name, "seed": self.seed, "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "sizes": self.sizes(),
                "sha256": self.digest()}


def _store_label(store) -> str:
    return str(getattr(store, "path", "store"))


def _official_sides(store, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train / test masks of an official protocol; BadInput if metadata is unusable."""
    field, top = _RULE_FIELD[name]
    ids = np.asarray(getattr(store, field), np.int64)
    unknown = int((ids < 1).sum())
    if unknown:
        raise BadInput(f"split {name!r} needs the {field} of every sample, but {unknown} of "
                       f"{len(ids)} samples have it unknown (−1); use --split random", _store_label(store))
    if ids.max() > top:
        hint = {"xsub": "; for NTU-120 use xsub120", "xview": "",
                "xsub120": "", "xset": ""}[name]
        raise BadInput(f"split {name!r} is defined for {field} ids 1–{top}, but this store has "
                       f"{field} {int(ids.max())}{hint}", _store_label(store))
    if name in ("xsub", "xsub120"):
        train_ids = XSUB_TRAIN_SUBJECTS if name == "xsub" else XSUB120_TRAIN_SUBJECTS
        train = np.isin(ids, train_ids)
        test = ~train
    elif name == "xview":
        train = np.isin(ids, XVIEW_TRAIN_CAMERAS)
        test = np.isin(ids, XVIEW_TEST_CAMERAS)
    else:  # xset
        train = ids % 2 == 0
        test = ~train
    return train, test


def _stratified_take(indices: np.ndarray, labels: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Pick round(fraction·n) of `indices`, spread over classes in proportion to their size.

    Per class: floor(fraction·n_c) rows, then the remaining rows go to the classes with the
    largest remainders (ties in random order), never taking a class's last row. Rows within a
    class are chosen by a seeded permutation. Returns the chosen indices (unsorted).
    """
    if fraction <= 0 or len(indices) == 0:
        return np.zeros(0, np.int64)
    classes = np.unique(labels)
    members = [rng.permutation(indices[labels == c]) for c in classes]
    sizes = np.array([len(m) for m in members])
    want = fraction * sizes
    take = np.floor(want).astype(np.int64)
    total = int(round(fraction * len(indices)))
    rest = total - int(take.sum())
    if rest > 0:
        tiebreak = rng.random(len(classes))
        order = np.lexsort((tiebreak, -(want - take)))  # largest remainder first
        for k in order:
            if rest == 0:
                break
            if take[k] < sizes[k] - 1:
                take[k] += 1
                rest -= 1
    return np.concatenate([m[:t] for m, t in zip(members, take)] + [np.zeros(0, np.int64)]).astype(np.int64)


def _carve(train: np.ndarray, labels: np.ndarray, val_fraction: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split the training rows into (train, val), stratified by label."""
    val = _stratified_take(train, labels[train], val_fraction, rng)
    rest = np.setdiff1d(train, val)
    return np.sort(rest).astype(np.int64), np.sort(val).astype(np.int64)


def make_split(store, name: str, seed: int = 0, val_fraction: float = 0.1,
               test_fraction: float = 0.2) -> Split:
    """Compute split `name` of `store` (a `Store`, or anything with its metadata arrays)."""
    if name not in SPLITS:
        raise BadInput(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
    if not 0 <= val_fraction < 1:
        raise BadInput(f"validation fraction must be in [0, 1), got {val_fraction}")
    n = int(store.n)
    if n == 0:
        raise BadInput("store has no samples to split", _store_label(store))
    labels = np.asarray(store.label, np.int64)
    rng = np.random.default_rng(seed)
    everything = np.arange(n, dtype=np.int64)
    if name == "random":
        if not 0 < test_fraction < 1:
            raise BadInput(f"test fraction must be in (0, 1), got {test_fraction}")
        test = np.sort(_stratified_take(everything, labels, test_fraction, rng))
        train_side = np.setdiff1d(everything, test)
    else:
        train_mask, test_mask = _official_sides(store, name)
        train_side, test = everything[train_mask], everything[test_mask]
    if len(train_side) == 0 or len(test) == 0:
        empty = "training" if len(train_side) == 0 else "test"
        raise BadInput(f"split {name!r} leaves the {empty} side empty for this store "
                       f"({len(train_side)} train / {len(test)} test samples)", _store_label(store))
    train, val = _carve(train_side, labels, val_fraction, rng)
    return Split(name, train, val, test.astype(np.int64), seed=int(seed),
                 val_fraction=float(val_fraction),
                 test_fraction=float(test_fraction) if name == "random" else None)


def no_val_reason(store, split: Split) -> str:
    """Why a split's validation part is empty, in words (for the warning of `tdf train` and
    `tdf data info`)."""
    if split.val_fraction <= 0:
        return "--val-fraction is 0"
    labels = np.asarray(store.label, np.int64)[split.train]
    if len(labels) and np.bincount(labels).max() <= 1:
        return "each class has at most one training sample, and a class's last one never goes to validation"
    return (f"{split.val_fraction:g} of {len(split.train)} training samples rounds to none, and a "
            f"class's last one never goes to validation")


def split_problem(store, name: str, **kwargs) -> str | None:
    """Why split `name` cannot be used on this store, in words; None when it can."""
    if name in _RULE_FIELD:
        field, _ = _RULE_FIELD[name]
        try:
            train, test = _official_sides(store, name)
        except BadInput as e:
            return str(e).removeprefix(f"{_store_label(store)}: ")
        what = {"subject": "subjects", "camera": "cameras", "setup": "setups"}[field]
        if not test.any():
            return f"no test {what} in this store (all {len(test)} samples are on the training side)"
        if not train.any():
            return f"no training {what} in this store (all {len(train)} samples are on the test side)"
    try:
        make_split(store, name, **kwargs)
    except BadInput as e:
        return str(e).removeprefix(f"{_store_label(store)}: ")
    return None


def store_benchmark(store) -> str:
    """The store's `benchmark` attribute (set by `tdf data prepare`) if present, else 'ntu120'
    if any id lies outside NTU-60's ranges (setup > 17 or performer > 40), else 'ntu60'."""
    attr = getattr(store, "attr", None)
    declared = attr("benchmark") if callable(attr) else None
    if declared in ("ntu60", "ntu120"):
        return declared
    subj = np.asarray(store.subject, np.int64)
    setup = np.asarray(store.setup, np.int64)
    if (len(subj) and subj.max() > 40) or (len(setup) and setup.max() > 17):
        return "ntu120"
    return "ntu60"


def applicable_splits(store) -> list[str]:
    """The splits worth offering for this store, in SPLITS order.

    The official protocols of the store's benchmark (NTU-60 → xsub, xview; NTU-120 → xsub120,
    xset; see `store_benchmark`) when the metadata they need is
    known for every sample and both sides are non-empty; `random` always (given ≥ 2 samples).
    """
    candidates = ("xsub", "xview") if store_benchmark(store) == "ntu60" else ("xsub120", "xset")
    out = []
    for name in candidates:
        try:
            train, test = _official_sides(store, name)
        except BadInput:
            continue
        if train.any() and test.any():
            out.append(name)
    if store.n >= 2:
        out.append("random")
    return out
