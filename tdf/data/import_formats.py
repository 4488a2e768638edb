"""The one registry of `tdf data import` formats, read by the library (`import_data`) and the
CLI (the `--format` choices, their help, which options apply). Kept free of heavy imports: the
importer of a format is loaded only when it runs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from tdf.errors import BadInput

# options every format takes: class_names, force, max_frames, progress
FORMAT_OPTIONS = ("labels", "parts", "layout", "strict")  # the ones only some formats take


@dataclass(frozen=True)
class ImportFormat:
    name: str
    importer: str          # "module:function" called as f(src, out, [fmt,] **options)
    source: str            # "file" or "folder"
    help: str              # one line for `tdf data import --help`
    options: tuple[str, ...] = ()   # which of FORMAT_OPTIONS it takes
    passes_format: bool = False     # the importer takes the format name as its third argument

    def load(self) -> Callable:
        module, attr = self.importer.split(":")
        return getattr(importlib.import_module(module), attr)


IMPORT_FORMATS: dict[str, ImportFormat] = {f.name: f for f in (
    ImportFormat("ctrgcn-npz", "tdf.data.importers:import_ctrgcn_npz", "file",
                 "CTR-GCN/SGN .npz (x_train (N,T,150), one-hot y_train, x_test, y_test)", ("parts",)),
    ImportFormat("stgcn-npy", "tdf.data.importers:import_stgcn_npy", "file",
                 "ST-GCN/2s-AGCN (N,3,T,25,2) .npy with a (names, labels) pickle", ("labels",)),
    ImportFormat("pyskl", "tdf.data.pyskl:import_pyskl", "file",
                 "pyskl/mmaction2 annotation pickle {split, annotations: [{frame_dir, label, keypoint "
                 "[M,T,V,C], keypoint_score}]}", ("layout",)),
    ImportFormat("utd-mhad", "tdf.data.import_folder:import_folder", "folder",
                 "UTD-MHAD skeleton folder (aA_sS_tT_skeleton.mat; 27 classes, default split subject:1,3,5,7)",
                 ("strict",), passes_format=True),
    ImportFormat("nw-ucla", "tdf.data.import_folder:import_folder", "folder",
                 "Northwestern-UCLA all_sqe folder (aAA_sSS_eEE_vVV.json; 10 classes, default split camera:1,2)",
                 ("strict",), passes_format=True),
)}


def get_format(name: str) -> ImportFormat:
    try:
        return IMPORT_FORMATS[name]
    except KeyError:
        raise BadInput(f"unknown import format {name!r}; choose one of {', '.join(IMPORT_FORMATS)}") from None
