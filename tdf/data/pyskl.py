"""pyskl / mmaction2 skeleton annotation pickles, both ways (`tdf data import … --format pyskl`,
`tdf data export … --format pyskl`).

The format (pyskl's `PoseDataset`, mmaction2's skeleton `PoseDataset`):

    {"split": {"xsub_train": [frame_dir, …], "xsub_val": […], …},
     "annotations": [{"frame_dir": str, "label": int, "total_frames": T,
                      "keypoint": float [M persons, T, V joints, C coords],
                      "keypoint_score": float [M, T, V]   (2-D files only),
                      "img_shape": (h, w), "original_shape": (h, w)   (2-D files), …}, …]}

3-D files (NTU, `ntu60_3danno.pkl`) have C = 3 and no scores; 2-D files from pose estimators
(`ntu60_hrnet.pkl`, COCO-17) have C = 2 plus per-keypoint scores. A pickle names no joint
layout and no class names: `--layout` chooses the layout (else it is guessed from V × C when
that is unambiguous: 25 × 3 → ntu25, 20 × 3 → kinect_v1_20, 17 × 2 → coco17, 18 × 2 →
openpose18), `--class-names` the names (else NTU names when the frame_dirs are NTU sample ids
or the layout is ntu25 and the labels fit, else class_000…).

Import: the pickle is read with the restricted unpickler (builtin containers and numeric numpy
arrays only; pickle cannot be streamed, so the file is held in memory while it is read), every
annotation is checked (keys, types, keypoint shape against the layout, label range; a problem is
exit 2 naming the pickle and the frame_dir) before the store is written. The first `bodies`
persons are kept (pyskl's `num_person`); fewer are zero-padded. Keypoint scores are checked and
not stored (tdf's 2-D layouts hold x, y). A sample with NaN/inf is skipped and reported. The
split lists are stored with the data (`/splits`, `--split NAME` uses `NAME_train` / `NAME_val`);
NTU-style frame_dirs fill subject / camera / setup / replication.

Export writes the same structure, one annotation at a time (memory: one sample): frame_dir =
sample name, label, total_frames = length, keypoint [M, length, V, C] float32 with M the
persons that appear, and for 2-D layouts keypoint_score (1 where a person's joint has data, 0
elsewhere: tdf keeps no confidences) and img_shape when the store recorded one. `split` holds
the store's stored lists, plus `NAME_train` / `NAME_val` for its NTU protocols and for its
default split (training side = train + validation rows). A `tdf` block — ignored by pyskl and
mmaction2, which read only `split` and `annotations` — carries what a pickle cannot say
(layout, class names, default split, metadata), so store → pickle → store gives the same store.
"""

from __future__ import annotations

import os
import pickle
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np

from tdf.data.importers import ImportSummary, default_class_names, load_class_names
from tdf.data.limits import MAX_CLASSES, MAX_FRAMES, excerpt
from tdf.data.store import META_INT16, Sample, StoreWriter, open_store, parse_ntu_name
from tdf.data.unpickle import load_array_pickle
from tdf.errors import BadInput

TDF_BLOCK = "tdf"
# (joints, coords) → the shipped layout a pickle of that shape is taken to be in
GUESS_LAYOUT = {(25, 3): "ntu25", (20, 3): "kinect_v1_20", (17, 2): "coco17", (18, 2): "openpose18"}
_KEYPOINT_DTYPES = "fiu"


# --------------------------------------------------------------------------------------- import

