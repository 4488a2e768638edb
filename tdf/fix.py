"""`tdf fix`: an MS-Res-TCN whose Targeted Attention stream sees only the weak joint groups,
trained on the baseline's data, split and budget, and compared with the baseline class by class
(Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach for Fine-grained Action
Recognition", arXiv:1711.08502, §4.2, Table 2).

Targets come from a diagnosis (`recommended_groups`, checked to belong to the same run and data)
or are named (`--groups hands,head`, `--groups-file groups.toml`). The special target `all`
gives the TA stream every joint: the same two-stream architecture without targeting, the
control that separates "targeting helps" from "a second stream helps". Group names and the TA
mask are those of the baseline run's skeleton layout (run.json; tdf.skeleton).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tdf.atomic import write_json, write_text
from tdf.console import Output
from tdf.data.groups import load_groups_toml
from tdf.data.limits import excerpt
from tdf.errors import BadInput
from tdf.readers import read_json_in
from tdf.skeleton import Layout, layout_or_default
from tdf.train.config import TrainConfig, config_from_json, resolve_config
from tdf.train.run import RunPaths, read_run_json

ALL = "all"
INITS = ("scratch", "baseline")   # how the main stream starts; the first is the default (README: why)


def groups_from_diagnosis(diag_path: str | os.PathLike, baseline: dict[str, Any], run_dir: Path,
                          top_k: int | None, layout: Layout | None = None) -> tuple[list[str], dict[str, Any]]:
    """Recommended groups of a diagnosis that was made for this baseline run and data."""
    d, diag_path = read_json_in(diag_path, "diagnosis.json", "diagnosis file not found")
    check_diagnosis(d, diag_path)
    from tdf.outputs import final_path
    if Path(str(d.get("run", ""))).resolve() != final_path(run_dir):
        raise BadInput(f"was made for run {d.get('run')}, not for {run_dir}", diag_path)
    if d.get("data_fingerprint") != baseline.get("data_fingerprint"):
        raise BadInput(f"was made on other data than run {run_dir} was trained on", diag_path)
    groups = list(d.get("recommended_groups") or [])
    if not groups:
        raise BadInput("recommends no joint group (no group showed evidence of being unused); "
                       "name groups with --groups to fix anyway", diag_path)
    lay = layout_or_default(layout)
    unknown = [g for g in groups if g not in lay.group_names]
    if unknown:
        raise BadInput(f"recommended_groups names unknown joint group(s) {', '.join(map(excerpt, unknown[:3]))}; "
                       f"known: {', '.join(lay.group_names)}", diag_path)
    return (groups[:top_k] if top_k else groups), d


def check_diagnosis(d: Any, path: Path) -> None:
    """The fields of a diagnosis.json that the fix reads, with their types — checked before
    anything trains, so a hand-edited file cannot fail after the fix has trained."""
    if not isinstance(d, dict) or d.get("schema") != 1 or "groups" not in d:
        raise BadInput("not a tdf diagnosis.json (schema 1)", path)

    def strings(v) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    for key in ("run", "data_fingerprint"):
        if not isinstance(d.get(key), str):
            raise BadInput(f"field {key!r} must be text, got {excerpt(d.get(key))}", path)
    if not strings(d.get("recommended_groups") or []):
        raise BadInput(f"field 'recommended_groups' must be a list of group names, got "
                       f"{excerpt(d.get('recommended_groups'))}", path)
    if not isinstance(d["groups"], list):
        raise BadInput(f"field 'groups' must be a list, got {excerpt(d['groups'])}", path)
    for i, g in enumerate(d["groups"]):
        if not isinstance(g, dict) or not isinstance(g.get("name"), str):
            raise BadInput(f"groups[{i}] must be an object with a text 'name', got {excerpt(g)}", path)
        if not strings(g.get("classes", [])):
            raise BadInput(f"groups[{i}].classes must be a list of class names, got {excerpt(g.get('classes'))}",
                           path)


def resolve_targets(names: Sequence[str], groups_file: str | None, layout: Layout | None = None
                    ) -> tuple[list[str], Layout, np.ndarray]:
    """(target names, the layout whose groups they name — custom groups of `groups_file` when
    given —, the TA mask)."""
    table = layout_or_default(layout)
    if groups_file:
        table = load_groups_toml(groups_file, table)
        if not names:
            names = list(table.groups)
    if not names:
        raise BadInput("no target groups: pass --diagnosis, --groups or --groups-file")
    names = list(dict.fromkeys(names))
    if ALL in names:
        if len(names) > 1:
            raise BadInput(f"'{ALL}' targets every joint; do not combine it with other groups")
        return [ALL], table, np.ones(table.D, bool)
    for n in names:
        if n not in table.group_names:
            where = f" in {groups_file}" if groups_file else f" of layout {table.name}"
            known = ", ".join(list(table.group_names) + [ALL])
            raise BadInput(f"unknown joint group {n!r}{where}; known: {known}")
    return names, table, table.group_mask(names)


JUDGED_ON = ("the baseline's weak classes on its test split (tdf.diagnose.weak_classes on the "
             "baseline's own metrics — the list its diagnosis records), the same for every fix of that baseline")


def judged_classes(baseline_metrics: dict, diagnosis: dict | None = None,
                   output: Output | None = None) -> dict[str, Any]:
    """The classes a comparison is judged on: the baseline's weak classes, computed from the
    baseline alone, so every fix of a baseline (whatever its --groups or --diagnosis) is judged on
    the same classes and a fix and its controls can be compared. A diagnosis of the baseline on
    its test split lists the same classes (same rule, same metrics); if the given one does not
    (another split, another tdf version) that is said, and the baseline's own list is used."""
    from tdf.diagnose.weak_classes import weak_classes
    classes = [w["class"] for w in weak_classes(baseline_metrics)]
    out: dict[str, Any] = {"classes": classes, "rule": JUDGED_ON, "diagnosis_agrees": None}
    if diagnosis is not None:
        listed = [w.get("class") for w in diagnosis.get("weak_classes") or [] if isinstance(w, dict)]
        out["diagnosis_agrees"] = listed == classes
        if listed != classes and output is not None:
            output.warn(f"the diagnosis ({diagnosis.get('split', '?')} split) lists weak classes "
                        f"{', '.join(map(str, listed)) or 'none'}; the baseline's test metrics give "
                        f"{', '.join(classes) or 'none'} — the comparison is judged on the latter, as every "
                        f"fix of this baseline is")
    return out


