"""Checks that make a malformed store fail with one line naming the file and the field, instead
of a traceback or a silently wrong result (a float label read as an int, NaN scores counted as
class 0, duplicate names that make `--name` ambiguous).

Three levels, all called from `tdf.data.store.Store`:

- `check_structure(f, path)`, on open, from metadata only: every required entry is a dataset
  (not a group); `/x` is a real floating-point array of rank 5 with 1 ≤ T ≤ `MAX_FRAMES` and at
  least one sample; `/length`, `/label` and the metadata arrays hold integers (a float label
  would be truncated) of shape [N]; `/name` holds strings; the file attributes tdf reads have
  the right types (`class_names` a JSON list of distinct strings, `format_version` an integer
  no newer than this tdf reads, `joint_layout`/`source`/`default_split`/`benchmark` text).
- `check_loaded(names, path)` after the metadata is loaded: sample names are unique.
- `sampled_rows` / `check_finite`: on open a few evenly spaced samples of `/x` are read and must
  be finite (cheap: `SAMPLED` chunk reads); on every read (`Store.read`, `read_one`) the rows
  read are checked, and a non-finite one is refused naming the samples. `scan_finite` reads a
  set of rows in bounded chunks (training checks its whole split before it starts).

- `check_layout(f, path)` on open: the store's skeleton layout — the `layout` attribute (a
  layout's TOML text, docs/layouts.md) checked in full, or for stores written before layouts
  travelled with the data the shipped layout named by `joint_layout` (ntu25 when absent) — and
  `/x`'s [bodies, joints, coords] must match it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Sequence

import h5py
import numpy as np

from tdf.data.limits import MAX_CLASSES, MAX_FRAMES, excerpt
from tdf.errors import BadInput

SAMPLED = 8              # samples of /x read and checked when a store is opened
READ_CHUNK_BYTES = 64 << 20  # bytes of /x read at a time by `scan_finite`

_REQUIRED = ("x", "length", "label", "name")
_INT_META = ("length", "label", "subject", "camera", "setup", "replication")
_TEXT_ATTRS = ("joint_layout", "layout", "source", "created_by", "default_split", "benchmark")


def _attr(f: h5py.File, key: str):
    v = f.attrs.get(key)
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _is_text(v) -> bool:
    return isinstance(v, (str, bytes))


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_structure(f: h5py.File, path, format_version: int) -> None:
    """Datasets, dtypes, ranks, sizes and attribute types; see the module docstring."""
    for key in _REQUIRED:
        if key in f and not isinstance(f[key], h5py.Dataset):
            raise BadInput(f"/{key} is a group, expected a dataset", path)
    missing = [k for k in _REQUIRED if k not in f]
    if missing:
        raise BadInput(f"not a tdf store: missing dataset(s) {', '.join('/' + k for k in missing)}", path)
    x = f["x"]
    if x.dtype.kind != "f":
        raise BadInput(f"/x has dtype {_dtype_name(x.dtype)}, expected float32 coordinates", path)
    if x.ndim != 5:
        raise BadInput(f"/x has rank {x.ndim} (shape {x.shape}), expected 5: [N, T, bodies, joints, coords]",
                       path)
    n, t = int(x.shape[0]), int(x.shape[1])
    if n == 0:
        raise BadInput("holds no samples (/x has N = 0)", path)
    if t == 0:
        raise BadInput("/x has T = 0 frames per sample", path)
    if t > MAX_FRAMES:
        raise BadInput(f"/x has T = {t} frames per sample, more than the {MAX_FRAMES} tdf supports "
                       f"(re-create the store with --max-frames ≤ {MAX_FRAMES})", path)
    for key in _INT_META:
        if key not in f:
            continue
        ds = f[key]
        if not isinstance(ds, h5py.Dataset):
            raise BadInput(f"/{key} is a group, expected a dataset", path)
        if ds.dtype.kind not in "iu":
            raise BadInput(f"/{key} has dtype {_dtype_name(ds.dtype)}, expected integers", path)
        if ds.shape != (n,):
            raise BadInput(f"/{key} has shape {ds.shape}, expected ({n},) like /x", path)
    name = f["name"]
    if h5py.check_string_dtype(name.dtype) is None and name.dtype.kind not in "SU":
        raise BadInput(f"/name has dtype {_dtype_name(name.dtype)}, expected strings", path)
    if name.shape != (n,):
        raise BadInput(f"/name has shape {name.shape}, expected ({n},) like /x", path)
    check_attributes(f, path, format_version)


def check_attributes(f: h5py.File, path, format_version: int) -> None:
    """Types of the file attributes tdf reads."""
    v = _attr(f, "format_version")
    if v is not None:
        if not _is_int(v):
            raise BadInput(f"attribute format_version must be an integer, got {excerpt(v)}", path)
        if int(v) > format_version:
            raise BadInput(f"attribute format_version is {int(v)}, newer than this tdf reads "
                           f"({format_version}); update tdf", path)
    for key in _TEXT_ATTRS:
        v = _attr(f, key)
        if v is not None and not _is_text(v):
            raise BadInput(f"attribute {key} must be text, got {excerpt(v)}", path)
    v = _attr(f, "default_split")
    if v is not None:
        check_default_split(v.decode("utf-8", "replace") if isinstance(v, bytes) else v,
                            split_list_names(f, path), path)
    v = _attr(f, "n")
    if v is not None and not _is_int(v):
        raise BadInput(f"attribute n must be an integer, got {excerpt(v)}", path)
    class_names(f, path)


def check_default_split(name: str, list_names, path) -> None:
    """`default_split` must be an NTU rule, random, FIELD:VALUES or a split stored in the file."""
    from tdf.data.splits import SPLITS, canonical_split_name, parse_field_split, stored_split_names
    try:
        canonical_split_name(name)
    except BadInput as e:
        raise BadInput(f"attribute default_split: {str(e)}", path) from None
    stored = stored_split_names(list_names)
    if name not in SPLITS and parse_field_split(name) is None and name not in stored:
        raise BadInput(f"attribute default_split is {excerpt(name)}, not one of {', '.join(SPLITS)}, "
                       f"FIELD:VALUES or a split stored in the file ({', '.join(stored) or 'none'})", path)


SPLITS_GROUP = "splits"


def split_list_names(f: h5py.File, path) -> list[str]:
    """Names of the sample lists under /splits (none when the group is absent)."""
    if SPLITS_GROUP not in f:
        return []
    g = f[SPLITS_GROUP]
    if not isinstance(g, h5py.Group):
        raise BadInput(f"/{SPLITS_GROUP} is a dataset, expected a group of sample lists", path)
    return sorted(g.keys())


def read_split_lists(f: h5py.File, n: int, path) -> dict[str, np.ndarray]:
    """The sample lists of the stored splits (/splits/NAME: int row indices into the store,
    each in 0..n−1 and without repeats), as {name: int64 rows}."""
    out = {}
    for key in split_list_names(f, path):
        ds = f[SPLITS_GROUP][key]
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in "iu":
            raise BadInput(f"/{SPLITS_GROUP}/{excerpt(key)} must be a 1-D integer dataset of sample rows", path)
        if ds.shape[0] > n:
            raise BadInput(f"/{SPLITS_GROUP}/{excerpt(key)} lists {ds.shape[0]} rows but the store has {n}", path)
        rows = np.asarray(ds[:], np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise BadInput(f"/{SPLITS_GROUP}/{excerpt(key)} holds row {int(rows[(rows < 0) | (rows >= n)][0])}, "
                           f"outside 0..{n - 1}", path)
        if len(np.unique(rows)) != len(rows):
            raise BadInput(f"/{SPLITS_GROUP}/{excerpt(key)} lists a sample twice", path)
        out[key] = rows
    return out


def check_layout(f: h5py.File, path):
    """The store's Layout (see the module docstring); a bad one is a BadInput naming the file."""
    from tdf.skeleton import DEFAULT_LAYOUT, LAYOUTS, layout_from_toml
    text, name = _attr(f, "layout"), _attr(f, "joint_layout")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    if text is not None:
        try:
            layout = layout_from_toml(text, "")
        except BadInput as e:
            raise BadInput(f"attribute layout: {e}", path) from None
        if name is not None and name != layout.name:
            raise BadInput(f"attribute joint_layout {excerpt(name)} disagrees with the layout attribute's "
                           f"name {excerpt(layout.name)}", path)
    else:
        name = DEFAULT_LAYOUT if name is None else name
        if name not in LAYOUTS:
            raise BadInput(f"joint layout {excerpt(name)} is not a shipped layout ({', '.join(LAYOUTS)}) "
                           f"and the store has no layout attribute describing it", path)
        layout = LAYOUTS[name]
    x = f["x"]
    if tuple(x.shape[2:]) != layout.frame_shape:
        b, j, c = layout.frame_shape
        raise BadInput(f"/x has shape {x.shape}, expected [N, T, {b}, {j}, {c}] for its layout {layout.name} "
                       f"({b} bodies × {j} joints × {c} coordinates)", path)
    return layout


