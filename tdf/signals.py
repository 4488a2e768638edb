"""SIGTERM handled like Ctrl-C (issue 15): the signal becomes an `Interrupted` exception in the
main thread, so every `finally` and context manager on the way out runs — temporary files and
staging folders are removed, worker pools are stopped, locks are released — and the CLI prints
one line and exits with 128 + the signal number (143 for SIGTERM, 130 for Ctrl-C).

A second SIGTERM while that cleanup runs is ignored, so the cleanup finishes.

Python swallows an exception raised while a finalizer or weakref callback runs (it prints
"Exception ignored in …" and goes on), so a signal that lands there would be lost and the
command would finish as if nothing happened. The signal is therefore also recorded, the
swallowed exception is recognised in `sys.unraisablehook`, and `raise_if_pending()` raises it
again at the points that matter: before an output is swapped into place or a file renamed over
its destination, and when the command returns.
"""

from __future__ import annotations

import signal
import sys

_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal; `signum` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_sigterm(signum, frame) -> None:
    global _pending
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup must not be cut short
    _pending = signum
    raise Interrupted(signum)


def _unraisable(hook):
    def on_unraisable(info) -> None:
        if isinstance(info.exc_value, Interrupted):
            return  # swallowed inside a finalizer: still pending, raised again at the next check
        hook(info)
    return on_unraisable


def handle_sigterm() -> None:
    """Turn SIGTERM into `Interrupted` in this (main) thread; called by the `tdf` entry point."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.unraisablehook = _unraisable(sys.unraisablehook)


def raise_if_pending() -> None:
    """Raise `Interrupted` again if a signal arrived but its exception was swallowed."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise Interrupted(signum)


def clear_pending() -> None:
    """The interrupt has been handled (the CLI caught it)."""
    global _pending
    _pending = None


def describe(e: KeyboardInterrupt) -> tuple[str, int]:
    """(one-line message, exit code) for an interrupt."""
    signum = getattr(e, "signum", signal.SIGINT)
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    return (f"interrupted by {name}; temporary files were removed and existing outputs left as they were",
            128 + int(signum))


def ignore_interrupts_in_worker() -> None:
    """Pool initializer: workers leave Ctrl-C to the parent, which stops them (no tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
