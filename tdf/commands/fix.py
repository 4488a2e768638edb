"""`tdf fix RUN --diagnosis DIAG/diagnosis.json --out RUN2`: retrain with a Targeted Attention stream."""

from __future__ import annotations

import click

from tdf.commands.train_options import cache_mb_from, overrides_from, tensorboard_from, train_options
from tdf.console import get_output, output_options
from tdf.fix import INITS


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder for the fixed model.")
@click.option("--diagnosis", default=None, type=click.Path(), help="diagnosis.json (or its folder) of RUN.")
@click.option("--groups", default=None, help="Target these joint groups (of the run's layout) instead, e.g. hands,head ('all' = every joint).")
@click.option("--groups-file", default=None, type=click.Path(dir_okay=False), help="TOML file of custom groups named by the layout's joints (docs/layouts.md).")
@click.option("--top-k", default=None, type=int, help="Use at most the first K recommended/named groups.")
@click.option("--init", "init", default=INITS[0], show_default=True, type=click.Choice(INITS),
              help="Train both streams from scratch (as the paper) or start the main stream from the "
                   "baseline's weights (the TA stream then learns little: see the README).")
@click.option("--pipe-kernel-size", default=1, show_default=True, type=int, help="Temporal length of the pipe convs.")
@click.option("--data", default=None, type=click.Path(dir_okay=False), help="Data file (default: the baseline's).")
@train_options
@click.option("--resume", is_flag=True, help="Continue an interrupted fix run.")
@click.option("--force", is_flag=True, help="Replace an existing run in --out.")
@output_options
def fix(run, out, diagnosis, groups, groups_file, top_k, init, pipe_kernel_size, data, preset, config_file,
        resume, force, **kwargs):
    """Build an MS-Res-TCN whose TA stream sees only the weak joint groups, train it with the
    baseline's data, split and budget, and compare both models class by class."""
    from tdf.comparison import comparison_table
    from tdf.fix import FixOptions, fix_run
    output = get_output()
    names = [g.strip() for g in groups.split(",") if g.strip()] if groups else None
    tensorboard = tensorboard_from(kwargs)
    opts = FixOptions(diagnosis=diagnosis, groups=names, groups_file=groups_file, top_k=top_k, init=init,
                      preset=preset, config_file=config_file, overrides=overrides_from(kwargs),
                      pipe_kernel_size=pipe_kernel_size, data=data, tensorboard=tensorboard,
                      cache_mb=cache_mb_from(kwargs))
    cmp = fix_run(run, out, opts, resume=resume, force=force, output=output)
    output.result(cmp, lambda console: console.print(comparison_table(cmp), markup=False))