def class_names(f: h5py.File, path) -> list[str]:
    """The `class_names` attribute: JSON text of a non-empty list of distinct strings."""
    v = _attr(f, "class_names")
    if v is None:
        raise BadInput("attribute class_names is missing", path)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if not isinstance(v, str):
        raise BadInput(f"attribute class_names must be JSON text of a list of names, got {excerpt(v)}", path)
    try:
        names = json.loads(v)
    except (ValueError, RecursionError):
        raise BadInput(f"attribute class_names is not valid JSON: {excerpt(v)}", path) from None
    if not isinstance(names, list) or not names:
        raise BadInput(f"attribute class_names must be a non-empty JSON list of names, got {excerpt(v)}", path)
    if len(names) > MAX_CLASSES:
        raise BadInput(f"attribute class_names lists {len(names)} classes, more than the {MAX_CLASSES} "
                       f"tdf supports", path)
    bad = next((c for c in names if not isinstance(c, str)), None)
    if bad is not None or any(c is None for c in names):
        raise BadInput(f"attribute class_names must list strings, found {excerpt(bad)}", path)
    dup = next((c for c, k in Counter(names).items() if k > 1), None)
    if dup is not None:
        raise BadInput(f"attribute class_names repeats the name {excerpt(dup)}", path)
    return names


