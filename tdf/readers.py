"""Read small user files (TOML, JSON) with one clear BadInput per problem, naming the file."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from tdf.errors import BadInput

# Settings files are a few hundred bytes; anything far larger is not one (and is not read whole).
MAX_SETTINGS_BYTES = 1 << 20


def _read_bounded(path: Path, limit: int, what: str, too_big: str) -> bytes:
    """At most `limit` bytes of a file, with one BadInput naming it when it is missing,
    unreadable or larger (`too_big` ends the message: what the file therefore is not)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise BadInput(f"{what} not found", path) from None
    except OSError as e:
        raise BadInput(f"cannot read the {what} ({e.strerror or e})", path) from None
    if len(raw) > limit:
        raise BadInput(f"is larger than {limit >> 20} MB: {too_big}", path)
    return raw


def _read_small(path: str | os.PathLike, what: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"is a folder, expected a {what}", p)
    return _read_bounded(p, MAX_SETTINGS_BYTES, what, f"not a {what}")


def read_toml(path: str | os.PathLike, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file; missing → '<what> not found', broken → 'not valid TOML (...)'."""
    raw = _read_small(path, what)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"not a text {what} (not UTF-8)", path) from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"not valid TOML ({e})", path) from None
    except RecursionError:
        raise BadInput("not valid TOML (nested too deeply)", path) from None


def read_json_in(path: str | os.PathLike, filename: str, missing: str) -> tuple[dict[str, Any], Path]:
    """A JSON document given as a file or as the folder holding `filename`; returns (doc, path)."""
    p = Path(path)
    if p.is_dir():
        p = p / filename
    if not p.is_file():
        raise BadInput(missing, p)
    return read_json(p, filename), p


def read_json(path: str | os.PathLike, what: str = "JSON file", limit: int = 64 << 20) -> Any:
    """Parse a JSON file tdf wrote (at most `limit` bytes); broken → one BadInput naming it."""
    p = Path(path)
    raw = _read_bounded(p, limit, what, f"not a {what} written by tdf")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput("not valid JSON (not UTF-8 text)", p) from None
    except RecursionError:
        raise BadInput("not valid JSON (nested too deeply)", p) from None
    except ValueError as e:
        raise BadInput(f"not valid JSON ({e})", p) from None
