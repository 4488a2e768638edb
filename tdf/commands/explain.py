"""`tdf explain RUN SAMPLE_NAME [DATA.h5]`: why the model predicted what it did for one sample."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options
from tdf.streams import STREAMS


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.argument("sample")
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--stream", default=None, type=click.Choice(STREAMS),
              help="Stream of an MS-Res-TCN whose units form the concept path (default: main).")
@click.option("--dissection", default=None, type=click.Path(),
              help="dissection.json (or a diagnosis folder) to take unit concepts from; "
                   "default: dissect the run's test split now.")
@click.option("--top", default=3, show_default=True, type=int, help="Classes in the prediction.")
@click.option("--units", "path_units", default=5, show_default=True, type=int, help="Units on the concept path.")
@click.option("--dissect-samples", default=256, show_default=True, type=int,
              help="Test samples for an on-the-fly dissection.")
@output_options
def explain(run, sample, data, stream, dissection, top, path_units, dissect_samples):
    """Print the prediction (top classes with probabilities), the true class, the relevance per
    joint group (gradient × input) and the concept path behind the decision for one sample."""
    from tdf.diagnose.explain import explain_sample
    output = get_output()
    result = explain_sample(run, sample, data, stream=stream, dissection=dissection, top=top,
                            path_units=path_units, dissect_samples=dissect_samples, log=output.log)

    def human(console):
        from tdf.diagnose.unit_class import path_text
        mark = "correct" if result["correct"] else "WRONG"
        console.print(f"{result['sample']}: true [bold]{result['true']}[/], predicted "
                      f"[bold]{result['predicted']}[/] ({mark})")
        console.print("top: " + ", ".join(f"{c} {p:.1%}" for c, p in result["top"]))
        shares = sorted(result["relevance"]["group_share"].items(), key=lambda kv: -kv[1])
        console.print(f"relevance for {result['relevance']['class']} (gradient × input), share per group: "
                      + ", ".join(f"{g} {s:.0%}" for g, s in shares))
        path = result["concept_path"]
        split = (f"; units of this stream {path['stream_sum']:+.3f}, other stream {path['other_stream']:+.3f}, "
                 f"bias {path['bias_gap']:+.3f}")
        console.print(f"concept path — {path['question']} (logit gap {path['logit_gap']:+.3f}{split}):")
        for line in path_text(path):
            console.print("  " + line, markup=False)
        console.print(f"concepts from: {result['dissection']}", style="dim")
    output.result(result, human)
