"""Training settings: the paper's defaults, named presets, TOML config files and CLI overrides.

Precedence (lowest → highest): built-in defaults (the paper's settings) → `--preset` → `--config`
TOML file → options given on the command line. The final settings are saved in `run.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from tdf.data.limits import MAX_FRAMES
from tdf.errors import BadInput
from tdf.readers import read_toml


@dataclass
class TrainConfig:
    """Every option of `tdf train`; defaults are the paper's (arXiv:1711.08502 §5; docs/design.md#models)."""

    split: str | None = None          # None → the store's default_split attribute, else xsub/random
    val_fraction: float = 0.1         # carved from the training side, stratified
    val_every: int = 1                # validate after every N-th epoch (Keras' validation_freq)
    epochs: int = 150                 # a cap when early_stop is on
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9             # SGD, Nesterov
    filters: tuple[int, ...] = (64, 128, 256)
    units_per_block: int = 3
    kernel_size: int = 8
    dropout: float = 0.5
    l1: float = 1e-4
    bn_momentum: float = 0.99         # Keras' default, as the released code
    max_frames: int | None = None     # None → the store's T
    seed: int = 0
    patience: int = 10                # validations without val-loss improvement before LR ÷ 10
    min_lr: float = 1e-4              # LR floor (the released code's)
    early_stop: int | None = None     # stop after this many validations without improvement; None = off
    jit: bool | None = None           # None = auto: on with an accelerator, off on CPU (bench/)
    precision: str | None = None      # fp32 | bf16; None = auto: bf16 with a bf16 GPU, else fp32
    distribute: str = "none"          # none | mirrored | multiworker
    preset: str | None = None
    # Input recipe (tdf.data.model_input); the defaults are the paper's raw input.
    normalize: str = "none"           # none | root (translate) | view (+ canonical yaw) | spine (+ spine upright)
    features: tuple[str, ...] = ("joint",)  # joint, bone, joint_motion, bone_motion (as channels)
    resample: int | None = None       # resample every sequence to this many frames; None = crop/pad
    aug_rotate: float = 0.0           # training augmentation: degrees about the vertical axis
    aug_scale: float = 0.0            # per-axis scale 1 ± aug_scale
    aug_crop: float = 1.0             # random temporal crop to U(aug_crop, 1) of the frames
    lr_schedule: str = "plateau"      # plateau (÷10 after `patience`, the paper's) | cosine

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["filters"] = list(self.filters)
        d["features"] = list(self.features)
        return d


# Documented presets. `synthetic`: a small model and budget for `tdf data synth` data, trained to
# convergence with early stopping on validation loss (bench/planted_property.py measures it).
# The network and optimiser settings the small-data presets share (synthetic, small): 3 units per
# block, kernel 8, dropout 0.2, L1 1e-4, BatchNorm momentum 0.9 (few steps per epoch), batch 32, lr 0.01.
_SMALL_NETWORK: dict[str, Any] = {"units_per_block": 3, "kernel_size": 8, "dropout": 0.2, "l1": 1e-4,
                                  "bn_momentum": 0.9, "batch_size": 32, "lr": 0.01}

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "synthetic": {
        "filters": (16, 32, 64),
        **_SMALL_NETWORK,
        "epochs": 60,
        "patience": 5,
        "early_stop": 10,
        "val_fraction": 0.15,
    },
    # Small real data sets (hundreds to a few thousand sequences; docs/real-baseline.md): view
    # normalisation, 64 resampled frames, joint + bone + motion channels, augmentation, cosine LR.
    "small": {
        "filters": (32, 64, 128),
        **_SMALL_NETWORK,
        "epochs": 150,
        "normalize": "view",
        "features": ("joint", "bone", "joint_motion", "bone_motion"),
        "resample": 64,
        "aug_rotate": 15.0,
        "aug_scale": 0.1,
        "aug_crop": 0.8,
        "lr_schedule": "cosine",
    },
}

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
# input normalisation modes (the one list: the recipe, the CLI choice and its help read it)
NORMALIZE = {
    "none": "raw, the paper's",
    "root": "translate to the centre joint",
    "view": "also rotate about the vertical axis to a canonical heading",
    "spine": "also rotate the spine upright first (camera tilt and roll removed; pyskl's PreNormalize3D)",
}
DISTRIBUTE = ("none", "mirrored", "multiworker")
PRECISIONS = ("fp32", "bf16")  # --precision (tdf.train.precision applies them)
LR_SCHEDULES = ("plateau", "cosine")


