"""Import a folder of one-file-per-sequence data sets (UTD-MHAD `.mat`, N-UCLA `.json`).

A data set module (`tdf.data.utd_mhad`, `tdf.data.nw_ucla`) says how to recognise its files
(`FILE_GLOB`, `describe(filename)` → sample name, label and metadata), how to read one
(`load(path, filename)` → [t, bodies, joints, coords] in its `LAYOUT`, raising one of its
`MALFORMED` exceptions), its `CLASS_NAMES` and its standard protocol (`DEFAULT_SPLIT`).

Two passes keep memory to one sequence at a time: the first reads and checks every file and
records its length (the store's T is the longest, or `--max-frames`); the second reads each
good file again and appends it to the store (temp file + rename). A malformed file — a name that
is not the data set's, an unreadable or inconsistent file, NaN — is reported with its reason and
skipped, or with `strict` stops the import before anything is written, as `tdf data prepare`
does.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from tdf.data.importers import ImportSummary, load_class_names
from tdf.data.limits import MAX_FRAMES, excerpt
from tdf.data.store import Sample, StoreWriter
from tdf.errors import BadInput

# format name → the module describing the data set
FOLDER_SETS = {"utd-mhad": "tdf.data.utd_mhad", "nw-ucla": "tdf.data.nw_ucla"}
MALFORMED_LISTED = 50  # malformed files kept in the summary (all are counted)


def dataset_module(fmt: str):
    return importlib.import_module(FOLDER_SETS[fmt])


def find_files(src: Path, pattern: str) -> list[Path]:
    """Files matching `pattern` under `src` (recursive), sorted by name, then path."""
    if not src.exists():
        raise BadInput("data folder not found", src)
    if not src.is_dir():
        raise BadInput("is not a folder (expected the folder holding the data set's files)", src)
    return sorted((p for p in src.rglob(pattern) if p.is_file()), key=lambda p: (p.name, str(p)))


def _reason(e: Exception) -> str:
    return excerpt(str(e), 200).strip("'\"")


def import_folder(src: str | os.PathLike, out: str | os.PathLike, fmt: str, *, class_names: str | None = None,
                  force: bool = False, max_frames: int | None = None, strict: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import the data set folder `src` (format `fmt`, one of FOLDER_SETS) into a new store `out`."""
    ds = dataset_module(fmt)
    src, out = Path(src), Path(out)
    t0 = time.perf_counter()
    if max_frames is not None and not 1 <= max_frames <= MAX_FRAMES:
        raise BadInput(f"--max-frames must be in 1..{MAX_FRAMES}, got {max_frames}")
    names = list(ds.CLASS_NAMES) if class_names is None else load_class_names(class_names)
    if len(names) != len(ds.CLASS_NAMES):
        raise BadInput(f"{fmt} has {len(ds.CLASS_NAMES)} classes but --class-names {class_names} "
                       f"gives {len(names)}")
    files = find_files(src, ds.FILE_GLOB)
    if not files:
        raise BadInput(f"no {ds.FILE_GLOB} files in this folder (is it the {fmt} data?)", src)
    summary = ImportSummary(str(src), str(out), fmt, found=len(files), num_classes=len(names),
                            layout=ds.LAYOUT, default_split=ds.DEFAULT_SPLIT)
    total = 2 * len(files)

    def malformed(path: Path, name: str, reason: str) -> None:
        if strict:
            raise BadInput(f"{reason} (--strict stops at the first malformed file)", path)
        if len(summary.malformed) < MALFORMED_LISTED:
            summary.malformed.append({"name": name, "file": str(path), "reason": reason})

    # pass 1: check every file, keep (path, description, length) of the good ones
    good: list[tuple[Path, dict, int]] = []
    seen = Counter(p.name for p in files)
    bad = 0
    for i, p in enumerate(files):
        desc = ds.describe(p.name)
        if desc is None:
            malformed(p, p.name, f"not a {fmt} file name (expected {ds.NAME_HINT})")
            bad += 1
        elif seen[p.name] > 1:
            malformed(p, desc["name"], f"sample {desc['name']} occurs {seen[p.name]} times in the folder")
            bad += 1
        else:
            try:
                good.append((p, desc, len(ds.load(p, p.name))))
            except ds.MALFORMED as e:
                malformed(p, desc["name"], _reason(e))
                bad += 1
        if progress:
            progress(i + 1, total)
    if not good:
        first = summary.malformed[0]
        raise BadInput(f"none of the {len(files)} {ds.FILE_GLOB} files could be imported "
                       f"(e.g. {Path(first['file']).name}: {first['reason']})", src)
    longest = max(t for _, _, t in good)
    keep = longest if max_frames is None else min(longest, max_frames)
    summary.source_frames, summary.frames = int(longest), int(keep)

    # pass 2: read each good file again and append it
    attrs = {"import_format": fmt, "default_split": ds.DEFAULT_SPLIT, "benchmark": ds.NAME}
    with StoreWriter(out, keep, names, source=f"import {fmt} {src.resolve()}", force=force, attrs=attrs,
                     expected=len(good), layout=ds.LAYOUT) as w:
        for i, (p, desc, _) in enumerate(good):
            try:
                x = ds.load(p, p.name)
            except ds.MALFORMED as e:  # changed since the first pass
                malformed(p, desc["name"], _reason(e))
                bad += 1
                continue
            w.append(Sample(x[:keep], desc["label"], desc["name"], subject=desc.get("subject", -1),
                            camera=desc.get("camera", -1), setup=desc.get("setup", -1),
                            replication=desc.get("replication", -1)))
            summary.samples += 1
            if progress:
                progress(len(files) + i + 1, total)
    summary.parts = {"all": summary.samples}
    summary.skipped_malformed = bad
    summary.default_split_sizes = _default_sizes(out)
    summary.seconds = time.perf_counter() - t0
    return summary


def _default_sizes(out: Path) -> dict[str, int]:
    """Train / test sides of the new store's default split (before validation is carved)."""
    from tdf.data.splits import split_sides
    from tdf.data.store import open_store
    with open_store(out) as store:
        train, test = split_sides(store, store.attr("default_split"))
    return {"train": int(train.sum()), "test": int(test.sum())}
