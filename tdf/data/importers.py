"""Import skeleton arrays in the layouts other toolkits write into a store
(docs/ntu-format.md#layouts-other-toolkits-write).

- `ctrgcn-npz` (CTR-GCN / SGN): an `.npz` with `x_train (N, T, 150)` float32, one-hot
  `y_train (N, C)`, and `x_test`, `y_test`. The 150 values of a frame are actor 1's 25 joints ×
  xyz, then actor 2's — the store's frame order, so a frame maps 1:1. Sample names are not in the
  file: they are synthesised as `ctrgcn_train_000001`, `ctrgcn_test_000001`, … (the part is in
  the name and in the `import_parts` attribute); subject/camera/setup are unknown (−1).
- `stgcn-npy` (ST-GCN / 2s-AGCN / MS-G3D): `(N, 3, T, 25, M)` float32, M ≤ 2, i.e.
  (sample, xyz, frame, joint, body), plus the `(names, labels)` pickle, read with the restricted
  unpickler. Names like `S001C001P001R001A001.skeleton` lose the suffix and give the metadata.

Every array is streamed (the `.npy` file, or the `.npz` members decompressed out of the zip) in
chunks of at most `CHUNK` rows and `CHUNK_BYTES` bytes, labels in step with their samples, so
neither a multi-GB file nor a small zip whose members inflate to GBs is ever held in memory.
Before anything is allocated, each array's declared shape is checked against what the file holds
and against the limits of `tdf.data.limits` (T ≤ MAX_FRAMES unless `max_frames` crops it — the
frames beyond are skipped while streaming —, classes ≤ MAX_CLASSES). Python-object arrays (which
would need pickle), Fortran-ordered and non-numeric arrays are refused. Samples holding NaN or
±inf are skipped and reported (`ImportSummary.nonfinite`), not written. A sample's length is the
index of its last frame with any non-zero value, plus one: trailing all-zero frames are the
toolkits' padding, zero frames inside a sequence (0-body frames in ST-GCN files) are kept, so
the import is exact.
"""

from __future__ import annotations

import math
import os
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tdf.data.layout import D, N_BODIES, N_COORDS, N_JOINTS
from tdf.data.limits import MAX_CLASSES, MAX_FRAMES, excerpt
from tdf.data.ntu_classes import class_names as ntu_class_names
from tdf.data.store import Sample, StoreWriter, parse_ntu_name
from tdf.data.unpickle import load_names_labels
from tdf.errors import BadInput

CTRGCN_PARTS = ("train", "test")
CHUNK = 64                # at most this many rows are read at a time …
CHUNK_BYTES = 32 << 20    # … and at most this many bytes of one array
SKIP_BYTES = 16 << 20     # frames cropped away are read and dropped in pieces of this size
NONFINITE_LISTED = 20     # names of skipped non-finite samples kept in the summary


@dataclass
class ImportSummary:
    """What an import did; `to_dict()` is the `--json` output."""

    src: str
    out: str
    format: str
    frames: int = 0                 # T of the store (the source's, or --max-frames)
    source_frames: int = 0          # T of the source
    samples: int = 0
    parts: dict[str, int] = field(default_factory=dict)
    num_classes: int = 0
    empty_samples: int = 0          # all-zero samples (length 0), kept
    labels_file: str | None = None
    nonfinite: int = 0              # samples skipped because they hold NaN/inf
    nonfinite_samples: list[str] = field(default_factory=list)  # the first NONFINITE_LISTED of them
    seconds: float = 0.0
    layout: str = "ntu25"
    found: int = 0                  # files found (folder formats)
    malformed: list[dict] = field(default_factory=list)  # {name, file, reason} of files skipped (first 50)
    skipped_malformed: int = 0      # files skipped as malformed
    default_split: str | None = None
    default_split_sizes: dict[str, int] | None = None   # train / test sides of the default split
    split_lists: dict[str, int] = field(default_factory=dict)  # stored split lists and their sizes
    split_names_dropped: int = 0    # names in a split list that are not among the samples
    persons_dropped: int = 0        # samples that had more persons than the layout's bodies

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# class names