def parse_filters(value: str | list | tuple) -> tuple[int, ...]:
    """'64,128,256' or a list → a tuple of positive ints."""
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
    else:
        parts = list(value)
    try:
        out = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise BadInput(f"--filters must be comma-separated integers, got {value!r}") from None
    if not out or any(f <= 0 for f in out):
        raise BadInput(f"--filters must be positive integers, got {value!r}")
    return out


def parse_features(value: str | list | tuple) -> tuple[str, ...]:
    """'joint,bone' or a list → a tuple of feature names (checked in `validate`)."""
    if isinstance(value, str):
        return tuple(p for p in value.replace(" ", "").split(",") if p)
    return tuple(str(v) for v in value)


def _coerce(name: str, value: Any) -> Any:
    if name == "filters":
        return parse_filters(value)
    if name == "features":
        return parse_features(value)
    return value


# The type of each option as a settings file (TOML, run.json's `config`) may give it. Checked
# before use, so `filters = [4, "8", 16.5]` is refused instead of read as 4, 8, 16.
_INT = ("epochs", "batch_size", "units_per_block", "kernel_size", "max_frames", "seed", "patience",
        "early_stop", "resample", "val_every")
_FLOAT = ("val_fraction", "lr", "momentum", "dropout", "l1", "bn_momentum", "min_lr", "aug_rotate",
          "aug_scale", "aug_crop")
_TEXT = ("split", "distribute", "preset", "normalize", "lr_schedule", "precision")
_NULLABLE = ("split", "max_frames", "early_stop", "jit", "preset", "resample", "precision")


def _type_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be option `name`, or None."""
    if value is None:
        return None if name in _NULLABLE else "must not be null"
    if name in _INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be an integer"
    if name in _FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "must be a finite number"
    if name in _TEXT:
        return None if isinstance(value, str) else "must be text"
    if name == "jit":
        return None if isinstance(value, bool) else "must be true or false"
    if name == "filters":
        if isinstance(value, str):
            return None
        ok = isinstance(value, (list, tuple)) and value and all(
            isinstance(f, int) and not isinstance(f, bool) for f in value)
        return None if ok else "must be a list of integers, e.g. [64, 128, 256]"
    if name == "features":
        if isinstance(value, str):
            return None
        ok = isinstance(value, (list, tuple)) and value and all(isinstance(f, str) for f in value)
        return None if ok else 'must be a list of feature names, e.g. ["joint", "bone"]'
    return None


def check_types(values: dict[str, Any], path: str | os.PathLike, where: str = "") -> None:
    """BadInput naming the file and the first option whose value has the wrong type."""
    for name, value in values.items():
        problem = _type_problem(name, value)
        if problem:
            shown = json.dumps(value, default=str)
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            raise BadInput(f"{where}{name} {problem}, got {shown}", path)


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML config (`[train]` table or top level); unknown keys or wrong types are an error."""
    doc = read_toml(path, "config file")
    table = doc.get("train", doc)
    if not isinstance(table, dict):
        raise BadInput("train must be a table of options ([train])", path)
    table = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise BadInput(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}", path)
    check_types(table, path)
    try:
        values = {k: _coerce(k, v) for k, v in table.items()}
        validate(TrainConfig(**{k: v for k, v in values.items() if k != "preset"}))
    except BadInput as e:  # "--dropout must be …" → "dropout must be …", naming the file
        raise BadInput(re.sub(r"^--([a-z-]+)", lambda m: m.group(1).replace("-", "_"), str(e)), path) from None
    return values


