"""The repository explains itself: no reference leads outside it, and no link inside it is broken.

- Nothing under `tdf/` points to a document that is not shipped: the planning notes
  (`design.md`, `ntu-format.md`, `feasibility.md` outside `docs/`), the `papers/` folder or
  `../shared`. The code cites papers by title, authors and arXiv id instead.
- Tests, benchmarks and examples may *read* `../shared/data` (they skip without it), but they
  must not point to documents there either.
- Every `docs/<page>.md#section` that code mentions exists, with that section.
- Every relative link and image in README.md, CONTRIBUTING.md and docs/*.md leads to a file of
  the repository and, for a Markdown page, to a heading it has.

Anchors follow GitHub's rule: the heading text (link text for links), lower-cased, with
everything except letters, digits, spaces, '-' and '_' removed and each space turned into '-';
a repeated heading gets '-1', '-2', ….
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The planning notes a reference may name only as pages of docs/.
NOTES = ("design.md", "ntu-format.md", "feasibility.md")
NOTE_REF = re.compile(r"(?P<prefix>[\w./-]*?)(?P<name>" + "|".join(re.escape(n) for n in NOTES) + r")")
DOCS_REF = re.compile(r"(?<![\w/.-])docs/(?P<page>[\w.-]+\.md)(?:#(?P<anchor>[\w-]+))?")
MD_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s|$)", re.M)
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"'](?P<target>[^\"']+)[\"']", re.I)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?P<text>.*?)\s*#*\s*$", re.M)


def _text_files(folder: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts:
            continue
        if suffixes is not None and p.suffix not in suffixes:
            continue
        try:
            p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        out.append(p)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(md: Path) -> set[str]:
    """Every anchor a Markdown page offers (headings outside code blocks, explicit ids)."""
    text = FENCE.sub("", md.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out: set[str] = set()
    for m in HEADING.finditer(text):
        base = slug(m.group("text"))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    out.update(re.findall(r"<a\s+(?:name|id)=[\"']([^\"']+)[\"']", text))
    return out


def _where(path: Path, text: str, pos: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"


def forbidden_references(path: Path, allow_shared_data: bool) -> list[str]:
    """References in `path` to documents that are not in the repository."""
    text = path.read_text(encoding="utf-8")
    bad = []
    for m in NOTE_REF.finditer(text):
        if not m.group("prefix").endswith("docs/"):
            bad.append(f"{_where(path, text, m.start())}: {m.group(0)!r} is not in the repository")
    for m in re.finditer(r"(?<![\w-])papers/", text):
        bad.append(f"{_where(path, text, m.start())}: 'papers/' is not in the repository; cite the paper")
    for m in re.finditer(r"\.\./shared(?P<rest>/[\w-]*)?", text):
        if allow_shared_data and m.group("rest") in (None, "/data"):
            continue
        bad.append(f"{_where(path, text, m.start())}: {m.group(0)!r} points outside the repository")
    return bad


def broken_docs_references(path: Path) -> list[str]:
    """`docs/<page>.md#section` mentions in `path` whose page or section does not exist."""
    text = path.read_text(encoding="utf-8")
    bad = []
    for m in DOCS_REF.finditer(text):
        page = ROOT / "docs" / m.group("page")
        if not page.is_file():
            bad.append(f"{_where(path, text, m.start())}: {m.group(0)} does not exist")
        elif m.group("anchor") and m.group("anchor") not in anchors(page):
            bad.append(f"{_where(path, text, m.start())}: {m.group(0)} has no such section")
    return bad


def broken_links(md: Path) -> list[str]:
    """Relative links and images of a Markdown page that lead nowhere in the repository."""
    raw = md.read_text(encoding="utf-8")
    # Blank out code so positions (and line numbers) stay right.
    text = FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), raw)
    text = INLINE_CODE.sub(lambda m: " " * len(m.group(0)), text)
    bad = []
    targets = [(m.start(), m.group("target")) for rx in (MD_LINK, MD_REF_DEF, HTML_LINK)
               for m in rx.finditer(text)]
    for pos, target in sorted(targets):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http:, https:, mailto:, …
        file_part, _, anchor = target.partition("#")
        dest = md if not file_part else (md.parent / file_part.split("?")[0]).resolve()
        if not dest.exists():
            bad.append(f"{_where(md, raw, pos)}: link to {target!r}: no such file")
            continue
        try:
            dest.relative_to(ROOT)
        except ValueError:
            bad.append(f"{_where(md, raw, pos)}: link to {target!r} leaves the repository")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{_where(md, raw, pos)}: link to {target!r}: {dest.name} has no such section")
    return bad


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [p for p in pages if p.is_file()]


def test_the_package_points_only_inside_the_repository():
    bad = [b for p in _text_files(ROOT / "tdf") for b in forbidden_references(p, allow_shared_data=False)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("folder", ["tests", "bench", "examples"])
def test_tests_benchmarks_and_examples_cite_no_unshipped_documents(folder):
    files = _text_files(ROOT / folder, (".py", ".sh", ".md", ".toml"))
    bad = [b for p in files if p.name != "test_self_contained.py"
           for b in forbidden_references(p, allow_shared_data=True)]
    assert not bad, "\n".join(bad)


def test_docs_sections_named_in_code_exist():
    files = [p for folder in ("tdf", "tests", "bench", "examples")
             for p in _text_files(ROOT / folder, (".py", ".sh")) if p.name != "test_self_contained.py"]
    bad = [b for p in files for b in broken_docs_references(p)]
    assert not bad, "\n".join(bad)


def test_contributor_guide_and_docs_exist():
    for page in ("CONTRIBUTING.md", "docs/design.md", "docs/ntu-format.md"):
        assert (ROOT / page).is_file(), page


@pytest.mark.parametrize("page", [str(p.relative_to(ROOT)) for p in _pages()])
def test_relative_links_lead_to_files_of_the_repository(page):
    bad = broken_links(ROOT / page)
    assert not bad, "\n".join(bad)


# --- the checks themselves, on made-up text --------------------------------------------------

def test_slug_follows_githubs_rule():
    assert slug("Runs: new, replaced, resumed") == "runs-new-replaced-resumed"
    assert slug("Validated stores (`tdf/data/validate.py`)") == "validated-stores-tdfdatavalidatepy"
    assert slug("Weak-group ranking: why the probe gap") == "weak-group-ranking-why-the-probe-gap"
    assert slug("train → diagnose") == "train--diagnose"
    assert slug("The [store](data.md) format") == "the-store-format"


def test_the_checks_catch_what_they_should(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Same\n\n## Same\n\ntext\n", encoding="utf-8")
    code = tmp_path / "m.py"
    code.write_text('"""See design.md "Runs", papers/x.txt §3, ../shared/data/f and ../shared/design.md.\n'
                    'Reads ../shared/data.\n'
                    'Fine: docs/a.md#same-1 and docs/a.md. Broken: docs/a.md#nope, docs/b.md."""\n',
                    encoding="utf-8")
    bad = forbidden_references(code, allow_shared_data=False)
    assert len(bad) == 6  # design.md, papers/, ../shared/data twice, ../shared/design.md and its design.md
    assert len(forbidden_references(code, allow_shared_data=True)) == 4  # ../shared/data is allowed
    bad = broken_docs_references(code)
    assert [b.split(": ", 1)[1] for b in bad] == ["docs/a.md#nope has no such section",
                                                 "docs/b.md does not exist"]
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md#same) [ok2](#top) ![img](docs/a.md)\n# Top\n"
                    "[gone](docs/c.md) [bad anchor](docs/a.md#other) [web](https://example.org/x)\n"
                    "`[code](docs/none.md)`\n```\n[fenced](nowhere.md)\n```\n"
                    "[out](../outside.md)\n<img src=\"docs/missing.png\">\n", encoding="utf-8")
    (tmp_path.parent / "outside.md").write_text("# x\n", encoding="utf-8")
    bad = broken_links(page)
    assert len(bad) == 4, bad
    assert "docs/c.md" in bad[0] and "no such section" in bad[1]
    assert "leaves the repository" in bad[2] and "docs/missing.png" in bad[3]
