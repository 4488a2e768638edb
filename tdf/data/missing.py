"""The official lists of NTU samples with missing skeletons (docs/ntu-format.md#missing-skeletons).

`NTU_RGBD_samples_with_missing_skeletons.txt` (302 NTU-60 names) and
`NTU_RGBD120_samples_with_missing_skeletons.txt` (535 NTU-120 names) ship in `tdf/resources`.
The official files start with a 3-line header (two sentences and a blank line); the copies in
CTR-GCN, 2s-AGCN, MS-G3D and pyskl have none. Both forms are read here: leading lines that are not
sample ids are the header, then every non-blank line must be a sample id (a trailing
`.skeleton` is accepted, stray `\\r` and spaces are stripped). If the header starts with a number
("302 of the captured samples …") it must equal the number of names.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from tdf.errors import BadInput

OFFICIAL_LISTS = {
    "ntu60": "NTU_RGBD_samples_with_missing_skeletons.txt",
    "ntu120": "NTU_RGBD120_samples_with_missing_skeletons.txt",
}
_NAME = re.compile(r"^S\d{3}C\d{3}P\d{3}R\d{3}A\d{3}$")


def parse_missing_list(text: str, source: str | os.PathLike = "<text>") -> frozenset[str]:
    """Sample ids of a missing-skeleton list, with or without the official header."""
    names: list[str] = []
    header: list[str] = []
    for ln, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.endswith(".skeleton"):
            s = s[: -len(".skeleton")]
        if _NAME.match(s):
            names.append(s)
        elif not s:
            continue
        elif not names:
            header.append(s)
        else:
            raise BadInput(f"line {ln}: {line.strip()[:40]!r} is not an NTU sample id "
                           f"(SsssCcccPpppRrrrAaaa)", source)
    if not names:
        raise BadInput("no NTU sample ids found (not a missing-skeleton list)", source)
    if header:
        m = re.match(r"^(\d+)\s", header[0])
        if m and int(m.group(1)) != len(set(names)):
            raise BadInput(f"the header announces {m.group(1)} samples but the list has "
                           f"{len(set(names))}", source)
    return frozenset(names)


def load_missing_list(path: str | os.PathLike) -> frozenset[str]:
    """Read a missing-skeleton list file (official or header-less)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput("missing-skeleton list not found", path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read the missing-skeleton list ({e})", path) from None
    return parse_missing_list(text, path)


def official_missing(benchmark: str) -> frozenset[str]:
    """The official list shipped with tdf for "ntu60" or "ntu120"."""
    if benchmark not in OFFICIAL_LISTS:
        raise BadInput(f"unknown benchmark {benchmark!r}; expected one of {sorted(OFFICIAL_LISTS)}")
    ref = resources.files("tdf.resources").joinpath(OFFICIAL_LISTS[benchmark])
    return parse_missing_list(ref.read_text(encoding="utf-8"), OFFICIAL_LISTS[benchmark])
