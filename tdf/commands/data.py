"""`tdf data …`: make, import and inspect HDF5 skeleton stores."""

from __future__ import annotations

import click

from tdf.cli import LazyGroup

# name → "module:attribute"; each subcommand is one module in tdf/commands/.
DATA_COMMANDS: dict[str, str] = {
    "synth": "tdf.commands.data_synth:synth",
    "prepare": "tdf.commands.data_prepare:prepare",
    "import": "tdf.commands.data_import:import_",
    "export": "tdf.commands.data_export:export",
    "repack": "tdf.commands.data_repack:repack",
    "info": "tdf.commands.data_info:info",
}


@click.group(cls=LazyGroup, lazy=DATA_COMMANDS)
def data() -> None:
    """Create, import, export and inspect skeleton data stores (HDF5)."""
