"""Train / validation / test splits of a store (docs/design.md#splits,
docs/ntu-format.md#evaluation-protocols).

Official NTU protocols use the metadata parsed from the sample names:

- `xsub`    (NTU-60 cross-subject): the 20 training performers below; test = the other
  performers of 1–40.
- `xview`   (NTU-60 cross-view): cameras 2 and 3 train, camera 1 tests.
- `xsub120` (NTU-120 cross-subject): the 53 training performers below; test = the rest of 1–106.
- `xset`    (NTU-120 cross-setup): even setup ids train, odd setup ids test.
- `random`  for anything else: seeded and stratified by label (`test_fraction` of each class).

Data sets define their own protocols too:

- a split stored with the data (`/splits` in the store, e.g. the `xsub_train` / `xsub_val`
  lists of a pyskl pickle) is named by its prefix (`xsub`); `NAME_train` is the training side,
  `NAME_val` (or `NAME_test`) the test side. A stored split takes precedence over the NTU rule
  of the same name, so a non-NTU pickle's own `xsub` is used as given.
- `FIELD:VALUES` (e.g. `subject:1,3,5,7`, `camera:1,2`): training = the samples whose FIELD
  (subject, camera, setup, replication) is one of VALUES, test = all the others. Importers
  record their data set's standard protocol this way as the store's `default_split`.

In every split the validation part (for early stopping / LR scheduling) is carved from the
training side, stratified by label and seeded, never from the test side. All index arrays
are sorted int64 row indices into the store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from tdf.data.limits import excerpt
from tdf.errors import BadInput

SPLITS = ("xsub", "xview", "xsub120", "xset", "random")
# metadata fields a `FIELD:VALUES` split may select on (the store's per-sample integer ids)
SPLIT_FIELDS = ("subject", "camera", "setup", "replication")
# the sides of a stored split: NAME_train, and NAME_val (pyskl's name for the test side) or NAME_test
STORED_TRAIN, STORED_TEST = "_train", ("_val", "_test")
STORED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

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


def parse_field_split(spec: str) -> tuple[str, tuple[int, ...]] | None:
    """`FIELD:VALUES` → (field, sorted distinct ids); None when spec has no colon.
    BadInput for an unknown field or values that are not integers ≥ 0 (ranges like 1-4 allowed)."""
    if ":" not in spec:
        return None
    field, _, values = spec.partition(":")
    field = field.strip()
    if field not in SPLIT_FIELDS:
        raise BadInput(f"split {excerpt(spec)}: unknown field {excerpt(field)}; FIELD:VALUES selects on "
                       f"one of {', '.join(SPLIT_FIELDS)} (e.g. subject:1,3,5,7)")
    ids: set[int] = set()
    for part in values.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise BadInput(f"split {excerpt(spec)}: {excerpt(part)} is not an id or a range like 1-4; "
                           f"VALUES is a comma-separated list of {field} ids (e.g. {field}:1,3,5,7)")
        lo = int(m.group(1))
        ids.update(range(lo, int(m.group(2) or lo) + 1))
    return field, tuple(sorted(ids))


def canonical_split_name(name: str) -> str:
    """Check a split name's syntax (no store needed) and return its canonical form: one of
    SPLITS, `FIELD:VALUES` written as `field:1,3,5`, or the name of a stored split."""
    if not isinstance(name, str) or not name:
        raise BadInput(f"split name must be text, got {excerpt(name)}")
    parsed = parse_field_split(name)
    if parsed is not None:
        field, ids = parsed
        return f"{field}:{','.join(map(str, ids))}"
    if name in SPLITS or STORED_NAME.match(name):
        return name
    raise BadInput(f"unknown split {excerpt(name)}; choose one of {', '.join(SPLITS)}, a split stored "
                   "with the data, or FIELD:VALUES (e.g. subject:1,3,5,7)")


def stored_split_names(list_names) -> list[str]:
    """Names of the splits a set of stored lists defines: NAME for each NAME_train that has a
    NAME_val or NAME_test."""
    names = set(list_names)
    return [k[:-len(STORED_TRAIN)] for k in sorted(names) if k.endswith(STORED_TRAIN)
            and len(k) > len(STORED_TRAIN) and any(k[:-len(STORED_TRAIN)] + t in names for t in STORED_TEST)]


def stored_splits(store) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Splits stored with the data: name → (train rows, test rows), from the store's
    `split_lists` ({list name: rows}) pairing NAME_train with NAME_val or NAME_test."""
    lists = getattr(store, "split_lists", None) or {}
    out = {}
    for name in stored_split_names(lists):
        test_key = next(name + t for t in STORED_TEST if name + t in lists)
        out[name] = (np.asarray(lists[name + STORED_TRAIN], np.int64), np.asarray(lists[test_key], np.int64))
    return out


def _field_sides(store, name: str) -> tuple[np.ndarray, np.ndarray]:
    field, ids = parse_field_split(name)
    values = np.asarray(getattr(store, field), np.int64)
    unknown = int((values < 0).sum())
    if unknown:
        raise BadInput(f"split {name!r} needs the {field} of every sample, but {unknown} of "
                       f"{len(values)} samples have it unknown (−1)", _store_label(store))
    train = np.isin(values, ids)
    return train, ~train


