"""Skeleton layouts as values that travel with the data (docs/layouts.md).

A `Layout` names the joints in data order, the bones as a tree of (child, parent) pairs (for
drawing and for "a joint's own motion relative to its parent"), the coordinates per joint (2 or
3), the maximum bodies per frame, and the joint groups (plus composites: unions of groups). A
frame vector has D = bodies × joints × coords values, body-major, then joint, then coordinate;
a group applies to every body. `Layout.group_mask` is the one place where a group becomes a set
of the D dims. Layouts are written and read as TOML (`to_toml`, `layout_from_toml`), stored in
every data store, and `LAYOUTS` holds the shipped ones (tdf.skeleton_shipped).

The design echoes pyskl's `Graph(layout=...)` (a layout name selects joints, edges and a centre),
but here a layout is data rather than code, so users can write their own.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np

from tdf.errors import BadInput

_KEYS = ("name", "coords", "bodies", "joints", "bones", "groups", "composites", "centre", "y_down")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, eq=False)
class Layout:
    """A skeleton layout; construction checks it (BadInput naming the problem)."""

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    coords: int
    bodies: int
    groups: Mapping[str, tuple[str, ...]]
    composites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    centre: str = ""
    y_down: bool = False

    def __post_init__(self):
        s = object.__setattr__
        s(self, "joints", tuple(self.joints))
        s(self, "bones", tuple((str(c), str(p)) for c, p in self.bones))
        s(self, "groups", MappingProxyType({k: tuple(v) for k, v in dict(self.groups).items()}))
        s(self, "composites", MappingProxyType({k: tuple(v) for k, v in dict(self.composites).items()}))
        _check(self)
        if not self.centre:
            s(self, "centre", self.joints[int(np.flatnonzero(self.parents < 0)[0])])

    # -- shape ------------------------------------------------------------------------------
    @property
    def n_joints(self) -> int:
        return len(self.joints)

    @property
    def D(self) -> int:
        """Values per frame: bodies × joints × coords."""
        return self.bodies * self.n_joints * self.coords

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(bodies, joints, coords): the shape of one frame in a store."""
        return (self.bodies, self.n_joints, self.coords)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {j: i for i, j in enumerate(self.joints)}

    @cached_property
    def parents(self) -> np.ndarray:
        """int [n_joints]: each joint's parent index, −1 for the root."""
        out = np.full(self.n_joints, -1, np.int64)
        for c, p in self.bones:
            out[self._index[c]] = self._index[p]
        out.flags.writeable = False
        return out

    @cached_property
    def bone_index(self) -> tuple[tuple[int, int], ...]:
        """The bones as 0-based (child, parent) index pairs, in the layout's order."""
        return tuple((self._index[c], self._index[p]) for c, p in self.bones)

    def joint_index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise BadInput(f"layout {self.name}: unknown joint {name!r}; joints are: "
                           f"{', '.join(self.joints)}") from None

    # -- groups -----------------------------------------------------------------------------
    @property
    def group_names(self) -> tuple[str, ...]:
        """Base groups, then composites."""
        return tuple(self.groups) + tuple(self.composites)

    def parts_of(self, name: str) -> tuple[str, ...]:
        """The base groups a (possibly composite) group name stands for."""
        if name in self.groups:
            return (name,)
        if name in self.composites:
            return self.composites[name]
        raise BadInput(f"unknown joint group {name!r} for layout {self.name}; known groups: "
                       f"{', '.join(self.group_names)}")

    def group_joints(self, name: str) -> list[int]:
        """0-based joint indices of a group (composites expanded), sorted."""
        joints: set[int] = set()
        for part in self.parts_of(name):
            joints.update(self._index[j] for j in self.groups[part])
        return sorted(joints)

    def joint_mask(self, joints: Iterable[int]) -> np.ndarray:
        """bool [D] selecting every coordinate of `joints` on every body."""
        mask = np.zeros(self.frame_shape, dtype=bool)
        mask[:, list(joints), :] = True
        return mask.reshape(self.D)

    def group_mask(self, names: str | Iterable[str]) -> np.ndarray:
        """bool [D]: the union of the named groups (the one source of masks)."""
        if isinstance(names, str):
            names = [names]
        joints: set[int] = set()
        for name in names:
            joints.update(self.group_joints(name))
        return self.joint_mask(joints)

    def with_groups(self, groups: Mapping[str, Iterable[str]],
                    composites: Mapping[str, Iterable[str]] | None = None) -> "Layout":
        """The same skeleton with other groups (custom groups) and the given composites (none
        by default: the layout's composites name its own groups, not the custom ones)."""
        groups = {k: tuple(v) for k, v in groups.items()}
        comps = {k: tuple(v) for k, v in (composites or {}).items()}
        return Layout(self.name, self.joints, self.bones, self.coords, self.bodies, groups, comps,
                      self.centre, self.y_down)

    def same_skeleton(self, other: "Layout") -> bool:
        """Same joints, coordinates and bodies: data of one fit a model of the other."""
        return (self.joints, self.coords, self.bodies) == (other.joints, other.coords, other.bodies)

    # -- text -------------------------------------------------------------------------------
    def to_toml(self) -> str:
        """The layout as TOML in the schema `layout_from_toml` reads (round trip exact)."""
        q = json.dumps  # a JSON string is a valid TOML basic string

        def key(k: str) -> str:
            return k if _BARE_KEY.match(k) else q(k)

        def strings(xs) -> str:
            return "[" + ", ".join(q(x) for x in xs) + "]"

        lines = [f"name = {q(self.name)}", f"coords = {self.coords}", f"bodies = {self.bodies}",
                 f"centre = {q(self.centre)}", f"y_down = {'true' if self.y_down else 'false'}",
                 f"joints = {strings(self.joints)}",
                 "bones = [" + ", ".join(strings(b) for b in self.bones) + "]", "", "[groups]"]
        lines += [f"{key(k)} = {strings(v)}" for k, v in self.groups.items()]
        if self.composites:
            lines += ["", "[composites]"] + [f"{key(k)} = {strings(v)}" for k, v in self.composites.items()]
        return "\n".join(lines) + "\n"

    def __eq__(self, other) -> bool:
        return isinstance(other, Layout) and self.to_toml() == other.to_toml()

    def __hash__(self) -> int:
        return hash(self.to_toml())