def check_loaded(names: Sequence[str], label: np.ndarray, num_classes: int, path) -> None:
    """Unique sample names and labels inside the class list."""
    if len(set(names)) != len(names):
        counts = Counter(names)
        dups = [n for n, k in counts.items() if k > 1]
        more = f" (and {len(dups) - 3} more)" if len(dups) > 3 else ""
        raise BadInput(f"/name repeats sample name(s) {', '.join(excerpt(d) for d in dups[:3])}{more}", path)
    if len(label) and (label.min() < 0 or label.max() >= num_classes):
        i = int(np.argmax((label < 0) | (label >= num_classes)))
        raise BadInput(f"/label of sample {excerpt(names[i])} is {int(label[i])}, outside "
                       f"0..{num_classes - 1} (the class_names attribute has {num_classes})", path)


def sampled_rows(n: int, k: int = SAMPLED) -> np.ndarray:
    """Up to k evenly spaced rows of 0..n−1, always including the first and the last."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def nonfinite_rows(x: np.ndarray) -> np.ndarray:
    """Positions (first axis) of the rows of x holding NaN or ±inf."""
    if np.isfinite(x).all():
        return np.zeros(0, np.int64)
    return np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))


def check_finite(x: np.ndarray, rows: Sequence[int], names: Sequence[str], path) -> None:
    """BadInput naming the samples (store rows `rows`, in the order of x) that are not finite."""
    bad = nonfinite_rows(x)
    if len(bad):
        sample_names = sorted({names[int(rows[i])] for i in bad})
        more = f" and {len(sample_names) - 5} more" if len(sample_names) > 5 else ""
        raise BadInput(f"/x of sample(s) {', '.join(excerpt(s) for s in sample_names[:5])}{more} "
                       f"contains NaN or infinite values", path)


def scan_finite(store, rows) -> None:
    """Read `rows` of a store in chunks of at most READ_CHUNK_BYTES and check they are finite
    (`Store.read` raises the BadInput naming the samples)."""
    rows = np.asarray(rows, np.int64).reshape(-1)
    frame_bytes = int(np.prod(store.f["x"].shape[2:])) * 4
    per = max(1, READ_CHUNK_BYTES // max(1, store.T * frame_bytes))
    for start in range(0, len(rows), per):
        store.read(rows[start:start + per])


def _dtype_name(dtype) -> str:
    if h5py.check_string_dtype(dtype) is not None:
        return "string"
    if dtype.kind == "V" or dtype.fields:
        return "compound"
    return str(dtype)
