"""The comparison's rows: one builder behind `comparison.md` (tdf fix) and the loop's HTML table."""

from tdf.comparison import comparison_rows, comparison_table, judged_mean
from tdf.loop import write_loop_report

BASE = {"top1": 0.5, "top5": 0.9, "mean_class_accuracy": 0.55,
        "per_class_accuracy": {"wave": 0.5, "clap": None, "kick": 0.8}}
FIXED = {"top1": 0.625, "top5": 1.0, "mean_class_accuracy": 0.7,
         "per_class_accuracy": {"wave": 0.75, "clap": 0.3, "kick": 0.6}}


def _cmp():
    return {"baseline": BASE, "fixed": FIXED, "groups": ["hands"], "judged_classes": ["wave"],
            "judged_mean": judged_mean(BASE, FIXED, ["wave", "clap"])}


def test_rows_skip_classes_either_run_did_not_measure_and_mark_the_judged():
    rows = comparison_rows(_cmp())
    assert [(r.label, r.kind, r.judged) for r in rows] == [
        ("wave", "class", True), ("kick", "class", False), ("top-1", "summary", False),
        ("top-5", "summary", False), ("mean class accuracy", "summary", False),
        ("weak classes of the baseline (mean)", "judged_mean", False)]
    assert rows[0].cells() == ("0.500", "0.750", "+0.250")
    assert rows[1].cells() == ("0.800", "0.600", "-0.200")
    # each run's mean over the judged classes it measured: baseline wave alone, fix wave and clap
    assert rows[-1].cells() == ("0.500", "0.525", "+0.025")


def test_markdown_and_html_show_the_same_rows(tmp_path, monkeypatch):
    md = comparison_table(_cmp())
    assert "| **wave** * | 0.500 | 0.750 | +0.250 |" in md
    assert "| kick | 0.800 | 0.600 | -0.200 |" in md
    assert "| *top-1* | 0.500 | 0.625 | +0.125 |" in md
    assert "clap" not in md
    diag_dir = tmp_path / "diagnosis"
    diag_dir.mkdir()
    diagnosis = {"data": "d.h5", "recommended_groups": ["hands"], "groups": [], "weak_classes": []}
    # only the comparison table is under test here, not the diagnosis sections below it
    monkeypatch.setattr("tdf.diagnose.report_diagnosis.diagnosis_sections", lambda page, d, folder: None)
    html = write_loop_report(diagnosis, diag_dir, _cmp(), tmp_path / "report.html").read_text()
    import re
    rows = [tuple(re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr))
            for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S)]
    assert [r for r in rows if r] == [("★ wave", "0.500", "0.750", "+0.250"), ("kick", "0.800", "0.600", "-0.200"),
                                      ("top-1", "0.500", "0.625", "+0.125"), ("top-5", "0.900", "1.000", "+0.100"),
                                      ("mean class accuracy", "0.550", "0.700", "+0.150")]


def test_both_say_the_judged_gain_needs_a_control(tmp_path, monkeypatch):
    """The judged classes are the baseline's own errors: the markdown and the loop's page both
    warn that part of any retrained model's gain on them is regression to the mean, and say
    which control to compare with; without judged classes there is nothing to warn about."""
    from tdf.comparison import REGRESSION_NOTE
    assert "regression to the mean" in REGRESSION_NOTE and "--groups all" in REGRESSION_NOTE
    assert REGRESSION_NOTE in comparison_table(_cmp())
    assert REGRESSION_NOTE not in comparison_table({**_cmp(), "judged_classes": []})
    diag_dir = tmp_path / "diagnosis"
    diag_dir.mkdir()
    monkeypatch.setattr("tdf.diagnose.report_diagnosis.diagnosis_sections", lambda page, d, folder: None)
    diagnosis = {"data": "d.h5", "recommended_groups": ["hands"], "groups": [], "weak_classes": []}
    html = write_loop_report(diagnosis, diag_dir, _cmp(), tmp_path / "report.html").read_text()
    assert "regression to the mean" in html and "--groups all" in html
