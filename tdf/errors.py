"""Error types that the CLI turns into exit codes and one-line messages.

`BadInput` (exit 2) is for anything the user handed us that is wrong: a missing or malformed
file, wrong shapes, a model that does not match the data, an output that exists without
`--force`. Its message must name the file (or option) and the problem. `RunFailed` (exit 1) is
for a run that started correctly but could not finish.
"""

from __future__ import annotations

import os


class TdfError(Exception):
    """Base class of errors that tdf reports without a traceback."""

    exit_code = 1


class BadInput(TdfError):
    """The input (a file, an option, a model) is wrong; exit code 2."""

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class RunFailed(TdfError):
    """A run that started with good input could not finish; exit code 1."""

    exit_code = 1
