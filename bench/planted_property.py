"""Measure the planted property of `tdf data synth` through tdf's real training code path.

For each weak group G and seed S: `write_store(SynthConfig(weak_group=G, seed=S))`, then
    (a) weak-only: a Res-TCN whose input is multiplied by group_mask(G) (fit_run, early stopping),
    (b) baseline:  the plain Res-TCN on all dims, `--preset synthetic` (early stopping on
                   validation loss, best weights restored, max-epoch cap),
    (c) 2x budget: the same plain Res-TCN trained from scratch for twice the epochs (b) ran,
                   early stopping off,
    (d) fix:       `tdf fix` (fix_run) of (b) with the TA stream on G, and its controls: the TA
                   stream on every joint ("all") and on a wrong group (one of the groups that
                   carry random look-alike motions).
Fine / coarse = mean per-class test accuracy (xsub test subjects) over the fine / coarse classes.

Every training goes through `tdf.train.fit.fit_run` / `tdf.fix.fix_run` (the code behind
`tdf train` and `tdf fix`), so the numbers are those a user gets from the CLI.

    python bench/planted_property.py --groups hands,right_hand,head,legs --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

CONTROLS = ("a", "b", "c", "d", "all", "wrong")


def masked_builder(group: str, bn_momentum: float | None = None):
    """A fit_run model builder: the Res-TCN that sees only `group`'s dims.

    `bn_momentum` overrides the BatchNormalization momentum of this reference model only. With
    Keras' 0.99 and ~30 steps per epoch the moving variance of a few-dim input (head: 6 dims,
    std ≈ 7 cm) still carries most of its initial value of 1 after 10 epochs, so validation loss
    (inference mode) is garbage and early stopping ends the run at epoch ~11 with its epoch-1
    weights (measured: train accuracy 0.54 in training mode, 0.10 in inference mode).
    """
    def build(cfg, num_classes, frames, mean):
        import keras
        from tdf.data.layout import group_mask
        from tdf.models import DimensionMask, build_res_tcn
        m = group_mask(group)
        momentum = cfg.bn_momentum if bn_momentum is None else float(bn_momentum)
        inner = build_res_tcn(num_classes, frames=None, filters=cfg.filters,
                              units_per_block=cfg.units_per_block, kernel_size=cfg.kernel_size,
                              dropout=cfg.dropout, l1=cfg.l1, bn_momentum=momentum,
                              mean_skeleton=np.asarray(mean) * m)
        inputs = keras.Input(shape=(None, 150), name="skeleton")
        outputs = inner(DimensionMask(m, name="weak_only")(inputs))
        return keras.Model(inputs, outputs, name=f"weak_only_{group}")
    return build


def fine_coarse(run_dir: Path, fine: list[str], coarse: list[str]) -> tuple[float, float]:
    from tdf.train.metrics import group_accuracy
    m = json.loads((run_dir / "metrics.json").read_text())
    return group_accuracy(m, fine), group_accuracy(m, coarse)


def measure(group: str, seed: int, work: Path, controls, synth_kw: dict, preset: str, init: str,
            overrides: dict, weak_bn_momentum: float | None, log, reuse: bool = False) -> dict:
    from tdf.data.synth import SynthConfig, coarse_names, distractor_groups_for, fine_names, write_store
    from tdf.fix import FixOptions, fix_run
    from tdf.train_config import resolve_config
    from tdf.train.fit import fit_run

    cfg = SynthConfig(weak_group=group, seed=seed, **synth_kw).validate()
    fine, coarse = fine_names(cfg), coarse_names(cfg)
    d = work / f"{group}_s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    data = d / "data.h5"
    if not (reuse and data.is_file()):
        write_store(cfg, data, force=True)
    row: dict = {"group": group, "seed": seed, "shortcut_group": cfg.shortcut}

    def record(key, run, t0, extra=None):
        f, c = fine_coarse(run, fine, coarse)
        info = json.loads((run / "run.json").read_text())
        row[key] = {"fine": f, "coarse": c, "epochs": info.get("epochs_run"),
                    "best_epoch": info.get("best_epoch"), "seconds": round(time.time() - t0, 1), **(extra or {})}
        log(f"{group} seed {seed} {key}: fine {f:.3f} coarse {c:.3f} epochs {info.get('epochs_run')} "
            f"({time.time() - t0:.0f} s)")

    train_cfg = lambda **o: resolve_config(preset, overrides={**overrides, "seed": seed, **o})  # noqa: E731
    if "a" in controls:
        t0 = time.time()
        fit_run(data, d / "a_weak_only", train_cfg(), force=True, build_model=masked_builder(group, weak_bn_momentum),
                kind="res_tcn_weak_only")
        record("a", d / "a_weak_only", t0)
    need_b = any(k in controls for k in ("b", "c", "d", "all", "wrong"))
    done = lambda run: reuse and (run / "metrics.json").is_file()  # noqa: E731
    if need_b and done(d / "b_baseline"):
        record("b", d / "b_baseline", time.time())
    elif need_b:
        t0 = time.time()
        fit_run(data, d / "b_baseline", train_cfg(), force=True)
        record("b", d / "b_baseline", t0)
    if "c" in controls:
        epochs = 2 * row["b"]["epochs"]
        t0 = time.time()
        cfg_c = train_cfg(epochs=epochs)
        cfg_c.early_stop = None
        fit_run(data, d / "c_baseline_2x", cfg_c, force=True)
        record("c", d / "c_baseline_2x", t0)
    wrong = distractor_groups_for(group)[0]
    for key, target in (("d", group), ("all", "all"), ("wrong", wrong)):
        if key in controls:
            t0 = time.time()
            fix_run(d / "b_baseline", d / f"{key}_ms_{target}",
                    FixOptions(groups=[target], init=init, overrides={**overrides, "seed": seed}), force=True)
            record(key, d / f"{key}_ms_{target}", t0, {"target": target})
    return row


def fmt(row: dict, key: str) -> str:
    r = row.get(key)
    return "–" if r is None else f"{r['fine']:.2f} / {r['coarse']:.2f}"


def table(rows: list[dict], controls) -> str:
    heads = {"a": "(a) weak-only", "b": "(b) baseline, early stop", "c": "(c) baseline, 2× epochs",
             "d": "(d) MS, TA on G", "all": "MS, TA on all joints", "wrong": "MS, TA on a wrong group"}
    cols = [k for k in CONTROLS if k in controls]
    lines = ["| weak group G | seed | " + " | ".join(heads[k] + " fine / coarse" for k in cols) + " | epochs (b) |",
             "|---|---|" + "---|" * len(cols) + "---|"]
    for r in rows:
        ep = r.get("b", {}).get("epochs", "–") if r.get("b") else "–"
        cells = [fmt(r, k) + (f" ({r[k]['target']})" if k == "wrong" and r.get(k) else "") for k in cols]
        lines.append(f"| {r['group']} | {r['seed']} | " + " | ".join(cells) + f" | {ep} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", default="hands,right_hand,head,legs")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--controls", default="a,b,c,d,all,wrong",
                    help=f"comma list of {', '.join(CONTROLS)}")
    ap.add_argument("--per-class", type=int, default=None, help="samples per class (synth default)")
    ap.add_argument("--preset", default="synthetic")
    ap.add_argument("--init", default="baseline", choices=("baseline", "scratch"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a training option of the preset, e.g. --set units_per_block=1")
    ap.add_argument("--synth", action="append", default=[], metavar="KEY=VALUE",
                    help="override a generator parameter (tdf.data.synth.SynthConfig), e.g. --synth cue_amplitude=0.08")
    ap.add_argument("--weak-bn-momentum", type=float, default=0.9,
                    help="BatchNormalization momentum of the weak-only reference model (a)")
    ap.add_argument("--work", default=None, help="folder for data and runs (default: a temp folder)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse data and a finished baseline run (b) found in --work")
    ap.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)

    controls = [c for c in args.controls.split(",") if c]
    bad = [c for c in controls if c not in CONTROLS]
    if bad:
        ap.error(f"unknown control(s) {bad}")
    synth_kw = {} if args.per_class is None else {"per_class": args.per_class}
    for item in args.synth:
        key, _, value = item.partition("=")
        synth_kw[key.replace("-", "_")] = json.loads(value)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key.replace("-", "_")] = value if key == "filters" else json.loads(value)
    work = Path(args.work or tempfile.mkdtemp(prefix="tdf-planted-"))
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    log(f"work folder {work}")
    rows = []
    t0 = time.time()
    for group in args.groups.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(measure(group, seed, work, controls, synth_kw, args.preset, args.init, overrides,
                                args.weak_bn_momentum, log, args.reuse))
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"generator overrides {synth_kw or 'none'}; preset {args.preset}, overrides {overrides or 'none'}, fix init {args.init}, "
          f"weak-only BN momentum {args.weak_bn_momentum}\n")
    print(table(rows, controls))
    print(f"\n{len(rows)} rows in {time.time() - t0:.0f} s; fine / coarse = mean per-class test accuracy "
          f"on the xsub test subjects.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
