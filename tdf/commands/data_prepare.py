"""`tdf data prepare RAW_DIR OUT.h5`: raw NTU RGB+D `.skeleton` files → HDF5 store."""

from __future__ import annotations

import contextlib
import os

import click

from tdf.console import get_output, output_options
from tdf.data.repack import COMPRESSIONS


@click.command()
@click.argument("raw_dir", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--benchmark", default="ntu60", show_default=True, type=click.Choice(["ntu60", "ntu120"]),
              help="Class set (60 or 120 classes) and the official missing-skeleton list to use.")
@click.option("--max-frames", default=300, show_default=True, type=int,
              help="Keep at most this many frames per sample (the first ones).")
@click.option("--workers", default=os.cpu_count() or 1, show_default="CPU count", type=int,
              help="Parser processes.")
@click.option("--missing-list", type=click.Path(dir_okay=False),
              help="A missing-skeleton list to use instead of the official one (with or without "
                   "the official 3-line header).")
@click.option("--strict", is_flag=True, help="Stop at the first malformed file (exit 2, nothing written).")
@click.option("--compression", type=click.Choice(list(COMPRESSIONS)), default="lzf", show_default=True,
              help="Compression of the frames: lzf (≈ 2× smaller than none on NTU), none (reads ≈ 5× "
                   "cheaper; docs/benchmarks.md has tdf train's epoch with each), gzip.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@output_options
def prepare(raw_dir, out, benchmark, max_frames, workers, missing_list, strict, compression, force):
    """Convert every *.skeleton file under RAW_DIR (searched recursively) into the store OUT.

    Bodies are matched by bodyID, noise bodies removed and the two main actors chosen by the
    CTR-GCN rules; samples on the missing-skeleton list (or with no body at all) are skipped,
    malformed files are reported with the line and problem and skipped (unless --strict).
    """
    from tdf.data.prepare import prepare as run_prepare
    output = get_output()
    with contextlib.ExitStack() as stack:
        progress = output.progress_callback(stack, "prepare")
        summary = run_prepare(raw_dir, out, benchmark=benchmark, max_frames=max_frames,
                              workers=workers, missing_list=missing_list, strict=strict,
                              force=force, compression=compression, progress=progress)
    output.result(summary.to_dict(), lambda console: _print_summary(summary, console))


def _print_summary(s, console) -> None:
    rate = f", {s.found / s.seconds:.0f} files/s, {s.bytes_read / 1e6 / s.seconds:.1f} MB/s" if s.seconds else ""
    console.print(f"{s.out}: {s.converted} samples converted ({s.benchmark}, ≤ {s.max_frames} frames, "
                  f"{s.cropped} cropped) from {s.found} files in {s.seconds:.1f} s{rate}")
    console.print(f"skipped as missing: {len(s.missing)}")
    for k in s.missing:
        console.print(f"  {k.name}: {k.reason}")
    console.print(f"skipped as malformed: {len(s.malformed)}")
    for k in s.malformed:
        console.print(f"  {k.file}: {k.reason}")
