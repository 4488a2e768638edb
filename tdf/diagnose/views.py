"""The one registry of diagnose views: each view is `run(context) → result` over one
`DiagnoseContext`, declares what it needs from the model's contract (tdf.models.contract),
where its result goes in diagnosis.json and its report section (tdf.diagnose.report_diagnosis).

Views whose result lives under `views.<name>` name their report `section` here; the older
top-level ones (decoder, relevance, faithfulness, responses, primitives) are drawn in their
fixed places by the report.

A view whose needs the model does not meet — the Feature Map Decoder on a model without a
Res-TCN-like unit chain, say — is skipped with a one-line reason, recorded in diagnosis.json
(`skipped_views`) and shown in the report. The ranking is not a view: every diagnosis is
built on it (tdf.diagnose.ranking). A new view is one function here (or in its own module)
plus one `View` line in `VIEWS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tdf.console import Output
from tdf.diagnose import report_diagnosis as report
from tdf.diagnose.animation import GIF_DPI, GIF_FPS, GIF_FRAMES
from tdf.diagnose.relevance_methods import RELEVANCE_METHODS
from tdf.errors import BadInput
from tdf.skeleton import Layout


@dataclass
class DiagnoseContext:
    """Everything a view may read: the model and its contract, the data and the split, the
    options, the ranking, the shown samples, and the results of the views run before it."""

    model: Any
    contract: Any
    store: Any
    indices: np.ndarray
    layout: Layout
    frames: int
    opts: Any
    work: Path
    output: Output
    recipe: Any
    stream: str | None
    metrics: dict[str, Any]
    ranking: dict[str, Any]
    shown: list[str]
    x: np.ndarray
    labels: np.ndarray
    names: list[str]
    lengths: np.ndarray
    layers: list[str]
    method: str = "gradxinput"
    files: dict[str, Any] = field(default_factory=lambda: {"decoded": [], "primitives": None,
                                                           "primitive_gifs": [], "responses": []})
    results: dict[str, Any] = field(default_factory=dict)

    def shown_x(self) -> np.ndarray:
        """The shown samples as joint positions (the recipe's joint channels for a run whose
        input has more channels)."""
        return self.x if self.recipe is None else self.recipe.joint_channels(self.x)


@dataclass(frozen=True)
class View:
    """A diagnose view: `run(ctx)` returns its result, stored in diagnosis.json under
    `views.<name>` (`place="views"`), at the top level (`place="top"`: decoder, relevance,
    faithfulness, which predate the registry) or only in `files` (`place=None`)."""

    name: str
    run: Callable[[DiagnoseContext], Any]
    needs: tuple[str, ...] = ()
    raw_input: bool = False       # reads the model input as the raw joint dims
    selectable: bool = True       # offered by --views (False: always run when the model allows)
    place: str | None = "views"
    section: Callable[[Any, Any, Path], None] | None = None   # (page, result, folder): its report section


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


# ----------------------------------------------------------------------------- views


def decoder_view(ctx: DiagnoseContext) -> dict[str, np.ndarray]:
    """Decode the shown samples' layers (decoded.npz) and, when rendering, one GIF per class."""
    from tdf.diagnose.decoder import decode
    ctx.output.log(f"decoding layers {', '.join(ctx.layers)} for {len(ctx.x)} samples…")
    decoded = decode(ctx.model, ctx.x, layers=ctx.layers, stream=ctx.stream)
    if ctx.recipe is not None:  # the joint-position channels, in the store's units
        decoded = {k: ctx.recipe.joint_channels(v) for k, v in decoded.items()}
    with open(ctx.work / "decoded.npz", "wb") as f:
        np.savez_compressed(f, x=ctx.shown_x(), names=np.array(ctx.names), labels=ctx.labels,
                            lengths=ctx.lengths, class_names=np.array(ctx.store.class_names),
                            layout=np.array(ctx.store.layout.to_toml()), **decoded)
    if ctx.opts.render != "none":
        from tdf.render import hide_absent_bodies, render_sequences_grid
        (ctx.work / "decoded").mkdir(exist_ok=True)
        x, layout, seen = ctx.shown_x(), ctx.store.layout, set()
        for i, name in enumerate(ctx.names):
            cls = ctx.store.class_names[ctx.labels[i]]
            if cls in seen:
                continue
            seen.add(cls)
            t = int(ctx.lengths[i])
            seqs = {"input": x[i, :t], **{f"decoded {k}": hide_absent_bodies(v[i, :t], x[i, :t], layout)
                                          for k, v in decoded.items()}}
            path = ctx.work / "decoded" / f"{_safe(cls)}__{_safe(name)}.{ctx.opts.render}"
            render_sequences_grid(seqs, path, title=f"{name}: {cls}", max_frames=GIF_FRAMES, fps=GIF_FPS,
                                  dpi=GIF_DPI, layout=layout)
            ctx.files["decoded"].append({"class": cls, "sample": name, "file": str(path.relative_to(ctx.work))})
    return decoded


