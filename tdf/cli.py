"""The `tdf` command: a Click group with global output flags and uniform error handling.

Subcommands live one per module in `tdf/commands/` and are imported lazily, so `tdf --help`
does not pay for TensorFlow. The commands that need the backend (train, evaluate, diagnose,
explain, fix, loop) import it quietly (`tdf.backend.load_backend`) only after their arguments
and input files are checked, so a mistake never waits for TensorFlow. Errors: `BadInput` → one line on stderr, exit 2; a failed run →
exit 1; no traceback unless `--debug`.
"""

from __future__ import annotations

import importlib
import importlib.util
import traceback

import click

from tdf import __version__
from tdf.console import Output
from tdf.errors import TdfError


class LazyGroup(click.Group):
    """A group whose subcommands are `module:attribute` strings imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def _available(self, name: str) -> bool:
        module = self.lazy[name].split(":")[0]
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | {n for n in self.lazy if self._available(n)})

    def get_command(self, ctx, name):
        if name in self.lazy and self._available(name):
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


class RootGroup(LazyGroup):
    """The top-level group: turns tdf errors into one stderr line and an exit code.

    Done in `invoke` (not only in `main`) so `click.testing.CliRunner` sees the same exit codes
    and messages a shell does.
    """

    def parse_args(self, ctx: click.Context, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            _usage_error(e)

    def invoke(self, ctx: click.Context):
        out = ctx.find_object(Output)
        try:
            result = super().invoke(ctx)
            from tdf.signals import raise_if_pending
            raise_if_pending()
            return result
        except click.UsageError as e:
            _usage_error(e)
        except TdfError as e:
            if out is not None and out.debug:
                traceback.print_exc()
            click.echo(f"tdf: error: {e}", err=True)
            raise click.exceptions.Exit(e.exit_code) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (tdf.signals): cleanup has run
            from tdf.signals import clear_pending, describe
            clear_pending()
            message, code = describe(e)
            click.echo(f"tdf: {message}", err=True)
            raise click.exceptions.Exit(code) from None
        except Exception as e:  # unexpected: one line, traceback with --debug
            if out is not None and out.debug:
                traceback.print_exc()
            click.echo(f"tdf: failed: {e.__class__.__name__}: {e} (run with --debug for the traceback)",
                       err=True)
            raise click.exceptions.Exit(1) from None


def _usage_error(e: click.UsageError):
    """A command-line mistake (unknown option or choice, bad range, missing argument): one line
    naming the command and the problem, exit 2 — like every other bad input."""
    where = e.ctx.command_path if e.ctx is not None else "tdf"
    click.echo(f"tdf: error: {where}: {e.format_message()} (see '{where} --help')", err=True)
    raise click.exceptions.Exit(2) from None


# Subcommands: name → "module:attribute", one module per command in tdf/commands/.
# A command whose module is not in this installation is not offered (never a stub).
COMMANDS: dict[str, str] = {
    "data": "tdf.commands.data:data",
    "train": "tdf.commands.train:train",
    "evaluate": "tdf.commands.evaluate:evaluate",
    "fuse": "tdf.commands.fuse:fuse",
    "diagnose": "tdf.commands.diagnose:diagnose",
    "explain": "tdf.commands.explain:explain",
    "fix": "tdf.commands.fix:fix",
    "loop": "tdf.commands.loop:loop",
    "render": "tdf.commands.render:render",
}


@click.group("tdf", cls=RootGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tdf")
@click.option("--json", "json_", is_flag=True, help="Print results as one JSON document on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or logs on stderr.")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, json_: bool, quiet: bool, debug: bool) -> None:
    """tdf: train → diagnose → fix skeleton-based action recognition models.

    Train a Res-TCN on skeletons in any joint layout (NTU RGB+D, Kinect v1, COCO-17, your own
    TOML layout; pyskl pickles; synthetic data), look inside it with the
    Feature Map Decoder and a ranking of the joint groups it fails to use, then fix it with an
    MS-Res-TCN whose Targeted Attention stream sees only those joints.
    """
    ctx.obj = Output(json=json_, quiet=quiet, debug=debug)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from tdf.signals import handle_sigterm
    handle_sigterm()
    cli.main(args=argv, prog_name="tdf")


if __name__ == "__main__":
    main()
