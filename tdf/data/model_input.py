"""What a model is fed: the store's frames turned into the model's input by a run's input recipe.

`InputRecipe` records how (view normalisation, resampling to a fixed frame count, the derived
features and their scales, the training augmentation) and is saved in run.json (`input`), so
every command that feeds a run's model — training, evaluation, diagnosis, fix — builds the same
input from the same store. The paper's raw input is the recipe that does nothing (`is_raw`).

The input keeps the joint structure: a frame holds D' = bodies × joints × coords × F values
(F = number of features, innermost), so a joint-group mask over the store's D dims becomes a mask
over D' by repeating each entry F times (`expand_mask`), and the joint positions are every F-th
value (`joint_channels`). Work is per batch (`batch`); nothing holds the data set in memory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tdf.data import transforms as T
from tdf.errors import BadInput
from tdf.train_config import NORMALIZE


@dataclass(frozen=True)
class Skeleton:
    """The facts of the layout the transforms need (from the store's layout)."""

    bodies: int
    joints: int
    coords: int
    parents: tuple[int, ...]           # −1 for the root
    centre: int                         # joint the view is centred on
    across: tuple[tuple[int, int], ...]  # (left, right) joint pairs that give the body's heading

    @property
    def D(self) -> int:
        return self.bodies * self.joints * self.coords


def heading_pairs(layout) -> tuple[tuple[int, int], ...]:
    """(left, right) joint pairs whose difference gives the body's heading: the shoulders and the
    hips. The Layout has no field for them, so they are derived from its groups: the first joint
    of `left_arm`/`right_arm` (the shoulders) and of `left_leg`/`right_leg` (the hips) in the
    standard group naming of every shipped layout. A layout without those groups gets no pairs
    (view normalisation then only translates)."""
    pairs = []
    for left, right in (("left_arm", "right_arm"), ("left_leg", "right_leg")):
        if left in layout.groups and right in layout.groups:
            pairs.append((layout.joint_index(layout.groups[left][0]),
                          layout.joint_index(layout.groups[right][0])))
    return tuple(pairs)


def skeleton_of(layout) -> Skeleton:
    """The transforms' facts of a `tdf.skeleton.Layout`: parents from its bone tree, its centre
    joint (the view's origin), the heading pairs."""
    return Skeleton(layout.bodies, layout.n_joints, layout.coords,
                    tuple(int(p) for p in layout.parents), layout.joint_index(layout.centre),
                    heading_pairs(layout))


def ntu25_skeleton() -> Skeleton:
    """The ntu25 layout's facts (centre SpineShoulder; heading from the shoulders and the hips)."""
    from tdf.skeleton import LAYOUTS
    return skeleton_of(LAYOUTS["ntu25"])


@dataclass(frozen=True)
class InputRecipe:
    """How store frames become model input. Defaults = the paper's raw input."""

    skeleton: Skeleton
    normalize: str = "none"                    # none | root (translate) | view (+ yaw) | spine (+ upright)
    features: tuple[str, ...] = ("joint",)
    frames: int | None = None                  # resample every sequence to this many frames
    feature_scale: tuple[float, ...] | None = None  # divisor per feature (training data's spread)
    aug_rotate: float = 0.0                    # degrees about the vertical axis
    aug_scale: float = 0.0                     # per-axis factor 1 ± aug_scale
    aug_crop: float = 1.0                      # keep a random U(aug_crop, 1) fraction of the frames

    def __post_init__(self):
        if self.normalize not in NORMALIZE:
            raise BadInput(f"--normalize must be one of {', '.join(NORMALIZE)}, got {self.normalize!r}")
        bad = [f for f in self.features if f not in T.FEATURES]
        if bad or not self.features or len(set(self.features)) != len(self.features):
            raise BadInput(f"--features must be distinct names from {', '.join(T.FEATURES)}, got "
                           f"{','.join(self.features)}")
        if self.feature_scale is not None and len(self.feature_scale) != len(self.features):
            raise BadInput(f"input.feature_scale has {len(self.feature_scale)} values for "
                           f"{len(self.features)} features")

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def dim(self) -> int:
        """Values per frame of the model input."""
        return self.skeleton.D * self.n_features

    @property
    def is_raw(self) -> bool:
        """The store's frames unchanged (the paper's input)."""
        return (self.normalize == "none" and self.features == ("joint",) and self.frames is None
                and not self.augments)

    @property
    def augments(self) -> bool:
        return self.aug_rotate > 0 or self.aug_scale > 0 or self.aug_crop < 1

    def out_frames(self, read_frames: int) -> int:
        return self.frames if self.frames is not None else read_frames

    # -- one sequence ----------------------------------------------------------------------
    def positions(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """One sequence's valid frames `[t, bodies, joints, coords]`, normalised, augmented (with
        `rng`; None: deterministic) and resampled: `[t', bodies, joints, coords]` (t' = `frames`
        when resampling, else t, or the crop's length)."""
        sk = self.skeleton
        if self.normalize != "none":
            x = T.normalize_view(x, sk.centre, sk.across, rotate=self.normalize in ("view", "spine"),
                                 upright=self.normalize == "spine")
        start, stop = 0.0, None
        if rng is not None and self.augments:
            x, start, stop = T.augment(x, rng, self.aug_rotate, self.aug_scale, self.aug_crop)
        if self.frames is not None:
            x = T.resample(x, self.frames, start, stop)
        elif stop is not None and (start > 0 or stop < len(x) - 1):
            x = T.resample(x, int(round(stop - start)) + 1, start, stop)
        return x.astype(np.float32)

    def channels(self, x: np.ndarray, scaled: bool = True) -> np.ndarray:
        """Positions `[..., t, bodies, joints, coords]` → model input `[..., t, D']`."""
        f = T.features(x, np.asarray(self.skeleton.parents), self.features)
        if scaled and self.feature_scale is not None:
            f = f / np.asarray(self.feature_scale, np.float32)
        return f.reshape(f.shape[:-4] + (-1,)).astype(np.float32)

    def sequence(self, x: np.ndarray, rng: np.random.Generator | None = None,
                 scaled: bool = True) -> np.ndarray:
        """One sequence's valid frames → its model input `[t', D']`."""
        return self.channels(self.positions(x, rng), scaled)

    # -- a batch ---------------------------------------------------------------------------
    def batch(self, x: np.ndarray, rows: Sequence[int] | None = None, epoch: int = 0, seed: int = 0,
              training: bool = False, scaled: bool = True) -> np.ndarray:
        """`x [B, T, D]` as the store reads it (zero-padded) → `[B, T', D']`. With `training`
        and augmentation on, sample i is augmented with the generator seeded by
        (seed, epoch, rows[i]): the same for the same seed, different across epochs."""
        if self.is_raw:
            return x
        sk = self.skeleton
        B, Tn = x.shape[0], x.shape[1]
        pos = np.zeros((B, self.out_frames(Tn), sk.bodies, sk.joints, sk.coords), np.float32)
        rows = np.arange(B) if rows is None else np.asarray(rows, np.int64)
        for i in range(B):
            n = T.valid_length(x[i])
            if n == 0:
                continue
            seq = x[i, :n].reshape(n, sk.bodies, sk.joints, sk.coords)
            rng = (np.random.default_rng([int(seed), int(epoch), int(rows[i])])
                   if training and self.augments else None)
            p = self.positions(seq, rng)
            pos[i, :min(len(p), pos.shape[1])] = p[:pos.shape[1]]
        # features over the whole batch at once; motion stops at a sequence's last frame because
        # the padding after it is absent
        return self.channels(pos, scaled)

    # -- masks and channels ----------------------------------------------------------------
    def expand_mask(self, mask: np.ndarray) -> np.ndarray:
        """A bool mask over the store's D dims → over the input's D' dims (each dim's features)."""
        return np.repeat(np.asarray(mask, bool), self.n_features)

    def joint_channels(self, x: np.ndarray) -> np.ndarray:
        """The joint-position part `[..., D]` of input-shaped values `[..., D']` (scale undone)."""
        if self.n_features == 1 and self.features == ("joint",):
            return x
        if "joint" not in self.features:
            raise BadInput("this run's input has no joint-position channels (--features lacks 'joint')")
        k = self.features.index("joint")
        s = 1.0 if self.feature_scale is None else self.feature_scale[k]
        return x[..., k::self.n_features] * s

    # -- run.json --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["features"] = list(self.features)
        d["skeleton"] = {**dataclasses.asdict(self.skeleton),
                         "parents": list(self.skeleton.parents),
                         "across": [list(p) for p in self.skeleton.across]}
        d["feature_scale"] = None if self.feature_scale is None else [float(v) for v in self.feature_scale]
        return d


def recipe_from_json(d: dict[str, Any] | None, path=None) -> InputRecipe | None:
    """The recipe a run.json recorded (`input`), or None for runs that predate it (raw input)."""
    if d is None:
        return None
    try:
        sk = d["skeleton"]
        skeleton = Skeleton(int(sk["bodies"]), int(sk["joints"]), int(sk["coords"]),
                            tuple(int(p) for p in sk["parents"]), int(sk["centre"]),
                            tuple((int(a), int(b)) for a, b in sk["across"]))
        scale = d.get("feature_scale")
        return InputRecipe(skeleton, str(d["normalize"]), tuple(str(f) for f in d["features"]),
                           None if d.get("frames") is None else int(d["frames"]),
                           None if scale is None else tuple(float(v) for v in scale),
                           float(d.get("aug_rotate", 0)), float(d.get("aug_scale", 0)),
                           float(d.get("aug_crop", 1)))
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(f"input recipe is malformed ({e.__class__.__name__}: {e})", path) from None


def run_recipe(run_info: dict[str, Any] | None, path=None) -> InputRecipe | None:
    """The recipe of a run (None = raw input)."""
    return recipe_from_json((run_info or {}).get("input"), path)


def feature_spread(store, recipe: InputRecipe, indices, chunk: int = 64) -> tuple[float, ...]:
    """Per feature: the standard deviation of its values over the present joints of the valid
    frames of `indices` (unaugmented, unscaled), streamed `chunk` samples at a time. A spread of
    zero (e.g. a single-frame data set's motion) becomes 1, so scaling never divides by zero."""
    F = recipe.n_features
    s1 = np.zeros(F)
    s2 = np.zeros(F)
    n = np.zeros(F)
    idx = np.asarray(indices, np.int64)
    for start in range(0, len(idx), chunk):
        rows = idx[start:start + chunk]
        x = recipe.batch(store.read(rows), rows, scaled=False)
        v = x.reshape(-1, F)
        nz = v != 0
        s1 += np.where(nz, v, 0).sum(0)
        s2 += np.where(nz, v * v, 0).sum(0)
        n += nz.sum(0)
    n = np.maximum(n, 1)
    var = np.maximum(s2 / n - (s1 / n) ** 2, 0)
    sd = np.sqrt(var)
    return tuple(float(v) if v > 1e-8 else 1.0 for v in sd)


def input_mean(store, recipe: InputRecipe, indices, chunk: int = 64) -> np.ndarray:
    """float32 [D']: the mean model input over the valid frames (any non-zero value) of
    `indices`, streamed — the mean skeleton the model subtracts."""
    idx = np.asarray(indices, np.int64)
    total = np.zeros(recipe.dim)
    count = 0
    for start in range(0, len(idx), chunk):
        rows = idx[start:start + chunk]
        x = recipe.batch(store.read(rows), rows)
        valid = np.any(x != 0, axis=-1)
        total += x[valid].sum(0, dtype=np.float64)
        count += int(valid.sum())
    if count == 0:
        raise BadInput("no valid frames among the training samples", getattr(store, "path", None))
    return (total / count).astype(np.float32)


class InputView:
    """A store seen through a run's recipe: `read(rows, frames)` gives model input (no
    augmentation); everything else is the store's. `T` is the model's frame count."""

    def __init__(self, store, recipe: InputRecipe, read_frames: int | None = None):
        self._store = store
        self.recipe = recipe
        self._read_frames = read_frames

    def __getattr__(self, name):
        return getattr(self._store, name)

    @property
    def raw_store(self):
        """The store underneath (its own T, for fingerprints)."""
        return self._store

    @property
    def T(self) -> int:
        return self.recipe.out_frames(self.read_frames)

    @property
    def read_frames(self) -> int:
        """Frames read from the store per sample (before resampling)."""
        return int(self._read_frames or self._store.T)

    def read(self, indices, frames: int | None = None) -> np.ndarray:
        x = self._store.read(indices, frames=self._read_frames)
        out = self.recipe.batch(x, indices)
        if frames is not None and frames != out.shape[1]:
            fixed = np.zeros((out.shape[0], frames, out.shape[2]), np.float32)
            t = min(frames, out.shape[1])
            fixed[:, :t] = out[:, :t]
            out = fixed
        return out


def expand_mask_to(mask: np.ndarray, dim: int) -> np.ndarray:
    """A bool mask over the store's D dims → over `dim` = D × F input dims (each dim's F feature
    channels are adjacent, so every entry repeats F times); unchanged when dim = D."""
    mask = np.asarray(mask, bool)
    if dim % mask.size:
        raise BadInput(f"a mask of {mask.size} dims cannot cover an input of {dim} dims")
    return np.repeat(mask, dim // mask.size)


def recipe_for(cfg, store) -> InputRecipe:
    """The (unfitted: no feature scales) recipe a training config asks for on `store`."""
    from tdf.skeleton import layout_or_default
    return InputRecipe(skeleton_of(layout_or_default(getattr(store, "layout", None))), cfg.normalize, tuple(cfg.features), cfg.resample, None,
                       cfg.aug_rotate, cfg.aug_scale, cfg.aug_crop)


def fit_recipe(recipe: InputRecipe, store, train_rows) -> InputRecipe:
    """The recipe with its feature scales from the training rows (unit spread per feature);
    raw-input recipes are returned as they are."""
    if recipe.is_raw or recipe.n_features == 1 and recipe.normalize == "none":
        return recipe
    return dataclasses.replace(recipe, feature_scale=feature_spread(store, recipe, train_rows))


def view_for_run(store, run_info: dict[str, Any] | None, path=None):
    """The store as the run's model sees it: the store itself for raw-input runs."""
    recipe = run_recipe(run_info, path)
    if recipe is None or recipe.is_raw:
        return store
    read = (run_info or {}).get("config", {}).get("max_frames")
    return InputView(store, recipe, read)