def resolve_config(preset: str | None = None, config_file: str | None = None,
                   overrides: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> TrainConfig:
    """Combine base (e.g. a baseline run's settings) → preset → TOML file → CLI overrides."""
    values: dict[str, Any] = dict(base or {})
    if preset is not None:
        if preset not in PRESETS:
            raise BadInput(f"unknown --preset {preset!r}; choose from {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
        values["preset"] = preset
    if config_file is not None:
        file_values = load_toml(config_file)
        if "preset" in file_values and preset is None:
            cfg = resolve_config(file_values.pop("preset"), None, {**file_values, **(overrides or {})}, base)
            if (overrides or {}).get("split") is None and "split" in file_values:
                cfg.split_source = str(config_file)
            return cfg
        values.update(file_values)
    values.update({k: _coerce(k, v) for k, v in (overrides or {}).items() if v is not None})
    values = {k: v for k, v in values.items() if k in _FIELDS}
    cfg = TrainConfig(**values)
    validate(cfg)
    # where the split name came from, for an error once the data is known (not a config field)
    from_file = config_file is not None and (overrides or {}).get("split") is None and "split" in file_values
    cfg.split_source = str(config_file) if from_file else None
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Check ranges up front so a bad option fails before any work starts."""
    def bad(msg: str):
        raise BadInput(msg)
    if not 0 <= cfg.val_fraction < 1:
        bad(f"--val-fraction must be in [0, 1), got {cfg.val_fraction}")
    if cfg.epochs < 1:
        bad(f"--epochs must be ≥ 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        bad(f"--batch-size must be ≥ 1, got {cfg.batch_size}")
    if cfg.lr <= 0:
        bad(f"--lr must be > 0, got {cfg.lr}")
    if not 0 <= cfg.momentum < 1:
        bad(f"--momentum must be in [0, 1), got {cfg.momentum}")
    if not 0 <= cfg.dropout < 1:
        bad(f"--dropout must be in [0, 1), got {cfg.dropout}")
    if not 0 <= cfg.bn_momentum < 1:
        bad(f"--bn-momentum must be in [0, 1), got {cfg.bn_momentum}")
    if cfg.l1 < 0:
        bad(f"--l1 must be ≥ 0, got {cfg.l1}")
    if cfg.units_per_block < 1 or cfg.kernel_size < 1:
        bad("--units-per-block and --kernel-size must be ≥ 1")
    if cfg.max_frames is not None and not 1 <= cfg.max_frames <= MAX_FRAMES:
        bad(f"--max-frames must be in 1..{MAX_FRAMES}, got {cfg.max_frames}")
    from tdf.data.splits import canonical_split_name
    if cfg.split is not None:
        try:
            cfg.split = canonical_split_name(cfg.split)
        except BadInput as e:
            bad(str(e))
    if cfg.min_lr <= 0:
        bad(f"min_lr must be > 0, got {cfg.min_lr}")
    if cfg.patience < 1:
        bad(f"--patience must be ≥ 1, got {cfg.patience}")
    if cfg.val_every < 1:
        bad(f"--val-every must be ≥ 1, got {cfg.val_every}")
    if cfg.early_stop is not None and cfg.early_stop < 0:
        bad(f"--early-stop must be ≥ 0 (0 = off), got {cfg.early_stop}")
    if cfg.early_stop == 0:
        cfg.early_stop = None
    if cfg.precision is not None and cfg.precision not in PRECISIONS:
        bad(f"--precision must be one of {', '.join(PRECISIONS)}, got {cfg.precision!r}")
    if cfg.distribute not in DISTRIBUTE:
        bad(f"--distribute must be one of {', '.join(DISTRIBUTE)}, got {cfg.distribute!r}")
    cfg.filters = tuple(cfg.filters)
    from tdf.data.transforms import FEATURES
    cfg.features = tuple(cfg.features)
    if cfg.normalize not in NORMALIZE:
        bad(f"--normalize must be one of {', '.join(NORMALIZE)}, got {cfg.normalize!r}")
    unknown = [f for f in cfg.features if f not in FEATURES]
    if not cfg.features or unknown or len(set(cfg.features)) != len(cfg.features):
        bad(f"--features must be distinct names from {', '.join(FEATURES)}, got {','.join(cfg.features)!r}")
    if cfg.resample == 0:
        cfg.resample = None  # 0 = off (crop/pad), so a preset's resampling can be switched off
    if cfg.resample is not None and not 2 <= cfg.resample <= MAX_FRAMES:
        bad(f"--resample must be 0 (off) or in 2..{MAX_FRAMES}, got {cfg.resample}")
    if not 0 <= cfg.aug_rotate <= 180:
        bad(f"--aug-rotate must be in [0, 180] degrees, got {cfg.aug_rotate}")
    if not 0 <= cfg.aug_scale < 1:
        bad(f"--aug-scale must be in [0, 1), got {cfg.aug_scale}")
    if not 0 < cfg.aug_crop <= 1:
        bad(f"--aug-crop must be in (0, 1], got {cfg.aug_crop}")
    if cfg.lr_schedule not in LR_SCHEDULES:
        bad(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {cfg.lr_schedule!r}")


def config_from_json(d: dict[str, Any], path: str | os.PathLike | None = None) -> TrainConfig:
    """Rebuild a TrainConfig from run.json's `config` entry (types checked; `path` names the
    run.json in the error)."""
    if not isinstance(d, dict):
        raise BadInput("config must be a JSON object of training options", path)
    d = {k: v for k, v in d.items() if k in _FIELDS}
    check_types(d, path, "config.")
    if "filters" in d:
        d["filters"] = parse_filters(d["filters"])
    if "features" in d:
        d["features"] = parse_features(d["features"])
    cfg = TrainConfig(**d)
    try:
        validate(cfg)
    except BadInput as e:
        raise BadInput(f"config: {e}", path) from None
    return cfg
