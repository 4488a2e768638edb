"""Convert a folder of raw NTU RGB+D `.skeleton` files into a tdf HDF5 store (`tdf data prepare`).

Steps: find `*.skeleton` files recursively (sorted by sample name, so the store's order does not
depend on the folder layout or on worker timing); sort out by name what cannot be converted (a
name that is not an NTU sample id, an action outside the benchmark, a duplicate name, a sample on
the missing-skeleton list); parse and denoise the rest in N worker processes (`ntu_reader`,
`ntu_bodies`; each worker returns only the compact `[t, 2, 25, 3]` float32 array, cropped to
`max_frames`); append them in order with `StoreWriter` (temp file + rename). Metadata comes from
the file name: label = action − 1, subject, camera, setup, replication.

A malformed file is skipped and reported with its line and problem; with `strict=True` the first
one raises `SkeletonFormatError` and nothing is written. A sample whose frames are all empty
(after the body rules) is skipped as missing even when it is not on the list.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tdf.atomic import check_writable
from tdf.data.limits import MAX_FRAMES, excerpt
from tdf.data.missing import OFFICIAL_LISTS, load_missing_list, official_missing
from tdf.data.ntu_bodies import choose_bodies
from tdf.data.ntu_classes import class_names
from tdf.data.ntu_reader import SkeletonFormatError, read_skeleton, sample_name
from tdf.data.store import Sample, StoreWriter, parse_ntu_name
from tdf.errors import BadInput, RunFailed
from tdf.signals import ignore_interrupts_in_worker

BENCHMARKS = ("ntu60", "ntu120")


@dataclass
class Skipped:
    """A file that was not converted, and why."""

    name: str
    file: str
    reason: str


@dataclass
class PrepareSummary:
    """What `prepare` did; `to_dict()` is the `--json` output."""

    out: str
    benchmark: str
    max_frames: int
    workers: int
    found: int = 0
    converted: int = 0
    cropped: int = 0          # converted samples longer than max_frames (first frames kept)
    frames: int = 0           # frames written, after cropping
    bytes_read: int = 0       # size of the files that were parsed
    seconds: float = 0.0
    missing: list[Skipped] = field(default_factory=list)
    malformed: list[Skipped] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped_missing"] = len(self.missing)
        d["skipped_malformed"] = len(self.malformed)
        d["files_per_s"] = round(self.found / self.seconds, 1) if self.seconds else None
        d["mb_per_s"] = round(self.bytes_read / 1e6 / self.seconds, 2) if self.seconds else None
        return d


def find_skeleton_files(raw_dir: str | os.PathLike) -> list[Path]:
    """All `*.skeleton` files under `raw_dir` (recursive), sorted by sample name, then path."""
    raw_dir = Path(raw_dir)
    if not raw_dir.exists():
        raise BadInput("raw data folder not found", raw_dir)
    if not raw_dir.is_dir():
        raise BadInput("is not a folder (expected the folder holding the .skeleton files)", raw_dir)
    files = [p for p in raw_dir.rglob("*.skeleton") if p.is_file()]
    return sorted(files, key=lambda p: (sample_name(p), str(p)))


def convert_file(path: str, max_frames: int) -> tuple:
    """Worker: parse + choose bodies for one file. Returns a small picklable tuple:
    ("ok", x float32 [t≤max_frames, 2, 25, 3], t_before_crop) | ("missing", reason) |
    ("malformed", reason)."""
    try:
        sk = read_skeleton(path)
    except SkeletonFormatError as e:
        return ("malformed", e.problem if e.line is None else f"line {e.line}: {e.problem}")
    except BadInput as e:  # unreadable file
        return ("malformed", str(e).removeprefix(f"{path}: "))
    except Exception as e:  # noqa: BLE001 — one file the reader did not foresee never stops the others
        return ("malformed", f"could not be parsed ({e.__class__.__name__}: {excerpt(str(e))})")
    if sk.is_missing:
        return ("missing", f"all {sk.n_frames} frames have no body")
    choice = choose_bodies(sk)
    if choice.empty:
        return ("missing", "no body left after the noise filters (every bodyID lasts ≤ 11 frames)")
    return ("ok", np.ascontiguousarray(choice.x[:max_frames]), len(choice.x))


def _convert_star(args: tuple[str, int]) -> tuple:
    return convert_file(*args)


def _screen(files: list[Path], benchmark: str, missing: frozenset[str], missing_src: str):
    """Sort out by name: → (to_parse [(name, path)], skipped missing, skipped malformed)."""
    n_classes = len(class_names(benchmark))
    seen: dict[str, Path] = {}
    todo: list[tuple[str, Path]] = []
    skip_missing: list[Skipped] = []
    skip_bad: list[Skipped] = []
    for p in files:
        name = sample_name(p)
        meta = parse_ntu_name(name)
        if meta is None:
            skip_bad.append(Skipped(name, str(p), "file name is not an NTU sample id "
                                                  "(SsssCcccPpppRrrrAaaa.skeleton)"))
        elif not 1 <= meta["action"] <= n_classes:
            hint = "; use --benchmark ntu120" if benchmark == "ntu60" and meta["action"] <= 120 else ""
            skip_bad.append(Skipped(name, str(p), f"action A{meta['action']:03d} is not in {benchmark} "
                                                  f"(A001..A{n_classes:03d}){hint}"))
        elif name in seen:
            skip_bad.append(Skipped(name, str(p), f"duplicate sample name (also {seen[name]})"))
        elif name in missing:
            seen[name] = p
            skip_missing.append(Skipped(name, str(p), f"on the missing-skeleton list ({missing_src})"))
        else:
            seen[name] = p
            todo.append((name, p))
    return todo, skip_missing, skip_bad


def prepare(raw_dir: str | os.PathLike, out: str | os.PathLike, *, benchmark: str = "ntu60",
            max_frames: int = 300, workers: int = 1, missing_list: str | os.PathLike | None = None,
            strict: bool = False, force: bool = False, compression: str = "lzf",
            progress: Callable[[int, int], None] | None = None) -> PrepareSummary:
    """Convert every `*.skeleton` under `raw_dir` into the store `out`; see the module docstring.

    `missing_list` replaces the official list of the benchmark. `progress(done, total)` is called
    after each file. Raises `BadInput` for bad options, a missing folder, an existing `out`
    without `force`, no convertible file, or (strict) the first malformed file.
    """
    t0 = time.perf_counter()
    if benchmark not in BENCHMARKS:
        raise BadInput(f"--benchmark must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    if not 1 <= max_frames <= MAX_FRAMES:
        raise BadInput(f"--max-frames must be in 1..{MAX_FRAMES}, got {max_frames}")
    if workers < 1:
        raise BadInput(f"--workers must be ≥ 1, got {workers}")
    check_writable(out, force)
    if missing_list is None:
        missing, missing_src = official_missing(benchmark), OFFICIAL_LISTS[benchmark]
    else:
        missing, missing_src = load_missing_list(missing_list), Path(missing_list).name
    files = find_skeleton_files(raw_dir)
    if not files:
        raise BadInput("no *.skeleton files found (searched recursively)", raw_dir)

    summary = PrepareSummary(out=str(out), benchmark=benchmark, max_frames=max_frames,
                             workers=workers, found=len(files))
    todo, summary.missing, summary.malformed = _screen(files, benchmark, missing, missing_src)
    if strict and summary.malformed:
        s = summary.malformed[0]
        raise SkeletonFormatError(s.reason, s.file)
    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))

    names = class_names(benchmark)
    attrs = {"benchmark": benchmark, "max_frames": max_frames, "raw_dir": str(Path(raw_dir).resolve()),
             "missing_list": missing_src, "body_rule": "ctrgcn (tdf.data.ntu_bodies)"}
    source = f"NTU RGB+D .skeleton files (tdf data prepare --benchmark {benchmark})"
    from tdf.data.repack import compression_filter
    h5_compression = compression_filter(compression)
    with StoreWriter(out, max_frames, names, source, force=force, attrs=attrs,
                     compression=h5_compression, expected=len(todo)) as writer:
        results = _run(todo, max_frames, workers)
        try:
            for (name, path), res in zip(todo, results):
                kind = res[0]
                if kind == "ok" and not np.isfinite(res[1]).all():  # e.g. a value beyond float32
                    res = ("malformed", "joint coordinates beyond the float32 range")
                    kind = "malformed"
                if kind == "ok":
                    x, t_full = res[1], res[2]
                    meta = parse_ntu_name(name)
                    writer.append(Sample(x, meta["action"] - 1, name, subject=meta["subject"],
                                         camera=meta["camera"], setup=meta["setup"],
                                         replication=meta["replication"]))
                    summary.converted += 1
                    summary.frames += len(x)
                    summary.cropped += int(t_full > max_frames)
                elif kind == "missing":
                    summary.missing.append(Skipped(name, str(path), res[1]))
                else:
                    if strict:
                        raise SkeletonFormatError(res[1], path)
                    summary.malformed.append(Skipped(name, str(path), res[1]))
                summary.bytes_read += path.stat().st_size
                done += 1
                if progress:
                    progress(done, len(files))
        finally:
            results.close()  # stops the worker pool at once on an error
        if summary.converted == 0:
            raise BadInput(f"no sample could be converted ({len(summary.missing)} missing, "
                           f"{len(summary.malformed)} malformed)", raw_dir)
    summary.missing.sort(key=lambda s: s.name)
    summary.malformed.sort(key=lambda s: (s.name, s.file))
    summary.seconds = time.perf_counter() - t0
    return summary


def _parse_worker(conn, args: list[tuple[str, int]]) -> None:
    """Worker process: convert `args` in order, sending each result down its own pipe.

    Ctrl-C is left to the parent, which stops the workers with SIGTERM (whose default action
    ends a process silently); a parent that went away closes the pipe, and the worker just ends.
    """
    ignore_interrupts_in_worker()
    try:
        for a in args:
            conn.send(_convert_star(a))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass
    finally:
        conn.close()


def _run(todo: list[tuple[str, Path]], max_frames: int, workers: int):
    """Results of `convert_file` in the order of `todo` (in-process for one worker).

    File i goes to worker i mod n, and each worker sends its results down a pipe of its own, in
    order. No queue or lock is shared between workers, so workers that die at any moment (a
    SIGTERM to the whole process group, the OOM killer) cannot leave the parent waiting on a
    lock a dead worker held (as multiprocessing.Pool's terminate() can).
    """
    args = [(str(p), max_frames) for _, p in todo]
    if workers == 1 or len(args) < 2:
        yield from map(_convert_star, args)
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    n = min(workers, len(args))
    procs, pipes = [], []
    try:
        for k in range(n):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_parse_worker, args=(send, args[k::n]), daemon=True)
            proc.start()
            send.close()
            procs.append(proc)
            pipes.append(receive)
        for i in range(len(args)):
            try:
                yield pipes[i % n].recv()
            except EOFError:
                raise RunFailed(f"parser process {i % n + 1} of {n} stopped unexpectedly "
                                f"(exit code {procs[i % n].exitcode}) while reading {args[i][0]}") from None
    finally:  # also on an error, an interrupt or the consumer closing this generator
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for pipe in pipes:
            pipe.close()
