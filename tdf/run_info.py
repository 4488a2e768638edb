"""Check a run folder's `run.json` before anything uses it, so a hand-edited or damaged file
gives one line naming it and the field (exit 2) instead of a KeyError or a TypeError deep inside
training or a diagnosis."""

from __future__ import annotations

import os
from typing import Any

from tdf.data.limits import excerpt
from tdf.errors import BadInput
from tdf.model_families import MODEL_FAMILIES as KINDS  # run.json's "kind": a registered model family

# field → (accepted types, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "data": ((str,), True),
    "data_fingerprint": ((str,), True),
    "class_names": ((list,), True),
    "split": ((dict,), True),
    "config": ((dict,), True),
    "kind": ((str,), False),
    "status": ((str,), False),
    "frames": ((int,), False),
    "num_classes": ((int,), False),
    "joint_layout": ((str,), False),
    "layout": ((str,), False),
    "seed": ((int,), False),
    "epochs_run": ((int,), False),
    "best_epoch": ((int,), False),
}


def _type_name(types: tuple[type, ...]) -> str:
    return {str: "text", int: "an integer", list: "a list", dict: "an object"}[types[0]]


def check_run_info(doc: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Return `doc` if it is a usable run.json; else BadInput naming `path` and the field."""
    if not isinstance(doc, dict):
        raise BadInput(f"must be a JSON object, got a {type(doc).__name__}", path)
    for key, (types, required) in _FIELDS.items():
        if key not in doc or doc[key] is None:
            if required:
                raise BadInput(f"has no {key!r} field (not a complete tdf run.json)", path)
            continue
        v = doc[key]
        if not isinstance(v, types) or isinstance(v, bool):
            raise BadInput(f"field {key!r} must be {_type_name(types)}, got {excerpt(v)}", path)
    names = doc["class_names"]
    if not names or not all(isinstance(c, str) for c in names):
        raise BadInput("field 'class_names' must be a non-empty list of strings", path)
    if doc.get("kind") is not None and doc["kind"] not in KINDS:
        raise BadInput(f"field 'kind' must be one of {', '.join(KINDS)}, got {excerpt(doc['kind'])}", path)
    if doc.get("frames") is not None and doc["frames"] < 1:
        raise BadInput(f"field 'frames' must be ≥ 1, got {doc['frames']}", path)
    _check_split(doc["split"], path)
    run_layout(doc, path)
    from tdf.train_config import config_from_json
    config_from_json(doc["config"], path)
    return doc


def _check_split(sp: dict, path) -> None:
    from tdf.data.splits import SPLITS, canonical_split_name
    name = sp.get("name")
    try:
        canonical_split_name(name)
    except BadInput:
        raise BadInput(f"field 'split.name' must be one of {', '.join(SPLITS)}, a stored split or "
                       f"FIELD:VALUES, got {excerpt(name)}", path) from None
    for key, types in (("seed", (int,)), ("val_fraction", (int, float)), ("test_fraction", (int, float)),
                       ("sha256", (str,))):
        v = sp.get(key)
        if v is not None and (not isinstance(v, types) or isinstance(v, bool)):
            raise BadInput(f"field 'split.{key}' has the wrong type: {excerpt(v)}", path)


def run_layout(run_info: dict[str, Any], path=None):
    """The skeleton layout a run was trained on: run.json's `layout` (TOML text), else the shipped
    layout named by `joint_layout` (runs made before layouts travelled with the data: ntu25)."""
    from tdf.skeleton import DEFAULT_LAYOUT, LAYOUTS, layout_from_toml
    text = run_info.get("layout")
    if text is not None:
        if not isinstance(text, str):
            raise BadInput("field 'layout' must be a layout's TOML text", path)
        return layout_from_toml(text, f"{path} (field 'layout')" if path else "run.json (field 'layout')")
    name = run_info.get("joint_layout") or DEFAULT_LAYOUT
    if name not in LAYOUTS:
        raise BadInput(f"field 'joint_layout' names {name!r}, not a shipped layout, and there is no "
                       f"'layout' field describing it", path)
    return LAYOUTS[name]
