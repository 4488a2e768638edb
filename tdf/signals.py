"""SIGTERM handled like Ctrl-C (issue 15): the signal becomes an `Interrupted` exception in the
main thread, so every `finally` and context manager on the way out runs — temporary files and
staging folders are removed, worker pools are stopped, locks are released — and the CLI prints
one line and exits with 128 + the signal number (143 for SIGTERM, 130 for Ctrl-C).

A second SIGTERM while that cleanup runs is ignored, so the cleanup finishes.
"""

from __future__ import annotations

import signal


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal; `signum` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup must not be cut short
    raise Interrupted(signum)


def handle_sigterm() -> None:
    """Turn SIGTERM into `Interrupted` in this (main) thread; called by the `tdf` entry point."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def describe(e: KeyboardInterrupt) -> tuple[str, int]:
    """(one-line message, exit code) for an interrupt."""
    signum = getattr(e, "signum", signal.SIGINT)
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    return (f"interrupted by {name}; temporary files were removed and existing outputs left as they were",
            128 + int(signum))


def ignore_interrupts_in_worker() -> None:
    """Pool initializer: workers leave Ctrl-C to the parent, which stops them (no tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
