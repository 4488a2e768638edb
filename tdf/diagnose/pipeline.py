"""`tdf diagnose` as a library call: everything written into the diagnosis folder.

```
DIAG/diagnosis.json     ranking, weak classes, evidence (schema 1; docs/design.md)
DIAG/decoded.npz        x [N,T,D], names, labels, one [N,T,D] array per decoded layer, layout (TOML)
DIAG/decoded/*.gif      input + decoded layers side by side, per shown sample
DIAG/primitives.png     first-layer filters as time × joint-dim heatmaps (+ primitives/*.gif)
DIAG/responses/*.png    filter response magnitudes per class
DIAG/relevance/*.gif    skeletons with joints coloured by relevance; relevance/groups.png
DIAG/ranking.png        the ranking chart
DIAG/ranking_outcomes.npz  per-sample outcomes behind each group's ranking components (re-scoring)
DIAG/report.html        one self-contained page with all of it
```
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from tdf import __version__
from tdf.atomic import write_json
from tdf.backend import load_backend
from tdf.console import Output
from tdf.data.groups import custom_groups_record, resolve_groups
from tdf.diagnose.relevance_methods import AUTO, DEFAULT_METHOD, RELEVANCE_METHODS, method_choices
from tdf.diagnose.views import VIEW_CHOICES
from tdf.render_modes import check_render_mode
from tdf.errors import BadInput

DIAGNOSIS_SCHEMA = 1
# --method: a registered relevance method, or "auto" = the most faithful one on this model
# (tdf.diagnose.relevance_methods; faithfulness.py)
METHOD_CHOICES = method_choices()
# --views choices (tdf.diagnose.views registers the views; the ranking is always computed)
VIEWS = VIEW_CHOICES
FAITHFULNESS_SAMPLES = 24   # default --faithfulness-samples (cost grows linearly; bench/faithfulness_cost.py)


@dataclass
class DiagnoseOptions:
    layers: list[str] | None = None          # decoder layers; None → conv1 + the last unit of each block
    classes: list[str] | None = None         # shown classes; None → weak ones + the best for contrast
    samples_per_class: int = 2
    groups: str | None = None                # None/"standard" or a TOML file of custom groups
    method: str = "auto"
    faithfulness_samples: int = FAITHFULNESS_SAMPLES
    render: str = "gif"                      # gif | mp4 | none
    top_k: int | None = None
    seed: int | None = 0                     # None: the caller fills it (tdf loop: the run's seed)
    split: str = "test"
    stream: str | None = None                # for MS models: "main" (default) or "ta"
    per_class_ranking: int = 60
    views: list[str] | None = None           # None → all that apply (VIEWS)
    theta: float = 0.6                       # class feature pyramid threshold (paper: 0.55–0.7)
    depth: int | None = None                 # pyramid levels below the classifier; None → down to conv1
    dissect_on: str = "all"                  # dissection samples: "all" of the split, or "weak"
                                             # (the weak classes and those they are confused with)
    extras: dict[str, Any] = field(default_factory=dict)


# Weak classes shown in the per-class views (decoded, responses, relevance, pyramids) by default;
# the report names any left out.
MAX_SHOWN_WEAK = 6



def selected_views(opts: DiagnoseOptions) -> set[str]:
    """The views to compute; BadInput for an unknown one."""
    views = set(opts.views or VIEWS)
    unknown = sorted(views - set(VIEWS))
    if unknown:
        raise BadInput(f"unknown --views {', '.join(unknown)}; choose from {', '.join(VIEWS)}")
    return views | {"ranking"}


def run_diagnosis(run_dir: str | os.PathLike, data_path: str | os.PathLike | None, out_dir: str | os.PathLike,
                  opts: DiagnoseOptions, force: bool = False, output: Output | None = None) -> dict[str, Any]:
    """Diagnose the model of `run_dir` on its data; returns the diagnosis document."""
    from tdf.data.store import open_store
    from tdf.outputs import OutputFolder, final_path
    from tdf.run_folder import (RunPaths, check_model_file, check_model_matches_data, data_fingerprint,
                               load_model, read_run_json, run_split)

    output = output or Output(quiet=True)
    t_start = time.perf_counter()
    check_render_mode(opts.render)
    if opts.dissect_on not in ("all", "weak"):
        raise BadInput(f"--dissect-on must be 'all' or 'weak', got {opts.dissect_on!r}")
    if opts.samples_per_class < 1:
        raise BadInput("--samples-per-class must be ≥ 1")
    if opts.method not in METHOD_CHOICES:
        raise BadInput(f"unknown relevance --method {opts.method!r}; choose from {', '.join(METHOD_CHOICES)}")
    if opts.faithfulness_samples < 2:
        raise BadInput(f"--faithfulness-samples must be ≥ 2, got {opts.faithfulness_samples} "
                       f"(leave the faithfulness view out with --views to skip the check)")
    if opts.top_k is not None and opts.top_k < 1:
        raise BadInput(f"--top-k must be ≥ 1, got {opts.top_k}")
    views = selected_views(opts)
    paths = RunPaths(run_dir)
    info = read_run_json(run_dir)
    data_path = Path(data_path or info["data"])
    out = Path(out_dir)
    check_model_file(paths.model)
    with open_store(data_path) as store:  # a missing or malformed data file is refused before the backend loads
        layout = resolve_groups(opts.groups, store.layout)  # --groups names the data's joints
        unknown = [c for c in opts.classes or () if c not in store.class_names]
        if unknown:   # before the ranking's minutes of work, not after
            raise BadInput(f"unknown class(es) {', '.join(unknown)} in --classes", data_path)
    # Only the diagnosis folder is written (staged, swapped in when complete; tdf.outputs):
    # the run is read, never modified.
    with OutputFolder(out, "diagnosis", inputs=[paths.root, data_path]) as folder:
        work = folder.create(force=force)
        load_backend()  # after every cheap check: bad input never waits for TensorFlow
        from tdf.diagnose.decoder import default_layers
        from tdf.diagnose.ranking import diagnose_ranking, select_samples
        from tdf.diagnose.weak_classes import best_classes
        from tdf.models.contract import contract_of
        from tdf.train.evaluate import own_metrics
        # decoder and relevance are exact in float32: a bf16 run is diagnosed on a float32 copy
        from tdf.train.precision import float32_copy
        model = float32_copy(load_model(paths.model))
        contract = contract_of(model)
        kind = contract.family
        stream = contract.default_stream if opts.stream is None else contract.check_stream(opts.stream)
        from tdf.data.model_input import run_recipe, view_for_run
        recipe = run_recipe(info, paths.run_json)
        recipe = None if recipe is None or recipe.is_raw else recipe
        plan, skipped, input_skipped = _plan_views(views, contract, recipe, opts, output)
        with open_store(data_path) as raw_store:
            store = view_for_run(raw_store, info, paths.run_json)
            check_model_matches_data(model, store, info, paths.model)
            if data_fingerprint(store) != info.get("data_fingerprint"):
                raise BadInput(f"data {data_path} is not the data run {paths.root} was trained on; "
                               f"diagnose needs the run's own split")
            split = run_split(store, info, paths.run_json)
            indices = split.part(opts.split)
            frames = int(info.get("frames") or store.T)
            metrics = own_metrics(paths.root, info, model, store, indices, opts.split, frames, output)

            # 1. ranking
            output.log("ranking joint groups…")
            ranking = diagnose_ranking(model, store, indices, metrics, seed=opts.seed,
                                       per_class=opts.per_class_ranking, frames=frames, layout=layout,
                                       recipe=recipe)
            from tdf.diagnose.ranking import (BOOTSTRAP, INTERVAL, REPEATS, RULE, RULE_TERMS, THRESHOLD, recommend,
                                              save_outcomes)
            outcomes = ranking.pop("outcomes", None)
            if outcomes:   # what each group's components were computed from (re-scoring offline)
                save_outcomes(work / "ranking_outcomes.npz", outcomes, opts.seed)
            ranking["recommended_groups"] = recommend(ranking["groups"], top_k=opts.top_k,
                                                      composites=layout.composites)
            if ranking["status"] == "too_few_samples":   # degenerate data: say so even with --quiet
                output.warn(ranking["message"])

            # 2. shown classes and samples
            weak_names = [w["class"] for w in ranking["weak_classes"]]
            if opts.classes:   # checked against the store's names above
                shown = list(opts.classes)
            else:
                shown = weak_names[:MAX_SHOWN_WEAK] + best_classes(metrics, 1, exclude=set(weak_names))
                if len(weak_names) > MAX_SHOWN_WEAK:
                    output.warn(f"{len(weak_names)} weak classes; the per-class views show the worst "
                                f"{MAX_SHOWN_WEAK} (choose others with --classes)")
            ids = [store.class_names.index(c) for c in shown]
            sel = select_samples(store.label, indices, ids, opts.samples_per_class, opts.seed)
            from tdf.diagnose.views import DiagnoseContext
            ctx = DiagnoseContext(model, contract, store, indices, layout, frames, opts, work, output, recipe,
                                  stream, metrics, ranking, shown, store.read(sel, frames=frames), store.label[sel],
                                  [store.names[i] for i in sel], store.length[sel],
                                  opts.layers or list(default_layers(model)))

            # 3. the views, in the registry's order (tdf.diagnose.views)
            for view in plan:
                if view.name == "relevance":
                    ctx.method, why = _choose_method(ctx, opts, output)
                result = view.run(ctx)
                if view.place is not None:
                    ctx.results[view.name] = result
            if "relevance" not in ctx.results:
                ctx.method, why = _choose_method(ctx, opts, output)
        relevance_summary = ctx.results.get("relevance") or {}
        faith, method, layers = ctx.results.get("faithfulness"), ctx.method, ctx.layers
        extra_views = {v.name: ctx.results[v.name] for v in plan if v.place == "views"}
        pictures, names = ctx.files, ctx.names
        rel_by_group = relevance_summary.get("group_share_weak", {})
        for g in ranking["groups"]:
            if g["name"] in rel_by_group:
                g["evidence"]["relevance_share"] = round(rel_by_group[g["name"]], 6)
        diagnosis = {
            "schema": DIAGNOSIS_SCHEMA, "created_by": f"tdf {__version__}",
            "run": str(final_path(paths.root)), "data": str(data_path.resolve()),
            "data_fingerprint": info.get("data_fingerprint"), "model_kind": kind, "stream": stream,
            "split": opts.split, "metrics": {k: metrics.get(k) for k in ("top1", "top5", "mean_class_accuracy", "n")},
            "weak_classes": ranking["weak_classes"], "groups": ranking["groups"],
            "recommended_groups": ranking["recommended_groups"],
            "ranking_status": {"status": ranking["status"], "message": ranking["message"]},
            "method": {"ranking": f"rule {RULE}: input motion-probe skill (the better of power spectra and "
                                  "resampled body-frame trajectory, per group: evidence.input_probe) − "
                                  f"{RULE_TERMS[RULE]} (evidence.model_term; every component in "
                                  "evidence.components, per-sample outcomes in ranking_outcomes.npz), shrinkage-LDA "
                                  f"probes, 5-fold CV × {REPEATS}; interval: {INTERVAL:.0%} percentile "
                                  f"bootstrap ({BOOTSTRAP}) over samples and folds; recommended when "
                                  f"score_low ≥ {THRESHOLD}",
                       "relevance": method, "seed": opts.seed},
            "relevance_choice": {"requested": opts.method, "chosen": method, "why": why},
            "faithfulness": faith,
            "ranking_samples": ranking["ranking_samples"], "custom_groups": custom_groups_record(layout, opts.groups),
            "decoded": {"layers": layers, "samples": names, "classes": shown},
            "relevance": relevance_summary, "files": pictures, "views": extra_views,
            "seconds": round(time.perf_counter() - t_start, 2),
        }
        if skipped:
            diagnosis["skipped_views"] = skipped
        if recipe is not None:
            diagnosis["input"] = {"features": list(recipe.features), "normalize": recipe.normalize,
                                  "frames": recipe.frames, "skipped_views": input_skipped}
        write_json(work / "diagnosis.json", diagnosis)
        from tdf.diagnose.report_diagnosis import write_report
        write_report(diagnosis, work, work / "report.html")
    diagnosis["out"] = str(out)
    return diagnosis


def _plan_views(views: set[str], contract, recipe, opts, output: Output):
    """(views to run in order, {view: reason} skipped for what the model lacks, {view: reason}
    skipped because the run's input has more than joint positions)."""
    from tdf.diagnose.relevance_methods import missing_capability
    from tdf.diagnose.views import VIEWS as REGISTRY
    plan, skipped, input_skipped = [], {}, {}
    for view in REGISTRY.values():
        if view.selectable and view.name not in views:
            continue
        missing = missing_capability(view.needs, contract)
        if missing is not None:
            if view.selectable:
                skipped[view.name] = missing
        elif view.raw_input and recipe is not None:   # input channels beyond joint positions
            if view.selectable:                       # (docs/real-baseline.md)
                input_skipped[view.name] = ("reads the 150 joint dims of the model input; this run's input has "
                                            f"{recipe.n_features} channels per joint ({', '.join(recipe.features)})")
        else:
            plan.append(view)
    if input_skipped:
        output.log(f"views {', '.join(input_skipped)} skipped: the run's input has more than joint positions")
    for name, reason in skipped.items():
        output.log(f"view {name} skipped: {reason}")
    if opts.method != AUTO:
        missing = RELEVANCE_METHODS[opts.method].missing(contract)
        if missing is not None:
            raise BadInput(f"--method {opts.method} {missing}; choose another method or auto")
    return plan, skipped, input_skipped


def _choose_method(ctx, opts, output: Output) -> tuple[str, str]:
    """(relevance method, why): forced with --method, else the faithfulness view's choice, else
    the default."""
    if opts.method != AUTO:
        return opts.method, "forced with --method"
    faith = ctx.results.get("faithfulness")
    method, why = ((faith["chosen"], faith["why"]) if faith is not None else
                   (DEFAULT_METHOD, "auto without the faithfulness view: gradient × input (the default)"))
    output.log(why)
    return method, why
