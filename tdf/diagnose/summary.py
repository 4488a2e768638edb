"""The diagnosis in plain words: a few sentences generated from the numbers of `diagnosis.json`,
read first in the report (issue 14) — which classes fail and what they are confused with, where
the information that separates them lives (input probe), whether the model's features carry it
(model probe), where the model looks instead (relevance on those classes, named as a likely
shortcut when it falls where the information is not), and what to do.

Every sentence is built from fields of the document, so the summary can be checked against them
(tests/test_report_summary.py) and says nothing the numbers do not.
"""

from __future__ import annotations

from typing import Any

# A probe skill (accuracy above chance, rescaled to [0, 1]) counted as "carries the information".
CARRIES = 0.5
# At most this many groups are named in one sentence.
NAMED = 3


def _fmt_classes(weak: list[dict]) -> str:
    parts = []
    for w in weak:
        conf = [c for c in w.get("confused_with") or [] if c and c[0] != w["class"]]
        tail = f", mostly taken for {conf[0][0]} ({conf[0][1]:.0%})" if conf else ""
        parts.append(f"{w['class']} ({w['accuracy']:.0%}{tail})")
    return "; ".join(parts)


def _weak_relevance(d: dict[str, Any], weak: list[str]) -> dict[str, float] | None:
    """Mean relevance share per group over the weak classes the relevance view covered."""
    by_class = (d.get("relevance") or {}).get("group_share_by_class") or {}
    rows = [by_class[c] for c in weak if c in by_class]
    if not rows:
        return None
    groups = list(rows[0])
    return {g: sum(r.get(g, 0.0) for r in rows) / len(rows) for g in groups}


def _leaf_groups(d: dict[str, Any]) -> list[dict]:
    """The ranked groups, best input separability first."""
    return sorted(d.get("groups") or [], key=lambda g: -g["evidence"].get("input_separability", 0.0))


def _relied_on(d: dict[str, Any], groups: list[dict]) -> str:
    """For recommended groups with recorded components: the model's own skill on the ranking
    classes with everything moving and with the group frozen (tdf.diagnose.ranking), in words."""
    rec = set(d.get("recommended_groups") or [])
    parts = [f"{g['name']} frozen, it falls from {c['own_full']:.2f} to {c['own_without']:.2f} "
             f"(the group's motion alone: {c['input']:.2f})"
             for g in groups if g["name"] in rec and (c := g["evidence"].get("components"))]
    return ("with " + "; with ".join(parts) + " — a better reading of that motion is what a targeted "
            "stream can add.") if parts else ""


def summarise(d: dict[str, Any], run_hint: str = "RUN") -> list[str]:
    """Sentences (HTML-free plain text) summarising a diagnosis document."""
    m = d.get("metrics") or {}
    weak = d.get("weak_classes") or []
    rec = d.get("recommended_groups") or []
    out: list[str] = []
    status = d.get("ranking_status") or {}
    if weak and status.get("status") not in (None, "ranked"):
        out.append(f"{len(weak)} class{'es are' if len(weak) != 1 else ' is'} weak: {_fmt_classes(weak)}.")
        out.append(f"The joint groups were not ranked: {status.get('message')}.")
        return out
    if not weak:
        out.append(f"No class is clearly weak: top-1 {m.get('top1', 0):.3f}, mean class accuracy "
                   f"{m.get('mean_class_accuracy', 0):.3f} (n = {m.get('n')}). There is nothing for a "
                   "targeted fix to repair, so nothing is recommended.")
        return out
    out.append(f"{len(weak)} class{'es are' if len(weak) != 1 else ' is'} weak: {_fmt_classes(weak)}.")
    ranked = _leaf_groups(d)
    if ranked:
        informative = [g for g in ranked if g["evidence"].get("input_separability", 0.0) >= CARRIES][:NAMED]
        if informative:
            names = ", ".join(f"{g['name']} ({g['evidence']['input_separability']:.2f})" for g in informative)
            out.append("The information that tells these classes apart is in the motion of "
                       f"{names} — the skill of a linear probe on that group's motion alone "
                       "(0 = chance, 1 = perfect).")
            carried = [g for g in informative if g["evidence"].get("model_separability", 0.0) >= CARRIES]
            missing = [g for g in informative if g not in carried]
            if missing:
                out.append("The model's features do not carry it: with only "
                           + ", ".join(f"{g['name']} moving they separate the classes at "
                                       f"{g['evidence'].get('model_separability', 0.0):.2f}" for g in missing)
                           + " (model probe).")
            else:
                relied = _relied_on(d, carried)
                out.append("The model's features carry it (model probe ≥ "
                           f"{min(g['evidence'].get('model_separability', 0.0) for g in carried):.2f})"
                           + (", yet its own decisions on these classes do not: " + relied if relied else
                              ", so the errors are not explained by an unused group."))
        else:
            out.append("No single joint group's motion separates these classes well (best input probe "
                       f"{ranked[0]['name']} {ranked[0]['evidence'].get('input_separability', 0.0):.2f}): "
                       "the cue may lie in a combination of groups or not in the motion at all.")
    shares = _weak_relevance(d, [w["class"] for w in weak])
    if shares and ranked:
        informative_names = {g["name"] for g in ranked if g["evidence"].get("input_separability", 0.0) >= CARRIES}
        top = sorted(shares.items(), key=lambda kv: -kv[1])[:NAMED]
        elsewhere = [(g, s) for g, s in top if g not in informative_names]
        method = (d.get("relevance") or {}).get("method", "relevance")
        looked = ", ".join(f"{g} ({s:.0%})" for g, s in top)
        sentence = f"On these classes the model looks mostly at {looked} of the relevance ({method})"
        if informative_names and elsewhere and top[0][0] not in informative_names:
            sentence += (f"; {', '.join(g for g, _ in elsewhere)} carr{'ies' if len(elsewhere) == 1 else 'y'} "
                         "little of the separating information, so the model likely relies on a shortcut there.")
        else:
            sentence += "."
        out.append(sentence)
    if rec:
        out.append(f"Recommended fix: a Targeted Attention stream on {', '.join(rec)} — "
                   f"tdf fix {run_hint} --groups {','.join(rec)}")
    else:
        out.append("Nothing is recommended: no group's score (input separability − the model term) "
                   "clears the threshold with the lower end of its interval, so a targeted fix has no "
                   "evidence to aim at.")
    return out
