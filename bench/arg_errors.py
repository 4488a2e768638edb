"""How long a command-line mistake takes to come back (issue 14 item 4), against the cost of the
backend import it no longer waits for.

For each case `python -m tdf ARGS` runs as a fresh process (start-up included), alternating with
the yardstick — a fresh process that imports the backend as tdf does (`quiet_import_backend`) and
nothing else — so both see the same machine load. Reported: median, min and max wall seconds of
each, and the ratio of medians. A tiny run is trained first (in-process) for the cases that need one.

Usage (from the repository root):

    python bench/arg_errors.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def cases(run: str, data: str, tmp: Path) -> dict[str, list[str]]:
    out = str(tmp / "out")
    return {
        "diagnose --method lrpp (unknown choice)": ["diagnose", run, "--out", out, "--method", "lrpp"],
        "train --epochs 0 (bad range)": ["train", data, "--out", out, "--epochs", "0"],
        "train missing.h5 (missing file)": ["train", str(tmp / "missing.h5"), "--out", out],
        "fix --groups tail (unknown group)": ["fix", run, "--out", out, "--groups", "tail"],
        "evaluate RUN missing.h5 (missing file)": ["evaluate", run, str(tmp / "missing.h5")],
        "explain RUN nosuch (unknown sample)": ["explain", run, "nosuch"],
    }


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env)
    return time.perf_counter() - t0, r.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from toy_data import train_tiny_run
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    yard = [sys.executable, "-c", "from tdf.backend import quiet_import_backend; quiet_import_backend()"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = train_tiny_run(tmp, classes=3, per_class=8, epochs=1)
        rows = []
        for label, argv in cases(str(run), str(tmp / "toy.h5"), tmp).items():
            cmd = [sys.executable, "-m", "tdf", *argv]
            a, b, codes = [], [], set()
            timed(cmd, env), timed(yard, env)  # warm-up
            for _ in range(args.runs):
                t, code = timed(cmd, env)
                a.append(t)
                codes.add(code)
                b.append(timed(yard, env)[0])
            rows.append({"case": label, "exit": sorted(codes), "error_s": [min(a), statistics.median(a), max(a)],
                         "backend_import_s": [min(b), statistics.median(b), max(b)],
                         "ratio": statistics.median(a) / statistics.median(b)})
            print(f"{label:42s} exit {sorted(codes)}  error {statistics.median(a):.2f} s "
                  f"[{min(a):.2f}–{max(a):.2f}]  backend import {statistics.median(b):.2f} s "
                  f"[{min(b):.2f}–{max(b):.2f}]  ratio {rows[-1]['ratio']:.2f}", flush=True)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