def _dupes(xs: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for x in xs:
        if x in seen and x not in out:
            out.append(x)
        seen.add(x)
    return out


def _check(lay: Layout) -> None:
    """Every rule of a layout; the first broken one is a BadInput (no path: callers add it)."""
    def bad(msg: str):
        raise BadInput(f"layout {lay.name!r}: {msg}")

    if not isinstance(lay.name, str) or not lay.name.strip():
        raise BadInput("layout: name must be a non-empty string")
    if lay.coords not in (2, 3) or isinstance(lay.coords, bool):
        bad(f"coords must be 2 or 3, got {lay.coords!r}")
    if isinstance(lay.bodies, bool) or not isinstance(lay.bodies, int) or lay.bodies < 1:
        bad(f"bodies must be an integer ≥ 1, got {lay.bodies!r}")
    if not lay.joints:
        bad("joints is empty")
    if not all(isinstance(j, str) and j for j in lay.joints):
        bad("joint names must be non-empty strings")
    if d := _dupes(lay.joints):
        bad(f"duplicate joint name(s) {', '.join(d)}")
    names = set(lay.joints)
    for c, p in lay.bones:
        unknown = [j for j in (c, p) if j not in names]
        if unknown:
            bad(f"bone [{c!r}, {p!r}] names unknown joint {unknown[0]!r}")
        if c == p:
            bad(f"bone [{c!r}, {p!r}] joins a joint to itself")
    _check_tree(lay, bad)
    if not lay.groups:
        bad("no groups defined (a [groups] table of name = [joints])")
    for g, js in lay.groups.items():
        if not js:
            bad(f"group {g!r} covers no joint")
        if unknown := [j for j in js if j not in names]:
            bad(f"group {g!r} names unknown joint(s) {', '.join(map(repr, unknown))}")
        if d := _dupes(js):
            bad(f"group {g!r} lists joint(s) {', '.join(d)} twice")
    for c, parts in lay.composites.items():
        if c in lay.groups:
            bad(f"composite {c!r} has the name of a group")
        if not parts:
            bad(f"composite {c!r} covers no group")
        if unknown := [p for p in parts if p not in lay.groups]:
            bad(f"composite {c!r} names unknown group(s) {', '.join(map(repr, unknown))}; groups are: "
                f"{', '.join(lay.groups)}")
    if lay.centre and lay.centre not in names:
        bad(f"centre {lay.centre!r} is not a joint")
    if not isinstance(lay.y_down, bool):
        bad(f"y_down must be true or false, got {lay.y_down!r}")


def _check_tree(lay: Layout, bad) -> None:
    """Bones must join all joints into one tree: one parent each, one root, no cycle."""
    n = len(lay.joints)
    if d := _dupes(c for c, _ in lay.bones):
        bad(f"bones are not a tree: joint(s) {', '.join(map(repr, d))} have more than one parent")
    if len(lay.bones) != n - 1:
        roots = [j for j in lay.joints if j not in {c for c, _ in lay.bones}]
        bad(f"bones are not a tree: {len(lay.bones)} bones for {n} joints (a tree has {n - 1}); "
            f"joints without a parent: {', '.join(map(repr, roots))}")
    parent = dict(lay.bones)
    for j in lay.joints:
        seen, k = {j}, j
        while k in parent:
            k = parent[k]
            if k in seen:
                bad(f"bones are not a tree: a cycle through {k!r}")
            seen.add(k)


def _str_list(v, what: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise BadInput(f"{what} must be a list of strings")
    return tuple(v)


def layout_from_toml(text: str, source: str) -> Layout:
    """Parse and check a layout written in the TOML schema of docs/layouts.md.

    Any problem (not TOML, a missing or unknown key, a wrong type, or a broken rule of `Layout`)
    is a BadInput naming `source` (a file name, or e.g. "the store's layout attribute").
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"not a valid layout: not valid TOML ({e})", source) from None
    except RecursionError:
        raise BadInput("not a valid layout: not valid TOML (nested too deeply)", source) from None
    try:
        if unknown := [k for k in doc if k not in _KEYS]:
            raise BadInput(f"unknown key(s) {', '.join(unknown)}; a layout has {', '.join(_KEYS)}")
        if missing := [k for k in ("name", "coords", "bodies", "joints", "bones", "groups") if k not in doc]:
            raise BadInput(f"missing key(s) {', '.join(missing)}")
        if not isinstance(doc["name"], str):
            raise BadInput("name must be a string")
        for k in ("coords", "bodies"):
            if isinstance(doc[k], bool) or not isinstance(doc[k], int):
                raise BadInput(f"{k} must be an integer, got {doc[k]!r}")
        bones = doc["bones"]
        if not isinstance(bones, list) or not all(isinstance(b, list) and len(b) == 2
                                                  and all(isinstance(x, str) for x in b) for b in bones):
            raise BadInput("bones must be a list of [child, parent] pairs of joint names")
        tables = {}
        for k in ("groups", "composites"):
            t = doc.get(k, {})
            if not isinstance(t, dict):
                raise BadInput(f"{k} must be a table of name = [names]")
            tables[k] = {g: _str_list(v, f"{k[:-1]} {g!r}") for g, v in t.items()}
        centre = doc.get("centre", "")
        if not isinstance(centre, str):
            raise BadInput("centre must be a joint name")
        return Layout(name=doc["name"], joints=_str_list(doc["joints"], "joints"),
                      bones=tuple((c, p) for c, p in bones), coords=doc["coords"], bodies=doc["bodies"],
                      groups=tables["groups"], composites=tables["composites"], centre=centre,
                      y_down=doc.get("y_down", False))
    except BadInput as e:
        raise BadInput(f"not a valid layout: {e}", source) from None


def _build_shipped() -> dict[str, Layout]:
    from tdf.skeleton_shipped import SHIPPED
    return {d["name"]: Layout(**d) for d in SHIPPED}


LAYOUTS: dict[str, Layout] = _build_shipped()
DEFAULT_LAYOUT = "ntu25"


def layout_or_default(layout: Layout | None = None, groups: Mapping[str, Iterable[str]] | None = None) -> Layout:
    """`layout` (ntu25 when None), with `groups` in place of its own groups when given (a
    mapping that is already the layout's groups keeps the layout and its composites)."""
    lay = LAYOUTS[DEFAULT_LAYOUT] if layout is None else layout
    if groups is None or ({k: tuple(v) for k, v in groups.items()} == dict(lay.groups)):
        return lay
    return lay.with_groups(groups)


def get_layout(spec: str | os.PathLike | Layout) -> Layout:
    """A layout from a registry name (`LAYOUTS`) or a path to a .toml file (exit-2 errors)."""
    if isinstance(spec, Layout):
        return spec
    s = os.fspath(spec)
    if s in LAYOUTS:
        return LAYOUTS[s]
    p = Path(s)
    if p.suffix.lower() != ".toml" and not p.exists():
        raise BadInput(f"unknown layout {s!r}; shipped layouts: {', '.join(LAYOUTS)} "
                       f"(or give a path to a layout .toml file)")
    from tdf.readers import _read_small
    raw = _read_small(p, "layout file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("not a text layout file (not UTF-8)", p) from None
    return layout_from_toml(text, s)
