"""`tdf data import SRC OUT.h5 --format …`: arrays from other toolkits → HDF5 store."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options


@click.command("import")
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["ctrgcn-npz", "stgcn-npy"]),
              help="ctrgcn-npz: CTR-GCN/SGN .npz (x_train (N,T,150), one-hot y_train, x_test, y_test). "
                   "stgcn-npy: ST-GCN/2s-AGCN (N,3,T,25,2) .npy with a (names, labels) pickle.")
@click.option("--labels", type=click.Path(dir_okay=False),
              help="stgcn-npy: the (names, labels) pickle (default: the matching *_label.pkl beside SRC).")
@click.option("--split-part", type=click.Choice(["train", "test", "both"]),
              help="ctrgcn-npz: import x_train, x_test or both (default both).")
@click.option("--class-names", help="ntu60, ntu120 or a text file with one name per line "
                                    "(default: NTU names for 60/120 classes, else class_000…).")
@click.option("--max-frames", type=int, default=None,
              help="Keep at most this many frames per sample (the first ones; default: all, "
                   "which must be ≤ 10000).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@output_options
def import_(src, out, fmt, labels, split_part, class_names, max_frames, force):
    """Import SRC, written by another toolkit, into the store OUT.

    Pickles are read with a restricted unpickler (lists, tuples, str and int only). Sample
    lengths are taken up to the last non-zero frame; CTR-GCN samples get the names
    ctrgcn_train_000001… / ctrgcn_test_000001… and unknown subject/camera/setup.
    """
    from tdf.data.importers import import_data
    from tdf.errors import BadInput
    output = get_output()
    kwargs = {"class_names": class_names, "force": force, "max_frames": max_frames}
    if fmt == "ctrgcn-npz":
        if labels:
            raise BadInput("--labels applies to --format stgcn-npy only")
        kwargs["parts"] = ("train", "test") if split_part in (None, "both") else (split_part,)
    else:
        if split_part:
            raise BadInput("--split-part applies to --format ctrgcn-npz only")
        kwargs["labels"] = labels
    with output.progress() as bar:
        task = bar.add_task("import", total=None, info="")
        summary = import_data(src, out, fmt, progress=lambda done, total: bar.update(
            task, completed=done, total=total), **kwargs)
    output.result(summary.to_dict(), lambda console: _print(summary, console))


def _print(s, console) -> None:
    parts = ", ".join(f"{k} {v}" for k, v in s.parts.items())
    console.print(f"{s.out}: {s.samples} samples imported from {s.src} ({s.format}: {parts}; "
                  f"{s.num_classes} classes, {s.frames} frames) in {s.seconds:.1f} s", markup=False)
    if s.labels_file:
        console.print(f"labels: {s.labels_file}")
    if s.empty_samples:
        console.print(f"[yellow]{s.empty_samples} samples are all zeros (length 0)[/]")
    if s.nonfinite:
        more = ", …" if s.nonfinite > len(s.nonfinite_samples) else ""
        console.print(f"{s.nonfinite} samples hold NaN or infinite values and were skipped: "
                      f"{', '.join(s.nonfinite_samples)}{more}", style="yellow", markup=False)
    if s.frames < s.source_frames:
        console.print(f"kept the first {s.frames} of {s.source_frames} frames per sample (--max-frames)")
