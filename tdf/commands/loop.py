"""`tdf loop DATA.h5 --out DIR`: train → diagnose → fix in one command."""

from __future__ import annotations

import click

from tdf.commands.train_options import cache_mb_from, overrides_from, tensorboard_from, train_options
from tdf.console import get_output, output_options
from tdf.diagnose.pipeline import METHOD_CHOICES
from tdf.fix import INITS
from tdf.render_modes import DEFAULT_RENDER, RENDER_MODES


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the three runs and the report.")
@train_options
@click.option("--render", default=DEFAULT_RENDER, show_default=True, type=click.Choice(RENDER_MODES),
              help="Pictures of the diagnosis.")
@click.option("--method", default="auto", show_default=True, type=click.Choice(METHOD_CHOICES),
              help="Relevance method of the diagnosis; auto = the most faithful one on the baseline.")
@click.option("--init", "init", default=INITS[0], show_default=True, type=click.Choice(INITS),
              help="How the fix's main stream starts (see `tdf fix --help`).")
@click.option("--resume", is_flag=True, help="Reuse finished stages and continue an interrupted one.")
@click.option("--force", is_flag=True, help="Replace existing runs in --out.")
@output_options
def loop(data, out, preset, config_file, render, method, init, resume, force, **kwargs):
    """Train a baseline Res-TCN, diagnose it, and fix it with a Targeted Attention stream on the
    recommended joint groups; writes DIR/baseline, DIR/diagnosis, DIR/fixed and DIR/report.html."""
    from tdf.diagnose.pipeline import DiagnoseOptions
    from tdf.loop import run_loop
    output = get_output()
    tensorboard = tensorboard_from(kwargs)
    cache_mb = cache_mb_from(kwargs)
    overrides = overrides_from(kwargs)
    # seed None: the loop diagnoses with the configured seed (--seed, else --config, else the preset's)
    opts = DiagnoseOptions(render=render, method=method, seed=None)
    s = run_loop(data, out, preset=preset, config_file=config_file, overrides=overrides, diagnose_options=opts,
                 init=init, resume=resume, force=force, output=output, tensorboard=tensorboard,
                 cache_mb=cache_mb)

    def human(console):
        b = s["baseline_metrics"]
        console.print(f"baseline: top-1 {b['top1']:.3f}, mean class accuracy {b['mean_class_accuracy']:.3f}")
        console.print(f"diagnosis recommends: {', '.join(s['recommended_groups']) or 'nothing'}")
        if s.get("stopped"):
            console.print(f"stopped after the diagnosis — {s['stopped']}", soft_wrap=True)
        if s.get("fixed_metrics"):
            f = s["fixed_metrics"]
            console.print(f"fixed:    top-1 {f['top1']:.3f}, mean class accuracy {f['mean_class_accuracy']:.3f}")
            if s.get("judged_mean"):
                t = s["judged_mean"]
                console.print(f"weak classes of the baseline: {t['baseline']:.3f} → {t['fixed']:.3f}")
        console.print(f"report: {s['report']}")
    output.result(s, human)
