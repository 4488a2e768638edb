"""`tdf fuse RUN RUN… --out DIR`: late score fusion of runs (pyskl / CTR-GCN's multi-stream ensembles)."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options


def _weights(ctx, param, value):
    if value is None:
        return None
    try:
        return [float(w) for w in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


@click.command()
@click.argument("members", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Fusion folder to write.")
@click.option("--weights", callback=_weights, help="One weight per member, e.g. 2,1,1 (default: all 1).")
@click.option("--split", default="test", type=click.Choice(["test", "val", "train", "all"]),
              help="Whose predictions to fuse: a run folder holds its test split; an evaluation folder of "
                   "`tdf evaluate --split S` holds S.")
@click.option("--force", is_flag=True, help="Replace an existing fusion folder.")
@output_options
def fuse(members, out_dir, weights, split, force):
    """Add the class scores (softmax) of several runs on the same samples — e.g. one run per
    input feature (`--features joint,joint_motion` and `--features bone,bone_motion`) — and score
    the sum like one model: metrics.json, predictions.npz and confusion.png in --out. Reads only
    the members' predictions; needs no model and no TensorFlow."""
    from tdf.fusion import fuse_runs
    from tdf.train.evaluate import metrics_table
    metrics = fuse_runs(list(members), out_dir, weights=weights, split=split, force=force)
    output = get_output()

    def human(console):
        for m in metrics["members"]:
            console.print(f"member {m['folder']} (weight {m['weight']:g}): top-1 {m['top1']:.4f}", markup=False)
        metrics_table(metrics, console)
        console.print(f"written to {metrics['out']}", markup=False)
    output.result(metrics, human)
