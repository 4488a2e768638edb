"""How long a command-line mistake takes to come back (issue 14 item 4), against `tdf --help`
(which never loads the backend) and against the backend import the mistake no longer waits for.

For each case `python -m tdf ARGS` runs as a fresh process (start-up included), alternating with
the yardstick `python -m tdf --help`, so both see the same machine load. Reported: median, min and
max wall seconds and CPU seconds (user + system, the kernel's accounting of the child; less
sensitive to other jobs than wall time) of each, and the ratio of the medians. The backend import
(a fresh process running tdf's `quiet_import_backend` and nothing else) is timed the same way,
`--runs` times. A tiny run is trained first (in-process) for the cases that need one.

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


def timed(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """(wall s, cpu s, exit code) of a fresh process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}–{max(values):.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from toy_data import train_tiny_run
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    tdf = [sys.executable, "-m", "tdf"]
    yard = tdf + ["--help"]
    backend = [sys.executable, "-c", "from tdf.backend import quiet_import_backend; quiet_import_backend()"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = train_tiny_run(tmp, classes=3, per_class=8, epochs=1)
        print(f"{'case':42s} exit  wall s (median [min–max])  cpu s              vs --help: wall  cpu", flush=True)
        todo = list(cases(str(run), str(tmp / "toy.h5"), tmp).items()) + [("backend import alone", None)]
        for label, argv in todo:
            cmd = backend if argv is None else tdf + argv
            a_wall, a_cpu, b_wall, b_cpu, codes = [], [], [], [], set()
            timed(cmd, env), timed(yard, env)  # warm-up
            for _ in range(args.runs):
                w, c, code = timed(cmd, env)
                a_wall.append(w)
                a_cpu.append(c)
                codes.add(code)
                w, c, _ = timed(yard, env)
                b_wall.append(w)
                b_cpu.append(c)
            rw = statistics.median(a_wall) / statistics.median(b_wall)
            rc = statistics.median(a_cpu) / statistics.median(b_cpu)
            rows.append({"case": label, "exit": sorted(codes), "wall": a_wall, "cpu": a_cpu,
                         "help_wall": b_wall, "help_cpu": b_cpu, "ratio_wall": rw, "ratio_cpu": rc})
            print(f"{label:42s} {sorted(codes)}  {spread(a_wall):22s} {spread(a_cpu):18s} {rw:5.2f} {rc:5.2f}",
                  flush=True)
        hw = [w for r in rows for w in r["help_wall"]]
        hc = [c for r in rows for c in r["help_cpu"]]
        print(f"{'tdf --help (all pairs)':42s} [0]  {spread(hw):22s} {spread(hc):18s}")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
