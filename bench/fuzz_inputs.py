"""Fuzz suite, long part: every malformed input of tests/fuzz_variants.py as a real process, and
inputs whose sizes are hostile, with each process's peak memory.

1. Every variant runs as `python -m tdf --quiet ARGS` (a fresh process, so a crash inside a C
   library shows as a signal instead of taking the suite down). Checked as in tests/test_fuzz.py:
   exit 2, one stderr line naming the file, no traceback, every existing file byte-identical
   and nothing left behind; reported per input kind: variants, how many hold, the slowest.
2. Hostile sizes (issue 15 item 5), each with its exit code, wall time and peak RSS (the
   kernel's accounting of the finished child, `os.wait4`):
   - a ~1.5 MB .npz whose one-hot y_train inflates to 1.5 GB (18 750 × 10 000 float64),
     imported (it is valid: streamed in bounded chunks);
   - a store declaring T = 2·10⁶ frames (5.5 MB on disk): `render` and `train` refuse it;
   - an ST-GCN array of T = 10⁵ frames imported with `--max-frames 300` (cropped while streaming);
   - a store at the largest T allowed (10 000): `render` of one sample;
   - a folder of .skeleton files holding a 5000-digit count, a 1e308 coordinate and a 5 MB junk
     line besides a good file: `prepare` converts the good one and lists the others briefly.

Usage (from the repository root):

    python bench/fuzz_inputs.py [--kinds store,run,...] [--skip-sizes]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")


def run_measured(args: list[str], timeout: float = 900) -> dict:
    """Run `python -m tdf --quiet ARGS` as a fresh process: exit code (negative: killed by that
    signal), stdout, stderr, wall seconds and its peak RSS in MB. The peak comes from GNU time
    (`/usr/bin/time -f %M`), whose child is exec'd from a small process: a child forked straight
    from this one would report this process's own RSS (kept across exec) as its peak."""
    cmd = ["/usr/bin/time", "-f", "TDF_PEAK_KB %M", sys.executable, "-m", "tdf", "--quiet", *map(str, args)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, env=ENV, timeout=timeout)
        code, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        code, out, err = "timeout", (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
    seconds = time.perf_counter() - t0
    peak = None
    lines = err.splitlines()
    if lines and lines[-1].startswith("TDF_PEAK_KB "):
        peak = int(lines[-1].split()[1]) / 1024
        err = "\n".join(lines[:-1])
    if lines and len(lines) >= 2 and lines[-2].startswith("Command terminated by signal"):
        code = -int(lines[-2].split()[-1])
        err = "\n".join(lines[:-2])
    elif lines and len(lines) >= 2 and lines[-2].startswith("Command exited with non-zero status"):
        err = "\n".join(lines[:-2])
    return {"code": code, "stdout": out, "stderr": err, "seconds": seconds, "peak_mb": peak or 0.0}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fuzz(kinds: set[str] | None, work: Path, base) -> dict:
    from fuzz_variants import VARIANTS
    results: dict[str, list] = defaultdict(list)
    for i, v in enumerate(VARIANTS):
        if kinds and v.kind not in kinds:
            continue
        d = work / f"v{i:03d}"
        d.mkdir()
        args = v.make(d, base)
        before = snapshot(d)
        r = run_measured(args)
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        problems = []
        if r["code"] != 2:
            problems.append(f"exit {r['code']}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines")
        elif not lines[0].startswith("tdf: error: ") or v.file not in lines[0]:
            problems.append(f"line {lines[0][:120]!r}")
        if "Traceback" in r["stderr"]:
            problems.append("traceback")
        if snapshot(d) != before:
            problems.append("files changed")
        results[v.kind].append({"variant": v.name, "ok": not problems, "problems": problems,
                                "seconds": round(r["seconds"], 2), "peak_mb": round(r["peak_mb"], 1),
                                "line": lines[0][:200] if lines else ""})
        mark = "ok " if not problems else "BAD"
        print(f"{mark} {v.id:60s} {r['seconds']:5.1f} s {r['peak_mb']:6.0f} MB  "
              f"{'; '.join(problems) or (lines[0][:90] if lines else '')}", flush=True)
        shutil.rmtree(d, ignore_errors=True)
    return results


def hostile_sizes(work: Path, base) -> list[dict]:
    import h5py
    import numpy as np
    from fuzz_variants import GOOD_SKELETON, _set_field, _with_line
    rows = []

    def record(label, args, expect):
        r = run_measured(args)
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        rows.append({"case": label, "exit": r["code"], "expected": expect, "seconds": round(r["seconds"], 1),
                     "peak_mb": round(r["peak_mb"], 0), "stderr": lines[-1][:200] if lines else "",
                     "stdout_bytes": len(r["stdout"])})
        print(f"{label:58s} exit {r['code']} (want {expect}) {r['seconds']:6.1f} s {r['peak_mb']:7.0f} MB  "
              f"{rows[-1]['stderr'][:100]}", flush=True)

    # 1. npz whose labels inflate to 1.5 GB
    n, c, t = 18_750, 10_000, 4
    npz = work / "bomb.npz"
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as z:
        for key, shape, dtype, fill in (("x_train", (n, t, 150), "<f4", "x"), ("y_train", (n, c), "<f8", "y")):
            with z.open(key + ".npy", "w", force_zip64=True) as f:
                hdr = {"descr": dtype, "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(f, hdr)
                for start in range(0, n, 500):
                    k = min(500, n - start)
                    if fill == "x":
                        block = np.zeros((k, t, 150), dtype)
                        block[:, 0, 0] = 1
                    else:
                        block = np.zeros((k, c), dtype)
                        block[np.arange(k), (start + np.arange(k)) % c] = 1
                    f.write(block.tobytes())
    size = npz.stat().st_size
    record(f"ctrgcn .npz of {size / 1e6:.1f} MB, y_train inflates to {n * c * 8 / 1e9:.1f} GB",
           ["data", "import", npz, work / "bomb.h5", "--format", "ctrgcn-npz", "--split-part", "train"], 0)

    # 2. a store declaring T = 2·10⁶
    big = work / "longT.h5"
    shutil.copy(base.store, big)
    with h5py.File(big, "r+") as f:
        nn = f["x"].shape[0]
        del f["x"]
        f.create_dataset("x", shape=(nn, 2_000_000, 2, 25, 3), dtype="f4", chunks=(1, 4096, 2, 25, 3),
                         compression="lzf")
        x = np.zeros((2_000_000, 2, 25, 3), "f4")
        x[:, 0, 0, 0] = 1
        f["x"][0] = x
    record(f"store with T = 2·10⁶ ({big.stat().st_size / 1e6:.1f} MB): render",
           ["render", big, "--index", "0", "--out", work / "long.gif"], 2)
    record("store with T = 2·10⁶: train", ["train", big, "--out", work / "longrun", "--epochs", "1"], 2)

    # 3. stgcn T = 10⁵ cropped while streaming
    arr = work / "long_data.npy"
    with open(arr, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                 "shape": (4, 3, 100_000, 25, 2)})
        plane = np.ones((100_000, 25, 2), "<f4").tobytes()
        for _ in range(4 * 3):
            f.write(plane)
    (work / "long_label.pkl").write_bytes(pickle.dumps(([f"s{i}" for i in range(4)], [0, 1, 0, 1])))
    record(f"stgcn .npy with T = 10⁵ ({arr.stat().st_size / 1e6:.0f} MB), --max-frames 300",
           ["data", "import", arr, work / "long.h5", "--format", "stgcn-npy", "--max-frames", "300"], 0)
    record("stgcn .npy with T = 10⁵, no --max-frames",
           ["data", "import", arr, work / "long2.h5", "--format", "stgcn-npy"], 2)

    # 4. the largest T allowed
    from toy_data import make_toy_store
    maxT = make_toy_store(work / "maxT.h5", classes=2, per_class=2, frames=10_000)
    record("store at T = 10 000 (the maximum): render one sample",
           ["render", maxT, "--index", "0", "--out", work / "maxT.png"], 0)

    # 5. absurd .skeleton files beside a good one
    raw = work / "raw"
    raw.mkdir()
    (raw / GOOD_SKELETON).write_bytes(base.skeleton)
    for k, make in enumerate((_with_line(0, "9" * 5000), _set_field(4, 0, "1e308"), _with_line(7, "7" * (5 << 20)))):
        (raw / f"S001C001P001R001A00{k + 3}.skeleton").write_bytes(make(base))
    record("prepare: 5000-digit count, 1e308, 5 MB line + 1 good file",
           ["--json", "data", "prepare", raw, work / "sk.h5", "--workers", "1"], 0)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=None, help="comma-separated input kinds (default: all)")
    ap.add_argument("--skip-sizes", action="store_true")
    ap.add_argument("--skip-fuzz", action="store_true")
    args = ap.parse_args()
    from fuzz_variants import Base
    from test_fuzz import skeleton_text
    from toy_data import train_tiny_run
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "base").mkdir()
        run = train_tiny_run(tmp / "base", classes=3, per_class=16, epochs=1)
        base = Base(store=run.parent / "toy.h5", run=run, skeleton=skeleton_text())
        summary = {}
        if not args.skip_fuzz:
            work = tmp / "fuzz"
            work.mkdir()
            results = fuzz(set(args.kinds.split(",")) if args.kinds else None, work, base)
            print("\n| input kind | variants | hold the contract | slowest (s) | largest peak RSS (MB) |")
            print("|---|---:|---:|---:|---:|")
            for kind, rs in results.items():
                print(f"| {kind} | {len(rs)} | {sum(r['ok'] for r in rs)} | {max(r['seconds'] for r in rs):.1f} | "
                      f"{max(r['peak_mb'] for r in rs):.0f} |")
            total = sum(len(rs) for rs in results.values())
            held = sum(r["ok"] for rs in results.values() for r in rs)
            print(f"| all | {total} | {held} | | |")
            summary["fuzz"] = results
        if not args.skip_sizes:
            work = tmp / "sizes"
            work.mkdir()
            summary["sizes"] = hostile_sizes(work, base)
            print("\n| hostile input | exit | wall (s) | peak RSS (MB) |")
            print("|---|---:|---:|---:|")
            for r in summary["sizes"]:
                print(f"| {r['case']} | {r['exit']} | {r['seconds']} | {r['peak_mb']:.0f} |")
        (Path(tempfile.gettempdir()) / "tdf_fuzz_inputs.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