def applicable_methods(contract, recipe=None) -> tuple[str, ...]:
    """The registered relevance methods this model can be explained with (per-joint-input ones
    only for raw input)."""
    return tuple(name for name, m in RELEVANCE_METHODS.items() if m.missing(contract) is None
                 and not (m.raw_input and recipe is not None))


def faithfulness_view(ctx: DiagnoseContext) -> dict[str, Any]:
    """Deletion/insertion curves and the randomisation check for every method the model allows
    (faithfulness.py), on `faithfulness_samples` rows of the split spread over its classes, and
    their charts. With an input recipe a group covers all of its joints' channels, and occlusion
    is not offered by `auto` (its relevance view needs raw input)."""
    from tdf.diagnose.faithfulness import choose, faithfulness, select_faithfulness_samples
    from tdf.diagnose.faithfulness_charts import faithfulness_charts
    t0 = time.perf_counter()
    opts, layout, recipe = ctx.opts, ctx.layout, ctx.recipe
    sel = select_faithfulness_samples(ctx.store.label, np.asarray(ctx.indices), opts.faithfulness_samples, opts.seed)
    x = ctx.store.read(sel, frames=ctx.frames)
    masks = {g: layout.group_mask(g) if recipe is None else recipe.expand_mask(layout.group_mask(g))
             for g in layout.groups}
    methods = applicable_methods(ctx.contract)
    out = faithfulness(ctx.model, x, ctx.store.label[sel], masks, methods, seed=opts.seed, progress=ctx.output.log)
    out["chosen"], out["why"] = choose(applicable_methods(ctx.contract, recipe), out)
    out["files"] = faithfulness_charts(out, ctx.work)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def relevance_view(ctx: DiagnoseContext) -> dict[str, Any]:
    """Relevance of the shown samples for their true class: group shares and GIFs. With an input
    recipe, a joint coordinate's relevance is the sum over its feature channels."""
    from tdf.diagnose.relevance.aggregate import group_shares
    method = RELEVANCE_METHODS[ctx.method]
    ctx.output.log(f"relevance ({ctx.method})…")
    store, labels, layout = ctx.store, ctx.labels, ctx.layout
    if method.per_group:
        if ctx.recipe is not None:
            raise BadInput(f"--method {method.name} needs a raw-input run (this run's input has "
                           f"{ctx.recipe.n_features} channels per joint); use gradxinput or lrp")
        occ = method.load()(ctx.model, ctx.x, target=labels, layout=layout)
        effects = np.abs(np.asarray(occ.values if hasattr(occ, "values") else occ, np.float64))
        names_g = list(layout.groups)

        def shares(rows):   # each group's part of the summed |logit drop| (occlusion is per group only)
            total = rows.sum()
            return {g: float(rows[:, i].sum() / total) if total > 0 else 0.0 for i, g in enumerate(names_g)}
        per_class = {c: shares(effects[labels == store.class_names.index(c)]) for c in ctx.shown
                     if (labels == store.class_names.index(c)).any()}
        return {"method": method.name, "explained": "true class logit", "group_share_by_class": per_class,
                "group_share_weak": shares(effects),
                "group_effect_mean": {g: float(effects[:, i].mean()) for i, g in enumerate(names_g)},
                "files": [], "note": "occlusion gives one value per joint group: no per-joint pictures"}
    values = method.load()(ctx.model, ctx.x, target=labels).values
    if ctx.recipe is not None:
        values = values.reshape(values.shape[:-1] + (-1, ctx.recipe.n_features)).sum(-1)
    x = ctx.shown_x()

    def shares(v):
        names, s = group_shares(v, layout=layout, pooled=True)
        return {g: float(share) for g, share in zip(names, s)}
    per_class = {}
    for c in ctx.shown:
        m = labels == store.class_names.index(c)
        if m.any():
            per_class[c] = shares(values[m])
    out = {"method": method.name, "explained": "true class logit", "group_share_by_class": per_class,
           "group_share_weak": shares(values), "files": []}
    if ctx.opts.render != "none":
        from tdf.diagnose.relevance.aggregate import relevance_gif
        rel_dir = ctx.work / "relevance"
        rel_dir.mkdir(exist_ok=True)
        firsts = {}  # the first sample of each shown class
        for i, label in enumerate(labels):
            firsts.setdefault(int(label), i)
        for i in sorted(firsts.values()):
            name, t = ctx.names[i], int(ctx.lengths[i])
            path = rel_dir / f"{_safe(name)}.{ctx.opts.render}"
            relevance_gif(x[i, :t], values[i, :t], path,
                          title=f"{name} ({store.class_names[labels[i]]}) relevance", max_frames=GIF_FRAMES,
                          fps=GIF_FPS, layout=store.layout)
            out["files"].append(str(path.relative_to(ctx.work)))
    return out


