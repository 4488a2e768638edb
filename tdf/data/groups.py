"""Joint groups chosen on the command line (`--groups standard|FILE.toml`), resolved against the
data's layout: the standard groups are the layout's own; a TOML file gives custom groups by the
layout's joint names (a `[groups]` table of `name = ["Joint", ...]`, or names at top level, plus
an optional `[composites]` table of `name = ["group", ...]`)."""

from __future__ import annotations

import os

from tdf.errors import BadInput
from tdf.readers import read_toml
from tdf.skeleton import Layout


def load_groups_toml(path: str | os.PathLike, layout: Layout) -> Layout:
    """`layout` with the groups of a TOML file; every problem is a BadInput naming the file."""
    doc = read_toml(path, "groups file")
    composites = doc.get("composites", {}) if "groups" in doc else {}
    table = doc.get("groups", doc)
    if not isinstance(table, dict) or not table:
        raise BadInput("no groups defined (expected a [groups] table of name = [joints])", path)
    if not isinstance(composites, dict):
        raise BadInput("[composites] must be a table of name = [groups]", path)
    groups: dict[str, tuple[str, ...]] = {}
    for name, joints in table.items():
        if not isinstance(joints, list) or not joints or not all(isinstance(j, str) for j in joints):
            raise BadInput(f"group {name!r} must be a non-empty list of joint names", path)
        unknown = [j for j in joints if j not in layout.joints]
        if unknown:
            raise BadInput(
                f"group {name!r} has unknown joint name(s) {', '.join(unknown)}; "
                f"joint names of layout {layout.name} are: {', '.join(layout.joints)}", path)
        groups[name] = tuple(joints)
    for name, parts in composites.items():
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise BadInput(f"composite {name!r} must be a list of group names", path)
    try:
        return layout.with_groups(groups, composites)
    except BadInput as e:
        raise BadInput(str(e), path) from None


STANDARD = "standard"  # the --groups value that names the layout's own groups


def is_custom(spec: str | os.PathLike | None) -> bool:
    """Whether a groups value (`--groups`, `--groups-file`) names custom groups: the one rule for
    "are these custom groups?" (None, "" and "standard" are the layout's own)."""
    return spec not in (None, "", STANDARD)


def resolve_groups(spec: str | os.PathLike | None, layout: Layout) -> Layout:
    """The layout whose groups a CLI value names: the layout's own unless `is_custom(spec)`."""
    return load_groups_toml(spec, layout) if is_custom(spec) else layout


def custom_groups_record(layout: Layout, spec: str | os.PathLike | None) -> dict[str, list[str]] | None:
    """What a diagnosis or a fix records as its `custom_groups`: the groups by joint names when
    `spec` named custom groups, else None."""
    return {k: list(v) for k, v in layout.groups.items()} if is_custom(spec) else None
