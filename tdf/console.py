"""Terminal output: progress and logs on stderr (rich), results on stdout, `--json` for pipes.

Every command gets an `Output` from the click context (`get_output()`); it knows the global
`--json`, `--quiet` and `--debug` flags, so subcommands never decide that themselves.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


@dataclass
class Output:
    """Where and how a command reports."""

    json: bool = False
    quiet: bool = False
    debug: bool = False
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True))
    out: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))

    def log(self, message: str) -> None:
        """A status line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.err.print(message)

    def warn(self, message: str) -> None:
        """A warning on stderr (shown even with --quiet)."""
        self.err.print(f"[yellow]warning:[/] {message}")

    def result(self, data: Any, human: Callable[[Console], None] | None = None) -> None:
        """The command's result: one JSON document with --json, else `human(console)` on stdout."""
        if self.json:
            sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")
            sys.stdout.flush()
        elif human is not None:
            human(self.out)
        else:
            self.out.print(json.dumps(data, indent=2, default=_json_default))

    @contextlib.contextmanager
    def progress(self, transient: bool = False) -> Iterator[Progress]:
        """A rich progress display on stderr, disabled by --quiet or when stderr is not a TTY
        and --json asks for silence."""
        p = Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"),
                     BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                     TextColumn("{task.fields[info]}"),
                     console=self.err, transient=transient, disable=self.quiet)
        with p:
            yield p

    def progress_callback(self, stack: contextlib.ExitStack, description: str) -> Callable[[int, int], None]:
        """A `progress(done, total)` callback whose display starts on its first call (entered on
        `stack`), so a command that fails on its options prints no empty bar."""
        state: dict = {}

        def progress(done: int, total: int) -> None:
            if not state:
                state["bar"] = stack.enter_context(self.progress())
                state["task"] = state["bar"].add_task(description, total=total, info="")
            state["bar"].update(state["task"], completed=done, total=total)
        return progress


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def get_output() -> Output:
    """The Output of the current click invocation (a default one outside the CLI)."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, Output):
            return ctx.obj
        ctx = ctx.parent
    return Output()


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        out = ctx.find_object(Output)
        if out is not None:
            setattr(out, param.name, True)
    return value


def output_options(f):
    """Add per-command `--json/--quiet/--debug` (same meaning as the global flags)."""
    for name, help_ in (("debug", "Show tracebacks."), ("quiet", "No progress or logs on stderr."),
                        ("json", "Print the result as one JSON document on stdout.")):
        f = click.option(f"--{name}", name, is_flag=True, expose_value=False, is_eager=True,
                         callback=_set_flag, help=help_)(f)
    return f
