"""One self-contained HTML page (a diagnosis, a loop's report): every image embedded as a data URI, no
network, readable offline and attachable to an issue or a paper review.

The page is meant to be shared, so it trusts nothing it shows: every string that comes from
data, runs or user files (class names, group names, sample names, JSON fields) goes through
`esc`, and `Page.images` embeds only picture files that lie inside the folders the page reports
on (each path resolved, symlinks followed); a path outside them, e.g. one an edited
diagnosis.json names, is refused with BadInput (issue 15).

The page carries a small script that checks, once loaded, that every embedded image decoded
(`<body data-images-ok="N/M">`), which the browser test reads.
"""

from __future__ import annotations

import base64
import html
import io
import json
import mimetypes
from pathlib import Path
from typing import Any, Iterable, Sequence

from tdf.errors import BadInput

# Files a report may embed: the pictures and videos tdf writes.
EMBEDDABLE = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".mp4": "video/mp4"}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1d2430;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
.muted{color:#667}table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #dde;padding:.25rem .6rem;
text-align:left;font-size:.92rem}th{background:#f3f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px solid #dde;border-radius:6px;padding:.6rem;background:#fff}
.card img{max-width:100%;display:block}.card .cap{font-size:.85rem;color:#445;margin-top:.3rem}
.rec{background:#fff4d6;padding:.6rem 1rem;border-left:4px solid #e0a800}
code{background:#f3f5f9;padding:0 .25rem;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f8fb;padding:.5rem;font-size:.85rem}
table{max-width:100%;display:block;overflow-x:auto}
ul.summary{background:#eef6ff;border-left:4px solid #3a78c2;padding:.6rem 1rem .6rem 2rem}
ul.summary li{margin:.25rem 0}
"""

CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-ok', ok + '/' + imgs.length);
});
</script>
"""


def _animated_gif_as_webp(path: Path) -> bytes | None:
    """An animated GIF re-encoded as a lossless animated WebP (same pixels and timing, about a
    third of the bytes: the report of the quick start went from 25 MB to under 5 MB with this
    and fewer frames); None when it is not an animation or WebP would not be smaller."""
    from PIL import Image, ImageSequence, features
    if not features.check("webp"):
        return None
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) < 2:
            return None
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(im)]
        durations = [f.info.get("duration", 100) for f in ImageSequence.Iterator(im)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, lossless=True, method=4)
    data = buf.getvalue()
    return data if len(data) < path.stat().st_size else None


def data_uri(path: str | Path) -> str:
    """A file as a base64 data URI (PNG, GIF, …); animated GIFs are embedded as lossless WebP
    when that is smaller (the file on disk stays a GIF)."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        webp = _animated_gif_as_webp(path)
        if webp is not None:
            return f"data:image/webp;base64,{base64.b64encode(webp).decode()}"
    mime = EMBEDDABLE.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def checked_embed(path: str | Path, roots: Sequence[Path], source: str | Path | None = None) -> Path:
    """`path` resolved, when it is a picture inside one of `roots`; BadInput otherwise."""
    where = f" (named in {source})" if source else ""
    p = Path(path).resolve()
    inside = any(r == p or r in p.parents for r in (Path(r).resolve() for r in roots))
    if not inside:
        raise BadInput(f"refusing to embed {path}{where}: it is outside "
                       f"{', '.join(str(r) for r in roots) or 'the report folder'}", path)
    if p.suffix.lower() not in EMBEDDABLE:
        raise BadInput(f"refusing to embed {path}{where}: not a picture tdf writes "
                       f"({', '.join(EMBEDDABLE)})", path)
    return p


def esc(value: Any) -> str:
    return html.escape(str(value))


def img_card(path: str | Path, caption: str) -> str:
    return (f'<div class="card"><img src="{data_uri(path)}" alt="{esc(caption)}">'
            f'<div class="cap">{esc(caption)}</div></div>')


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>" for i, c in enumerate(r))
        + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Page:
    """Build an HTML page section by section.

    `roots`: the folders the page reports on; only pictures inside them are embedded. `source`:
    the file the page's paths come from, named in the error when one is refused. Text given to
    `p` and `raw` is HTML: escape every value interpolated into it with `esc`.
    """

    def __init__(self, title: str, subtitle: str = "", roots: Sequence[str | Path] = (),
                 source: str | Path | None = None):
        self.title = title
        self.roots = [Path(r) for r in roots]
        self.source = source
        self.parts: list[str] = [f"<h1>{esc(title)}</h1>"]
        if subtitle:
            self.parts.append(f'<p class="muted">{esc(subtitle)}</p>')

    def h2(self, text: str, anchor: str | None = None) -> None:
        ident = f' id="{esc(anchor)}"' if anchor else ""
        self.parts.append(f"<h2{ident}>{esc(text)}</h2>")

    def p(self, text: str, cls: str | None = None) -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{text}</p>")

    def raw(self, fragment: str) -> None:
        self.parts.append(fragment)

    def images(self, items: Iterable[tuple[str | Path, str]]) -> None:
        """Picture cards; each path must lie inside the page's roots (else BadInput)."""
        paths = [(checked_embed(p, self.roots, self.source), c) for p, c in items if p]
        cards = [img_card(p, c) for p, c in paths if p.is_file()]
        if cards:
            self.parts.append('<div class="grid">' + "".join(cards) + "</div>")

    def render(self) -> str:
        return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self.title)}</title><style>{CSS}</style></head><body>"
                + "\n".join(self.parts) + CHECK_SCRIPT + "</body></html>\n")


def json_block(obj: Any) -> str:
    return f"<details><summary>JSON</summary><pre>{esc(json.dumps(obj, indent=2))}</pre></details>"
