"""The report is meant to be shared (issue 15 item 3): strings from data, runs or user files are
escaped, and only pictures inside the reported folders are embedded — checked on the file and
in a real headless Chromium (no script of the data runs, every picture decodes)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from toy_data import TINY, make_toy_store

# no commas: --classes takes a comma-separated list
PWN_SCRIPT = "<script>document.body.dataset.pwned='script'</script>"
PWN_IMG = "<img src=x onerror=\"document.body.dataset.pwned='img'\">"
HOSTILE = [PWN_SCRIPT, PWN_IMG, "<b>bold</b> & co"]


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def dom_of(page: Path, profile: Path) -> str:
    exe = _browser()
    if exe is None:
        pytest.skip("no headless chromium on this machine")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_no_live_markup(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert tags.count("script") == 1, "only the page's own load check may be a script"
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html, "a class name's <b> became markup"
    handlers = [(t, a) for t, attrs in parser.tags for a, _ in attrs if a.lower().startswith("on")]
    assert not handlers, f"event handler attributes in the page: {handlers}"
    for t, attrs in parser.tags:
        if t == "img":
            assert all(v.startswith("data:image/") for a, v in attrs if a == "src"), "an image not embedded by tdf"
    assert "&lt;script&gt;document.body.dataset.pwned" in html  # shown, as text


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A run on a store whose class names are markup, and its diagnosis."""
    from click.testing import CliRunner
    from tdf.cli import cli
    root = tmp_path_factory.mktemp("hostile")
    data = make_toy_store(root / "toy.h5", classes=3, per_class=12, frames=16, class_names=HOSTILE)
    inv = lambda *a: CliRunner().invoke(cli, [str(x) for x in a], catch_exceptions=False)  # noqa: E731
    r = inv("--quiet", "train", data, "--out", root / "run", "--epochs", "2", "--seed", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    r = inv("--quiet", "diagnose", root / "run", "--out", root / "diag", "--render", "none",
            "--samples-per-class", "1", "--classes", ",".join(HOSTILE), "--dissect-on", "weak")
    assert r.exit_code == 0, r.stderr
    return root


def test_class_names_are_escaped_in_the_report(hostile, tmp_path):
    html = (hostile / "diag" / "report.html").read_text()
    assert_no_live_markup(html)
    dom = dom_of(hostile / "diag" / "report.html", tmp_path / "profile")
    assert "data-pwned" not in dom.split("</body>")[0].split("<body")[1].split(">")[0]
    assert "&lt;script&gt;document.body.dataset.pwned" in dom  # the class name is there, as text
    ok, total = map(int, re.search(r'data-images-ok="(\d+)/(\d+)"', dom).groups())
    assert total >= 2 and ok == total


def make_loop_folder(hostile: Path, loop: Path) -> Path:
    """A loop folder from the finished run and diagnosis, as `tdf loop` lays it out."""
    loop.mkdir()
    shutil.copytree(hostile / "run", loop / "baseline")
    shutil.copytree(hostile / "diag", loop / "diagnosis")
    return loop


def edit(path: Path, change) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


@pytest.mark.parametrize("where", ["/etc/passwd", "../../secret.png", "link.png"])
def test_loop_resume_refuses_files_outside_the_loop(hostile, tmp_path, invoke, where):
    """An edited diagnosis.json made `tdf loop --resume` embed any local file it named."""
    loop = make_loop_folder(hostile, tmp_path / "loop")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG secret")
    (loop / "diagnosis" / "link.png").symlink_to("/etc/passwd")

    def change(d):
        d["files"]["primitives"] = where
        d["recommended_groups"] = []
    edit(loop / "diagnosis" / "diagnosis.json", change)
    r = invoke("loop", hostile / "toy.h5", "--out", loop, "--resume", "--render", "none", *TINY)
    assert r.exit_code == 2, r.stderr
    assert f"refusing to embed {loop / 'diagnosis' / where}" in r.stderr or \
        f"refusing to embed {where}" in r.stderr
    assert "diagnosis.json" in r.stderr and "Traceback" not in r.stderr
    assert not (loop / "report.html").exists()


def test_loop_report_escapes_an_edited_comparison(hostile, tmp_path, invoke):
    """comparison.json (and diagnosis.json) strings reach the loop page only as text."""
    loop = make_loop_folder(hostile, tmp_path / "loop")
    metrics = json.loads((hostile / "run" / "metrics.json").read_text())
    side = {k: metrics[k] for k in ("top1", "top5", "mean_class_accuracy", "per_class_accuracy")}
    (loop / "fixed").mkdir()
    (loop / "fixed" / "run.json").write_text(json.dumps({"status": "complete", "config": {}, "kind": "ms_res_tcn"}))
    (loop / "fixed" / "comparison.json").write_text(json.dumps({
        "baseline": side, "fixed": side, "groups": [PWN_IMG, PWN_SCRIPT], "judged_classes": HOSTILE,
        "init": "scratch"}))

    def change(d):
        d["recommended_groups"] = ["hands"]
        d["model_kind"] = PWN_SCRIPT
        d["metrics"]["n"] = PWN_IMG
    edit(loop / "diagnosis" / "diagnosis.json", change)
    r = invoke("--quiet", "loop", hostile / "toy.h5", "--out", loop, "--resume", "--render", "none", *TINY)
    assert r.exit_code == 0, r.stderr
    html = (loop / "report.html").read_text()
    assert_no_live_markup(html)
    dom = dom_of(loop / "report.html", tmp_path / "profile")
    assert "data-pwned" not in dom.split("</body>")[0].split("<body")[1].split(">")[0]
    ok, total = map(int, re.search(r'data-images-ok="(\d+)/(\d+)"', dom).groups())
    assert total >= 2 and ok == total
