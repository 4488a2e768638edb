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


def resolve_groups(spec: str | os.PathLike | None, layout: Layout) -> Layout:
    """The layout whose groups a CLI value names: None/"standard" → the layout's own groups."""
    if spec is None or spec == "standard":
        return layout
    return load_groups_toml(spec, layout)
