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
              help="Evaluation folder to write (default: RUN/evaluations/<data>-<fingerprint>[-<split>]/).")
@click.option("--batch-size", default=64, type=int)
@click.option("--force", is_flag=True, help="Replace an existing evaluation folder.")
@output_options
def evaluate(run, data, split, out_dir, batch_size, force):
    """Evaluate RUN's model (on its own data by default) and write metrics.json,
    predictions.npz and confusion.png into an evaluation folder of its own (never into the
    run's own files); prints the classes worst first and where the files are."""
    from tdf.train.evaluate import evaluate_run, metrics_table
    output = get_output()
    metrics = evaluate_run(run, data, split=split, out_dir=out_dir, batch_size=batch_size, output=output,
                           force=force)

    def human(console):
        metrics_table(metrics, console)
        console.print(f"written to {metrics['out']}", markup=False)
    output.result(metrics, human)
