"""Seconds the faithfulness check adds to `tdf diagnose` (issue 13), on the synthetic preset's
Res-TCN and on the full-size one (random weights: the work does not depend on the values).

Two measurements:
1. *section*: `tdf.diagnose.faithfulness.faithfulness` on N inputs [N, T, 150] (the default
   --faithfulness-samples), split into its parts (the three methods' maps, the group and frame
   deletion/insertion curves, the randomisation cascade); each model size is timed --repeat
   times, alternating the sizes (the machine is shared: quote the median).
2. *with/without* (optional, --run RUN): `tdf diagnose RUN --views ranking,relevance` against the
   same with `,faithfulness` added, run in turn A B A B … by `farm-bench` (medians and the
   pairwise ratio), so the figure is what a user waits for.

    python bench/faithfulness_cost.py [--n 24] [--repeat 3] [--sizes synthetic,full] [--run RUN]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

SIZES = {
    # name: (classes, frames, filters, units per block, kernel)
    "synthetic": (10, 64, (16, 32, 64), 3, 8),
    "full": (60, 300, (64, 128, 256), 3, 8),
}


def model_of(size: str, seed: int = 0):
    import keras
    from tdf.models import build_res_tcn
    classes, frames, filters, units, k = SIZES[size]
    keras.utils.set_random_seed(seed)
    mean = np.random.default_rng(seed).normal(0, 0.5, 150)
    return build_res_tcn(classes, frames=frames, filters=filters, units_per_block=units, kernel_size=k,
                         mean_skeleton=mean)


def inputs_of(size: str, n: int, seed: int = 0):
    classes, frames, *_ = SIZES[size]
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.5, size=(n, frames, 150)).astype(np.float32)
    for i in range(n):                       # variable lengths, zero-padded as in a store
        x[i, int(frames * rng.uniform(0.6, 1.0)):] = 0
    return x, rng.integers(0, classes, n)


def section(size: str, n: int) -> dict[str, float]:
    """Seconds per part of one faithfulness() call (parts timed through its progress messages)."""
    from tdf.data.layout import GROUPS
    from tdf.diagnose.faithfulness import faithfulness
    model = model_of(size)
    x, y = inputs_of(size, n)
    marks = []
    t0 = time.perf_counter()
    faithfulness(model, x, y, GROUPS, progress=lambda msg: marks.append((msg, time.perf_counter())))
    end = time.perf_counter()
    parts, last = {}, t0
    names = [m for m, _ in marks] + ["end"]
    stamps = [t for _, t in marks] + [end]
    for i in range(len(marks)):
        parts[names[i].replace("faithfulness: ", "")] = stamps[i + 1] - stamps[i]
    parts["total"] = end - t0
    return parts


def with_without(run: str, runs: int) -> str:
    exe = shutil.which("farm-bench")
    if exe is None:
        return "farm-bench not found: with/without skipped"
    out = "/tmp/faithfulness-cost-diag"
    base = [sys.executable, "-m", "tdf", "--quiet", "diagnose", run, "--out", out, "--force", "--render", "none"]
    a = " ".join(base + ["--views", "ranking,relevance,faithfulness"])
    b = " ".join(base + ["--views", "ranking,relevance"])
    r = subprocess.run([exe, "-n", str(runs), "--warmup", "0", "--timeout", "3600", "--vs", b, "--", *a.split()],
                       capture_output=True, text=True)
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="samples (default: --faithfulness-samples' default)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="synthetic,full")
    ap.add_argument("--run", default=None, help="a run folder for the with/without timing of `tdf diagnose`")
    ap.add_argument("--runs", type=int, default=3, help="farm-bench pairs for --run")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    from tdf.diagnose.pipeline import FAITHFULNESS_SAMPLES
    n = args.n or FAITHFULNESS_SAMPLES
    sizes = args.sizes.split(",")
    print(f"# faithfulness cost, N = {n}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, list[dict]] = {s: [] for s in sizes}
    for r in range(args.repeat):
        for s in sizes:
            parts = section(s, n)
            results[s].append(parts)
            print(f"{s} run {r + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()), flush=True)
            if args.out:
                with open(args.out, "w") as f:
                    json.dump(results, f, indent=1)
    print("\n| model | part | median s | min s | max s |\n|---|---|---:|---:|---:|")
    for s in sizes:
        for part in results[s][0]:
            v = [p[part] for p in results[s]]
            print(f"| {s} | {part} | {np.median(v):.1f} | {min(v):.1f} | {max(v):.1f} |")
    if args.run:
        print("\n## tdf diagnose with (A) and without (B) the faithfulness view\n")
        print(with_without(args.run, args.runs))


if __name__ == "__main__":
    main()
