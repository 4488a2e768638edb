"""Read small user files (TOML, JSON) with one clear BadInput per problem, naming the file."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from tdf.errors import BadInput


def read_toml(path: str | os.PathLike, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file; missing → '<what> not found', broken → 'not valid TOML (...)'."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise BadInput(f"{what} not found", path) from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"not valid TOML ({e})", path) from None


def read_json_in(path: str | os.PathLike, filename: str, missing: str) -> tuple[dict[str, Any], Path]:
    """A JSON document given as a file or as the folder holding `filename`; returns (doc, path)."""
    p = Path(path)
    if p.is_dir():
        p = p / filename
    if not p.is_file():
        raise BadInput(missing, p)
    try:
        return json.loads(p.read_text()), p
    except ValueError as e:
        raise BadInput(f"not valid JSON ({e})", p) from None
