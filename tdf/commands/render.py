"""`tdf render DATA.h5|decoded.npz (--index I | --name SAMPLE) --out FILE.gif|.mp4|.png`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click
import numpy as np

from tdf.console import get_output, output_options
from tdf.data.limits import excerpt
from tdf.errors import BadInput


def _pick(names: list[str], index: int | None, name: str | None, source: Path) -> int:
    if (index is None) == (name is None):
        raise BadInput("give exactly one of --index and --name")
    if name is not None:
        if name not in names:
            raise BadInput(f"no sample named {excerpt(name)}", source)
        return names.index(name)
    if not 0 <= index < len(names):
        raise BadInput(f"--index {index} is outside 0..{len(names) - 1}", source)
    return index


@click.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--index", type=int, default=None, help="Row of the sample.")
@click.option("--name", default=None, help="Sample name, e.g. S001C001P001R001A001.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help=".gif, .mp4 or .png (strip of frames).")
@click.option("--layer", default=None, help="For a decoded.npz: the decoded layer to draw (default: all, side by side).")
@click.option("--fps", default=15, show_default=True, type=click.IntRange(min=1))
@click.option("--every", default=1, show_default=True, type=click.IntRange(min=1), help="Draw every n-th frame.")
@click.option("--force", is_flag=True, help="Overwrite --out.")
@output_options
def render(source, index, name, out, layer, fps, every, force):
    """Draw a sample of a store (or a decoded sequence of a diagnosis) as a moving skeleton."""
    from tdf.atomic import check_writable
    from tdf.render import SUFFIXES, render_sequence
    output = get_output()
    src = Path(source)
    out_p = Path(out)
    if out_p.suffix.lower() not in SUFFIXES:
        raise BadInput(f"output must end in {', '.join(SUFFIXES)}", out_p)
    check_writable(out_p, force)
    if not src.exists():
        raise BadInput("file not found", src)
    if src.suffix == ".npz":
        try:
            z = np.load(src, allow_pickle=False)
            names = [str(n) for n in z["names"]]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise BadInput(f"not a tdf decoded.npz ({excerpt(str(e))})", src) from None
        i = _pick(names, index, name, src)
        try:
            _render_decoded(z, i, names, layer, out_p, src, fps, every, force)
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as e:
            raise BadInput(f"not a tdf decoded.npz ({e.__class__.__name__}: {excerpt(str(e))})", src) from None
        what = f"{names[i]} ({layer or 'all layers'})"
    else:
        from tdf.data.store import open_store
        with open_store(src) as store:
            i = _pick(store.names, index, name, src)
            x = store.read_one(i)
            if len(x) == 0:
                raise BadInput(f"sample {store.names[i]} has no frames", src)
            cls = store.class_names[int(store.label[i])]
            render_sequence(x, out_p, title=f"{store.names[i]}: {cls}", fps=fps, every=every, force=force,
                            layout=store.layout)
            what = f"{store.names[i]} ({cls}, {len(x)} frames)"
    output.result({"out": str(out_p), "sample": what}, lambda c: c.print(f"wrote {out_p}: {what}"))


def _render_decoded(z, i: int, names: list[str], layer: str | None, out_p: Path, src: Path, fps: int,
                    every: int, force: bool) -> None:
    """Draw sample i of a decoded.npz: one decoded layer, or the input and every layer side by side."""
    from tdf.render import hide_absent_bodies, render_sequence, render_sequences_grid
    from tdf.skeleton import LAYOUTS, layout_from_toml
    layers = [k for k in z.files if k not in ("x", "names", "labels", "lengths", "class_names", "layout")]
    # decoded.npz written before layouts travelled with the data are ntu25
    lay = layout_from_toml(str(z["layout"]), f"{src} (layout)") if "layout" in z.files else LAYOUTS["ntu25"]
    if layer is not None and layer not in layers:
        raise BadInput(f"no decoded layer {excerpt(layer)}; it has {', '.join(layers)}", src)
    t = int(z["lengths"][i]) if "lengths" in z.files else z["x"].shape[1]
    cls = str(z["class_names"][int(z["labels"][i])]) if "class_names" in z.files else ""
    try:
        if layer is not None:
            render_sequence(hide_absent_bodies(z[layer][i, :t], z["x"][i, :t], lay), out_p,
                            title=f"{names[i]} {cls}: decoded {layer}", fps=fps, every=every, force=force,
                            layout=lay)
        else:
            x = z["x"][i, :t]
            seqs = {"input": x, **{f"decoded {k}": hide_absent_bodies(z[k][i, :t], x, lay) for k in layers}}
            render_sequences_grid(seqs, out_p, title=f"{names[i]} {cls}", fps=fps, every=every, force=force,
                                  layout=lay)
    except BadInput as e:
        if e.path is not None:
            raise
        raise BadInput(str(e), src) from None
