"""Relevance cost per sample on the full-size Res-TCN (or MS-Res-TCN): samples/s of each method.

Builds a randomly initialised model (filters 64,128,256, 3 units per block, k = 8, 60 classes,
random BN statistics so every ReLU pattern is realistic), draws N random sequences of T frames
with a padded tail on half of them, runs every method once to warm up, then times `--repeats`
runs and reports the best samples/s, plus the peak RSS of the process:

- gradient_x_input (TensorFlow gradient, batch `--batch-size`),
- lrp (numpy float32, z⁺ after ReLU, ε elsewhere, batch `--batch-size`),
- group_occlusion (8 standard groups; `--batch-size` samples × groups per forward pass ×8).

    python bench/relevance_cost.py                          # N=64, T=300, batch 32, Res-TCN
    python bench/relevance_cost.py --model ms --samples 32
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--filters", default="64,128,256")
    parser.add_argument("--model", choices=["res", "ms"], default="res")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", default="gradient_x_input,lrp,group_occlusion")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import keras
    import numpy as np

    from tdf.data.layout import group_mask
    from tdf.diagnose.relevance import gradient_x_input, group_occlusion, lrp
    from tdf.models import build_ms_res_tcn, build_res_tcn

    rng = np.random.default_rng(0)
    filters = tuple(int(f) for f in args.filters.split(","))
    kw = dict(frames=args.frames, filters=filters, mean_skeleton=rng.normal(size=150))
    model = (build_res_tcn(60, **kw) if args.model == "res"
             else build_ms_res_tcn(60, group_mask("hands"), **kw))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(.5, 1.5, c), rng.normal(0, .1, c),
                               rng.normal(0, .1, c), rng.uniform(.5, 1.5, c)])
    x = rng.normal(size=(args.samples, args.frames, 150)).astype(np.float32)
    x[::2, args.frames * 2 // 3:] = 0.0

    methods = {
        "gradient_x_input": lambda: gradient_x_input(model, x, batch_size=args.batch_size),
        "lrp": lambda: lrp(model, x, batch_size=args.batch_size),
        "group_occlusion": lambda: group_occlusion(model, x, batch_size=args.batch_size * 8),
    }
    results = {}
    for name in args.methods.split(","):
        run = methods[name]
        run()                                   # warm-up (graph building, allocations)
        best = min(_timed(run) for _ in range(args.repeats))
        results[name] = {"seconds": round(best, 3), "samples_per_s": round(args.samples / best, 1)}
    report = {"model": args.model, "filters": filters, "frames": args.frames,
              "samples": args.samples, "batch_size": args.batch_size,
              "cpu_count": os.cpu_count(), "keras_backend": keras.backend.backend(),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
              "methods": results}
    if args.json:
        print(json.dumps(report))
        return
    print(f"{args.model} {filters} T={args.frames} N={args.samples} batch={args.batch_size} "
          f"({os.cpu_count()} CPUs, peak RSS {report['peak_rss_mb']} MB)")
    for name, r in results.items():
        print(f"  {name:18s} {r['samples_per_s']:8.1f} samples/s  ({r['seconds']} s)")


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
