"""Explain one sample of a run: prediction, relevance per joint group and the concept path.

`explain_sample(run, name)` loads the run's model and data, and returns:

- the top-k prediction (softmax probabilities) and the true class;
- relevance per joint group: gradient × input for the predicted class, each group's share of
  the sample's total |relevance| (tdf.diagnose.relevance);
- the concept path (tdf.diagnose.unit_class): for a mistake, the last-layer units that pushed
  the predicted class over the true one most, and the units one layer down feeding them; for
  a correct prediction, the units that put it ahead of the runner-up. Units carry their
  concepts from a dissection: the one in `dissection` (a dissection.json, or a diagnosis
  folder holding one, made on the same stream) or, without it, one computed on the fly on up
  to `dissect_samples` samples of the run's test split.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import numpy as np

from tdf.errors import BadInput


def _sample_index(store, name: str) -> int:
    try:
        return store.index_of(name)
    except BadInput:
        near = difflib.get_close_matches(name, store.names, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise BadInput(f"no sample named {name!r} in the data ({store.n} samples){hint}", store.path) from None


def load_dissection(path: str | os.PathLike) -> dict:
    """A dissection.json (or a diagnosis folder holding one), with clear errors."""
    from tdf.readers import read_json_in
    d, p = read_json_in(path, "dissection.json", "no dissection.json here (run `tdf diagnose` with the dissect view)")
    if "layers" not in d or "concepts" not in d:
        raise BadInput("not a tdf dissection (no 'layers'/'concepts')", p)
    return d


def explain_sample(run_dir: str | os.PathLike, sample: str, data: str | os.PathLike | None = None, *,
                   stream: str | None = None, dissection: str | os.PathLike | None = None, top: int = 3,
                   path_units: int = 5, dissect_samples: int = 256, seed: int = 0,
                   log=None) -> dict[str, Any]:
    """Everything `tdf explain` prints, as a JSON-ready dict (see the module docstring)."""
    from tdf.backend import load_backend
    from tdf.data.store import open_store
    from tdf.run_folder import (RunPaths, check_model_file, check_model_matches_data, load_model, read_run_json,
                               run_split)

    if top < 1:
        raise BadInput(f"--top must be ≥ 1, got {top}")
    if path_units < 1:
        raise BadInput(f"--units must be ≥ 1, got {path_units}")
    if dissect_samples < 1:
        raise BadInput(f"--dissect-samples must be ≥ 1, got {dissect_samples}")
    info = read_run_json(run_dir)
    paths = RunPaths(run_dir)
    data_path = Path(data or info["data"])
    if not data_path.is_file():
        raise BadInput("data file not found (pass DATA)", data_path)
    check_model_file(paths.model)
    given = load_dissection(dissection) if dissection else None
    with open_store(data_path) as store:  # a missing sample or a malformed store: before the backend loads
        _sample_index(store, sample)

    if log is not None:
        log(f"explaining {sample}…")  # after the cheap checks: a mistake gets its one line only
    load_backend()
    from tdf.diagnose.dissect import dissect
    from tdf.diagnose.relevance import gradient_x_input, group_shares
    from tdf.diagnose.unit_class import concept_path
    from tdf.models.contract import contract_of
    # decoder and relevance are exact in float32: a bf16 run is diagnosed on a float32 copy
    from tdf.train.precision import float32_copy
    model = float32_copy(load_model(paths.model))
    contract = contract_of(model)
    kind = contract.family
    if stream is not None and stream not in contract.stream_names:
        raise BadInput(f"--stream applies to a model with streams (an MS-Res-TCN); {paths.model} is a "
                       f"{kind} with {'one stream' if contract.stream_names == (None,) else contract.stream_names}")
    stream = stream or contract.default_stream
    if given is not None and given.get("stream") != stream:
        raise BadInput(f"the dissection is of stream {given.get('stream')!r}, not {stream!r}", dissection)
    frames = int(info.get("frames") or 0) or None
    with open_store(data_path) as store:
        check_model_matches_data(model, store, info, paths.model)
        i = _sample_index(store, sample)
        frames = frames or store.T
        x = store.read([i], frames=frames)
        true = int(store.label[i])
        names = list(store.class_names)
        layout = store.layout
        if given is None:
            try:
                test = np.asarray(run_split(store, info).part("test"))
            except (BadInput, KeyError):
                test = np.arange(store.n)
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(test, size=min(dissect_samples, len(test)), replace=False))
            given = dissect(model, store.read(pick, frames=frames), stream=stream, layout=store.layout)
            source = f"computed on {len(pick)} samples of the test split"
        else:
            source = str(dissection)
    probs = np.asarray(model(x, training=False), np.float64)[0]
    order = np.argsort(-probs, kind="stable")
    pred = int(order[0])
    other = true if pred != true else int(order[1])
    attribution = gradient_x_input(model, x, target=np.array([pred]))
    gnames, shares = group_shares(attribution.values, layout=layout)
    path = concept_path(model, x, true=other, wrong=pred, class_names=names, stream=stream,
                        dissection=given, top=path_units)
    return {"run": str(paths.root), "data": str(data_path), "sample": sample, "model_kind": kind, "stream": stream,
            "true": names[true], "predicted": names[pred], "correct": pred == true,
            "top": [[names[c], round(float(probs[c]), 4)] for c in order[:top]],
            "relevance": {"method": "gradient_x_input", "class": names[pred],
                          "group_share": {g: round(float(s), 4) for g, s in zip(gnames, shares[0])}},
            "concept_path": dict(path, question=(f"why {names[pred]} and not {names[true]}" if pred != true
                                                 else f"why {names[pred]} ahead of the runner-up {names[other]}")),
            "dissection": source}
