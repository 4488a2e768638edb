"""`tdf data info DATA.h5`: size, classes, frame lengths, metadata and split sizes of a store."""

from __future__ import annotations

import json

import click

from tdf.console import get_output, output_options


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random split and the validation carve.")
@click.option("--val-fraction", default=0.1, show_default=True, type=float,
              help="Part of the training side held out for validation.")
@click.option("--test-fraction", default=0.2, show_default=True, type=float, help="Test part of the random split.")
@click.option("--duplicates", is_flag=True,
              help="Also look for samples with identical skeletons (reads every sample once) and count the "
                   "default split's test samples that a training sample duplicates.")
@output_options
def info(data, seed, val_fraction, test_fraction, duplicates):
    """Describe the store DATA: samples, classes with counts, frame lengths, subjects, cameras,
    setups, planted weakness (synthetic data) and the sizes of each applicable split."""
    import contextlib

    from tdf.data.info import store_info
    from tdf.data.store import open_store
    output = get_output()
    with open_store(data) as store, contextlib.ExitStack() as stack:
        doc = store_info(store, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
        if duplicates:
            from tdf.data.duplicates import duplicates_report
            from tdf.data.splits import make_split
            split = make_split(store, doc["default_split"], seed=seed, val_fraction=val_fraction,
                               test_fraction=test_fraction)
            doc["duplicates"] = duplicates_report(store, doc["default_split"], split,
                                                  progress=output.progress_callback(stack, "hashing samples"))
    output.result(doc, lambda console: _print(doc, console))


def _ids_text(d: dict) -> str:
    ids = d["ids"]
    if not ids:
        return "unknown"
    contiguous = ids == list(range(ids[0], ids[-1] + 1))
    text = f"{d['distinct']} ({ids[0]}–{ids[-1]})" if contiguous and len(ids) > 2 else \
        f"{d['distinct']} ({', '.join(map(str, ids[:12]))}{', …' if len(ids) > 12 else ''})"
    return text + (f", {d['unknown']} unknown" if d["unknown"] else "")


def _print(doc: dict, console) -> None:
    from rich.table import Table
    lengths = doc["lengths"]
    head = Table(title=doc["path"], show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    head.add_row("samples", str(doc["samples"]))
    head.add_row("classes", str(doc["num_classes"]))
    head.add_row("max frames (T)", str(doc["max_frames"]))
    lay = doc["layout"]
    head.add_row("layout", f"{lay['name']}: {lay['bodies']} bodies × {len(lay['joints'])} joints × {lay['coords']}-D "
                           f"(D = {lay['D']}); groups {', '.join(list(lay['groups']) + list(lay['composites']))}")
    if lengths["count"]:
        head.add_row("frame length", f"min {lengths['min']}, mean {lengths['mean']:.1f}, "
                                     f"median {lengths['median']:g}, max {lengths['max']}")
    for key in ("subject", "camera", "setup", "replication"):
        head.add_row(key + "s", _ids_text(doc[key]))
    if doc["planted_group"] is not None:
        head.add_row("planted group", str(doc["planted_group"]))
    if doc["fine_classes"] is not None:
        fine = doc["fine_classes"]
        head.add_row("fine classes", ", ".join(fine) if isinstance(fine, list) else str(fine))
    head.add_row("default split", str(doc["default_split"]))
    head.add_row("source", str(doc["source"]))
    head.add_row("created by", f"{doc['created_by']} (format {doc['format_version']})")
    others = {k: v for k, v in doc["attributes"].items() if k not in ("planted_group", "fine_classes")}
    for k, v in others.items():
        text = v if isinstance(v, str) else json.dumps(v)
        head.add_row(k, text if len(text) <= 100 else text[:97] + "…")
    console.print(head)

    classes = Table(title="classes", title_justify="left")
    for col, just in (("label", "right"), ("name", "left"), ("samples", "right")):
        classes.add_column(col, justify=just)
    for c in doc["classes"]:
        classes.add_row(str(c["label"]), c["name"], str(c["count"]))
    console.print(classes)

    s = doc["split_settings"]
    splits = Table(title=f"splits (seed {s['seed']}, validation {s['val_fraction']:g} of train, "
                         f"random test {s['test_fraction']:g})", title_justify="left")
    for col in ("split", "train", "val", "test"):
        splits.add_column(col, justify="left" if col == "split" else "right")
    splits.add_column("note")
    for name, sizes in doc["splits"].items():
        splits.add_row(name, str(sizes["train"]), str(sizes["val"]), str(sizes["test"]),
                       doc["split_notes"].get(name, ""))
    for name, reason in doc["unusable_splits"].items():
        splits.add_row(name, "—", "—", "—", f"unusable: {reason}")
    console.print(splits, markup=False)
    if not doc["splits"]:
        console.print("no split can be used on this store", markup=False)
    if "duplicates" in doc:
        _print_duplicates(doc["duplicates"], console)


def _print_duplicates(dup: dict, console) -> None:
    if not dup["groups"]:
        console.print("duplicates: no two samples have identical skeletons", markup=False)
        return
    console.print(f"duplicates: {dup['samples']} samples in {dup['groups']} groups of identical skeletons, "
                  f"e.g. {' = '.join(dup['examples'][0])}", markup=False)
    leaked = dup["test_identical_to_train"]
    line = (f"split {dup['split']}: {leaked} of {dup['test_samples']} test samples are identical to a "
            f"training sample")
    if leaked:
        line += " (" + ", ".join(f"{name} {k}" for name, k in dup["test_identical_to_train_by_class"].items()) + ")"
    console.print(line, markup=False)
