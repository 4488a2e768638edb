"""The model contract: what a tdf model declares about its own structure, so diagnose, fix,
explain and relevance ask the model instead of guessing from layer names.

In the spirit of keras-hub's backbones (which declare their `pyramid_outputs`), every model tdf
builds is a `ContractModel` — a functional `keras.Model` registered with Keras whose config
carries a `ModelContract`, so it survives `.keras` save/load and `from_config` copies:

    family       registry name of the builder (tdf.model_families): "res_tcn", "ms_res_tcn", …
    input_dim    values per frame; layout: the data layout's name when the builder knew it
    normalize    the MeanSkeletonNormalization layer (its mean skeleton), or None
    pooled       the layer whose output is the classifier's input (global average pooling)
    classifier   the Dense softmax layer (its pre-activation is the explained logit)
    streams      per stream (None for a single-stream model, "main"/"ta" for the MS-Res-TCN):
                 the layer it reads, its optional input mask, its ordered units (first conv,
                 residual unit, block transition with its 1×1 shortcut, or plain conv), the
                 head layers between its last unit and the pooling, and its slice of the
                 pooled features
    pipes, merge the MS-Res-TCN's cross-stream pipes and the concatenation before pooling

Models saved before the contract existed (a plain `Functional` with tdf's layer names) get the
same contract inferred from their names (`tdf.models.names`, the legacy fallback only).
docs/models.md describes the contract and what each diagnose view needs from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import keras

from tdf.errors import BadInput

class ContractError(BadInput, ValueError):
    """A question the model's contract cannot answer (a stream it lacks, no contract at all).
    A ValueError for library users, exit 2 on the CLI."""


CONTRACT_VERSION = 1
# first_conv: X_1 = conv(input); residual: X_l = X_{l-1} + F(X_{l-1}); transition: a residual unit
# whose shortcut is a strided 1×1 conv (channels change); conv: a plain conv unit (no residual).
UNIT_KINDS = ("first_conv", "residual", "transition", "conv")


@dataclass(frozen=True)
class Unit:
    """One step of a stream's chain: X_index is the output of layer `output`.

    `conv` is the unit's convolution (the first conv, the residual branch's conv or the plain
    conv); `bn`, `relu`, `dropout` the residual branch's pre-activation layers; `add` the residual
    sum S(X) + F(X) (for the MS-Res-TCN `output` is the piped sum where a pipe feeds the stream);
    `shortcut` the 1×1 strided conv of a block transition.
    """

    index: int
    kind: str
    output: str
    conv: str
    bn: str | None = None
    relu: str | None = None
    dropout: str | None = None
    add: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class Stream:
    """One stream: it reads layer `input` (through the DimensionMask `mask` if any), runs
    `units` in order, then `head` (e.g. BN, ReLU), and fills pooled features [start, stop)."""

    name: str | None
    input: str
    units: tuple[Unit, ...]
    head: tuple[str, ...] = ()
    mask: str | None = None
    features: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Pipe:
    """An MS-Res-TCN pipe at unit `index`: ReLU(conv(source's X_l)) added to target's X_l."""

    index: int
    source: str
    target: str
    conv: str
    relu: str
    output: str


@dataclass(frozen=True)
class ModelContract:
    """What diagnose may ask a model (see the module docstring)."""

    family: str
    input_dim: int
    pooled: str
    classifier: str
    streams: tuple[Stream, ...]
    normalize: str | None = None
    layout: str | None = None
    pipes: tuple[Pipe, ...] = ()
    merge: str | None = None
    version: int = CONTRACT_VERSION
    legacy: bool = field(default=False, compare=False)

    # ------------------------------------------------------------------ streams and units

    @property
    def stream_names(self) -> tuple[str | None, ...]:
        return tuple(s.name for s in self.streams)

    @property
    def default_stream(self) -> str | None:
        """The stream diagnose reads when none is asked for (the first: None or "main")."""
        return self.streams[0].name

    def check_stream(self, stream: str | None) -> str | None:
        """`stream` when this model has it; BadInput naming the model's streams otherwise."""
        if stream in self.stream_names:
            return stream
        if self.stream_names == (None,):
            raise ContractError(f"a {self.family} model has one stream; do not pass a stream (got {stream!r})")
        names = ", ".join(repr(s) for s in self.stream_names)
        raise ContractError(f"a {self.family} model has streams {names}; choose one of them (got {stream!r})")

    def stream(self, stream: str | None = None) -> Stream:
        """The stream record of `stream` (checked)."""
        name = self.check_stream(stream)
        return next(s for s in self.streams if s.name == name)

    def units(self, stream: str | None = None) -> tuple[Unit, ...]:
        return self.stream(stream).units

    def unit(self, index: int, stream: str | None = None) -> Unit:
        for u in self.units(stream):
            if u.index == index:
                return u
        raise ContractError(f"model has no unit {index} in stream {stream!r}")

    def unit_indices(self, stream: str | None = None) -> list[int]:
        """Indices l ≥ 2 of the units after the first conv, ascending."""
        return [u.index for u in self.units(stream) if u.kind != "first_conv"]

    def outputs(self, stream: str | None = None) -> dict[str, str]:
        """{"conv1": layer, "unit{l}": layer}: the layer holding each X_l of `stream`."""
        return {("conv1" if u.kind == "first_conv" else f"unit{u.index}"): u.output
                for u in self.units(stream)}

    def feature_slice(self, stream: str | None = None) -> slice:
        """Columns of the pooled features (rows of the classifier kernel) `stream` fills."""
        start, stop = self.stream(stream).features
        return slice(start, stop)

    # ------------------------------------------------------------------ capabilities

    def has_residual_chain(self) -> bool:
        """Every stream is a first conv followed by residual units (transitions with a 1×1
        shortcut where channels change): what the Feature Map Decoder, the class feature
        pyramid and the concept paths read."""
        for s in self.streams:
            kinds = [u.kind for u in s.units]
            if len(kinds) < 2 or kinds[0] != "first_conv" or \
                    any(k not in ("residual", "transition") for k in kinds[1:]):
                return False
            if any(u.relu is None or u.add is None for u in s.units[1:]):
                return False
            if any(u.kind == "transition" and u.shortcut is None for u in s.units):
                return False
        return True

    def has_units(self) -> bool:
        """Every stream declares a first conv on the input and at least one unit after it."""
        return all(len(s.units) >= 2 and s.units[0].kind == "first_conv" for s in self.streams)

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("legacy")
        return _lists(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelContract":
        if not isinstance(d, dict) or d.get("version") != CONTRACT_VERSION:
            raise ContractError(f"model contract of version {d.get('version') if isinstance(d, dict) else d!r}; "
                           f"this tdf reads version {CONTRACT_VERSION}")
        try:
            streams = tuple(Stream(s["name"], s["input"], tuple(Unit(**u) for u in s["units"]),
                                   tuple(s.get("head") or ()), s.get("mask"), tuple(s["features"]))
                            for s in d["streams"])
            pipes = tuple(Pipe(**p) for p in d.get("pipes") or ())
            return cls(d["family"], int(d["input_dim"]), d["pooled"], d["classifier"], streams,
                       d.get("normalize"), d.get("layout"), pipes, d.get("merge"))
        except (KeyError, TypeError, ValueError) as e:
            raise ContractError(f"malformed model contract ({type(e).__name__}: {e})") from None

    def layer_names(self) -> set[str]:
        """Every layer the contract names."""
        names = {self.pooled, self.classifier} | {n for n in (self.normalize, self.merge) if n}
        for s in self.streams:
            names |= {s.input, *s.head} | ({s.mask} if s.mask else set())
            for u in s.units:
                names |= {v for k, v in asdict(u).items() if k not in ("index", "kind") and v}
        for p in self.pipes:
            names |= {p.conv, p.relu, p.output}
        return names


def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


@keras.saving.register_keras_serializable(package="tdf")
class ContractModel(keras.Model):
    """A functional model that carries its `ModelContract` in its config (saved in .keras)."""

    def __init__(self, *args, contract: dict | ModelContract | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(contract, ModelContract):
            contract = contract.to_dict()
        self._contract_dict = contract

    def get_config(self):
        config = super().get_config()
        config["contract"] = self._contract_dict
        return config


def make_model(inputs, outputs, contract: ModelContract, name: str) -> ContractModel:
    """The builders' last step: the functional model with its contract, checked."""
    model = ContractModel(inputs, outputs, name=name, contract=contract)
    _check_layers(model, contract)
    return model


def _check_layers(model: keras.Model, contract: ModelContract) -> None:
    missing = sorted(contract.layer_names() - {layer.name for layer in model.layers})
    if missing:
        raise ContractError(f"model {model.name!r}: its contract names layers it does not have: {missing}")


def contract_of(model: keras.Model) -> ModelContract:
    """The contract `model` declares; for a model saved before contracts existed, the one its
    tdf layer names imply (BadInput when they imply none)."""
    cached = getattr(model, "_tdf_contract", None)
    if cached is not None:
        return cached
    declared = getattr(model, "_contract_dict", None)
    if declared is not None:
        contract = ModelContract.from_dict(declared)
        _check_layers(model, contract)
    else:
        from tdf.models.names import infer_contract
        contract = infer_contract(model)
    try:
        model._tdf_contract = contract
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - Keras objects take attributes
        pass
    return contract


def model_kind(model: keras.Model) -> str:
    """The model's family ("res_tcn", "ms_res_tcn", …) from its contract."""
    return contract_of(model).family


def unit_indices(model: keras.Model, stream: str | None = None) -> list[int]:
    """The indices l ≥ 2 of the units after the first conv, ascending (of the default stream)."""
    contract = contract_of(model)
    return contract.unit_indices(contract.default_stream if stream is None else stream)


def unit_names(model: keras.Model, stream: str | None = None) -> list[str]:
    """Names of the layers whose outputs are X_2 … X_N of `model` (of `stream` for an MS model)."""
    return [u.output for u in contract_of(model).units(stream) if u.kind != "first_conv"]
