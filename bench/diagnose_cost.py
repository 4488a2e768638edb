"""Cost of `tdf diagnose`'s batched pieces on the full-size Res-TCN (random weights are fine
for timing: the work does not depend on the values).

Model: `build_res_tcn(60, frames=T, filters=(64, 128, 256), units_per_block=3, kernel_size=8)`,
inputs random [N, T, 150]. Each section measures its work (timings after one warm-up batch,
best of --repeat) and prints a table; sections are registered in `SECTIONS` so others can be added
(`--sections decoder,relevance`). Rows are (what, stage, value, unit).

decoder section, per decoded layer (conv1, unit4, unit7, unit10) and for all four at once:
- forward: `Activations.run` over the layers the decoder needs (one Keras forward pass per
  batch returning X_l and the transition outputs X_5, X_8 it needs);
- decode: `decode_from_activations` alone (numpy: eq. 10 retrievals, interpolation, eq. 7);
- total: `tdf.diagnose.decoder.decode` (both, batch by batch) — what `tdf diagnose` pays.

decoder-memory section: peak numpy memory of streaming the four layers with `decode_batches`
for N and 4·N samples — the same, since only one batch is alive at a time.

Usage (from the repository root):

    python bench/diagnose_cost.py [--n 256] [--batch 64] [--frames 300] [--sections decoder,decoder-memory]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

DECODER_LAYERS = ("conv1", "unit4", "unit7", "unit10")


def full_size_model(frames: int, seed: int = 0):
    """The paper's Res-TCN with random weights and a random mean skeleton."""
    import keras
    from tdf.models import build_res_tcn
    keras.utils.set_random_seed(seed)
    mean = np.random.default_rng(seed).normal(0, 0.5, 150)
    return build_res_tcn(60, frames=frames, filters=(64, 128, 256), units_per_block=3,
                         kernel_size=8, mean_skeleton=mean)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of `repeat` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_decoder(model, x: np.ndarray, batch: int, repeat: int) -> list[tuple[str, str, float, str]]:
    """Rows (layers, stage, value, unit) for the decoder's speed."""
    from tdf.diagnose.activations import Activations
    from tdf.diagnose.decoder import decode, decode_from_activations, decoder_weights
    weights = decoder_weights(model)
    n = len(x)
    rows = []
    for layers in [(name,) for name in DECODER_LAYERS] + [DECODER_LAYERS]:
        label = ",".join(layers)
        needed = weights.needed(list(layers))
        extractor = Activations(model, [weights.outputs[b] for b in needed])
        extractor.batch(x[:batch])  # warm-up (traces the predict function)
        raw = extractor.run(x, batch_size=batch)
        acts = {b: raw[weights.outputs[b]] for b in needed}
        t_fwd = timed(lambda: extractor.run(x, batch_size=batch), repeat)

        def numpy_only():
            for s in range(0, n, batch):
                decode_from_activations({b: a[s:s + batch] for b, a in acts.items()}, weights,
                                        x.shape[1], layers)
        t_dec = timed(numpy_only, repeat)
        t_all = timed(lambda: decode(model, x, layers=layers, batch_size=batch), repeat)
        rows += [(label, "forward", n / t_fwd, "samples/s"),
                 (label, "decode (numpy)", n / t_dec, "samples/s"),
                 (label, "total", n / t_all, "samples/s")]
    return rows


def bench_decoder_memory(model, x: np.ndarray, batch: int, repeat: int
                         ) -> list[tuple[str, str, float, str]]:
    """Peak numpy memory (tracemalloc) of streaming all four layers with `decode_batches` over
    N = len(x) and 4·len(x) samples (indices cycle over x): constant in N, one batch's worth.
    TensorFlow's own buffers are not traced; they depend on the batch, not on N either."""
    import tracemalloc
    from tdf.diagnose.decoder import decode_batches
    rows = []
    for n in (len(x), 4 * len(x)):
        indices = np.arange(n) % len(x)
        tracemalloc.start()
        done = 0
        for xb, dec in decode_batches(model, x, DECODER_LAYERS, batch_size=batch, indices=indices):
            done += len(xb)
            del xb, dec  # the loop variables would keep this batch alive during the next one
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert done == n
        rows.append((f"stream {','.join(DECODER_LAYERS)}, N={n}", "peak numpy", peak / 2**20, "MiB"))
    return rows


# name → function(model, x, batch, repeat) → rows (what, stage, value, unit)
SECTIONS: dict[str, Callable] = {"decoder": bench_decoder, "decoder-memory": bench_decoder_memory}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="samples per timed run")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, of: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")

    import keras
    model = full_size_model(args.frames)
    x = np.random.default_rng(1).normal(0, 0.5, (args.n, args.frames, 150)).astype(np.float32)
    print(f"# command: python bench/diagnose_cost.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# model: Res-TCN (64,128,256)×3, k=8, T={args.frames}, random weights; N={args.n}, "
          f"batch {args.batch}, best of {args.repeat}")
    print(f"# keras {keras.__version__} ({keras.backend.backend()}), numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    for section in sections:
        rows = SECTIONS[section](model, x, args.batch, args.repeat)
        print(f"\n## {section}")
        print(f"{'what':<36} {'stage':<16} {'value':>10} unit")
        for what, stage, value, unit in rows:
            print(f"{what:<36} {stage:<16} {value:>10.1f} {unit}")


if __name__ == "__main__":
    main()