def summarize(metrics: dict) -> dict[str, Any]:
    return {k: metrics[k] for k in ("top1", "top5", "mean_class_accuracy", "per_class_accuracy")}


def comparison_table(cmp: dict[str, Any]) -> str:
    """A Markdown table like the paper's Table 2 (the judged classes — the baseline's weak
    classes — marked with *)."""
    b, f = cmp["baseline"], cmp["fixed"]
    marked = set(cmp["judged_classes"])
    lines = ["| class | baseline | fixed | Δ |", "|---|---:|---:|---:|"]
    for c, acc in b["per_class_accuracy"].items():
        fa = f["per_class_accuracy"].get(c)
        if acc is None or fa is None:
            continue
        name = f"**{c}** *" if c in marked else c
        lines.append(f"| {name} | {acc:.3f} | {fa:.3f} | {fa - acc:+.3f} |")
    for key, label in (("top1", "top-1"), ("top5", "top-5"), ("mean_class_accuracy", "mean class accuracy")):
        lines.append(f"| *{label}* | {b[key]:.3f} | {f[key]:.3f} | {f[key] - b[key]:+.3f} |")
    t = cmp.get("judged_mean")
    if t:
        lines.append(f"| *weak classes of the baseline (mean)* | {t['baseline']:.3f} | {t['fixed']:.3f} | "
                     f"{t['fixed'] - t['baseline']:+.3f} |")
    lines.append("")
    lines.append(f"TA stream on {', '.join(cmp['groups'])}. \\* judged classes: the baseline's weak classes "
                 f"({len(marked)}; the same for every fix of this baseline)" if marked else
                 f"TA stream on {', '.join(cmp['groups'])}. The baseline has no weak class: no class is judged "
                 f"apart from the others.")
    return "\n".join(lines) + "\n"


