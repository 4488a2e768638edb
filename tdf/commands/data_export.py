"""`tdf data export DATA.h5 OUT --format pyskl`: a store → a pyskl/mmaction2 annotation pickle."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options

EXPORT_FORMATS = {"pyskl": "tdf.data.pyskl:export_pyskl"}


@click.command("export")
@click.argument("data", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(list(EXPORT_FORMATS)),
              help="pyskl: the annotation pickle pyskl and mmaction2 train from ({split, annotations}); "
                   "`tdf data import OUT --format pyskl` reads it back into the same store.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@output_options
def export(data, out, fmt, force):
    """Write the store DATA to OUT in another toolkit's format (one sample in memory at a time)."""
    import importlib
    module, attr = EXPORT_FORMATS[fmt].split(":")
    exporter = getattr(importlib.import_module(module), attr)
    output = get_output()
    with output.progress() as bar:
        task = bar.add_task("export", total=None, info="")
        doc = exporter(data, out, force=force, progress=lambda done, total: bar.update(
            task, completed=done, total=total))
    output.result(doc, lambda console: console.print(
        f"{doc['out']}: {doc['samples']} samples exported from {doc['data']} ({doc['format']}, layout "
        f"{doc['layout']}; split lists: {', '.join(f'{k} ({v})' for k, v in doc['splits'].items()) or 'none'}) "
        f"in {doc['seconds']:.1f} s", markup=False))