def _annotation_list(doc, src: Path) -> tuple[list, dict]:
    """The annotations and the split dict of a loaded pickle (old mmaction2 files are a bare list)."""
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        raise BadInput(f"a pyskl pickle holds a dict {{split, annotations}}, this one a {type(doc).__name__}", src)
    if "annotations" not in doc:
        raise BadInput(f"no 'annotations' in the pickle (it has: {', '.join(map(str, list(doc)[:8])) or 'nothing'})",
                       src)
    anns, split = doc["annotations"], doc.get("split", {})
    if not isinstance(anns, list):
        raise BadInput(f"'annotations' is a {type(anns).__name__}, expected a list", src)
    if not isinstance(split, dict):
        raise BadInput(f"'split' is a {type(split).__name__}, expected a dict of name → [frame_dir, …]", src)
    return anns, split


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_annotation(i: int, a, src: Path, V: int | None, C: int | None) -> tuple[str, int, np.ndarray]:
    """(frame_dir, label, keypoint) of annotation i, every field checked."""
    if not isinstance(a, dict):
        raise BadInput(f"annotation {i} is a {type(a).__name__}, expected a dict", src)
    missing = [k for k in ("frame_dir", "label", "keypoint") if k not in a]
    if missing:
        who = f"annotation {i}" + (f" ({excerpt(a['frame_dir'])})" if "frame_dir" in a else "")
        raise BadInput(f"{who} has no {', '.join(missing)}", src)
    name = a["frame_dir"]
    if not isinstance(name, str) or not name:
        raise BadInput(f"annotation {i}: frame_dir must be a non-empty string, got {excerpt(name)}", src)
    who = f"annotation {excerpt(name)}"
    label = a["label"]
    if not _is_int(label) or not 0 <= int(label) < MAX_CLASSES:
        raise BadInput(f"{who}: label {excerpt(label)} is not a class index in 0..{MAX_CLASSES - 1}", src)
    kp = a["keypoint"]
    if not isinstance(kp, np.ndarray) or kp.dtype.kind not in _KEYPOINT_DTYPES:
        raise BadInput(f"{who}: keypoint must be a numeric array [M, T, V, C], got {type(kp).__name__}", src)
    if kp.ndim != 4 or kp.shape[0] < 1 or kp.shape[1] < 1:
        raise BadInput(f"{who}: keypoint has shape {kp.shape}, expected [M persons ≥ 1, T frames ≥ 1, V, C]", src)
    if V is not None and (kp.shape[2], kp.shape[3]) != (V, C):
        raise BadInput(f"{who}: keypoint has shape {kp.shape}: V × C = {kp.shape[2]} × {kp.shape[3]}, but the "
                       f"layout has {V} joints × {C} coordinates", src)
    total = a.get("total_frames", kp.shape[1])
    if not _is_int(total) or int(total) != kp.shape[1]:
        raise BadInput(f"{who}: total_frames {excerpt(total)} disagrees with keypoint's {kp.shape[1]} frames", src)
    score = a.get("keypoint_score")
    if score is not None and (not isinstance(score, np.ndarray) or score.shape != kp.shape[:3]):
        shape = score.shape if isinstance(score, np.ndarray) else type(score).__name__
        raise BadInput(f"{who}: keypoint_score has shape {shape}, expected {kp.shape[:3]} (M, T, V)", src)
    return name, int(label), kp


def _choose_layout(layout, block: dict, anns: list, src: Path):
    from tdf.skeleton import get_layout, layout_from_toml
    if layout is not None:
        return get_layout(layout)
    if isinstance(block.get("layout"), str):
        return layout_from_toml(block["layout"], f"{src} (its tdf block's layout)")
    kp = anns[0].get("keypoint") if anns and isinstance(anns[0], dict) else None
    shape = (kp.shape[2], kp.shape[3]) if isinstance(kp, np.ndarray) and kp.ndim == 4 else None
    if shape not in GUESS_LAYOUT:
        raise BadInput(f"cannot tell the joint layout of keypoints shaped {shape and f'V={shape[0]}, C={shape[1]}'}"
                       f"; pass --layout NAME|FILE.toml", src)
    return get_layout(GUESS_LAYOUT[shape])


def _choose_class_names(class_names, block: dict, labels: list[int], frame_dirs: list[str], layout, src: Path):
    needed = max(labels) + 1
    if class_names is not None:
        names = load_class_names(class_names)
        if len(names) < needed:
            raise BadInput(f"labels go up to {needed - 1} but --class-names {class_names} has only {len(names)} names",
                           src)
        return names
    own = block.get("class_names")
    if isinstance(own, list) and all(isinstance(c, str) for c in own) and len(own) >= needed:
        return own
    ntu = all(parse_ntu_name(n) for n in frame_dirs)
    if (ntu or layout.name == "ntu25") and needed <= 120:
        return default_class_names(60 if needed <= 60 else 120)
    return [f"class_{i:03d}" for i in range(needed)]


