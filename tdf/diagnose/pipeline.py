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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tdf import __version__
from tdf.atomic import write_json
from tdf.backend import load_backend
from tdf.console import Output
from tdf.data.groups import custom_groups_record, resolve_groups
from tdf.diagnose.animation import GIF_DPI, GIF_FPS, GIF_FRAMES
from tdf.errors import BadInput
from tdf.skeleton import Layout

DIAGNOSIS_SCHEMA = 1
METHODS = ("gradxinput", "lrp", "occlusion")
# --method: a relevance method, or "auto" = the most faithful one on this model (faithfulness.py)
METHOD_CHOICES = ("auto",) + METHODS
# Views of the diagnosis; the ranking is always computed (diagnosis.json is built on it).
VIEWS = ("decoder", "responses", "relevance", "ranking", "faithfulness", "pyramid", "dissect", "paths")
# Views that read the model input as the raw joint dims; skipped for runs with an input recipe.
RAW_INPUT_VIEWS = frozenset({"pyramid", "dissect", "paths"})
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


def _relevance(method: str):
    if method == "gradxinput":
        from tdf.diagnose.relevance.gradient_x_input import gradient_x_input
        return gradient_x_input
    if method == "lrp":
        from tdf.diagnose.relevance.lrp import lrp
        return lrp
    raise BadInput(f"unknown relevance --method {method!r}; choose from {', '.join(METHODS)}")


