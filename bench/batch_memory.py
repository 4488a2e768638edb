"""Peak memory and speed of `SkeletonBatches` for two store sizes: memory must not grow with N.

For each N, writes a synthetic store (random float32 skeletons, lengths uniform in
[T/6, T], T frames, lzf like `tdf data prepare`) in a temporary folder, then — in a fresh
Python process, so writing does not pollute the measurement — iterates one shuffled epoch of
batches and reports the peak RSS (`ru_maxrss`) before and after iterating, batches/s and
samples/s. The in-memory size of /x is printed for comparison.

    python bench/batch_memory.py                      # N = 2000 and 20000, T = 300, batch 128
    python bench/batch_memory.py --sizes 500 5000 --frames 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _rss_mb() -> float:
    """Current resident set size (MB), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_store(path: Path, n: int, frames: int, seed: int = 0) -> float:
    """Write n random samples; returns seconds taken."""
    import numpy as np
    from tdf.data.store import Sample, StoreWriter
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with StoreWriter(path, frames, [f"c{i}" for i in range(60)], source="bench", expected=n) as w:
        for i in range(n):
            t = int(rng.integers(frames // 6, frames + 1))
            x = rng.standard_normal((t, 150), dtype=np.float32)
            w.append(Sample(x, int(i % 60), f"b{i:06d}", subject=1 + i % 40, camera=1 + i % 3))
    return time.perf_counter() - t0


def measure(path: str, batch: int, frames: int) -> dict:
    """Child process: iterate one shuffled epoch and report memory and speed."""
    import numpy as np
    from tdf.data.batches import SkeletonBatches
    from tdf.data.store import open_store
    with open_store(path) as s:
        n = s.n
    ds = SkeletonBatches(path, np.arange(n), batch_size=batch, frames=frames, seed=0)
    ds[0]  # open the handle, warm the imports
    rss_before, peak_before = _rss_mb(), _peak_mb()
    t0 = time.perf_counter()
    checksum = 0.0
    for i in range(len(ds)):
        x, y = ds[i]
        checksum += float(x[:, 0, 0].sum())
    dt = time.perf_counter() - t0
    return {"n": n, "batches": len(ds), "seconds": dt, "batches_per_s": len(ds) / dt,
            "samples_per_s": n / dt, "rss_before_mb": rss_before, "rss_after_mb": _rss_mb(),
            "peak_before_mb": peak_before, "peak_after_mb": _peak_mb(),
            "x_in_memory_mb": n * frames * 150 * 4 / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dir", help="where to write the stores (default: a temporary folder, removed)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.batch, args.frames)))
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = []
        for n in args.sizes:
            path = Path(tmp) / f"bench_{n}.h5"
            secs = write_store(path, n, args.frames)
            size_mb = path.stat().st_size / 2**20
            print(f"wrote N={n}: {size_mb:.0f} MB on disk in {secs:.0f} s", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--child", str(path), "--batch", str(args.batch),
                                  "--frames", str(args.frames)], check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["file_mb"] = size_mb
            rows.append(r)
            path.unlink()
    print(f"SkeletonBatches, T={args.frames}, batch {args.batch}, one shuffled epoch, 1 reader thread")
    print(f"{'N':>7} {'file MB':>8} {'/x in RAM MB':>12} {'RSS before':>10} {'peak RSS':>9} "
          f"{'peak growth':>11} {'batches/s':>9} {'samples/s':>9}")
    for r in rows:
        print(f"{r['n']:>7} {r['file_mb']:>8.0f} {r['x_in_memory_mb']:>12.0f} {r['rss_before_mb']:>10.0f} "
              f"{r['peak_after_mb']:>9.0f} {r['peak_after_mb'] - r['peak_before_mb']:>11.1f} "
              f"{r['batches_per_s']:>9.1f} {r['samples_per_s']:>9.0f}")
    print("(MB = MiB; RSS before = after opening the store and reading one batch; peak growth = "
          "peak RSS after the epoch minus peak RSS before it)")


if __name__ == "__main__":
    main()
