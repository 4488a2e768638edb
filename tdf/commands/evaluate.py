"""`tdf evaluate RUN [DATA.h5]`: metrics, per-sample scores and a confusion matrix."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--split", default="test", type=click.Choice(["test", "val", "train", "all"]),
              help="Which part of the run's split to evaluate (on another data set: all of it).")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write the files here instead of the run folder.")
@click.option("--batch-size", default=64, type=int)
@output_options
def evaluate(run, data, split, out_dir, batch_size):
    """Evaluate RUN's model (on its own data by default) and write metrics.json,
    predictions.npz and confusion.png; prints the classes worst first."""
    from tdf.train.evaluate import evaluate_run, metrics_table
    output = get_output()
    metrics = evaluate_run(run, data, split=split, out_dir=out_dir, batch_size=batch_size, output=output)
    output.result(metrics, lambda console: metrics_table(metrics, console))
