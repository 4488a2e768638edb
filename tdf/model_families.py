"""The one registry of model families: what `tdf train --model` offers and what the library builds.

A family is a builder module in `tdf/models/` (any module for a family registered at run time)
plus one `ModelFamily` line here. The registry names functions by module and attribute, so
reading it (the CLI's `--model` choices, run.json checks) never imports Keras.

A builder returns a `tdf.models.contract.ContractModel`: its contract is what diagnose, fix,
explain and relevance ask (docs/models.md). `train_builder`, when set, builds the family from a
training config — `(cfg, num_classes, frames, mean_skeleton) → model` — so `tdf train --model NAME`
can train it; a family without one is built by another command (the MS-Res-TCN by `tdf fix`,
which needs the targeted joint groups).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from tdf.errors import BadInput

DEFAULT_FAMILY = "res_tcn"


@dataclass(frozen=True)
class ModelFamily:
    """One model family: `module`.`builder` builds it; `module`.`train_builder` (if any) builds it
    from a training config."""

    name: str
    module: str
    builder: str
    train_builder: str | None
    summary: str

    def _function(self, attribute: str) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), attribute)

    def build(self, *args, **kwargs):
        """The family's builder called with these arguments (imports the backend)."""
        return self._function(self.builder)(*args, **kwargs)

    def build_for_training(self, cfg, num_classes: int, frames: int | None, mean):
        """The model `tdf train --model NAME` trains: built from the training config `cfg`."""
        if self.train_builder is None:
            raise BadInput(f"model family {self.name!r} cannot be trained on its own with tdf train "
                           f"({self.summary})")
        return self._function(self.train_builder)(cfg, num_classes, frames, mean)


MODEL_FAMILIES: dict[str, ModelFamily] = {
    "res_tcn": ModelFamily("res_tcn", "tdf.models.res_tcn", "build_res_tcn", "build_from_config",
                           "the paper's Res-TCN: conv1, residual units in blocks, pooled, softmax"),
    "ms_res_tcn": ModelFamily("ms_res_tcn", "tdf.models.ms_res_tcn", "build_ms_res_tcn", None,
                              "the fix's two-stream MS-Res-TCN; built by tdf fix from a Res-TCN run"),
}


def register_family(family: ModelFamily, replace: bool = False) -> ModelFamily:
    """Add a family (a plug-in or a test's); ValueError when the name is taken and not `replace`."""
    if family.name in MODEL_FAMILIES and not replace:
        raise ValueError(f"model family {family.name!r} is already registered")
    MODEL_FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Remove a family registered with `register_family` (the built-in ones stay)."""
    if name in ("res_tcn", "ms_res_tcn"):
        raise ValueError(f"the built-in family {name!r} cannot be removed")
    MODEL_FAMILIES.pop(name, None)


def model_family(name: str) -> ModelFamily:
    """The registered family `name`; BadInput naming the known ones otherwise."""
    if name not in MODEL_FAMILIES:
        raise BadInput(f"unknown model family {name!r}; choose from {', '.join(MODEL_FAMILIES)}")
    return MODEL_FAMILIES[name]


def trainable_families() -> tuple[str, ...]:
    """Families `tdf train --model` can build (those with a `train_builder`)."""
    return tuple(name for name, f in MODEL_FAMILIES.items() if f.train_builder is not None)