def import_pyskl(src: str | os.PathLike, out: str | os.PathLike, *, layout=None, class_names: str | None = None,
                 force: bool = False, max_frames: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import a pyskl/mmaction2 annotation pickle `src` into a new store `out`."""
    from tdf.data.importers import _check_paths
    from tdf.data.splits import STORED_NAME, stored_split_names
    src, out = Path(src), Path(out)
    _check_paths(src, out)
    t0 = time.perf_counter()
    if max_frames is not None and not 1 <= max_frames <= MAX_FRAMES:
        raise BadInput(f"--max-frames must be in 1..{MAX_FRAMES}, got {max_frames}")
    doc = load_array_pickle(src)
    anns, split = _annotation_list(doc, src)
    block = doc.get(TDF_BLOCK) if isinstance(doc, dict) and isinstance(doc.get(TDF_BLOCK), dict) else {}
    if not anns:
        raise BadInput("the pickle holds no annotations", src)
    lay = _choose_layout(layout, block, anns, src)
    V, C = lay.n_joints, lay.coords
    checked = [_check_annotation(i, a, src, V, C) for i, a in enumerate(anns)]
    frame_dirs = [c[0] for c in checked]
    if len(set(frame_dirs)) != len(frame_dirs):
        dup = next(n for n in frame_dirs if frame_dirs.count(n) > 1)
        raise BadInput(f"frame_dir {excerpt(dup)} occurs more than once", src)
    T = max(c[2].shape[1] for c in checked)
    if max_frames is None and T > MAX_FRAMES:
        raise BadInput(f"an annotation has {T:,} frames, more than the {MAX_FRAMES} tdf supports; pass "
                       f"--max-frames N to keep the first N frames", src)
    keep = T if max_frames is None else min(T, max_frames)
    labels = [c[1] for c in checked]
    names = _choose_class_names(class_names, block, labels, frame_dirs, lay, src)
    lists = _split_lists(split, src, STORED_NAME)
    derived = set(block.get("derived_splits", [])) if isinstance(block.get("derived_splits"), list) else set()
    stored_names = stored_split_names(k for k in lists if k.rsplit("_", 1)[0] not in derived)
    default = block.get("default_split") if isinstance(block.get("default_split"), str) else None
    if default is None and stored_names:
        default = "xsub" if "xsub" in stored_names else stored_names[0]
    attrs = {"import_format": "pyskl"}
    if default:
        attrs["default_split"] = default
    for key in ("benchmark",):
        if isinstance(block.get(key), str):
            attrs[key] = block[key]
    shapes = {tuple(int(v) for v in a["img_shape"]) for a in anns
              if isinstance(a.get("img_shape"), (tuple, list)) and len(a["img_shape"]) == 2
              and all(_is_int(v) for v in a["img_shape"])}
    if C == 2 and len(shapes) == 1:
        attrs["img_shape"] = list(shapes.pop())
    meta_block = block.get("meta") if isinstance(block.get("meta"), dict) else {}
    summary = ImportSummary(str(src), str(out), "pyskl", frames=int(keep), source_frames=int(T), samples=0,
                            num_classes=len(names), layout=lay.name, default_split=default)
    with StoreWriter(out, keep, names, source=f"import pyskl {src.resolve()}", force=force, attrs=attrs,
                     expected=len(checked), layout=lay) as w:
        for i, (name, label, kp) in enumerate(checked):
            if label >= len(names):
                raise BadInput(f"annotation {excerpt(name)}: label {label} but only {len(names)} class names", src)
            x = _to_frames(kp[:, :keep], lay)
            if x is None:
                summary.nonfinite += 1
                if len(summary.nonfinite_samples) < 20:
                    summary.nonfinite_samples.append(name)
                continue
            if kp.shape[0] > lay.bodies and np.any(kp[lay.bodies:] != 0):
                summary.persons_dropped += 1
            meta = parse_ntu_name(name) or {}
            own = meta_block.get(name) if isinstance(meta_block.get(name), list) else None
            if own is not None and len(own) == len(META_INT16) and all(_is_int(v) for v in own):
                meta = dict(zip(META_INT16, own))
            w.append(Sample(x, label, name, **{k: int(meta.get(k, -1)) for k in META_INT16}))
            summary.samples += 1
            if progress:
                progress(i + 1, len(checked))
        if summary.samples == 0:
            raise BadInput(f"every annotation holds NaN or infinite keypoints (e.g. {summary.nonfinite_samples[0]})",
                           src)
        for key, members in lists.items():
            if key.rsplit("_", 1)[0] in derived and key.endswith(("_train", "_val", "_test")):
                continue
            w.add_split_list(key, members)
    summary.split_lists = {k: len(v) - w.split_lists_dropped.get(k, 0) for k, v in lists.items()
                           if k in w.split_lists_dropped}
    summary.split_names_dropped = sum(w.split_lists_dropped.values())
    summary.parts = {"all": summary.samples}
    if default:
        from tdf.data.import_folder import _default_sizes
        summary.default_split_sizes = _default_sizes(out)
    summary.seconds = time.perf_counter() - t0
    return summary


def _split_lists(split: dict, src: Path, pattern: re.Pattern) -> dict[str, list[str]]:
    lists = {}
    for key, members in split.items():
        if not isinstance(key, str) or not pattern.match(key):
            raise BadInput(f"split name {excerpt(key)} must be 1–100 letters, digits, '_', '.' or '-'", src)
        if not isinstance(members, (list, tuple)) or not all(isinstance(m, str) for m in members):
            raise BadInput(f"split {key!r} must be a list of frame_dir strings", src)
        lists[key] = list(members)
    return lists


def _to_frames(kp: np.ndarray, layout) -> np.ndarray | None:
    """keypoint [M, T, V, C] → [T, bodies, V, C] float32 (first `bodies` persons, zero-padded);
    None when it holds NaN/inf."""
    x = np.asarray(kp[:layout.bodies], np.float32)
    if not np.isfinite(x).all():
        return None
    out = np.zeros((x.shape[1], layout.bodies, layout.n_joints, layout.coords), np.float32)
    out[:, :x.shape[0]] = x.transpose(1, 0, 2, 3)
    return out


# --------------------------------------------------------------------------------------- export

def _chunk(obj) -> bytes:
    """The opcodes that push `obj` (a protocol-3 pickle without its PROTO header and STOP)."""
    data = pickle.dumps(obj, protocol=3)
    return data[2:-1]


def _export_splits(store) -> tuple[dict[str, list[str]], list[str]]:
    """The split lists to write: the stored ones, plus NAME_train / NAME_val for the store's NTU
    protocols and its default split when not stored (returned as `derived`)."""
    from tdf.data.splits import (STORED_NAME, applicable_splits, default_split_name, parse_field_split,
                                 split_sides, stored_splits)
    names = store.names
    lists = {k: [names[i] for i in rows] for k, rows in store.split_lists.items()}
    derived = []
    stored = stored_splits(store)
    wanted = [s for s in applicable_splits(store) if s != "random" and s not in stored]
    default = default_split_name(store)
    for name in wanted:
        key = name if STORED_NAME.match(name) else None
        if key is None and name == default and parse_field_split(name):
            key = "default"
        if key is None or f"{key}_train" in lists or f"{key}_val" in lists:
            continue
        train, test = split_sides(store, name)
        lists[f"{key}_train"] = [names[i] for i in np.flatnonzero(train)]
        lists[f"{key}_val"] = [names[i] for i in np.flatnonzero(test)]
        derived.append(key)
    return lists, derived


def export_pyskl(data: str | os.PathLike, out: str | os.PathLike, *, force: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the store `data` as a pyskl/mmaction2 annotation pickle `out` (temp + rename)."""
    from tdf.atomic import atomic_path, check_writable
    out = Path(out)
    with open_store(data) as store:
        if out.exists() and out.resolve() == store.path.resolve():
            raise BadInput("output would overwrite the store", out)
        check_writable(out, force)
        lay = store.layout
        lists, derived = _export_splits(store)
        block = {"layout": lay.to_toml(), "class_names": list(store.class_names),
                 "default_split": store.attr("default_split"), "benchmark": store.attr("benchmark"),
                 "derived_splits": derived, "source": store.attr("source"),
                 "meta": _own_metadata(store)}
        block = {k: v for k, v in block.items() if v is not None}
        img_shape = store.json_attr("img_shape")
        t0 = time.perf_counter()
        with atomic_path(out, force=force) as tmp, open(tmp, "wb") as f:
            f.write(b"\x80\x03}")                       # PROTO 3, EMPTY_DICT
            f.write(_chunk("split") + _chunk(lists) + b"s")   # SETITEM
            f.write(_chunk("annotations") + b"]")       # EMPTY_LIST
            for i in range(store.n):
                f.write(_chunk(_annotation(store, i, lay, img_shape)) + b"a")  # APPEND
                if progress:
                    progress(i + 1, store.n)
            f.write(b"s")
            f.write(_chunk(TDF_BLOCK) + _chunk(block) + b"s.")  # SETITEM, STOP
        return {"data": str(store.path), "out": str(out), "format": "pyskl", "samples": store.n,
                "layout": lay.name, "splits": {k: len(v) for k, v in lists.items()},
                "seconds": time.perf_counter() - t0}


def _own_metadata(store) -> dict[str, list[int]]:
    """subject/camera/setup/replication of the samples whose name does not already say them
    (an NTU sample id does), so the import restores them."""
    out = {}
    for i, n in enumerate(store.names):
        row = [int(getattr(store, k)[i]) for k in META_INT16]
        parsed = parse_ntu_name(n)
        if (parsed is None and any(v != -1 for v in row)) or \
                (parsed is not None and row != [parsed[k] for k in META_INT16]):
            out[n] = row
    return out


def _annotation(store, i: int, lay, img_shape) -> dict:
    x = store.read_one(i)                                    # [length, bodies, V, C]
    if len(x) == 0:  # an all-zero sample: pyskl needs T ≥ 1, so one zero frame
        x = np.zeros((1,) + tuple(lay.frame_shape), np.float32)
    present = np.flatnonzero(np.any(x != 0, axis=(0, 2, 3)))
    m = int(present[-1]) + 1 if len(present) else 1
    kp = np.ascontiguousarray(x[:, :m].transpose(1, 0, 2, 3), np.float32)  # [M, T, V, C]
    ann = {"frame_dir": store.names[i], "label": int(store.label[i]), "total_frames": int(len(x)),
           "keypoint": kp}
    if lay.coords == 2:
        ann["keypoint_score"] = np.any(kp != 0, axis=3).astype(np.float32)
        if isinstance(img_shape, list) and len(img_shape) == 2:
            ann["img_shape"] = ann["original_shape"] = tuple(int(v) for v in img_shape)
    return ann


