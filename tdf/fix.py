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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tdf.atomic import write_json, write_text
from tdf.comparison import comparison_table, judged_mean, summarize
from tdf.console import Output
from tdf.data.groups import custom_groups_record, is_custom, load_groups_toml
from tdf.data.limits import excerpt
from tdf.errors import BadInput
from tdf.readers import read_json_in
from tdf.skeleton import Layout, layout_or_default
from tdf.train_config import TrainConfig, config_from_json, resolve_config
from tdf.run_folder import RunPaths, check_model_file, load_model, read_run_json
from tdf.run_info import run_layout

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
    if is_custom(groups_file):
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
            where = f" in {groups_file}" if is_custom(groups_file) else f" of layout {table.name}"
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


@dataclass
class FixOptions:
    """What a fix is asked for (the options of `tdf fix`; `tdf loop` fills them from its diagnosis).

    Targets: `diagnosis` (its recommended groups) or `groups` / `groups_file`, at most `top_k`.
    `init`: how the main stream starts (INITS). `preset`, `config_file`, `overrides`: training
    options over the baseline's own. `data`: the store when it moved since the baseline was
    trained. `tensorboard`: a folder for TensorBoard event files of the fix's training.
    `cache_mb`: memory for decoded samples during training (None: automatic; 0: none)."""

    diagnosis: str | None = None
    groups: Sequence[str] | None = None
    groups_file: str | None = None
    top_k: int | None = None
    init: str = INITS[0]
    preset: str | None = None
    config_file: str | None = None
    overrides: dict[str, Any] | None = None
    pipe_kernel_size: int = 1
    data: str | None = None
    tensorboard: str | os.PathLike | None = None
    cache_mb: int | None = None

    def check(self) -> None:
        """The checks that need no file."""
        if self.init not in INITS:
            raise BadInput(f"--init must be 'baseline' or 'scratch', got {self.init!r}")
        if self.top_k is not None and self.top_k < 1:
            raise BadInput(f"--top-k must be ≥ 1, got {self.top_k}")
        if self.pipe_kernel_size < 1:
            raise BadInput(f"--pipe-kernel-size must be ≥ 1, got {self.pipe_kernel_size}")


@dataclass
class FixPlan:
    """Everything a fix needs before training, all checked without the backend."""

    run_dir: Path
    info: dict[str, Any]          # the baseline's run.json
    layout: Layout
    targets: list[str]
    table: Layout                 # the layout whose groups the targets name (custom groups included)
    mask: np.ndarray              # the TA stream's input dims
    diagnosis: dict | None
    cfg: TrainConfig
    data: str


def fix_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike, opts: FixOptions | None = None, *,
            resume: bool = False, force: bool = False, output: Output | None = None) -> dict[str, Any]:
    """Build, train and evaluate the MS-Res-TCN; write comparison.json/.md; return the comparison."""
    from tdf.backend import load_backend
    from tdf.train.fit import fit_run
    opts = opts or FixOptions()
    output = output or Output(quiet=True)
    plan = plan_fix(Path(run_dir), opts)  # everything cheap first: bad input never waits for TensorFlow
    load_backend()
    baseline_model = _load_baseline(plan, opts.init)
    base_metrics = _baseline_metrics(plan.run_dir, plan.info, baseline_model, plan.data, output)
    channels = len((plan.info.get("input") or {}).get("features") or ["joint"])
    per_dim = f" × {channels} input channels" if channels > 1 else ""
    output.log(f"fix: TA stream on {', '.join(plan.targets)} ({int(plan.mask.sum())} of {plan.layout.D} dims"
               f"{per_dim}), init {opts.init}")
    result: dict[str, Any] = {}

    def compare(folder: Path, summary: dict[str, Any]) -> None:
        """Write comparison.json/.md into the finished fix run, before it is swapped in."""
        result.update(write_comparison(folder, summary, plan, opts, base_metrics, out_dir, output))

    fit_run(plan.data, out_dir, plan.cfg, resume=resume, force=force, output=output,
            build_model=_model_builder(plan, opts, baseline_model), kind="ms_res_tcn",
            run_extra=_run_extra(plan, opts), finish=compare,
            reads=[plan.run_dir] + ([opts.diagnosis] if opts.diagnosis else []),
            tensorboard=opts.tensorboard, cache_mb=opts.cache_mb, recorded_input=plan.info.get("input"))
    return result


def plan_fix(run_dir: Path, opts: FixOptions) -> FixPlan:
    """Check the baseline run, the targets, the training options and the data, in that order."""
    paths = RunPaths(run_dir)
    info = read_run_json(run_dir)
    opts.check()
    if info.get("kind", "res_tcn") == "ms_res_tcn":
        raise BadInput("is an MS-Res-TCN run; tdf fix needs a baseline run (a Res-TCN, or any model "
                       "family with --init scratch)", run_dir)
    check_model_file(paths.model)
    layout = run_layout(info, paths.run_json)
    targets, table, mask, diag = _targets(run_dir, info, layout, opts)
    base_cfg = config_from_json(info["config"], paths.run_json).__dict__
    base_cfg = {k: v for k, v in base_cfg.items() if k != "preset"}
    cfg: TrainConfig = resolve_config(opts.preset, opts.config_file, opts.overrides or {}, base=base_cfg)
    if cfg.split != info["split"]["name"]:
        raise BadInput(f"the fix must use the baseline's split {info['split']['name']!r}, not {cfg.split!r}")
    if opts.init == "baseline":
        arch = ("filters", "units_per_block", "kernel_size")
        diff = [k for k in arch if tuple(np.atleast_1d(getattr(cfg, k))) != tuple(np.atleast_1d(info["config"][k]))]
        if diff:
            raise BadInput(f"--init baseline needs the baseline's architecture; {', '.join(diff)} differ "
                           f"(use --init scratch to change it)")
    if opts.tensorboard is not None:
        from tdf.train.fit import check_tensorboard
        check_tensorboard()
    data = opts.data or info["data"]
    from tdf.data.store import open_store
    open_store(data).close()  # a missing or malformed data file is refused before the backend loads
    return FixPlan(run_dir, info, layout, targets, table, mask, diag, cfg, data)