def load_class_names(spec: str) -> list[str]:
    """`ntu60`, `ntu120`, or a UTF-8 text file with one class name per line."""
    if spec in ("ntu60", "ntu120"):
        return ntu_class_names(spec)
    p = Path(spec)
    try:
        names = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read class-name file ({e.__class__.__name__})", p) from None
    if not names:
        raise BadInput("class-name file is empty", p)
    if len(set(names)) != len(names):
        raise BadInput("class-name file repeats a name", p)
    return names


def default_class_names(num_classes: int) -> list[str]:
    """The NTU names for 60 or 120 classes, else `class_000`, `class_001`, …"""
    if num_classes in (60, 120):
        return ntu_class_names(f"ntu{num_classes}")
    return [f"class_{i:03d}" for i in range(num_classes)]


# ---------------------------------------------------------------------------------------------
# streaming readers

class _NpyRows:
    """Rows of one `.npy` array read sequentially from a file object (e.g. an .npz member).

    `available` is the number of bytes the file (or zip member) holds: the declared shape must
    account for exactly that many, so a forged header is refused before anything is read.
    """

    def __init__(self, fp, label: str, src: str | os.PathLike, available: int | None = None):
        fmt = np.lib.format
        try:
            version = fmt.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fp)
            else:
                shape, fortran, dtype = fmt._read_array_header(fp, version)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as e:
            raise BadInput(f"array {label} is not a readable .npy ({excerpt(str(e))})", src) from None
        if dtype.hasobject:
            raise BadInput(f"array {label} holds Python objects (refused: it would need pickle)", src)
        if dtype.kind not in "biuf":
            raise BadInput(f"array {label} has dtype {dtype}, expected numbers", src)
        if fortran and len(shape) > 1:
            raise BadInput(f"array {label} is stored in Fortran order, which cannot be streamed; "
                           "re-save it with np.ascontiguousarray", src)
        if len(shape) == 0:
            raise BadInput(f"array {label} is a scalar, expected an array of samples", src)
        self.fp, self.label, self.src = fp, label, src
        self.shape, self.dtype = tuple(int(d) for d in shape), dtype
        self.row_bytes = math.prod(self.shape[1:]) * dtype.itemsize  # exact (Python ints)
        if available is not None:
            declared = self.shape[0] * self.row_bytes
            holds = available - fp.tell()
            if declared > holds:
                raise BadInput(f"array {label} is truncated: its header declares shape {self.shape} "
                               f"({declared:,} bytes) but the file holds {max(holds, 0):,}", src)

    def rows_per_chunk(self, kept_row_bytes: int | None = None) -> int:
        """Rows to read at a time so a chunk stays within CHUNK rows and CHUNK_BYTES bytes."""
        per = kept_row_bytes if kept_row_bytes is not None else self.row_bytes
        return max(1, min(CHUNK, CHUNK_BYTES // max(per, 1)))

    def _read_exact(self, n: int) -> bytes:
        buf = self.fp.read(n)
        if len(buf) != n:
            raise BadInput(f"array {self.label} is truncated", self.src)
        return buf

    def _skip(self, n: int) -> None:
        while n > 0:
            step = min(n, SKIP_BYTES)
            self._read_exact(step)
            n -= step

    def read(self, k: int) -> np.ndarray:
        """The next k rows."""
        buf = self._read_exact(k * self.row_bytes)
        return np.frombuffer(buf, dtype=self.dtype).reshape((k,) + self.shape[1:])

    def read_frames(self, k: int, lead: int, frames: int, keep: int) -> np.ndarray:
        """The next k rows, each seen as [lead, frames, rest], keeping the first `keep` frames
        (the others are read and dropped in bounded pieces). Returns [k, lead, keep, rest]."""
        if keep >= frames:
            return self.read(k).reshape(k, lead, frames, -1)
        rest = self.row_bytes // (lead * frames * self.dtype.itemsize)
        frame_bytes = rest * self.dtype.itemsize
        out = np.empty((k, lead, keep, rest), self.dtype)
        for i in range(k):
            for a in range(lead):
                out[i, a] = np.frombuffer(self._read_exact(keep * frame_bytes), self.dtype).reshape(keep, rest)
                self._skip((frames - keep) * frame_bytes)
        return out


def _open_npz(src: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise BadInput(f"not a readable .npz ({e})", src) from None


def _member(zf: zipfile.ZipFile, key: str, src: Path) -> _NpyRows:
    name = f"{key}.npy"
    if name not in zf.namelist():
        have = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
        shown = ", ".join(h if len(h) <= 40 else h[:40] + "…" for h in have[:10]) + (", …" if len(have) > 10 else "")
        raise BadInput(f"no array {key!r} in the .npz (it has: {shown or 'none'})", src)
    try:
        return _NpyRows(zf.open(name), key, src, available=zf.getinfo(name).file_size)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as e:
        raise BadInput(f"array {key} cannot be read from the .npz ({excerpt(str(e))})", src) from None


# ---------------------------------------------------------------------------------------------
# shared helpers

def valid_lengths(x: np.ndarray) -> np.ndarray:
    """Per sample of x [B, T, …]: 1 + index of the last frame with any non-zero value (0 if none)."""
    nz = np.any(x.reshape(x.shape[0], x.shape[1], -1) != 0, axis=2)  # [B, T]
    last = x.shape[1] - np.argmax(nz[:, ::-1], axis=1)
    return np.where(nz.any(axis=1), last, 0).astype(np.int64)


def _append_chunk(w: StoreWriter, x: np.ndarray, labels, names, metas, summary: ImportSummary) -> None:
    """Write a chunk x [B, T, 2, 25, 3]; samples holding NaN/inf are skipped and counted."""
    lengths = valid_lengths(x)
    bad = ~np.isfinite(x).reshape(len(x), -1).all(axis=1)
    summary.empty_samples += int((lengths[~bad] == 0).sum())
    for k in range(len(x)):
        if bad[k]:
            summary.nonfinite += 1
            if len(summary.nonfinite_samples) < NONFINITE_LISTED:
                summary.nonfinite_samples.append(names[k])
            continue
        m = metas[k] or {}
        w.append(Sample(x[k, :lengths[k]], int(labels[k]), names[k], subject=m.get("subject", -1),
                        camera=m.get("camera", -1), setup=m.get("setup", -1),
                        replication=m.get("replication", -1)))


def _check_frames(T: int, max_frames: int | None, what: str, src) -> int:
    """Frames the store will hold: the source's T, cropped to `max_frames`; both bounded."""
    if max_frames is not None and not 1 <= max_frames <= MAX_FRAMES:
        raise BadInput(f"--max-frames must be in 1..{MAX_FRAMES}, got {max_frames}")
    if max_frames is None and T > MAX_FRAMES:
        raise BadInput(f"{what} has {T:,} frames per sample, more than the {MAX_FRAMES} tdf supports; "
                       f"pass --max-frames N (≤ {MAX_FRAMES}) to keep the first N frames", src)
    return T if max_frames is None else min(T, max_frames)


def _finish(summary: ImportSummary, src) -> None:
    summary.samples -= summary.nonfinite
    if summary.samples == 0:
        raise BadInput(f"every sample holds NaN or infinite values (e.g. {excerpt(summary.nonfinite_samples[0])})",
                       src)


def _check_paths(src: Path, out: Path) -> None:
    if not src.exists():
        raise BadInput("source file not found", src)
    if src.is_dir():
        raise BadInput("is a folder, expected a file", src)
    if out.exists() and out.resolve() == src.resolve():
        raise BadInput("output would overwrite the source file", out)


# ---------------------------------------------------------------------------------------------
# CTR-GCN .npz

def _onehot_rows(y: np.ndarray, key: str, first: int, src: Path) -> np.ndarray:
    """Class indices of a chunk of one-hot rows (rows first, first+1, … of `key`)."""
    ok = np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)
    if not ok.all():
        row = int(np.argmax(~ok))
        raise BadInput(f"{key} is not one-hot (row {first + row} is {np.asarray(y[row]).tolist()[:8]}…)", src)
    return np.argmax(y, axis=1).astype(np.int64)


def import_ctrgcn_npz(src: str | os.PathLike, out: str | os.PathLike, *,
                      parts: tuple[str, ...] = CTRGCN_PARTS, class_names: str | None = None,
                      force: bool = False, max_frames: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import the `parts` (train and/or test) of a CTR-GCN `.npz` into a new store `out`
    (`max_frames`: keep only the first frames of each sample)."""
    src, out = Path(src), Path(out)
    _check_paths(src, out)
    if not parts or any(p not in CTRGCN_PARTS for p in parts):
        raise BadInput(f"parts must be among {CTRGCN_PARTS}, got {parts}")
    t0 = time.perf_counter()
    with _open_npz(src) as zf:
        xs = {p: _member(zf, f"x_{p}", src) for p in parts}
        ys = {p: _member(zf, f"y_{p}", src) for p in parts}
        T = None
        for p in parts:
            shape = xs[p].shape
            if len(shape) != 3 or shape[2] != D:
                raise BadInput(f"x_{p} has shape {shape}, expected (N, T, {D})", src)
            if T is not None and shape[1] != T:
                raise BadInput(f"x_{p} has {shape[1]} frames but another part has {T}", src)
            T = shape[1]
            y = ys[p].shape
            if len(y) != 2:
                raise BadInput(f"y_{p} has shape {y}, expected one-hot (N, classes)", src)
            if y[0] != shape[0]:
                raise BadInput(f"y_{p} has {y[0]} rows but x_{p} has {shape[0]} samples", src)
            if not 1 <= y[1] <= MAX_CLASSES:
                raise BadInput(f"y_{p} has {y[1]:,} classes; tdf supports 1..{MAX_CLASSES}", src)
        widths = {ys[p].shape[1] for p in parts}
        if len(widths) != 1:
            raise BadInput(f"y_train and y_test have different class counts {sorted(widths)}", src)
        num_classes = widths.pop()
        names = default_class_names(num_classes) if class_names is None else load_class_names(class_names)
        if len(names) != num_classes:
            raise BadInput(f"the data have {num_classes} classes but --class-names {class_names} "
                           f"gives {len(names)}", src)
        counts = {p: xs[p].shape[0] for p in parts}
        total = sum(counts.values())
        if total == 0 or T == 0:
            raise BadInput(f"no samples in {', '.join('x_' + p for p in parts)}", src)
        keep = _check_frames(T, max_frames, "x_" + parts[0], src)
        summary = ImportSummary(str(src), str(out), "ctrgcn-npz", frames=int(keep), source_frames=int(T),
                                samples=total, parts=counts, num_classes=num_classes)
        attrs = {"import_format": "ctrgcn-npz", "import_parts": counts}
        done = 0
        with StoreWriter(out, keep, names, source=f"import ctrgcn-npz {src.resolve()} ({', '.join(parts)})",
                         force=force, attrs=attrs, expected=total) as w:
            for p in parts:
                n = counts[p]
                per = min(xs[p].rows_per_chunk(keep * D * xs[p].dtype.itemsize), ys[p].rows_per_chunk())
                for start in range(0, n, per):
                    k = min(per, n - start)
                    x = xs[p].read_frames(k, 1, T, keep).astype(np.float32, copy=False)
                    x = x.reshape(k, keep, N_BODIES, N_JOINTS, N_COORDS)
                    labels = _onehot_rows(ys[p].read(k), f"y_{p}", start, src)
                    chunk_names = [f"ctrgcn_{p}_{start + j + 1:06d}" for j in range(k)]
                    _append_chunk(w, x, labels, chunk_names, [None] * k, summary)
                    done += k
                    if progress:
                        progress(done, total)
            _finish(summary, src)
    summary.seconds = time.perf_counter() - t0
    return summary


# ---------------------------------------------------------------------------------------------
# ST-GCN / 2s-AGCN .npy + pickle

def guess_labels_file(src: Path) -> Path | None:
    """`train_data_joint.npy` / `train_data.npy` → `train_label.pkl`, if that file exists."""
    stem = src.name[:-len(".npy")] if src.name.endswith(".npy") else src.stem
    for tail in ("_data_joint", "_data_bone", "_data"):
        if tail in stem:
            cand = src.with_name(stem[:stem.rindex(tail)] + "_label.pkl")
            if cand.is_file():
                return cand
    return None


def _strip(name: str) -> str:
    return name[:-len(".skeleton")] if name.endswith(".skeleton") else name


def import_stgcn_npy(src: str | os.PathLike, out: str | os.PathLike, *,
                     labels: str | os.PathLike | None = None, class_names: str | None = None,
                     force: bool = False, max_frames: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import an ST-GCN/2s-AGCN `(N, 3, T, 25, M)` array and its `(names, labels)` pickle
    (`max_frames`: keep only the first frames of each sample)."""
    src, out = Path(src), Path(out)
    _check_paths(src, out)
    if labels is None:
        labels = guess_labels_file(src)
        if labels is None:
            raise BadInput("stgcn-npy needs the (names, labels) pickle: pass --labels FILE.pkl", src)
    labels = Path(labels)
    t0 = time.perf_counter()
    try:
        fp = open(src, "rb")
    except OSError as e:
        raise BadInput(f"cannot read ({e.strerror})", src) from None
    with fp:
        return _import_stgcn_rows(_NpyRows(fp, src.name, src, available=os.fstat(fp.fileno()).st_size),
                                  src, out, labels, class_names, force, max_frames, progress, t0)


def _import_stgcn_rows(arr: _NpyRows, src: Path, out: Path, labels: Path, class_names, force,
                       max_frames, progress, t0: float) -> ImportSummary:
    shape = arr.shape
    if len(shape) != 5 or shape[1] != N_COORDS or shape[3] != N_JOINTS or shape[4] not in (1, 2):
        raise BadInput(f"array has shape {shape}, expected (N, 3, T, 25, M ≤ 2)", src)
    n, T, M = shape[0], shape[2], shape[4]
    if n == 0 or T == 0:
        raise BadInput(f"array {shape} holds no samples", src)
    keep = _check_frames(T, max_frames, src.name, src)
    raw_names, label_list = load_names_labels(labels)
    if len(raw_names) != n:
        raise BadInput(f"{len(raw_names)} names/labels but {src.name} holds {n} samples", labels)
    names = [_strip(s) for s in raw_names]
    if len(set(names)) != n:
        dup = next(s for s, c in Counter(names).items() if c > 1)
        raise BadInput(f"sample name {excerpt(dup)} occurs more than once", labels)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < MAX_CLASSES for v in label_list):
        bad = next(v for v in label_list if not (isinstance(v, int) and 0 <= v < MAX_CLASSES))
        raise BadInput(f"label {excerpt(bad)} is not a class index in 0..{MAX_CLASSES - 1}", labels)
    metas = [parse_ntu_name(s) for s in names]
    lab = np.asarray(label_list, np.int64)
    for i, m in enumerate(metas):
        if m and lab[i] != m["action"] - 1:
            raise BadInput(f"label {lab[i]} of {names[i]} disagrees with its action A{m['action']:03d} "
                           f"(expected {m['action'] - 1}); is this the pickle of {src.name}?", labels)
    needed = int(lab.max()) + 1
    if class_names is None:
        ntu = all(metas)
        cls = default_class_names((60 if max(m["action"] for m in metas) <= 60 else 120) if ntu else needed)
    else:
        cls = load_class_names(class_names)
    if len(cls) < needed:
        raise BadInput(f"labels go up to {needed - 1} but --class-names {class_names} has only "
                       f"{len(cls)} names", labels)
    summary = ImportSummary(str(src), str(out), "stgcn-npy", frames=int(keep), source_frames=int(T), samples=n,
                            parts={"all": n}, num_classes=len(cls), labels_file=str(labels))
    per = arr.rows_per_chunk(N_COORDS * keep * N_JOINTS * M * arr.dtype.itemsize)
    with StoreWriter(out, keep, cls, source=f"import stgcn-npy {src.resolve()} + {labels.resolve()}",
                     force=force, attrs={"import_format": "stgcn-npy"}, expected=n) as w:
        for start in range(0, n, per):
            k = min(per, n - start)
            x = arr.read_frames(k, N_COORDS, T, keep).astype(np.float32, copy=False)  # (k, 3, keep, 25·M)
            x = x.reshape(k, N_COORDS, keep, N_JOINTS, M).transpose(0, 2, 4, 3, 1)  # (k, keep, M, 25, 3)
            if M == 1:
                x = np.concatenate([x, np.zeros_like(x)], axis=2)
            _append_chunk(w, np.ascontiguousarray(x), lab[start:start + k], names[start:start + k],
                          metas[start:start + k], summary)
            if progress:
                progress(start + k, n)
        _finish(summary, src)
    summary.seconds = time.perf_counter() - t0
    return summary


def import_data(src, out, fmt: str, **kwargs) -> ImportSummary:
    """Import `src` in format `fmt` (a name of tdf.data.import_formats.IMPORT_FORMATS) into
    the new store `out`; kwargs are the format's options."""
    from tdf.data.import_formats import get_format
    spec = get_format(fmt)
    importer = spec.load()
    return importer(src, out, fmt, **kwargs) if spec.passes_format else importer(src, out, **kwargs)
