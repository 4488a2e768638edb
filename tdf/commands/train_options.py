"""The training options shared by `tdf train`, `tdf fix` and `tdf loop`.

Every option defaults to None, meaning "not given", so the precedence defaults → preset →
`--config` → command line (tdf.train_config.resolve_config) works.
"""

from __future__ import annotations

from typing import Any

import click

from tdf.train_config import DISTRIBUTE, NORMALIZE, PRESETS
from tdf.train.precision import PRECISIONS

TRAIN_OPTION_NAMES = ("split", "val_fraction", "val_every", "epochs", "batch_size", "lr", "momentum", "filters",
                      "units_per_block", "kernel_size", "dropout", "l1", "bn_momentum", "max_frames", "seed",
                      "patience", "early_stop", "jit", "precision", "distribute", "normalize", "features",
                      "resample", "aug_rotate", "aug_scale", "aug_crop", "lr_schedule")


def train_options(f):
    """Decorate a click command with the training options (applied bottom-up)."""
    opts = [
        click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
                     help="Named settings: 'paper' (the paper's, raw input), 'synthetic' (small model, early stopping) "
                          "or 'small' (small real data sets: normalised view, joint/bone/motion channels, "
                          "augmentation, cosine LR; docs/real-baseline.md)."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                     help="TOML file of training options ([train] table); the command line overrides it."),
        click.option("--split", default=None, help="xsub | xview | xsub120 | xset | random, a split stored with the data "
                     "(e.g. a pyskl pickle's xsub), or FIELD:VALUES: train on the samples whose FIELD "
                     "(subject, camera, setup, replication) is in VALUES, test on the rest, e.g. "
                     "subject:1,3,5,7 (default: the store's default split)."),
        click.option("--val-fraction", type=float, default=None, help="Validation part carved from the training side."),
        click.option("--val-every", type=int, default=None,
                     help="Validate after every N-th epoch only (Keras' validation_freq; default 1). The "
                          "validation pass costs ≈ 4 % of an epoch at --val-fraction 0.1; --patience and "
                          "--early-stop then count validations, and the best epoch is a validated one."),
        click.option("--epochs", type=int, default=None, help="Epochs (a cap when --early-stop is set)."),
        click.option("--batch-size", type=int, default=None),
        click.option("--lr", type=float, default=None, help="Initial learning rate (SGD, Nesterov)."),
        click.option("--momentum", type=float, default=None),
        click.option("--filters", default=None, help="Widths of the three blocks, e.g. 64,128,256."),
        click.option("--units-per-block", type=int, default=None),
        click.option("--kernel-size", type=int, default=None, help="Temporal filter length."),
        click.option("--dropout", type=float, default=None),
        click.option("--l1", type=float, default=None, help="L1 penalty on conv kernels."),
        click.option("--bn-momentum", type=float, default=None,
                     help="BatchNormalization running-statistics momentum (Keras' 0.99; 0.9 for small data)."),
        click.option("--max-frames", type=int, default=None, help="Pad/crop sequences to this many frames."),
        click.option("--seed", type=int, default=None),
        click.option("--patience", type=int, default=None, help="Validations without val-loss improvement before LR ÷ 10 (epochs, with --val-every 1)."),
        click.option("--early-stop", type=int, default=None,
                     help="Stop after this many validations without val-loss improvement and restore the best weights (0 = off)."),
        click.option("--jit/--no-jit", default=None, help="XLA compilation (default: on with a GPU, off on CPU)."),
        click.option("--precision", type=click.Choice(PRECISIONS), default=None,
                     help="fp32, or bf16 mixed precision (Keras' mixed_bfloat16; default: bf16 with a GPU "
                          "that supports it, else fp32)."),
        click.option("--distribute", type=click.Choice(DISTRIBUTE), default=None,
                     help="Data-parallel training with tf.distribute."),
        click.option("--normalize", type=click.Choice(list(NORMALIZE)), default=None,
                     help="Input normalisation: " + "; ".join(f"{k} ({v})" for k, v in NORMALIZE.items()) + "."),
        click.option("--features", default=None,
                     help="Input channels per joint, e.g. joint,bone,joint_motion,bone_motion (default joint)."),
        click.option("--resample", type=int, default=None,
                     help="Resample every sequence to this many frames (0 = off: crop/pad to --max-frames, the default)."),
        click.option("--aug-rotate", type=float, default=None,
                     help="Training augmentation: random rotation about the vertical axis, ± degrees (0 = off)."),
        click.option("--aug-scale", type=float, default=None,
                     help="Training augmentation: random per-axis scaling 1 ± this (0 = off)."),
        click.option("--aug-crop", type=float, default=None,
                     help="Training augmentation: random temporal crop to U(this, 1) of the frames (1 = off)."),
        click.option("--lr-schedule", type=click.Choice(["plateau", "cosine"]), default=None,
                     help="plateau: LR ÷ 10 after --patience epochs without improvement (the paper's); "
                          "cosine: cosine decay over --epochs."),
        click.option("--cache-mb", type=int, default=None,
                     help="Memory for decoded samples, so epochs after the first read them from memory "
                          "instead of the store (default: a quarter of RAM, at most 4096; 0 = off). "
                          "Batches and results do not depend on it."),
        click.option("--tensorboard", type=click.Path(file_okay=False), default=None,
                     help="Write TensorBoard event files here (loss, accuracy, learning rate per epoch; "
                          "`tdf loop` uses DIR/baseline and DIR/fixed)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


class RegistryChoice(click.Choice):
    """A click.Choice whose choices are read from a registry when the option is parsed or shown,
    so a plug-in registered after the command was defined is offered too."""

    def __init__(self, names):
        self._names = names
        super().__init__(tuple(names()))

    @property
    def choices(self):
        return tuple(self._names())

    @choices.setter
    def choices(self, value):  # click.Choice.__init__ sets it; the registry stays the source
        pass


def model_option(f):
    """`--model FAMILY` of `tdf train`: a model family from tdf.model_families (default res_tcn)."""
    from tdf.model_families import DEFAULT_FAMILY, trainable_families
    return click.option("--model", "model", type=RegistryChoice(trainable_families), default=DEFAULT_FAMILY,
                        show_default=True,
                        help="Model family to train (tdf.model_families; recorded in run.json as 'kind').")(f)


def model_builder(name: str):
    """(builder for fit_run, kind) of the model family `name`."""
    from tdf.model_families import model_family
    family = model_family(name)
    return family.build_for_training, family.name


def tensorboard_from(kwargs: dict[str, Any]) -> str | None:
    """The --tensorboard folder (removed from kwargs); checks the package is installed."""
    folder = kwargs.pop("tensorboard", None)
    if folder is not None:
        from tdf.train.fit import check_tensorboard
        check_tensorboard()
    return folder


def cache_mb_from(kwargs: dict[str, Any]) -> int | None:
    """The --cache-mb budget (removed from kwargs; None = automatic), checked."""
    value = kwargs.pop("cache_mb", None)
    if value is not None:
        from tdf.data.sample_cache import resolve_budget_mb
        resolve_budget_mb(value)  # refused here, before anything loads
    return value


def overrides_from(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The training options that were given on the command line (removed from kwargs)."""
    given = {}
    for name in TRAIN_OPTION_NAMES:
        value = kwargs.pop(name, None)
        if value is not None:
            given[name] = value
    return given
