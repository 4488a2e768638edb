"""The HDF5 data store (docs/design.md#the-store): one file per data set.

Layout: `/x` float32 [N, T, bodies, joints, coords] zero-padded after each sequence's last frame,
chunked in blocks of frames of one sample (`frame_chunk`: ≈ 32 KiB each), lzf-compressed by
default. Only a sample's own frames are written: the padding's blocks are never allocated and read
as HDF5's fill value, zero — so padding costs neither disk nor decompression (stores written
before 2026-12-03 have one chunk per sample, padding included; they read the same).
`/length`, `/label` int32 [N]; `/name` (utf-8 strings);
`/subject`, `/camera`, `/setup`, `/replication` int16 [N] (−1 where unknown). File attributes:
`format_version`, `class_names` (JSON list), `layout` (the skeleton layout's TOML text,
tdf.skeleton; a store without it is ntu25), `joint_layout` (the layout's name), `source`,
`created_by`, plus any
extra attributes a writer passes (the synthetic generator stores its parameters there).
Optional `/splits/NAME` int32 row lists: the splits stored with the data (`tdf.data.splits`;
e.g. a pyskl pickle's `xsub_train` / `xsub_val`).

`StoreWriter` appends samples to a temporary file and renames it into place on success, so an
interrupted conversion never leaves a half-written store. `Store` reads lazily: metadata
arrays are small and loaded once; `/x` is read per batch. Opening validates the file
(`tdf.data.validate`: dtypes, ranks, T ≤ MAX_FRAMES, integer labels, unique names, attribute
types, a sampled finiteness check) and every read refuses NaN/inf naming the samples.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np

from tdf import __version__
from tdf.atomic import check_writable, temp_file_beside
from tdf.data.aligned import empty_aligned
from tdf.data.limits import MAX_FRAMES
from tdf.data.validate import (SPLITS_GROUP, check_finite, check_layout, check_loaded, check_structure,
                               read_split_lists, sampled_rows)
from tdf.diskspace import SpaceWatch
from tdf.errors import BadInput
from tdf.skeleton import DEFAULT_LAYOUT, Layout, get_layout

FORMAT_VERSION = 1
CHUNK_BYTES = 32 * 1024  # target size of one /x chunk: HDF5's advice is 10 KiB–1 MiB
META_INT16 = ("subject", "camera", "setup", "replication")
_NTU_NAME = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$")


def frame_chunk(T: int, frame_shape: Sequence[int]) -> tuple[int, ...]:
    """The chunk shape of `/x`: one sample, a block of ≈ CHUNK_BYTES of its frames (1..T).

    Why blocks, not a whole sample: real sequences fill a fraction of T (NTU-60's mean is ≈ 85
    of 300 frames), and the padding's blocks, never written, are never stored or decompressed —
    reading a real lzf NTU sample costs half (0.34 against 0.69 ms of CPU; docs/data.md)."""
    frame_bytes = 4 * int(np.prod(frame_shape))
    return (1, max(1, min(int(T), CHUNK_BYTES // max(frame_bytes, 1))), *map(int, frame_shape))


def parse_ntu_name(name: str) -> dict[str, int] | None:
    """Metadata of an NTU sample id `SsssCcccPpppRrrrAaaa` (docs/ntu-format.md#sample-names), or None."""
    m = _NTU_NAME.match(name)
    if not m:
        return None
    s, c, p, r, a = (int(g) for g in m.groups())
    return {"setup": s, "camera": c, "subject": p, "replication": r, "action": a}


@dataclass
class Sample:
    """One sequence and its metadata, as written to the store."""

    x: np.ndarray  # [t, bodies, joints, coords] or [t, D] of the store's layout, t ≤ T
    label: int
    name: str
    subject: int = -1
    camera: int = -1
    setup: int = -1
    replication: int = -1


class StoreWriter:
    """Append samples to a new store; `close()` renames the temp file onto the target.

    Use as a context manager: on an exception the temporary file is removed and the target
    is left untouched.
    """

    def __init__(self, path: str | os.PathLike, max_frames: int, class_names: Sequence[str],
                 source: str, force: bool = False, attrs: dict | None = None,
                 compression: str | None = "lzf", expected: int = 0,
                 layout: Layout | str = DEFAULT_LAYOUT):
        if max_frames < 1:
            raise BadInput(f"--max-frames must be ≥ 1, got {max_frames}")
        if max_frames > MAX_FRAMES:
            raise BadInput(f"{max_frames} frames per sample is more than the {MAX_FRAMES} tdf supports; "
                           f"crop with --max-frames ≤ {MAX_FRAMES}")
        self.path = check_writable(path, force)
        self.T = int(max_frames)
        self.class_names = list(class_names)
        self.layout = get_layout(layout)
        shape = self.layout.frame_shape
        self._space = SpaceWatch(self.path.parent, f"the store {self.path.name}")
        self.tmp = temp_file_beside(self.path)  # mode from the umask, not tempfile's 0600
        self.f = h5py.File(self.tmp, "w")
        n0 = max(int(expected), 0)
        self.f.create_dataset("x", shape=(n0, self.T, *shape), maxshape=(None, self.T, *shape), dtype="f4",
                              chunks=frame_chunk(self.T, shape), compression=compression, fillvalue=0.0)
        for key in ("length", "label"):
            self.f.create_dataset(key, shape=(n0,), maxshape=(None,), dtype="i4", chunks=(4096,))
        for key in META_INT16:
            self.f.create_dataset(key, shape=(n0,), maxshape=(None,), dtype="i2", chunks=(4096,))
        self.f.create_dataset("name", shape=(n0,), maxshape=(None,), chunks=(4096,),
                              dtype=h5py.string_dtype("utf-8"))
        a = self.f.attrs
        a["format_version"] = FORMAT_VERSION
        a["class_names"] = json.dumps(self.class_names)
        a["joint_layout"] = self.layout.name
        a["layout"] = self.layout.to_toml()
        a["source"] = source
        a["created_by"] = f"tdf {__version__}"
        for k, v in (attrs or {}).items():
            a[k] = v if isinstance(v, (str, int, float, np.integer, np.floating)) else json.dumps(v)
        # Dataset handles cached: h5py's name lookup costs more than writing a small sample.
        self._ds = {key: self.f[key] for key in ("x", "length", "label", "name") + META_INT16}
        self.n = 0
        self._names: dict[str, int] = {}  # name → row
        self._split_lists: dict[str, list[str]] = {}
        self.split_lists_dropped: dict[str, int] = {}  # names of a list that were never written
        self._closed = False

    def _grow(self, n: int) -> None:
        cap = self._ds["x"].shape[0]
        if n > cap:
            new = max(n, 2 * cap, 64)
            for ds in self._ds.values():
                ds.resize(new, axis=0)

    def append(self, s: Sample) -> None:
        """Write one sample (cropped to T frames, zero-padded after its last frame)."""
        x = np.asarray(s.x, dtype=np.float32)
        shape, lay = self.layout.frame_shape, self.layout
        if x.ndim == 2 and x.shape[1] == lay.D:
            x = x.reshape(len(x), *shape)
        if x.ndim != 4 or x.shape[1:] != shape:
            raise BadInput(f"sample {s.name}: expected [t, {', '.join(map(str, shape))}] or [t, {lay.D}] "
                           f"(layout {lay.name}), got {x.shape}")
        if not np.isfinite(x).all():
            raise BadInput(f"sample {s.name}: contains NaN or infinite coordinates")
        if s.name in self._names:
            raise BadInput(f"sample name {s.name!r} is written twice", self.path)
        if not 0 <= s.label < len(self.class_names):
            raise BadInput(f"sample {s.name}: label {s.label} outside 0..{len(self.class_names) - 1}")
        t = min(len(x), self.T)
        i = self.n
        self._grow(i + 1)
        self._space.wrote(x[:t].nbytes)  # stop while HDF5 can still close the file (tdf.diskspace)
        ds = self._ds
        if t:  # the frames only: the padding is the fill value (zero), never written (frame_chunk)
            ds["x"][i, :t] = x[:t]
        ds["length"][i] = t
        ds["label"][i] = s.label
        ds["name"][i] = s.name
        for key in META_INT16:
            ds[key][i] = getattr(s, key)
        self._names[s.name] = i
        self.n += 1

    def extend(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.append(s)

    def add_split_list(self, name: str, sample_names: Sequence[str]) -> None:
        """Store a named list of samples (e.g. pyskl's `xsub_train`) as /splits/NAME; resolved
        to rows when the store is closed (names never written are dropped and counted in
        `split_lists_dropped`)."""
        from tdf.data.splits import STORED_NAME
        if not isinstance(name, str) or not STORED_NAME.match(name):
            raise BadInput(f"split list name {name!r} must be 1–100 letters, digits, '_', '.' or '-'")
        self._split_lists[name] = list(sample_names)

    def _write_split_lists(self) -> None:
        if not self._split_lists:
            return
        g = self.f.create_group(SPLITS_GROUP)
        for name, names in self._split_lists.items():
            rows = [self._names[s] for s in dict.fromkeys(names) if s in self._names]
            self.split_lists_dropped[name] = len(names) - len(rows)
            g.create_dataset(name, data=np.asarray(rows, np.int32), dtype="i4")

    def close(self) -> Path:
        """Trim, flush and rename the finished store into place."""
        if self._closed:
            return self.path
        self._write_split_lists()
        for ds in self._ds.values():
            ds.resize(self.n, axis=0)
        self.f.attrs["n"] = self.n
        self.f.close()
        os.replace(self.tmp, self.path)
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the target is untouched."""
        if self._closed:
            return
        try:
            self.f.close()
        finally:
            self._closed = True
            if self.tmp.exists():
                self.tmp.unlink()

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Store:
    """Read access to a store. Metadata is loaded once; `read(idx)` reads frames lazily."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise BadInput("data file not found", self.path)
        try:
            self.f = h5py.File(self.path, "r")
        except OSError as e:
            raise BadInput(f"not a readable HDF5 store ({e.__class__.__name__}: {str(e).splitlines()[0]})",
                           self.path) from None
        try:
            check_structure(self.f, self.path, FORMAT_VERSION)
            self.layout: Layout = check_layout(self.f, self.path)
            x = self.f["x"]
            self.n, self.T = int(x.shape[0]), int(x.shape[1])
            try:
                self.class_names: list[str] = json.loads(self.attr("class_names"))
            except (TypeError, ValueError):
                raise BadInput("attribute class_names is missing or not a JSON list", self.path) from None
            self.length = self._meta("length", np.int32)
            self.label = self._meta("label", np.int32)
            self.names = [n.decode() if isinstance(n, bytes) else str(n) for n in self.f["name"][:]]
            for key in META_INT16:
                setattr(self, key, self._meta(key, np.int16, default=-1))
            check_loaded(self.names, self.label, len(self.class_names), self.path)
            self.split_lists = read_split_lists(self.f, self.n, self.path)
            if self.n and (self.length.min() < 0 or self.length.max() > self.T):
                raise BadInput(f"lengths outside 0..{self.T}", self.path)
        except BadInput:
            self.f.close()
            raise
        except (OSError, KeyError, ValueError) as e:
            self.f.close()
            raise BadInput(f"corrupt store ({e})", self.path) from None
        self._index = {name: i for i, name in enumerate(self.names)}
        try:
            self.read(sampled_rows(self.n))  # a cheap look at the frames: corrupt or NaN → BadInput
        except BadInput:
            self.f.close()
            raise

    def _meta(self, key: str, dtype, default: int | None = None) -> np.ndarray:
        if key not in self.f:
            if default is None:
                raise BadInput(f"missing dataset /{key}", self.path)
            return np.full(self.n, default, dtype)
        arr = np.asarray(self.f[key][:], dtype)
        if arr.shape != (self.n,):
            raise BadInput(f"/{key} has shape {arr.shape}, expected ({self.n},)", self.path)
        return arr

    def attr(self, key: str, default=None):
        """A file attribute as a Python value (bytes decoded)."""
        v = self.f.attrs.get(key, default)
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, np.generic):
            v = v.item()
        return v

    def json_attr(self, key: str, default=None):
        """A file attribute stored as JSON text, decoded."""
        v = self.attr(key)
        if v is None:
            return default
        try:
            return json.loads(v)
        except (TypeError, ValueError):
            return v

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def index_of(self, name: str) -> int:
        """Row index of a sample name; BadInput if absent."""
        try:
            return self._index[name]
        except KeyError:
            raise BadInput(f"no sample named {name!r}", self.path) from None

    def read(self, indices: Sequence[int] | np.ndarray, frames: int | None = None) -> np.ndarray:
        """Read samples as float32 [B, frames, D] of the store's layout (frames defaults to T).

        Longer sequences are cropped to their first `frames` frames, shorter ones stay
        zero-padded. Indices may be in any order and may repeat.
        """
        idx = np.asarray(indices, dtype=np.int64)
        frames = self.T if frames is None else int(frames)
        D = self.layout.D
        if len(idx) == 0:
            return np.zeros((0, frames, D), np.float32)
        if idx.min() < 0 or idx.max() >= self.n:
            raise IndexError(f"sample index outside 0..{self.n - 1}")
        t = min(frames, self.T)
        out = empty_aligned((len(idx), frames, D))  # aligned: TensorFlow takes it without a copy
        out[:, t:] = 0  # frames beyond the store's T; the first t are all read below
        x = self.f["x"]
        try:
            order = np.argsort(idx, kind="stable")
            # One read per sample (chunks never span samples), in file order.
            for pos in order:
                out[pos, :t] = x[int(idx[pos]), :t].reshape(t, D)
        except OSError as e:
            raise BadInput(f"corrupt data in /x ({str(e).splitlines()[0]})", self.path) from None
        check_finite(out, idx, self.names, self.path)
        return out

    def read_one(self, i: int) -> np.ndarray:
        """One sample's valid frames as [length, bodies, joints, coords]."""
        n = int(self.length[i])
        try:
            x = np.asarray(self.f["x"][int(i), :n], np.float32)
        except OSError as e:
            raise BadInput(f"corrupt data in /x ({str(e).splitlines()[0]})", self.path) from None
        check_finite(x[None], [i], self.names, self.path)
        return x

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(path: str | os.PathLike) -> Store:
    """Open a store for reading, with a clear BadInput for anything wrong with it."""
    return Store(path)