def _targets(run_dir: Path, info: dict[str, Any], layout: Layout, opts: FixOptions
             ) -> tuple[list[str], Layout, np.ndarray, dict | None]:
    """(target groups, the layout naming them, the TA mask, the diagnosis read if any)."""
    if opts.diagnosis:
        if opts.groups or opts.groups_file:
            raise BadInput("give either --diagnosis or --groups/--groups-file, not both")
        names, diag = groups_from_diagnosis(opts.diagnosis, info, run_dir, opts.top_k, layout)
        return (*resolve_targets(names, None, layout), diag)
    targets, table, mask = resolve_targets(list(opts.groups or []), opts.groups_file, layout)
    if opts.top_k:
        targets = targets[:opts.top_k]
        mask = table.group_mask(targets) if targets != [ALL] else mask
    return targets, table, mask, None


def _load_baseline(plan: FixPlan, init: str):
    """The baseline model (the backend is loaded), checked by its own contract: any one-stream
    family, and a Res-TCN when `--init baseline` copies it into the main stream."""
    from tdf.models import contract_of
    model = load_model(RunPaths(plan.run_dir).model)
    family = contract_of(model).family   # the model's own contract, not its run.json
    if family == "ms_res_tcn":
        raise BadInput("is an MS-Res-TCN run; tdf fix needs a baseline run", plan.run_dir)
    if init == "baseline" and family != "res_tcn":
        raise BadInput(f"is a {family} run; --init baseline copies a Res-TCN into the main stream "
                       f"(use --init scratch)", plan.run_dir)
    return model


def _model_builder(plan: FixPlan, opts: FixOptions, baseline_model):
    """fit_run's model builder: the MS-Res-TCN on the run's input, its main stream from the
    baseline's weights with `--init baseline`."""
    def build(cfg_, num_classes, frames, mean):
        from tdf.data.model_input import expand_mask_to
        from tdf.models import build_ms_res_tcn, init_main_from_baseline
        ms = build_ms_res_tcn(num_classes, expand_mask_to(plan.mask, len(mean)), frames=None, input_dim=len(mean),
                              filters=cfg_.filters,
                              units_per_block=cfg_.units_per_block, kernel_size=cfg_.kernel_size,
                              dropout=cfg_.dropout, l1=cfg_.l1, bn_momentum=cfg_.bn_momentum,
                              pipe_kernel_size=opts.pipe_kernel_size,
                              mean_skeleton=mean)
        if opts.init == "baseline":
            init_main_from_baseline(ms, baseline_model)
        return ms
    return build


def _run_extra(plan: FixPlan, opts: FixOptions) -> dict[str, Any]:
    """What the fix's run.json records beyond a training run's fields."""
    from tdf.outputs import final_path
    return {"groups": plan.targets, "custom_groups": custom_groups_record(plan.table, opts.groups_file),
            "diagnosis": str(final_path(opts.diagnosis)) if opts.diagnosis else None,
            "baseline_run": str(final_path(plan.run_dir)), "init": opts.init,
            "pipe_kernel_size": opts.pipe_kernel_size, "ta_dims": int(plan.mask.sum())}


def write_comparison(folder: Path, summary: dict[str, Any], plan: FixPlan, opts: FixOptions,
                     base_metrics: dict[str, Any], out_dir, output: Output) -> dict[str, Any]:
    """comparison.json and comparison.md of a finished fix run in `folder`; returns the comparison."""
    from tdf.outputs import final_path
    fixed_metrics = json.loads(RunPaths(folder).metrics().read_text())
    if fixed_metrics["n"] != base_metrics["n"]:
        raise BadInput(f"the baseline was evaluated on {base_metrics['n']} test samples, the fix on "
                       f"{fixed_metrics['n']}: not the same test set", plan.run_dir)
    judged = judged_classes(base_metrics, plan.diagnosis, output)
    tclasses = judged["classes"]
    cmp: dict[str, Any] = {"baseline": summarize(base_metrics), "fixed": summarize(fixed_metrics),
                           "groups": plan.targets, "judged_classes": tclasses,
                           "judged_on": {k: v for k, v in judged.items() if k != "classes"},
                           "baseline_run": str(final_path(plan.run_dir)), "fixed_run": str(final_path(out_dir)),
                           "init": opts.init, "epochs": {"baseline": plan.info.get("epochs_run"),
                                                         "fixed": summary["epochs_run"]}}
    mean = judged_mean(base_metrics, fixed_metrics, tclasses)
    if mean is not None:
        cmp["judged_mean"] = mean
    write_json(folder / "comparison.json", cmp)
    write_text(folder / "comparison.md", comparison_table(cmp))
    return cmp


def _baseline_metrics(run_dir: Path, info: dict[str, Any], model, data_path, output: Output) -> dict[str, Any]:
    """The baseline's own test metrics (checked against its data), else computed in memory."""
    from tdf.data.store import open_store
    from tdf.train.evaluate import own_metrics
    from tdf.run_folder import run_split
    from tdf.data.model_input import view_for_run
    with open_store(data_path) as raw_store:
        store = view_for_run(raw_store, info, RunPaths(run_dir).run_json)
        indices = run_split(store, info, run_dir / "run.json").part("test")
        frames = int(info.get("frames") or store.T)
        return own_metrics(run_dir, info, model, store, indices, "test", frames, output)
