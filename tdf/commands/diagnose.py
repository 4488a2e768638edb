"""`tdf diagnose RUN [DATA.h5] --out DIAG`: look inside a trained model and rank weak joint groups."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options
from tdf.commands.train_options import RegistryChoice
from tdf.diagnose.pipeline import FAITHFULNESS_SAMPLES, VIEWS
from tdf.diagnose.relevance_methods import method_choices
from tdf.render_modes import DEFAULT_RENDER, RENDER_MODES
from tdf.streams import STREAMS


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Diagnosis folder to write.")
@click.option("--layers", default=None, help="Layers to decode, e.g. conv1,unit4,unit7,unit10 (default: conv1 + each block's last unit).")
@click.option("--classes", default=None, help="Classes to show (default: the weak ones + the best for contrast).")
@click.option("--samples-per-class", default=2, show_default=True, type=int)
@click.option("--groups", default=None, help="'standard' (default: the data layout's groups) or a TOML file of custom joint groups "
                   "named by the layout's joints (docs/layouts.md).")
@click.option("--method", default="auto", show_default=True, type=RegistryChoice(method_choices),
              help="Relevance method shown; auto = the most faithful one on this model (deletion/insertion "
                   "margin over random orders, model-randomisation check).")
@click.option("--faithfulness-samples", default=FAITHFULNESS_SAMPLES, show_default=True, type=click.IntRange(min=2),
              help="Samples of the split on which every relevance method's faithfulness is measured.")
@click.option("--render", default=DEFAULT_RENDER, show_default=True, type=click.Choice(RENDER_MODES))
@click.option("--top-k", default=None, type=int, help="At most this many recommended groups.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val"]))
@click.option("--stream", default=None, type=click.Choice(STREAMS), help="Stream to decode for an MS-Res-TCN.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "names", "json"]),
              help="'names': print only the recommended group names (comma-separated) for `tdf fix --groups`.")
@click.option("--top", "top", default=None, type=int, help="With --format names: at most this many names.")
@click.option("--views", default=None,
              help=f"Comma-separated views: {','.join(VIEWS)} "
                   "(default: all; the ranking is always computed).")
@click.option("--theta", default=0.6, show_default=True, type=click.FloatRange(0, 1),
              help="Class feature pyramid threshold θ (the paper uses 0.55–0.7).")
@click.option("--depth", default=None, type=click.IntRange(min=1),
              help="Class feature pyramid levels (default: every unit down to conv1).")
@click.option("--dissect-on", "dissect_on", default="all", show_default=True, type=click.Choice(["all", "weak"]),
              help="Dissect units on all classes of the split, or on the weak classes and those they are "
                   "confused with (are there units for what tells them apart?).")
@click.option("--force", is_flag=True, help="Replace an existing diagnosis in --out.")
@output_options
def diagnose(run, data, out, layers, classes, samples_per_class, groups, method, faithfulness_samples, render, top_k, split,
             stream, seed, fmt, top, views, theta, depth, dissect_on, force):
    """Decode hidden layers, plot primitives/responses/relevance, rank the joint groups the model
    fails to use, and write diagnosis.json and report.html into --out."""
    from tdf.diagnose.pipeline import DiagnoseOptions, run_diagnosis
    output = get_output()
    opts = DiagnoseOptions(layers=_csv(layers), classes=_csv(classes), samples_per_class=samples_per_class,
                           groups=groups, method=method, faithfulness_samples=faithfulness_samples,
                           render=render, top_k=top_k, seed=seed, split=split,
                           stream=stream, views=_csv(views), theta=theta, depth=depth,
                           dissect_on=dissect_on)
    d = run_diagnosis(run, data, out, opts, force=force, output=output)
    if fmt == "names" and not output.json:
        names = d["recommended_groups"][:top] if top else d["recommended_groups"]
        if names:
            click.echo(",".join(names))
        elif d["ranking_status"]["status"] == "ranked":
            output.warn("no joint group has evidence of being unused (nothing recommended)")
        elif d["ranking_status"]["status"] == "no_weak_class":
            output.warn(d["ranking_status"]["message"])
        return
    summary = {"out": d["out"], "recommended_groups": d["recommended_groups"],
               "groups": [{k: g[k] for k in ("name", "rank", "score", "evidence")} for g in d["groups"]],
               "weak_classes": d["weak_classes"],
               "ranking_status": d["ranking_status"], "relevance_choice": d.get("relevance_choice"),
               "faithfulness": {m: v["line"] for m, v in ((d.get("faithfulness") or {}).get("methods") or {}).items()},
               "report": f"{d['out']}/report.html"}

    def human(console):
        status = d["ranking_status"]
        if status["status"] != "ranked":
            console.print(f"{status['message']} (report: {d['out']}/report.html)", soft_wrap=True)
            return
        from rich.table import Table
        t = Table(title="joint groups, weakest first", title_justify="left")
        for col in ("rank", "group", "score", "95 % interval", "input sep.", "input probe", "model term"):
            t.add_column(col, justify="left" if col in ("group", "input probe") else "right")
        for g in d["groups"]:
            ev = g["evidence"]
            t.add_row(str(g["rank"]), g["name"], f"{g['score']:.3f}",
                      f"{g['score_low']:.2f} … {g['score_high']:.2f}" if "score_low" in g else "",
                      f"{ev['input_separability']:.3f}", ev.get("input_probe", "spectra"),
                      f"{ev.get('model_term', ev['model_separability']):.3f}")
        console.print(t)
        console.print("weak classes: " + ", ".join(f"{w['class']} ({w['accuracy']:.2f})" for w in d["weak_classes"]))
        console.print(f"recommended: {', '.join(d['recommended_groups']) or 'none'}")
        choice = d.get("relevance_choice") or {}
        if choice.get("requested") == "auto":
            console.print(f"relevance: {choice['why']}", soft_wrap=True)
        console.print(f"report: {d['out']}/report.html")
    output.result(summary, human)
