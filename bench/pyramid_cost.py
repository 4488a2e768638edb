"""Class Feature Pyramid cost: the back-step time per class, against the paper's Table 1
(Stergiou et al., "Class Feature Pyramids for Video Explanation", arXiv:1909.08611:
21–70 ms for 3 layers on 2× GTX 1080 Ti, θ 0.55–0.65).

Measured on the full-size Res-TCN (filters 64,128,256, 3 units per block, filter length 8,
T = 300, 60 classes) — with random weights unless --run gives a trained run — for several θ:

- back-step: `class_pyramid` from the class's mean pooled vectors, 3 levels (the paper's
  "3 layers": X_L, X_{L−1}, X_{L−2}) and all levels down to conv1; median and max over classes;
- the forward pass that pools the activations the back-step needs (`pooled_activations`),
  per sample — paid once per data set, shared by all classes.

    python bench/pyramid_cost.py                      # full-size, random weights
    python bench/pyramid_cost.py --run /tmp/i6/RUN    # a trained run on its own test data
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=None, help="a trained run (its model and 64 test samples)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--thetas", default="0.55,0.6,0.65,0.7")
    args = ap.parse_args()

    from tdf.diagnose.pyramid import backstep_weights, class_mean, class_pyramid, pooled_activations
    rng = np.random.default_rng(0)
    if args.run:
        from tdf.data.store import open_store
        from tdf.run_folder import load_model, read_run_json, run_split
        info = read_run_json(args.run)
        model = load_model(os.path.join(args.run, "model.keras"))
        with open_store(info["data"]) as s:
            test = run_split(s, info).part("test")
            pick = np.sort(rng.choice(test, size=min(args.samples, len(test)), replace=False))
            x = s.read(pick)
        label = f"trained run {args.run}"
    else:
        import keras
        from tdf.models import build_res_tcn
        keras.utils.set_random_seed(0)
        model = build_res_tcn(args.classes, frames=args.frames)
        x = rng.normal(0, 0.3, (args.samples, args.frames, 150)).astype(np.float32)
        label = f"full-size Res-TCN, random weights, T={args.frames}"
    n_classes = model.outputs[0].shape[-1]
    weights = backstep_weights(model)
    pooled_activations(model, x[:8], weights=weights)             # build/trace once
    t0 = time.perf_counter()
    pooled = pooled_activations(model, x, weights=weights, batch_size=32)
    fwd = (time.perf_counter() - t0) / len(x)
    mean = class_mean(pooled, slice(None))
    print(f"{label}; {n_classes} classes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs (shared)")
    print(f"pooled activations (forward pass, once per data set): {fwd * 1e3:.1f} ms/sample, batch 32\n")
    print("| θ | levels | back-step ms/class (median) | max | channels per level, union (layer-wise), "
          "median over classes |")
    print("|---|---|---:|---:|---|")
    for theta in map(float, args.thetas.split(",")):
        for depth in (3, None):
            times, sizes, layerwise = [], [], []
            for c in range(n_classes):
                best = np.inf
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    p = class_pyramid(weights, mean, c, theta, depth)
                    best = min(best, time.perf_counter() - t)
                times.append(best)
                sizes.append([len(lv["channels"]) for lv in p["levels"]])
                layerwise.append([len(lv["layer_channels"]) for lv in p["levels"]])
            med = np.median(np.array(sizes), axis=0).astype(int).tolist()
            med_l = np.median(np.array(layerwise), axis=0).astype(int).tolist()
            print(f"| {theta} | {depth or len(med)} | {np.median(times) * 1e3:.2f} | {max(times) * 1e3:.2f} | "
                  f"{' → '.join(f'{a} ({b})' for a, b in zip(med, med_l))} |")


if __name__ == "__main__":
    main()