def _group_shares(values: np.ndarray, layout: Layout) -> dict[str, float]:
    """Share of |relevance| per group (of the total over all joints), from [N, T, D]."""
    total = np.abs(values).sum()
    if total <= 0:
        return {g: 0.0 for g in layout.groups}
    return {g: float(np.abs(values[..., layout.group_mask(g)]).sum() / total) for g in layout.groups}


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


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def run_diagnosis(run_dir: str | os.PathLike, data_path: str | os.PathLike | None, out_dir: str | os.PathLike,
                  opts: DiagnoseOptions, force: bool = False, output: Output | None = None) -> dict[str, Any]:
    """Diagnose the model of `run_dir` on its data; returns the diagnosis document."""
    from tdf.data.store import open_store
    from tdf.outputs import OutputFolder, final_path
    from tdf.run_folder import (RunPaths, check_model_file, check_model_matches_data, data_fingerprint,
                               load_model, read_run_json, run_split)

    output = output or Output(quiet=True)
    t_start = time.perf_counter()
    if opts.render not in ("gif", "mp4", "none"):
        raise BadInput(f"--render must be gif, mp4 or none, got {opts.render!r}")
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
    groups = dict(layout.groups)
    # Only the diagnosis folder is written (staged, swapped in when complete; tdf.outputs):
    # the run is read, never modified.
    with OutputFolder(out, "diagnosis", inputs=[paths.root, data_path]) as folder:
        work = folder.create(force=force)
        load_backend()  # after every cheap check: bad input never waits for TensorFlow
        from tdf.diagnose.decoder import decode, default_layers
        from tdf.diagnose.ranking import diagnose_ranking, select_samples
        from tdf.diagnose.weak_classes import best_classes
        from tdf.models import model_kind
        from tdf.train.evaluate import own_metrics
        # decoder and relevance are exact in float32: a bf16 run is diagnosed on a float32 copy
        from tdf.train.precision import float32_copy
        model = float32_copy(load_model(paths.model))
        kind = model_kind(model)
        stream = opts.stream or ("main" if kind == "ms_res_tcn" else None)
        from tdf.data.model_input import run_recipe, view_for_run
        recipe = run_recipe(info, paths.run_json)
        recipe = None if recipe is None or recipe.is_raw else recipe
        skipped: dict[str, str] = {}
        if recipe is not None:  # input channels beyond joint positions (docs/real-baseline.md)
            for v in sorted(views & RAW_INPUT_VIEWS):
                skipped[v] = ("reads the 150 joint dims of the model input; this run's input has "
                              f"{recipe.n_features} channels per joint ({', '.join(recipe.features)})")
            views = views - RAW_INPUT_VIEWS
            if skipped:
                output.log(f"views {', '.join(skipped)} skipped: the run's input has more than joint positions")
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
            if opts.classes:
                unknown = [c for c in opts.classes if c not in store.class_names]
                if unknown:
                    raise BadInput(f"unknown class(es) {', '.join(unknown)} in --classes", data_path)
                shown = list(opts.classes)
            else:
                shown = weak_names[:MAX_SHOWN_WEAK] + best_classes(metrics, 1, exclude=set(weak_names))
                if len(weak_names) > MAX_SHOWN_WEAK:
                    output.warn(f"{len(weak_names)} weak classes; the per-class views show the worst "
                                f"{MAX_SHOWN_WEAK} (choose others with --classes)")
            ids = [store.class_names.index(c) for c in shown]
            sel = select_samples(store.label, indices, ids, opts.samples_per_class, opts.seed)
            x = store.read(sel, frames=frames)
            labels = store.label[sel]
            names = [store.names[i] for i in sel]
            lengths = store.length[sel]

            # 3. decoder
            layers = opts.layers or list(default_layers(model))
            decoded = {}
            if "decoder" in views:
                output.log(f"decoding layers {', '.join(layers)} for {len(sel)} samples…")
                decoded = decode(model, x, layers=layers, stream=stream)
                if recipe is not None:  # the joint-position channels, in the store's units
                    decoded = {k: recipe.joint_channels(v) for k, v in decoded.items()}
                with open(work / "decoded.npz", "wb") as f:
                    np.savez_compressed(f, x=x if recipe is None else recipe.joint_channels(x),
                                        names=np.array(names), labels=labels, lengths=lengths,
                                        class_names=np.array(store.class_names),
                                        layout=np.array(store.layout.to_toml()), **decoded)

            # 4. faithfulness of the relevance methods on this model; `auto` picks the most faithful
            faith, method, why = None, opts.method, "forced with --method"
            if "faithfulness" in views:
                faith = _faithfulness_section(model, store, indices, layout, frames, opts, work, output, recipe)
                if opts.method == "auto":
                    method, why = faith["chosen"], faith["why"]
            elif opts.method == "auto":
                method, why = "gradxinput", "auto without the faithfulness view: gradient × input (the default)"
            if opts.method == "auto":
                output.log(why)

            # 5. relevance on the shown samples and on the ranking's samples (group shares)
            relevance_summary = {}
            if "relevance" in views:
                output.log(f"relevance ({method})…")
                relevance_summary = _relevance_section(model, store, x, labels, names, lengths, shown, layout,
                                                       replace(opts, method=method), work, metrics, recipe)

            # 6. pictures
            pictures = _pictures(model, store, x, labels, names, lengths, decoded, shown, opts, stream,
                                 work, output, views, recipe)

            # 7. beyond the paper: class feature pyramids, unit dissection, concept paths
            extra_views = _extra_views(model, store, indices, x, labels, names, shown, stream, frames,
                                       opts, views, work, output, ranking["ranking_samples"]["classes"])

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
        if recipe is not None:
            diagnosis["input"] = {"features": list(recipe.features), "normalize": recipe.normalize,
                                  "frames": recipe.frames, "skipped_views": skipped}
        write_json(work / "diagnosis.json", diagnosis)
        from tdf.diagnose.report_diagnosis import write_report
        write_report(diagnosis, work, work / "report.html")
    diagnosis["out"] = str(out)
    return diagnosis


