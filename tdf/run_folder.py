"""The run folder (docs/design.md#runs): paths, `run.json`, the data fingerprint, loading the model
and checking that a model and a data set belong together.

```
RUN/model.keras        the trained model (self-contained: normalisation layer inside)
RUN/run.json           every option, the data file and its fingerprint, split, seed, versions, kind
RUN/history.csv        one row per epoch
RUN/metrics.json       test-split metrics (other splits: metrics-<split>.json)
RUN/predictions.npz    per-sample scores keyed by sample name (other splits: predictions-<split>.npz)
RUN/checkpoints/       model.keras, LATEST → epoch-NNNN/ (variables.npz, state.json, history.csv:
                       resume; tdf.train.checkpoint), best.weights.h5 (early stopping)
```
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from tdf import __version__
from tdf.atomic import atomic_path
from tdf.errors import BadInput
from tdf.run_info import check_run_info, run_layout

RUN_SCHEMA = 1


class RunPaths:
    """Names of the files in a run folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.model = self.root / "model.keras"
        self.run_json = self.root / "run.json"
        self.history = self.root / "history.csv"
        self.checkpoints = self.root / "checkpoints"
        self.best = self.checkpoints / "best.weights.h5"

    def metrics(self, split: str = "test") -> Path:
        return self.root / ("metrics.json" if split == "test" else f"metrics-{split}.json")

    def predictions(self, split: str = "test") -> Path:
        return self.root / ("predictions.npz" if split == "test" else f"predictions-{split}.npz")

    def confusion_png(self, split: str = "test") -> Path:
        return self.root / ("confusion.png" if split == "test" else f"confusion-{split}.png")


def data_fingerprint(store) -> str:
    """A hash of what identifies a data set: shape, class names, names, labels and lengths.

    Cheap for any N (it does not read /x), and changes when samples, labels or classes change.
    """
    store = getattr(store, "raw_store", store)  # a store seen through an input recipe: the store's own
    h = hashlib.sha256()
    h.update(json.dumps([store.n, store.T, store.class_names]).encode())
    h.update("\n".join(store.names).encode())
    h.update(np.ascontiguousarray(store.label, np.int32).tobytes())
    h.update(np.ascontiguousarray(store.length, np.int32).tobytes())
    return h.hexdigest()[:16]


def versions() -> dict[str, str]:
    import h5py
    import keras
    out = {"tdf": __version__, "python": platform.python_version(), "keras": keras.__version__,
           "keras_backend": keras.backend.backend(), "numpy": np.__version__, "h5py": h5py.__version__}
    try:
        import tensorflow as tf
        out["tensorflow"] = tf.__version__
    except ImportError:
        pass
    return out


def read_run_json(run_dir: str | os.PathLike) -> dict[str, Any]:
    """run.json of a run folder, with a clear error when the folder is not a run."""
    paths = RunPaths(run_dir)
    if not paths.root.is_dir():
        raise BadInput("run folder not found", paths.root)
    if not paths.run_json.is_file():
        raise BadInput("not a tdf run folder (no run.json)", paths.root)
    from tdf.readers import read_json
    return check_run_info(read_json(paths.run_json, "run.json"), paths.run_json)


