"""`tdf data …`: make, import and inspect HDF5 skeleton stores."""

from __future__ import annotations

import click

from tdf.cli import LazyGroup

# name → "module:attribute"; each subcommand is one module in tdf/commands/.
DATA_COMMANDS: dict[str, str] = {
}


@click.group(cls=LazyGroup, lazy=DATA_COMMANDS)
def data() -> None:
    """Create, import and inspect skeleton data stores (HDF5)."""
