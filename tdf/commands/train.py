"""`tdf train DATA.h5 --out RUN`: fit a Res-TCN and write the run folder."""

from __future__ import annotations

import click

from tdf.commands.train_options import (cache_mb_from, model_builder, model_option, overrides_from,
                                        tensorboard_from, train_options)
from tdf.console import get_output, output_options


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@model_option
@train_options
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing run in --out.")
@output_options
def train(data, out, model, preset, config_file, resume, force, **kwargs):
    """Train a model (a Res-TCN unless --model says otherwise) on DATA.h5 and write model.keras, run.json, history.csv, metrics.json,
    predictions.npz and checkpoints/ into --out (TensorBoard event files into --tensorboard)."""
    from tdf.train_config import resolve_config
    from tdf.train.fit import fit_run

    output = get_output()
    tensorboard = tensorboard_from(kwargs)
    cache_mb = cache_mb_from(kwargs)
    given = overrides_from(kwargs)
    cfg = resolve_config(preset, config_file, given)
    build_model, kind = model_builder(model)
    summary = fit_run(data, out, cfg, resume=resume, force=force, output=output, tensorboard=tensorboard,
                      cache_mb=cache_mb, resume_epochs=given.get("epochs"), build_model=build_model, kind=kind)

    def human(console):
        m = summary.get("metrics")
        console.print(f"run written to {summary['run']} ({summary['epochs_run']} epochs, best epoch "
                      f"{summary['best_epoch']}{', stopped early' if summary['stopped_early'] else ''})")
        if m:
            console.print(f"test: top-1 {m['top1']:.4f}  top-5 {m['top5']:.4f}  "
                          f"mean class accuracy {m['mean_class_accuracy']:.4f}  (n = {m['n']})")
    output.result(summary, human)
