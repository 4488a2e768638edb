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
measures CPU cost, not disk speed. Usage (from the repository root):

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


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--copies", type=int, default=50, help="replicas of the sample (61 files each)")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts for prepare")
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
        rows = []

        def row(method, workers, seconds):
            rows.append({"method": method, "workers": workers, "files": n, "seconds": round(seconds, 2),
                         "files_per_s": round(n / seconds, 1), "mb_per_s": round(mb / seconds, 1),
                         "ntu60_minutes": round(NTU60_FILES / (n / seconds) / 60, 1)})

        row("naive reader, xyz only (parse only)", 1, timed(lambda: [naive_read(str(p)) for p in files]))
        row("naive reader, all fields (parse only)", 1,
            timed(lambda: [naive_read(str(p), all_fields=True) for p in files]))
        row("tdf read_skeleton (parse only)", 1, timed(lambda: [read_skeleton(p) for p in files]))
        for w in (int(v) for v in args.workers.split(",")):
            out = tmp / f"w{w}.h5"
            s = None

            def run():
                nonlocal s
                s = prepare(raw, out, workers=w, missing_list=None)
            row("tdf data prepare (parse+bodies+store)", w, timed(run))
            assert s.converted == n, s.to_dict()
            store_mb = out.stat().st_size / 1e6
        naive, naive_all, fast = (r["seconds"] for r in rows[:3])
        print(f"{n} files, {mb:.0f} MB ({mb / n * 1000:.0f} kB/file), {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}; store {store_mb:.0f} MB (lzf)")
        print(f"{'method':42s} {'workers':>7s} {'s':>7s} {'files/s':>8s} {'MB/s':>7s} {'NTU-60 (56,880 files)':>22s}")
        for r in rows:
            print(f"{r['method']:42s} {r['workers']:7d} {r['seconds']:7.2f} {r['files_per_s']:8.1f} "
                  f"{r['mb_per_s']:7.1f} {r['ntu60_minutes']:18.1f} min")
        print(f"parse speedup of tdf read_skeleton: {naive / fast:.1f}x over the xyz-only naive reader, "
              f"{naive_all / fast:.1f}x over the all-fields one")
        if args.json:
            print(json.dumps(rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
