"""Cost of the unit dissection on the full-size Res-TCN: concepts (motion only, and with the
rhythm concepts), the whole dissection of the default layers, and one sample's concept path.

    python bench/dissect_cost.py [--samples 128] [--frames 300] [--repeat 2]

Model: `build_res_tcn(60, frames=T)` with seeded random weights (the cost does not depend on
training). Inputs: a seeded random walk per joint (smooth enough that every concept fires).
Prints a markdown table: seconds per step, the median over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import keras
    from tdf.diagnose.dissect import DissectOptions, concept_masks, dissect
    from tdf.diagnose.unit_class import concept_path
    from tdf.models import build_res_tcn

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 0.01, (args.samples, args.frames, 150)), axis=1).astype(np.float32) + 1.0
    model = build_res_tcn(60, frames=args.frames)
    doc = dissect(model, x[:16])                                               # warm-up (graph tracing)
    names = [f"class{c}" for c in range(60)]
    concept_path(model, x[:1], 0, 1, names, dissection=doc)
    rows = [
        ("concepts: motion only (8 groups × moving, moving slightly)", lambda: concept_masks(x, rhythms=False)),
        ("concepts: motion + rhythm (3 bands per group)", lambda: concept_masks(x, rhythms=True)),
        ("dissection, default layers, motion only", lambda: dissect(model, x, opts=DissectOptions(rhythms=False))),
        ("dissection, default layers, motion + rhythm", lambda: dissect(model, x)),
        ("concept path of one sample (given the dissection)",
         lambda: concept_path(model, x[:1], 0, 1, names, dissection=doc)),
    ]
    print(f"\nFull-size Res-TCN, {args.samples} samples of T = {args.frames}, median of {args.repeat}, "
          f"{os.cpu_count()} CPUs\n")
    print("| step | seconds |")
    print("|---|---:|")
    for name, fn in rows:
        print(f"| {name} | {timed(fn, args.repeat):.2f} |")


if __name__ == "__main__":
    main()
