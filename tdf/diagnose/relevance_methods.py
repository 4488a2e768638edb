"""The one registry of relevance methods: what `--method` of `tdf diagnose` and `tdf loop`
offers, what the faithfulness check compares and what the relevance view computes.

Each method is one module in `tdf/diagnose/relevance/` plus one `RelevanceMethod` line here. The registry
names functions by module and attribute, so reading it (the CLI's choices) never imports Keras.
A method's function is `(model, x, target=None, ...) → Attribution` (values shaped like the
input), or for a per-group method (occlusion) `(model, x, target=..., layout=...) → Occlusion`.
`needs` lists what the method asks of the model's contract (tdf.models.contract): "pooled"
(pooled features, classifier, gradients) or "residual_chain" (LRP's explicit graph).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from tdf.errors import BadInput


@dataclass(frozen=True)
class RelevanceMethod:
    name: str
    label: str
    module: str
    function: str
    needs: tuple[str, ...] = ("pooled",)
    per_group: bool = False      # one value per joint group (no per-joint pictures)
    raw_input: bool = False      # needs the model input to be the raw joint dims

    def load(self) -> Callable[..., Any]:
        """The method's function (imports its module, and with it the backend)."""
        return getattr(importlib.import_module(self.module), self.function)

    def missing(self, contract) -> str | None:
        """Why the model with `contract` cannot be explained by this method, or None."""
        return missing_capability(self.needs, contract)


RELEVANCE_METHODS: dict[str, RelevanceMethod] = {
    "gradxinput": RelevanceMethod("gradxinput", "gradient × input",
                                  "tdf.diagnose.relevance.gradient_x_input", "gradient_x_input"),
    "lrp": RelevanceMethod("lrp", "LRP", "tdf.diagnose.relevance.lrp", "lrp", needs=("residual_chain",)),
    "occlusion": RelevanceMethod("occlusion", "occlusion", "tdf.diagnose.relevance.occlusion",
                                 "group_occlusion", per_group=True, raw_input=True),
}
AUTO = "auto"   # --method auto: the most faithful method on this model (tdf.diagnose.faithfulness)
DEFAULT_METHOD = "gradxinput"   # auto without the faithfulness view


def method_choices() -> tuple[str, ...]:
    """The `--method` choices: "auto" and every registered method."""
    return (AUTO,) + tuple(RELEVANCE_METHODS)


def relevance_method(name: str) -> RelevanceMethod:
    """The registered method `name`; BadInput naming the known ones otherwise."""
    if name not in RELEVANCE_METHODS:
        raise BadInput(f"unknown relevance --method {name!r}; choose from {', '.join(RELEVANCE_METHODS)}")
    return RELEVANCE_METHODS[name]


# What each capability means, as a check on a contract (tdf.models.contract.ModelContract).
CAPABILITIES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "pooled": ("pooled features and a classifier", lambda c: bool(c.pooled and c.classifier)),
    "units": ("a first conv on the input followed by units", lambda c: c.has_units()),
    "residual_chain": ("a Res-TCN-like unit chain (first conv, residual units, 1×1 shortcuts at "
                       "block transitions)", lambda c: c.has_residual_chain()),
}


def missing_capability(needs, contract) -> str | None:
    """One line saying what `contract` lacks of `needs`, or None when it has everything."""
    for need in needs:
        what, check = CAPABILITIES[need]
        if not check(contract):
            return f"needs {what}; this {contract.family} model has none"
    return None