def primitives_view(ctx: DiagnoseContext) -> None:
    """The first conv's filters as heatmaps (primitives.png) and, when rendering, the strongest
    three animated as motions. A run with an input recipe gets no primitives (a first-layer
    filter spans every channel of a joint, not a motion of the skeleton) — hence `raw_input`."""
    from tdf.diagnose.primitives import first_layer_filters, primitive_gif, primitive_heatmaps
    primitive_heatmaps(ctx.model, ctx.work / "primitives.png", stream=ctx.stream, layout=ctx.store.layout)
    ctx.files["primitives"] = "primitives.png"
    if ctx.opts.render != "none":
        (ctx.work / "primitives").mkdir(exist_ok=True)
        kernel = first_layer_filters(ctx.model, stream=ctx.stream)
        order = np.argsort(-np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0))[:3]
        for f in order:
            path = ctx.work / "primitives" / f"filter{int(f):03d}.{ctx.opts.render}"
            primitive_gif(ctx.model, int(f), path, stream=ctx.stream, layout=ctx.store.layout)
            ctx.files["primitive_gifs"].append(str(path.relative_to(ctx.work)))


def responses_view(ctx: DiagnoseContext) -> None:
    """Filter response magnitudes of the last unit, per shown class (responses/*.png)."""
    from tdf.diagnose.decoder import default_layers
    from tdf.diagnose.responses import filter_responses, plot_class_responses
    last = default_layers(ctx.model)[-1]
    resp = filter_responses(ctx.model, ctx.x, last, stream=ctx.stream)
    by_class = {c: resp[ctx.labels == ctx.store.class_names.index(c)] for c in ctx.shown
                if (ctx.labels == ctx.store.class_names.index(c)).any()}
    written = plot_class_responses(by_class, ctx.work / "responses", layer=last)
    ctx.files["responses"] = [str(Path(p).relative_to(ctx.work)) for p in written]


def pyramid_view(ctx: DiagnoseContext) -> dict[str, Any]:
    """Class feature pyramids of the shown classes (tdf.diagnose.pyramid)."""
    from tdf.diagnose.pyramid import pyramid_view as pyramids
    opts = ctx.opts
    ctx.output.log(f"class feature pyramids (θ = {opts.theta})…")
    return pyramids(ctx.model, ctx.store, ctx.indices, ctx.shown, ctx.stream, ctx.work, theta=opts.theta,
                    depth=opts.depth, frames=ctx.frames, render=opts.render, seed=opts.seed)


def dissect_view(ctx: DiagnoseContext) -> dict[str, Any]:
    """Unit dissection against joint-group motion concepts (tdf.diagnose.dissect); the full
    document is kept in `ctx.results["dissection"]` for the concept paths."""
    from tdf.diagnose.dissect import dissect_view as dissect
    store, indices, opts = ctx.store, ctx.indices, ctx.opts
    weak_set = ctx.ranking["ranking_samples"]["classes"]
    on, samples_from = indices, "all classes"
    if opts.dissect_on == "weak":
        ids = [store.class_names.index(c) for c in weak_set]
        weak_rows = indices[np.isin(store.label[indices], ids)]
        if len(weak_rows):
            on, samples_from = weak_rows, weak_set
        else:
            ctx.output.warn("--dissect-on weak: no weak class has samples in the split; dissecting all classes")
    ctx.output.log(f"dissecting units against joint-group motion concepts ({opts.dissect_on} classes)…")
    summary, ctx.results["dissection"] = dissect(ctx.model, store, on, ctx.stream, ctx.work, frames=ctx.frames,
                                                 seed=opts.seed)
    summary["samples_from"] = samples_from
    return summary


def paths_view(ctx: DiagnoseContext) -> dict[str, Any]:
    """Unit → class relationships and the concept paths of mistakes (tdf.diagnose.unit_class)."""
    from tdf.diagnose.unit_class import paths_view as paths
    ctx.output.log("unit → class relationships and concept paths of mistakes…")
    return paths(ctx.model, ctx.x, ctx.labels, ctx.names, ctx.store.class_names, ctx.stream, ctx.work,
                 ctx.results.get("dissection"))


# The registry, in the order the views run (the relevance view reads the faithfulness view's
# choice of method; the concept paths read the dissection).
VIEWS: dict[str, View] = {
    "decoder": View("decoder", decoder_view, needs=("residual_chain",), place="top"),
    "faithfulness": View("faithfulness", faithfulness_view, needs=("pooled",), place="top"),
    "relevance": View("relevance", relevance_view, needs=("pooled",), place="top"),
    "primitives": View("primitives", primitives_view, needs=("units",), raw_input=True, selectable=False,
                       place=None),
    "responses": View("responses", responses_view, needs=("units",), place=None),
    "pyramid": View("pyramid", pyramid_view, needs=("residual_chain",), raw_input=True,
                    section=report.pyramid_section),
    "dissect": View("dissect", dissect_view, needs=("units",), raw_input=True, section=report.dissect_section),
    "paths": View("paths", paths_view, needs=("residual_chain",), raw_input=True, section=report.paths_section),
}
# --views choices, in the order the help lists them (the ranking is always computed)
VIEW_CHOICES = ("decoder", "responses", "relevance", "ranking", "faithfulness", "pyramid", "dissect", "paths")
