"""Res-TCN, MS-Res-TCN, their shared blocks, the input layers stored inside them and the model
contract every tdf model carries (tdf.models.contract).

Importing this package registers the custom layers and `ContractModel` with Keras, so
`keras.saving.load_model("model.keras")` needs no `custom_objects`.
"""

from tdf.models.blocks import ConfigError, UnitSpec, unit_plan
from tdf.models.contract import (ContractError, ContractModel, ModelContract, contract_of, model_kind,
                                 unit_indices, unit_names)
from tdf.models.flops import Cost, ms_res_tcn_cost, res_tcn_cost
from tdf.models.normalize import DimensionMask, MeanSkeletonNormalization
from tdf.models.ms_res_tcn import build_ms_res_tcn, init_main_from_baseline, ta_mask_of
from tdf.models.res_tcn import build_res_tcn

__all__ = [
    "ConfigError", "ContractError", "ContractModel", "Cost", "DimensionMask", "MeanSkeletonNormalization",
    "ModelContract", "UnitSpec", "build_ms_res_tcn", "build_res_tcn", "contract_of", "init_main_from_baseline",
    "model_kind", "ms_res_tcn_cost", "res_tcn_cost", "ta_mask_of", "unit_indices", "unit_names", "unit_plan",
]