def _stored_sides(store, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    train_rows, test_rows = stored_splits(store)[name]
    train, test = np.zeros(n, bool), np.zeros(n, bool)
    train[train_rows] = True
    test[test_rows] = True
    both = int((train & test).sum())
    if both:
        raise BadInput(f"stored split {name!r} lists {both} sample(s) on both its training and its "
                       "test side", _store_label(store))
    return train, test


def split_sides(store, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train / test masks of a non-random split `name` (stored, FIELD:VALUES or NTU rule)."""
    if name in stored_splits(store):
        return _stored_sides(store, name, int(store.n))
    if parse_field_split(name) is not None:
        return _field_sides(store, name)
    if name in _RULE_FIELD:
        return _official_sides(store, name)
    raise BadInput(f"unknown split {excerpt(name)}; this store offers {', '.join(applicable_splits(store)) or 'none'}"
                   " (or FIELD:VALUES, e.g. subject:1,3,5,7)", _store_label(store))


def make_split(store, name: str, seed: int = 0, val_fraction: float = 0.1,
               test_fraction: float = 0.2) -> Split:
    """Compute split `name` of `store` (a `Store`, or anything with its metadata arrays):
    a split stored with the data, FIELD:VALUES, an NTU rule, or random."""
    name = canonical_split_name(name)
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
        train_mask, test_mask = split_sides(store, name)
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
    if name != "random":
        try:
            train, test = split_sides(store, name)
        except BadInput as e:
            return str(e).removeprefix(f"{_store_label(store)}: ")
        if name in stored_splits(store):
            if not (test.any() and train.any()):
                return f"its {'test' if not test.any() else 'training'} list names no sample of this store"
            field = None
        else:
            field = _RULE_FIELD[name][0] if name in _RULE_FIELD else parse_field_split(name)[0]
        what = {"subject": "subjects", "camera": "cameras", "setup": "setups",
                "replication": "replications", None: ""}[field]
        if not test.any():
            return f"no test {what} in this store (all {len(test)} samples are on the training side)"
        if not train.any():
            return f"no training {what} in this store (all {len(train)} samples are on the test side)"
    try:
        make_split(store, name, **kwargs)
    except BadInput as e:
        return str(e).removeprefix(f"{_store_label(store)}: ")
    return None


def ntu_rules(benchmark: str) -> tuple[str, ...]:
    """The NTU protocols of a benchmark (none for another data set)."""
    return {"ntu60": ("xsub", "xview"), "ntu120": ("xsub120", "xset")}.get(benchmark, ())


def store_benchmark(store) -> str:
    """The store's `benchmark` attribute (set by `tdf data prepare` and the importers of other
    data sets, e.g. 'utd-mhad') if present, else 'ntu120' if any id lies outside NTU-60's ranges
    (setup > 17 or performer > 40), else 'ntu60'."""
    attr = getattr(store, "attr", None)
    declared = attr("benchmark") if callable(attr) else None
    if isinstance(declared, str) and declared:
        return declared
    subj = np.asarray(store.subject, np.int64)
    setup = np.asarray(store.setup, np.int64)
    if (len(subj) and subj.max() > 40) or (len(setup) and setup.max() > 17):
        return "ntu120"
    return "ntu60"


def default_split_attr(store) -> str | None:
    """The store's `default_split` attribute (canonical form), or None."""
    attr = getattr(store, "attr", None)
    name = attr("default_split") if callable(attr) else None
    return canonical_split_name(name) if isinstance(name, str) and name else None


def default_split_name(store) -> str:
    """The split used when none is given: the store's `default_split` attribute, else its
    benchmark's first NTU protocol (xsub, xsub120) when every subject is known, else random."""
    name = default_split_attr(store)
    if name:
        return name
    rules = ntu_rules(store_benchmark(store))
    subject = np.asarray(store.subject)
    return rules[0] if rules and store.n and (subject >= 0).all() else "random"


def candidate_splits(store) -> list[str]:
    """Every split that could apply to this store, in the order they are offered: the splits
    stored with it, its default split when that is FIELD:VALUES, its benchmark's NTU protocols
    (an NTU rule with a stored split of the same name is that stored split), then random."""
    out = list(stored_splits(store))
    default = default_split_attr(store)
    if default and parse_field_split(default) is not None:
        out.append(default)
    out += [r for r in ntu_rules(store_benchmark(store)) if r not in out]
    return out + ["random"]


def applicable_splits(store) -> list[str]:
    """The splits worth offering for this store (see `candidate_splits`): those whose metadata
    is known for every sample and whose sides are both non-empty; `random` given ≥ 2 samples."""
    out = []
    for name in candidate_splits(store)[:-1]:
        try:
            train, test = split_sides(store, name)
        except BadInput:
            continue
        if train.any() and test.any():
            out.append(name)
    if store.n >= 2:
        out.append("random")
    return out