def check_model_file(path: str | os.PathLike) -> Path:
    """A cheap look at a `.keras` file before the backend is loaded: it exists, is a zip archive
    with Keras' `config.json` in it, and every member passes its CRC check."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("model file not found", path)
    if not zipfile.is_zipfile(path):
        raise BadInput("is not a Keras model archive (.keras files are zip archives)", path)
    try:
        with zipfile.ZipFile(path) as z:
            if "config.json" not in z.namelist():
                raise BadInput("is not a Keras model archive (no config.json in it)", path)
            bad = z.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as e:
        raise BadInput(f"is a corrupt model archive ({e.__class__.__name__}: {str(e)[:120]})", path) from None
    if bad is not None:
        raise BadInput(f"is a corrupt model archive ({bad[:80]} fails its checksum)", path)
    return path


def load_model(path: str | os.PathLike, compile: bool = False):
    """Load a `.keras` model written by tdf, with a clear error for a missing or broken file
    (checked before the backend is imported, quietly, if it is not yet)."""
    path = check_model_file(path)
    from tdf.backend import load_backend
    load_backend()
    import keras
    import tdf.models  # noqa: F401  (registers tdf's serialisable layers)
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as e:  # keras raises many types for a corrupt archive
        raise BadInput(f"cannot load the model ({e.__class__.__name__}: {str(e).splitlines()[0][:200]})",
                       path) from None


def save_model(model, path: str | os.PathLike) -> None:
    """Write `model` as a `.keras` file atomically (a temporary file beside `path`, renamed on
    success): the run's model.keras and a checkpoint's model file."""
    with atomic_path(path, force=True) as tmp:
        tmp_model = tmp.with_name(tmp.name + ".keras")  # Keras wants the suffix
        model.save(tmp_model)
        os.replace(tmp_model, tmp)


def check_model_matches_data(model, store, run_info: dict[str, Any] | None, model_path) -> None:
    """Raise BadInput naming both files when the model cannot be applied to the store."""
    in_dim = model.inputs[0].shape[-1]
    lay = store.layout
    recipe = getattr(store, "recipe", None)  # a store seen through the run's input recipe
    expected = lay.D if recipe is None else recipe.dim
    if in_dim != expected:
        how = "" if recipe is None else f" through the run's input recipe ({', '.join(recipe.features)})"
        raise BadInput(f"model {model_path} expects {in_dim} dims per frame but data {store.path} "
                       f"gives {expected}{how} (joint layout {lay.name})")
    n_out = model.outputs[0].shape[-1]
    if n_out != store.num_classes:
        raise BadInput(f"model {model_path} has {n_out} classes but data {store.path} has "
                       f"{store.num_classes}")
    if run_info:
        names = run_info.get("class_names")
        if names is not None and list(names) != list(store.class_names):
            diff = next((i for i, (a, b) in enumerate(zip(names, store.class_names)) if a != b), None)
            raise BadInput(f"model {model_path} was trained on other classes than data {store.path} "
                           f"(first difference at class {diff})")
        layout = run_layout(run_info)
        if layout.name != lay.name or not layout.same_skeleton(lay):
            raise BadInput(f"model {model_path} uses joint layout {layout.name!r} but data {store.path} "
                           f"uses {lay.name!r}" + ("" if layout.name != lay.name else
                                                   " with other joints, coordinates or bodies"))
    frames = model.inputs[0].shape[1]
    if frames is not None and frames != store.T and frames > store.T:
        raise BadInput(f"model {model_path} expects {frames} frames but data {store.path} has "
                       f"only {store.T}")


def run_split(store, run_info: dict[str, Any], run_json: str | os.PathLike | None = None):
    """Recompute the split a run recorded and check it selects the same rows (digest). A split
    name the data does not define (e.g. an edited run.json) is an error naming the run.json."""
    from tdf.data.splits import SPLITS, make_split, parse_field_split, stored_splits
    sp = run_info["split"]
    kwargs = {"seed": sp.get("seed", 0), "val_fraction": sp.get("val_fraction", 0.1)}
    if sp.get("test_fraction") is not None:
        kwargs["test_fraction"] = sp["test_fraction"]
    name = sp["name"]
    if name not in SPLITS and parse_field_split(name) is None and name not in stored_splits(store):
        from tdf.data.splits import applicable_splits
        raise BadInput(f"split {name!r} recorded in {'the run' if run_json else 'the run.json'} is not a "
                       f"split of data {store.path} (it offers {', '.join(applicable_splits(store))})",
                       run_json)
    split = make_split(store, name, **kwargs)
    if sp.get("sha256") and split.digest() != sp["sha256"]:
        raise BadInput(f"data {store.path} does not give the split recorded in the run "
                       f"({sp['name']}, digest mismatch)")
    return split
