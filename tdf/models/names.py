"""The legacy fallback: the contract of a model saved before models carried one, inferred from
tdf's layer names.

Models built by this tdf declare their structure (tdf.models.contract); only a `model.keras` or
checkpoint written earlier — a plain functional model — comes here. Its layer names are those
the builders have always used: a Res-TCN has `normalize`, `conv1`, `unit{l}` (with
`unit{l}_shortcut` at block transitions); an MS-Res-TCN has `main_conv1`, `ta_conv1`, `ta_mask`
and `{stream}_unit{l}` (tdf/models/res_tcn.py, tdf/models/ms_res_tcn.py). Nothing else asks
for names by pattern.
"""

from __future__ import annotations

import re

import keras

from tdf.models.contract import ContractError, ModelContract

_UNIT = re.compile(r"^(?:(main|ta)_)?unit(\d+)$")


def _units(names: set[str], stream: str | None) -> list[tuple[int, bool]]:
    """[(l, has_shortcut)] of the residual units `{stream}_unit{l}` (`unit{l}` for None)."""
    prefix = f"{stream}_" if stream else ""
    found = sorted({int(m.group(2)) for m in map(_UNIT.match, names) if m and m.group(1) == stream})
    return [(l, f"{prefix}unit{l}_shortcut" in names) for l in found]


def infer_contract(model: keras.Model) -> ModelContract:
    """The contract a legacy tdf model's layer names imply; ContractError for any other model."""
    names = {layer.name for layer in model.layers}
    input_dim = int(model.input_shape[-1])
    if {"normalize", "main_conv1", "ta_conv1", "ta_mask"} <= names:
        from tdf.models.ms_res_tcn import ms_res_tcn_contract
        units = _units(names, "main")
        width = int(model.get_layer("main_head_relu").output.shape[-1])
        contract = ms_res_tcn_contract(units, width, input_dim)
    elif {"normalize", "conv1", "unit2"} <= names:
        from tdf.models.res_tcn import res_tcn_contract
        width = int(model.get_layer("head_relu").output.shape[-1])
        contract = res_tcn_contract(_units(names, None), width, input_dim)
    else:
        raise ContractError(f"model {model.name!r} declares no tdf model contract and is neither a tdf "
                            f"Res-TCN nor an MS-Res-TCN (no 'normalize'/'conv1'/'unit2' or "
                            f"'main_conv1'/'ta_conv1' layers)")
    missing = sorted(contract.layer_names() - names)
    if missing:
        raise ContractError(f"model {model.name!r} looks like a tdf {contract.family} but lacks layers {missing}")
    return ModelContract(**{**contract.__dict__, "legacy": True})