def _faithfulness_section(model, store, indices, layout: Layout, frames, opts, work: Path, output: Output,
                          recipe=None) -> dict[str, Any]:
    """Deletion/insertion curves and the randomisation check for every method (faithfulness.py),
    on `faithfulness_samples` rows of the split spread over its classes, and their charts. With
    an input recipe a group covers all of its joints' channels, and occlusion is not offered by
    `auto` (its relevance view needs raw input)."""
    from tdf.diagnose.faithfulness import choose, faithfulness, select_faithfulness_samples
    from tdf.diagnose.faithfulness_charts import faithfulness_charts
    t0 = time.perf_counter()
    sel = select_faithfulness_samples(store.label, np.asarray(indices), opts.faithfulness_samples, opts.seed)
    x = store.read(sel, frames=frames)
    masks = {g: layout.group_mask(g) if recipe is None else recipe.expand_mask(layout.group_mask(g))
             for g in layout.groups}
    out = faithfulness(model, x, store.label[sel], masks, METHODS, seed=opts.seed, progress=output.log)
    offered = METHODS if recipe is None else tuple(m for m in METHODS if m != "occlusion")
    out["chosen"], out["why"] = choose(offered, out)
    out["files"] = faithfulness_charts(out, work)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _relevance_section(model, store, x, labels, names, lengths, shown, layout: Layout, opts, work: Path,
                       metrics, recipe=None) -> dict[str, Any]:
    """Relevance of the shown samples for their true class: group shares and GIFs. With an input
    recipe, a joint coordinate's relevance is the sum over its feature channels."""
    if opts.method == "occlusion":
        if recipe is not None:
            raise BadInput("--method occlusion needs a raw-input run (this run's input has "
                           f"{recipe.n_features} channels per joint); use gradxinput or lrp")
        from tdf.diagnose.relevance.occlusion import group_occlusion
        occ = group_occlusion(model, x, target=labels, layout=layout)
        effects = np.abs(np.asarray(occ.values if hasattr(occ, "values") else occ, np.float64))
        names_g = list(layout.groups)

        def shares(rows):   # each group's part of the summed |logit drop| (occlusion is per group only)
            total = rows.sum()
            return {g: float(rows[:, i].sum() / total) if total > 0 else 0.0 for i, g in enumerate(names_g)}
        per_class = {c: shares(effects[labels == store.class_names.index(c)]) for c in shown
                     if (labels == store.class_names.index(c)).any()}
        return {"method": "occlusion", "explained": "true class logit", "group_share_by_class": per_class,
                "group_share_weak": shares(effects),
                "group_effect_mean": {g: float(effects[:, i].mean()) for i, g in enumerate(names_g)},
                "files": [], "note": "occlusion gives one value per joint group: no per-joint pictures"}
    attribution = _relevance(opts.method)(model, x, target=labels)
    values = attribution.values
    if recipe is not None:
        values = values.reshape(values.shape[:-1] + (-1, recipe.n_features)).sum(-1)
        x = recipe.joint_channels(x)
    per_class = {}
    for c in shown:
        m = labels == store.class_names.index(c)
        if m.any():
            per_class[c] = _group_shares(values[m], layout)
    shares_all = _group_shares(values, layout)
    out = {"method": opts.method, "explained": "true class logit", "group_share_by_class": per_class,
           "group_share_weak": shares_all, "files": []}
    if opts.render != "none":
        from tdf.diagnose.relevance.aggregate import relevance_gif
        rel_dir = work / "relevance"
        rel_dir.mkdir(exist_ok=True)
        firsts = {}  # the first sample of each shown class
        for i, label in enumerate(labels):
            firsts.setdefault(int(label), i)
        for i in sorted(firsts.values()):
            name = names[i]
            t = int(lengths[i])
            path = rel_dir / f"{_safe(name)}.{opts.render}"
            relevance_gif(x[i, :t], values[i, :t], path,
                          title=f"{name} ({store.class_names[labels[i]]}) relevance", max_frames=GIF_FRAMES,
                          fps=GIF_FPS, layout=store.layout)
            out["files"].append(str(path.relative_to(work)))
    return out