def fix_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, diagnosis: str | None = None,
            groups: Sequence[str] | None = None, groups_file: str | None = None, top_k: int | None = None,
            init: str = INITS[0], preset: str | None = None, config_file: str | None = None,
            overrides: dict[str, Any] | None = None, pipe_kernel_size: int = 1, data: str | None = None,
            resume: bool = False, force: bool = False, output: Output | None = None,
            tensorboard: str | os.PathLike | None = None) -> dict[str, Any]:
    """Build, train and evaluate the MS-Res-TCN; write comparison.json/.md; return the comparison.
    `tensorboard`: a folder for TensorBoard event files of the fix's training."""
    from tdf.backend import load_backend
    from tdf.train.fit import fit_run
    from tdf.train.run import check_model_file, load_model

    output = output or Output(quiet=True)
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    base_info = read_run_json(run_dir)
    if init not in INITS:
        raise BadInput(f"--init must be 'baseline' or 'scratch', got {init!r}")
    if top_k is not None and top_k < 1:
        raise BadInput(f"--top-k must be ≥ 1, got {top_k}")
    if pipe_kernel_size < 1:
        raise BadInput(f"--pipe-kernel-size must be ≥ 1, got {pipe_kernel_size}")
    if base_info.get("kind", "res_tcn") == "ms_res_tcn":
        raise BadInput("is an MS-Res-TCN run; tdf fix needs a baseline run (a Res-TCN, or any model "
                       "family with --init scratch)", run_dir)
    check_model_file(paths.model)

    from tdf.train.run import run_layout
    layout = run_layout(base_info, paths.run_json)
    diag = None
    if diagnosis:
        if groups or groups_file:
            raise BadInput("give either --diagnosis or --groups/--groups-file, not both")
        names, diag = groups_from_diagnosis(diagnosis, base_info, run_dir, top_k, layout)
        targets, table, mask = resolve_targets(names, None, layout)
    else:
        targets, table, mask = resolve_targets(list(groups or []), groups_file, layout)
        if top_k:
            targets = targets[:top_k]
            mask = table.group_mask(targets) if targets != [ALL] else mask

    base_cfg = config_from_json(base_info["config"], paths.run_json).__dict__
    base_cfg = {k: v for k, v in base_cfg.items() if k != "preset"}
    cfg: TrainConfig = resolve_config(preset, config_file, overrides or {}, base=base_cfg)
    if cfg.split != base_info["split"]["name"]:
        raise BadInput(f"the fix must use the baseline's split {base_info['split']['name']!r}, not {cfg.split!r}")

    data_path = data or base_info["data"]

    def build(cfg_, num_classes, frames, mean):
        from tdf.data.model_input import expand_mask_to
        ms = build_ms_res_tcn(num_classes, expand_mask_to(mask, len(mean)), frames=None, input_dim=len(mean),
                              filters=cfg_.filters,
                              units_per_block=cfg_.units_per_block, kernel_size=cfg_.kernel_size,
                              dropout=cfg_.dropout, l1=cfg_.l1, bn_momentum=cfg_.bn_momentum,
                              pipe_kernel_size=pipe_kernel_size,
                              mean_skeleton=mean)
        if init == "baseline":
            init_main_from_baseline(ms, baseline_model)
        return ms

    if init == "baseline":
        arch = ("filters", "units_per_block", "kernel_size")
        diff = [k for k in arch if tuple(np.atleast_1d(getattr(cfg, k))) != tuple(np.atleast_1d(base_info["config"][k]))]
        if diff:
            raise BadInput(f"--init baseline needs the baseline's architecture; {', '.join(diff)} differ "
                           f"(use --init scratch to change it)")
    if tensorboard is not None:
        from tdf.train.fit import check_tensorboard
        check_tensorboard()
    from tdf.data.store import open_store
    open_store(data_path).close()  # a missing or malformed data file is refused before the backend loads

    load_backend()  # everything above is cheap: bad input never waits for TensorFlow
    from tdf.models import build_ms_res_tcn, contract_of, init_main_from_baseline
    baseline_model = load_model(paths.model)
    family = contract_of(baseline_model).family   # the model's own contract, not its run.json
    if family == "ms_res_tcn":
        raise BadInput("is an MS-Res-TCN run; tdf fix needs a baseline run", run_dir)
    if init == "baseline" and family != "res_tcn":
        raise BadInput(f"is a {family} run; --init baseline copies a Res-TCN into the main stream "
                       f"(use --init scratch)", run_dir)
    base_metrics = _baseline_metrics(run_dir, base_info, baseline_model, data_path, output)
    from tdf.outputs import final_path
    extra = {"groups": targets, "custom_groups": {k: list(v) for k, v in table.groups.items()} if groups_file else None,
             "diagnosis": str(final_path(diagnosis)) if diagnosis else None,
             "baseline_run": str(final_path(run_dir)), "init": init, "pipe_kernel_size": pipe_kernel_size,
             "ta_dims": int(mask.sum())}
    channels = len((base_info.get("input") or {}).get("features") or ["joint"])
    per_dim = f" × {channels} input channels" if channels > 1 else ""
    output.log(f"fix: TA stream on {', '.join(targets)} ({int(mask.sum())} of {layout.D} dims{per_dim}), "
               f"init {init}")
    result: dict[str, Any] = {}

    def compare(folder: Path, summary: dict[str, Any]) -> None:
        """Write comparison.json/.md into the finished fix run, before it is swapped in."""
        fixed_metrics = json.loads(RunPaths(folder).metrics().read_text())
        if fixed_metrics["n"] != base_metrics["n"]:
            raise BadInput(f"the baseline was evaluated on {base_metrics['n']} test samples, the fix on "
                           f"{fixed_metrics['n']}: not the same test set", run_dir)
        judged = judged_classes(base_metrics, diag, output)
        tclasses = judged["classes"]
        cmp: dict[str, Any] = {"baseline": summarize(base_metrics), "fixed": summarize(fixed_metrics),
                               "groups": targets, "judged_classes": tclasses,
                               "judged_on": {k: v for k, v in judged.items() if k != "classes"},
                               "baseline_run": str(final_path(run_dir)), "fixed_run": str(final_path(out_dir)),
                               "init": init, "epochs": {"baseline": base_info.get("epochs_run"),
                                                        "fixed": summary["epochs_run"]}}
        accs_b = [base_metrics["per_class_accuracy"][c] for c in tclasses if base_metrics["per_class_accuracy"].get(c) is not None]
        accs_f = [fixed_metrics["per_class_accuracy"][c] for c in tclasses if fixed_metrics["per_class_accuracy"].get(c) is not None]
        if accs_b and accs_f:
            cmp["judged_mean"] = {"baseline": float(np.mean(accs_b)), "fixed": float(np.mean(accs_f))}
        write_json(folder / "comparison.json", cmp)
        write_text(folder / "comparison.md", comparison_table(cmp))
        result.update(cmp)

    fit_run(data_path, out_dir, cfg, resume=resume, force=force, output=output, build_model=build,
            kind="ms_res_tcn", run_extra=extra, finish=compare, reads=[run_dir] + ([diagnosis] if diagnosis else []),
            tensorboard=tensorboard, recorded_input=base_info.get("input"))
    return result


def _baseline_metrics(run_dir: Path, info: dict[str, Any], model, data_path, output: Output) -> dict[str, Any]:
    """The baseline's own test metrics (checked against its data), else computed in memory."""
    from tdf.data.store import open_store
    from tdf.train.evaluate import own_metrics
    from tdf.train.run import run_split
    from tdf.data.model_input import view_for_run
    with open_store(data_path) as raw_store:
        store = view_for_run(raw_store, info, RunPaths(run_dir).run_json)
        indices = run_split(store, info, run_dir / "run.json").part("test")
        frames = int(info.get("frames") or store.T)
        return own_metrics(run_dir, info, model, store, indices, "test", frames, output)
