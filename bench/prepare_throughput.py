"""Throughput of `tdf data prepare` on raw NTU `.skeleton` files, against a naive reader.

The 61 sample files are replicated (symlinks with distinct, valid NTU names: copy k gets setup
1 + k // 40 and performer 1 + k % 40) to a few thousand files in a temporary folder. Measured:

- naive: a straightforward line-by-line pure-Python reader of the same files (readlines, split,
  `float()` for each coordinate, bodies grouped by bodyID) — parse only, one process; and the
  same reader converting all 12 joint fields, as ST-GCN's / 2s-AGCN's `read_skeleton` do;
- tdf read: `tdf.data.ntu_reader.read_skeleton` — parse only, one process;
- tdf prepare -w 1 / -w 2: the whole conversion (parse, body choice, HDF5 store) with 1 and 2
  worker processes.

Files are read warm from the page cache (the replicas point at 19 MB of real files), so this
measures CPU cost, not disk speed. The parse-only timings run interleaved (each parser on each
tenth of the files in turn) and report CPU time as well, so that other jobs on a shared machine
bias them less; the prepare runs alternate between worker counts and keep each one's best.
Usage (from the repository root):

    python bench/prepare_throughput.py [--src ../shared/data/ntu60-sample] [--copies 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tdf.data.ntu_reader import read_skeleton
from tdf.data.prepare import prepare

NTU60_FILES = 56_880
DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntu60-sample"


def naive_read(path: str, all_fields: bool = False) -> dict[int, tuple[list[int], np.ndarray]]:
    """The straightforward reader: one line at a time, float() per coordinate (or per field)."""
    with open(path) as f:
        lines = f.readlines()
    n_frames = int(lines[0])
    i = 1
    bodies: dict[int, tuple[list[int], list[list[float]]]] = {}
    for frame in range(n_frames):
        n_bodies = int(lines[i]); i += 1
        for _ in range(n_bodies):
            body_id = int(lines[i].split()[0]); i += 1
            n_joints = int(lines[i]); i += 1
            joints = []
            for _ in range(n_joints):
                fields = lines[i].split(); i += 1
                if all_fields:
                    joints.append([float(v) for v in fields][:3])
                else:
                    joints.append([float(fields[0]), float(fields[1]), float(fields[2])])
            frames, xyz = bodies.setdefault(body_id, ([], []))
            frames.append(frame)
            xyz.append(joints)
    return {b: (fr, np.asarray(x, np.float32)) for b, (fr, x) in bodies.items()}


def replicate(src: Path, dst: Path, copies: int) -> list[Path]:
    """Symlink every top-level sample file of `src` `copies` times under new NTU names."""
    originals = sorted(src.glob("*.skeleton"))
    out = []
    for k in range(copies):
        setup, performer = 1 + k // 40, 1 + k % 40
        for p in originals:
            n = p.stem  # SsssCcccPpppRrrrAaaa: keep camera, replication and action
            name = f"S{setup:03d}{n[4:8]}P{performer:03d}{n[12:20]}.skeleton"
            link = dst / name
            if link.exists():
                raise SystemExit(f"name clash: {name}")
            os.symlink(p.resolve(), link)
            out.append(link)
    return out


PARSERS = {
    "naive reader, xyz only (parse only)": lambda p: naive_read(str(p)),
    "naive reader, all fields (parse only)": lambda p: naive_read(str(p), all_fields=True),
    "tdf read_skeleton (parse only)": read_skeleton,
}


def time_parsers(files: list[Path], rounds: int) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of each parser over all files, interleaved in `rounds` slices so
    that load from other processes hits every parser alike."""
    tot = {k: [0.0, 0.0] for k in PARSERS}
    for r in range(rounds):
        part = files[r::rounds]
        for name, fn in PARSERS.items():
            w, c = time.perf_counter(), time.process_time()
            for p in part:
                fn(p)
            tot[name][0] += time.perf_counter() - w
            tot[name][1] += time.process_time() - c
    return {k: (w, c) for k, (w, c) in tot.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--copies", type=int, default=50, help="replicas of the sample (61 files each)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved slices for the parse timings")
    ap.add_argument("--repeat", type=int, default=2, help="prepare runs per worker count (best kept)")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts for prepare")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = ap.parse_args()
    if not args.src.is_dir():
        raise SystemExit(f"{args.src}: sample folder not found")
    tmp = Path(tempfile.mkdtemp(prefix="tdf-bench-prepare-"))
    try:
        raw = tmp / "raw"
        raw.mkdir()
        files = replicate(args.src, raw, args.copies)
        n = len(files)
        mb = sum(p.stat().st_size for p in files) / 1e6
        for p in files[:61]:  # warm the page cache
            p.read_bytes()
        load0 = os.getloadavg()[0]
        rows = []

        def row(method, workers, seconds, cpu=None):
            rows.append({"method": method, "workers": workers, "files": n, "seconds": round(seconds, 2),
                         "cpu_seconds": None if cpu is None else round(cpu, 2),
                         "files_per_s": round(n / seconds, 1), "mb_per_s": round(mb / seconds, 1),
                         "ntu60_minutes": round(NTU60_FILES / (n / seconds) / 60, 1)})

        parse = time_parsers(files, args.rounds)
        for name, (wall, cpu) in parse.items():
            row(name, 1, wall, cpu)
        best: dict[int, float] = {}
        store_mb = 0.0
        worker_counts = [int(v) for v in args.workers.split(",")]
        for _ in range(args.repeat):  # alternate the worker counts, keep each one's best run
            for w in worker_counts:
                out = tmp / f"w{w}.h5"
                t = time.perf_counter()
                s = prepare(raw, out, workers=w, force=True)
                best[w] = min(best.get(w, float("inf")), time.perf_counter() - t)
                assert s.converted == n, s.to_dict()
                store_mb = out.stat().st_size / 1e6
        for w in worker_counts:
            row("tdf data prepare (parse+bodies+store)", w, best[w])
        print(f"{n} files, {mb:.0f} MB ({mb / n * 1000:.0f} kB/file), {os.cpu_count()} CPUs, load average "
              f"{load0:.1f} → {os.getloadavg()[0]:.1f}; store {store_mb:.0f} MB (lzf)")
        print(f"{'method':42s} {'workers':>7s} {'wall s':>7s} {'CPU s':>7s} {'files/s':>8s} {'MB/s':>7s} "
              f"{'NTU-60 (56,880 files)':>22s}")
        for r in rows:
            cpu = "" if r["cpu_seconds"] is None else f"{r['cpu_seconds']:.2f}"
            print(f"{r['method']:42s} {r['workers']:7d} {r['seconds']:7.2f} {cpu:>7s} {r['files_per_s']:8.1f} "
                  f"{r['mb_per_s']:7.1f} {r['ntu60_minutes']:18.1f} min")
        (nw, nc), (aw, ac), (fw, fc) = parse.values()
        print(f"parse speedup of tdf read_skeleton: {nw / fw:.1f}x wall / {nc / fc:.1f}x CPU over the xyz-only "
              f"naive reader, {aw / fw:.1f}x / {ac / fc:.1f}x over the all-fields one")
        if args.json:
            print(json.dumps(rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
