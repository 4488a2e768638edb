"""The diagnosis page (`DIAG/report.html`): ranking, weak classes, decoded skeletons layer by
layer, responses, primitives and relevance, all embedded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tdf.atomic import write_text
from tdf.diagnose.ranking import THRESHOLD
from tdf.diagnose.weak_classes import WEAK_MARGIN
from tdf.diagnose.report import ranking_chart
from tdf.html_page import Page, esc, json_block, table
from tdf.diagnose.summary import summarise


def diagnosis_sections(page: Page, d: dict[str, Any], folder: Path) -> None:
    """Add the diagnosis sections to `page` (also used by the loop's combined report)."""
    m = d.get("metrics") or {}
    rec = d.get("recommended_groups") or []
    page.p(f"Model <code>{esc(d['model_kind'])}</code> on <code>{esc(Path(d['data']).name)}</code>, "
           f"{esc(d['split'])} split: top-1 {m.get('top1', 0):.3f}, mean class accuracy "
           f"{m.get('mean_class_accuracy', 0):.3f} (n = {esc(m.get('n'))}).", "muted")
    status = d.get("ranking_status") or {"status": "ranked", "message": None}
    if status["status"] != "ranked":
        page.p("Recommended target for the fix: <b>none</b> — " + esc(status["message"]), "rec")
    else:
        page.p("Recommended target for the fix: <b>" + esc(", ".join(rec) or
                                                         f"none (no group's score interval clears {THRESHOLD})")
               + "</b>" + (f" &nbsp;→&nbsp; <code>tdf fix RUN --groups {esc(','.join(rec))}</code>" if rec else ""),
               "rec")
    page.h2("In short", "summary")
    page.raw("<ul class='summary'>" + "".join(f"<li>{esc(line)}</li>" for line in summarise(d, d.get("run", "RUN")))
             + "</ul>")

    if d.get("skipped_views"):   # views the model's contract cannot answer (tdf.diagnose.views)
        page.p("Views skipped for this model: " + "; ".join(f"<b>{esc(v)}</b> — {esc(why)}"
                                                             for v, why in d["skipped_views"].items()) + ".", "muted")
    page.h2("Weak-group ranking", "ranking")
    if not d["groups"]:
        page.p("Not ranked: " + esc(status["message"] or "no groups"), "muted")
    else:
        _ranking_section(page, d, folder)
    _weak_section(page, d)
    _later_sections(page, d, folder)


def _ranking_section(page: Page, d: dict[str, Any], folder: Path) -> None:
    chart = folder / "ranking.png"
    if not chart.exists():
        ranking_chart(d["groups"], chart, threshold=THRESHOLD)
    page.images([(chart, "score = input separability − the model term of the ranking's rule, per joint "
                         "group, with its 95 % bootstrap interval")])
    page.p("A group ranks high when its motion alone separates the weak classes (input probe) "
           "better than the model's own decisions on them do when that group is frozen (model term; "
           "the rule is named in diagnosis.json's groups[].evidence.rule). "
           "The input probe is the better of two: power spectra (rhythm) and the resampled "
           "trajectory (direction, shape, order). "
           "The interval is a seeded bootstrap over the ranking samples and the probes' cross-validation "
           f"folds; a group is recommended only when the interval's lower end is ≥ {THRESHOLD}.",
           "muted")
    rows = [(g["rank"], g["name"], f"{g['score']:.3f}",
             f"{g['score_low']:.3f} … {g['score_high']:.3f}" if "score_low" in g else "",
             f"{g['evidence'].get('input_separability', 0):.3f}",
             g["evidence"].get("input_probe", "spectra"),
             f"{g['evidence'].get('model_term', g['evidence'].get('model_separability', 0)):.3f}",
             f"{g['evidence']['relevance_share']:.3f}" if "relevance_share" in g["evidence"] else "")
            for g in d["groups"]]
    page.raw(table(["rank", "group", "score", "95 % interval", "input sep.", "input probe", "model term",
                    "relevance share"], rows, numeric={0, 2, 3, 4, 6, 7}))



def _weak_section(page: Page, d: dict[str, Any]) -> None:
    page.h2("Weak classes and their confusions", "weak")
    if not d["weak_classes"]:
        page.p("No class is significantly weaker than the others (a class is weak when the upper end of "
               "the 95 % Wilson interval of its accuracy is below the lower end of the others' pooled "
               f"accuracy, and it trails them by more than {WEAK_MARGIN}).", "muted")
        return
    page.p("Classes the model gets clearly wrong on the evaluated split, and the classes their "
           "samples are predicted as instead. Every later per-class view shows these classes.", "muted")
    rows = [(w["class"], f"{w['accuracy']:.3f}",
             ", ".join(f"{c} ({f:.0%})" for c, f in w["confused_with"])) for w in d["weak_classes"]]
    page.raw(table(["class", "accuracy", "confused with"], rows, numeric={1}))


def _later_sections(page: Page, d: dict[str, Any], folder: Path) -> None:
    files = d.get("files") or {}
    if files.get("decoded"):
        page.h2("Decoded skeletons, layer by layer", "decoded")
        page.p("The Feature Map Decoder turns each layer's responses back into a skeleton sequence "
               "(Kim & Reiter, arXiv:1704.04516, eqs. 6, 7, 10): one animation per shown class — the weak "
               "ones and a well-learned one for contrast — with the input on the left and deeper layers to "
               "the right. What a layer keeps of a motion is what the model can still use; every panel "
               "states its own scale (decoded layers can be larger than the body).", "muted")
        page.images([(folder / f["file"], f"{f['class']} — {f['sample']}") for f in files["decoded"]])
    if files.get("responses"):
        page.h2("Filter responses", "responses")
        page.p("How strongly each filter of the last residual unit responds over time, averaged per "
               "shown class: filters that fire for a well-learned class but stay quiet for a weak one "
               "point at what the model did not learn.", "muted")
        page.images([(folder / p, Path(p).stem) for p in files["responses"]])
    page.h2("Motion primitives (first-layer filters)", "primitives")
    page.p("The first layer's filters drawn as time × joint-coordinate heatmaps (colour bar: the "
           "weight), and the strongest ones animated as the motion they respond to best.", "muted")
    page.images([(folder / files["primitives"], "conv1 filters, time × joint dims")] if files.get("primitives") else [])
    page.images([(folder / p, Path(p).stem) for p in files.get("primitive_gifs", [])])
    rel = d.get("relevance") or {}
    page.h2(f"Relevance ({rel.get('method', '')})", "relevance")
    page.p("Which joint groups the model's decision for the true class rests on, as a share of the "
           "total relevance per shown class (rows sum to about 1 over disjoint groups); the animations "
           "colour each joint by its relevance.", "muted")
    if rel.get("group_share_by_class"):
        groups = list(next(iter(rel["group_share_by_class"].values())))
        rows = [[c] + [f"{v[g]:.2f}" for g in groups] for c, v in rel["group_share_by_class"].items()]
        page.raw(table(["class"] + groups, rows, numeric=set(range(1, len(groups) + 1))))
    page.images([(folder / p, Path(p).stem) for p in rel.get("files", [])])
    if rel.get("note"):
        page.p(esc(rel["note"]) + " (share of each group's |logit drop| when it alone is set to the mean "
               "skeleton).", "muted")
    _faithfulness_section(page, d.get("faithfulness"), d.get("relevance_choice"), folder)
    from tdf.diagnose.views import VIEWS   # each view under diagnosis["views"] draws its own section
    views = d.get("views") or {}
    for view in VIEWS.values():
        if view.place == "views" and view.section is not None:
            view.section(page, views.get(view.name), folder)


def _faithfulness_section(page: Page, f: dict | None, choice: dict | None, folder: Path) -> None:
    """Per method: verdict line, deletion/insertion areas vs random, randomisation correlations."""
    if not f:
        return
    from tdf.diagnose.faithfulness import METHOD_LABELS
    page.h2("Faithfulness of the relevance maps", "faithfulness")
    page.p(f"Measured on this model with {esc(f['samples'])} samples of the split, each explained for its true "
           "class. Deletion: the joint groups (or time segments) are set to the mean skeleton in the order of "
           "their relevance, most relevant first; insertion: restored in that order onto the mean skeleton. "
           f"A faithful map beats {esc(f['random_orders'])} random orders per sample (lower deletion area, higher "
           "insertion area; margin = the sum of both gains, 95 % bootstrap interval over samples). Randomisation: "
           "the classifier, then the layers below it, are re-initialised top down; a method whose maps keep "
           f"their ranking (Spearman ρ ≥ {esc(f['randomisation']['rho_flag'])} after all layers) does not explain "
           "the model (Adebayo et al., arXiv:1810.03292).", "muted")
    for m, v in f["methods"].items():
        page.p(("✓ " if v["verdict"] == "faithful" else "✗ " if v["verdict"] == "not faithful" else "? ")
               + esc(v["line"]))
    if choice:
        page.p("Relevance shown in this report: <b>" + esc(METHOD_LABELS.get(choice["chosen"], choice["chosen"]))
               + "</b> — " + esc(choice["why"]), "rec")
    g, fr, rnd = f["groups"], f.get("frames"), f["randomisation"]
    rows = []
    for m in f["methods"]:
        rows.append((METHOD_LABELS.get(m, m), f"{g[m]['deletion_area']:.3f}", f"{g['random']['deletion_area']:.3f}",
                     f"{g[m]['insertion_area']:.3f}", f"{g['random']['insertion_area']:.3f}",
                     f"{g[m]['margin']:+.3f} [{g[m]['margin_low']:+.3f}, {g[m]['margin_high']:+.3f}]",
                     f"{fr[m]['margin']:+.3f}" if fr else "",
                     " → ".join(f"{r:.2f}" for r in rnd["rho"][m]), esc(f["methods"][m]["verdict"])))
    page.raw(table(["method", "deletion area", "random", "insertion area", "random", "margin (groups)",
                    "margin (frames)", "ρ per randomisation stage", "verdict"], rows, numeric={1, 2, 3, 4}))
    files = f.get("files") or {}
    page.images([(folder / files[k], cap) for k, cap in
                  (("curves", "deletion and insertion curves, mean over samples"),
                   ("randomisation", "rank correlation with the trained model's maps, cascade "
                                     + " → ".join(rnd["stages"])))
                  if files.get(k)])


def pyramid_section(page: Page, v: dict | None, folder: Path) -> None:
    """Class feature pyramids: selected channels per level, decoded skeletons per class."""
    if not v:
        return
    page.h2(f"Class feature pyramids (θ = {v['theta']})", "pyramid")
    page.p("From the classifier weights × the class's pooled feature down unit by unit (class feature "
           "pyramids: Stergiou, Kapidis, Kalliatakis, Chrysoulas, Poppe & Veltkamp, arXiv:1909.08611): the "
           "channels (kernels) that carry the class at each level, and those channels alone decoded to "
           "skeletons. Few channels at a level means the class rests on little there.", "muted")
    rows = [(c, " → ".join(f"{lv['layer']}: {lv['n']} ({lv.get('n_layerwise', lv['n'])})" for lv in levels),
             f"{v['backstep_ms'].get(c, 0):.2f}") for c, levels in v["levels"].items()]
    page.raw(table(["class", "selected channels per level (layer-wise, decoded)", "back-step ms"], rows,
                   numeric={2}))
    if v.get("chart"):
        page.images([(folder / v["chart"], "selected channels per level")])
    page.images([(folder / f["file"], f"{f['class']} — {f['sample']}") for f in v.get("files", []) if f.get("file")])


def dissect_section(page: Page, v: dict | None, folder: Path) -> None:
    """Unit dissection: interpretable units and concepts per layer."""
    if not v:
        return
    opts = v["options"]
    page.h2("Unit dissection (joint-group motion concepts)", "dissect")
    kinds = "“g moving”, “g moving slightly”" + (", “g oscillating lo–hi Hz”" if opts.get("rhythms") else "")
    page.p("Which units of each layer behave like a detector of a joint-group motion (network "
           "dissection for actions). This counts units over ALL classes of the split (or the weak ones with "
           "--dissect-on weak): many units tuned to, say, the hands here does not contradict a "
           "diagnosis that the hands go unused for the weak classes — the ranking asks whether the "
           "features separate those classes, not whether hand motion is detected at all.", "muted")
    page.p(f"Concepts per frame: {kinds}. A unit is interpretable when its top-{1 - opts['unit_quantile']:.0%} "
           f"time steps overlap a concept with IoU ≥ {esc(opts['iou_threshold'])} "
           f"({esc(v['samples'])} samples{', stream ' + esc(v['stream']) if v['stream'] else ''}"
           + (f" of {esc(', '.join(map(str, v['samples_from'])))}" if isinstance(v.get('samples_from'), list) else "")
           + ").", "muted")
    rows = [(b, f"{l['interpretable']}/{l['units']}",
             ", ".join(f"{c} ({l['units_per_concept'][c]})" for c in l["concepts_found"]) or "—")
            for b, l in v["layers"].items()]
    page.raw(table(["layer", "interpretable units", "concepts (units)"], rows, numeric={1}))
    if v.get("chart"):
        page.images([(folder / v["chart"], "interpretable units per concept and layer")])


def paths_section(page: Page, v: dict | None, folder: Path | None = None) -> None:
    """Concept paths of misclassified samples."""
    if not v:
        return
    page.h2("Concept paths of mistakes", "paths")
    if not v["mistakes"]:
        page.p("None of the shown samples is misclassified.", "muted")
        return
    page.p(f"The {esc(v['layer'])} units that pushed the wrong class over the true one most (pooled feature × "
           f"weight difference), their concepts, and the units one layer down feeding them. A concept "
           f"written <code>~c</code> is only the unit's closest concept: its overlap with c stays below the "
           f"dissection's IoU threshold, so the unit is not counted as interpretable; without "
           f"<code>~</code> the unit passed the threshold for c.",
           "muted")
    for m in v["mistakes"]:
        page.p(f"<b>{esc(m['sample'])}</b>: {esc(m['true'])} predicted as <b>{esc(m['predicted'])}</b> "
               f"(logit gap {m['logit_gap']:+.3f})")
        page.raw("<pre>" + esc("\n".join(m["lines"])) + "</pre>")


def write_report(d: dict[str, Any], folder: Path, out_html: Path) -> Path:
    """Write the self-contained diagnosis page (embedding only pictures inside `folder`)."""
    page = Page(f"tdf diagnosis — {Path(d['run']).name}", f"run {d['run']}", roots=[folder],
                source=folder / "diagnosis.json")
    diagnosis_sections(page, d, folder)
    page.h2("diagnosis.json")
    page.raw(json_block({k: d[k] for k in ("recommended_groups", "groups", "weak_classes")}))
    write_text(out_html, page.render())
    return out_html