def _extra_views(model, store, indices, x, labels, names, shown, stream, frames, opts, views, work: Path,
                 output: Output, weak_set: list[str]) -> dict[str, Any]:
    """Pyramid, dissection and concept paths (tdf.diagnose.pyramid/dissect/unit_class)."""
    out: dict[str, Any] = {}
    if "pyramid" in views:
        from tdf.diagnose.pyramid import pyramid_view
        output.log(f"class feature pyramids (θ = {opts.theta})…")
        out["pyramid"] = pyramid_view(model, store, indices, shown, stream, work, theta=opts.theta,
                                      depth=opts.depth, frames=frames, render=opts.render, seed=opts.seed)
    dissection = None
    if "dissect" in views:
        from tdf.diagnose.dissect import dissect_view
        on, samples_from = indices, "all classes"
        if opts.dissect_on == "weak":
            ids = [store.class_names.index(c) for c in weak_set]
            weak_rows = indices[np.isin(store.label[indices], ids)]
            if len(weak_rows):
                on, samples_from = weak_rows, weak_set
            else:
                output.warn("--dissect-on weak: no weak class has samples in the split; dissecting all classes")
        output.log(f"dissecting units against joint-group motion concepts ({opts.dissect_on} classes)…")
        out["dissect"], dissection = dissect_view(model, store, on, stream, work, frames=frames, seed=opts.seed)
        out["dissect"]["samples_from"] = samples_from
    if "paths" in views:
        from tdf.diagnose.unit_class import paths_view
        output.log("unit → class relationships and concept paths of mistakes…")
        out["paths"] = paths_view(model, x, labels, names, store.class_names, stream, work, dissection)
    return out


def _pictures(model, store, x, labels, names, lengths, decoded, shown, opts, stream, work: Path,
              output: Output, views=VIEWS, recipe=None) -> dict[str, Any]:
    """Decoded GIFs, primitives, responses and the ranking chart; returns relative paths. With an
    input recipe the pictures show the joint-position channels and the primitives are skipped
    (a first-layer filter spans every channel of a joint, not a motion of the skeleton)."""
    from tdf.diagnose.primitives import primitive_gif, primitive_heatmaps, first_layer_filters
    from tdf.diagnose.responses import filter_responses, plot_class_responses
    files: dict[str, Any] = {"decoded": [], "primitives": None, "primitive_gifs": [], "responses": []}
    layout = store.layout
    model_x = x
    if recipe is None:
        primitive_heatmaps(model, work / "primitives.png", stream=stream, layout=layout)
        files["primitives"] = "primitives.png"
    else:
        x = recipe.joint_channels(x)
    if opts.render != "none":
        from tdf.render import hide_absent_bodies, render_sequences_grid
        (work / "decoded").mkdir(exist_ok=True)
        seen = set()
        for i, name in enumerate(names if decoded else []):
            cls = store.class_names[labels[i]]
            if cls in seen:
                continue
            seen.add(cls)
            t = int(lengths[i])
            seqs = {"input": x[i, :t], **{f"decoded {k}": hide_absent_bodies(v[i, :t], x[i, :t], layout)
                                          for k, v in decoded.items()}}
            path = work / "decoded" / f"{_safe(cls)}__{_safe(name)}.{opts.render}"
            render_sequences_grid(seqs, path, title=f"{name}: {cls}", max_frames=GIF_FRAMES, fps=GIF_FPS,
                                  dpi=GIF_DPI, layout=layout)
            files["decoded"].append({"class": cls, "sample": name, "file": str(path.relative_to(work))})
        (work / "primitives").mkdir(exist_ok=True)
        kernel = first_layer_filters(model, stream=stream)
        order = np.argsort(-np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0))[:3]
        for f in (order if recipe is None else []):
            path = work / "primitives" / f"filter{int(f):03d}.{opts.render}"
            primitive_gif(model, int(f), path, stream=stream, layout=layout)
            files["primitive_gifs"].append(str(path.relative_to(work)))
    if "responses" not in views:
        return files
    # responses of the last unit, per shown class
    from tdf.diagnose.decoder import default_layers
    last = default_layers(model)[-1]
    resp = filter_responses(model, model_x, last, stream=stream)
    by_class = {c: resp[labels == store.class_names.index(c)] for c in shown
                if (labels == store.class_names.index(c)).any()}
    written = plot_class_responses(by_class, work / "responses", layer=last)
    files["responses"] = [str(Path(p).relative_to(work)) for p in written]
    return files
