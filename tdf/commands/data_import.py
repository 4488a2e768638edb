"""`tdf data import SRC OUT.h5 --format …`: data written by other toolkits or distributed by
other data sets → HDF5 store. The formats and which options each takes come from one registry
(tdf.data.import_formats)."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options
from tdf.data.import_formats import IMPORT_FORMATS

_OPTION_FLAGS = {"labels": "--labels", "parts": "--split-part", "layout": "--layout", "strict": "--strict"}


def _formats_help() -> str:
    return " ".join(f"{f.name}: {f.help}." for f in IMPORT_FORMATS.values())


@click.command("import")
@click.argument("src", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(list(IMPORT_FORMATS)), help=_formats_help())
@click.option("--labels", type=click.Path(dir_okay=False),
              help="stgcn-npy: the (names, labels) pickle (default: the matching *_label.pkl beside SRC).")
@click.option("--split-part", type=click.Choice(["train", "test", "both"]),
              help="ctrgcn-npz: import x_train, x_test or both (default both).")
@click.option("--layout", help="pyskl: the joint layout of the keypoints, a shipped name (ntu25, kinect_v1_20, "
                               "coco17, openpose18) or a layout .toml file (default: the one the pickle's "
                               "tdf block names, else guessed from V joints × C coordinates).")
@click.option("--strict", is_flag=True, help="utd-mhad, nw-ucla: stop at the first malformed file "
                                             "(exit 2, nothing written) instead of skipping it.")
@click.option("--class-names", help="ntu60, ntu120 or a text file with one name per line, in label order "
                                    "(default: the data set's names; NTU names for 60/120 NTU classes, "
                                    "else class_000…).")
@click.option("--max-frames", type=int, default=None,
              help="Keep at most this many frames per sample (the first ones; default: all, "
                   "which must be ≤ 10000).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@output_options
def import_(src, out, fmt, labels, split_part, layout, strict, class_names, max_frames, force):
    """Import SRC (a file, or a folder for utd-mhad / nw-ucla) into the store OUT.

    Pickles are read with restricted unpicklers (label pickles: lists, tuples, str and int;
    pyskl: builtin containers and numeric numpy arrays) that refuse anything that could run
    code. Each data set's standard protocol becomes the store's default split, and the splits a
    pyskl pickle carries are stored with the data (`--split NAME`).
    """
    from tdf.data.importers import import_data
    from tdf.errors import BadInput
    spec = IMPORT_FORMATS[fmt]
    given = {"labels": labels, "parts": split_part, "layout": layout, "strict": strict or None}
    for opt, value in given.items():
        if value is not None and opt not in spec.options:
            takers = [f.name for f in IMPORT_FORMATS.values() if opt in f.options]
            raise BadInput(f"{_OPTION_FLAGS[opt]} applies to --format {' or '.join(takers)} only")
    kwargs = {"class_names": class_names, "force": force, "max_frames": max_frames}
    if "parts" in spec.options:
        kwargs["parts"] = ("train", "test") if split_part in (None, "both") else (split_part,)
    if "labels" in spec.options:
        kwargs["labels"] = labels
    if "layout" in spec.options:
        kwargs["layout"] = layout
    if "strict" in spec.options:
        kwargs["strict"] = strict
    output = get_output()
    with output.progress() as bar:
        task = bar.add_task("import", total=None, info="")
        summary = import_data(src, out, fmt, progress=lambda done, total: bar.update(
            task, completed=done, total=total), **kwargs)
    output.result(summary.to_dict(), lambda console: _print(summary, console))


def _print(s, console) -> None:
    parts = ", ".join(f"{k} {v}" for k, v in s.parts.items())
    console.print(f"{s.out}: {s.samples} samples imported from {s.src} ({s.format}: {parts}; "
                  f"{s.num_classes} classes, layout {s.layout}, {s.frames} frames) in {s.seconds:.1f} s",
                  markup=False)
    if s.labels_file:
        console.print(f"labels: {s.labels_file}", markup=False)
    if s.default_split:
        sizes = s.default_split_sizes
        text = f" ({sizes['train']} train / {sizes['test']} test)" if sizes else ""
        console.print(f"default split: {s.default_split}{text}", markup=False)
    if s.split_lists:
        console.print("stored split lists: " + ", ".join(f"{k} ({v})" for k, v in s.split_lists.items()),
                      markup=False)
    if s.split_names_dropped:
        console.print(f"{s.split_names_dropped} names in the split lists are not among the samples "
                      "(dropped)", style="yellow", markup=False)
    if s.persons_dropped:
        console.print(f"{s.persons_dropped} samples had more persons than the layout's bodies; the "
                      "first ones were kept", style="yellow", markup=False)
    if s.empty_samples:
        console.print(f"[yellow]{s.empty_samples} samples are all zeros (length 0)[/]")
    if s.nonfinite:
        more = ", …" if s.nonfinite > len(s.nonfinite_samples) else ""
        console.print(f"{s.nonfinite} samples hold NaN or infinite values and were skipped: "
                      f"{', '.join(s.nonfinite_samples)}{more}", style="yellow", markup=False)
    if s.found:
        console.print(f"skipped as malformed: {s.skipped_malformed} of {s.found} files", markup=False)
        for k in s.malformed:
            console.print(f"  {k['file']}: {k['reason']}", markup=False)
        if s.skipped_malformed > len(s.malformed):
            console.print(f"  … and {s.skipped_malformed - len(s.malformed)} more", markup=False)
    if s.frames < s.source_frames:
        console.print(f"kept the first {s.frames} of {s.source_frames} frames per sample (--max-frames)")
