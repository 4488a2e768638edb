"""Tables of malformed inputs for the fuzz suite (tests/test_fuzz.py runs them in-process,
bench/fuzz_inputs.py runs them as real `python -m tdf` processes).

Each `Variant` writes one malformed input into a fresh folder `d` (next to copies of a valid
store and a trained run, and next to outputs that already exist) and returns the command line
that reads it. The contract checked for every variant: exit code 2, exactly one line on stderr
that names the malformed file, no traceback, and every file that existed before is byte-identical
afterwards (nothing deleted, nothing added: no temporary leftovers).

Input kinds: store, run folder, config TOML, groups TOML, diagnosis file, `.skeleton` file,
`.npz`, `.npy`, label and pyskl annotation pickles, and `layout` (joint-layout TOML given as
`--layout FILE`).
"""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

MAX_FRAMES = 10_000  # tdf.data.limits.MAX_FRAMES, repeated so a change of the bound is noticed


@dataclass
class Base:
    """Valid inputs the variants start from (never modified: variants work on copies)."""

    store: Path        # a toy store (3 classes × 16 samples, T = 16, random split)
    run: Path          # a tiny run trained on it (model, run.json, metrics.json, checkpoints/)
    skeleton: bytes    # a valid .skeleton file (2 frames, 1 body)


@dataclass
class Variant:
    kind: str
    name: str
    file: str                                       # the name the error line must contain
    make: Callable[[Path, Base], list[str]]         # writes the input into d; returns the CLI args

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


VARIANTS: list[Variant] = []


def _add(kind: str, name: str, file: str):
    def deco(fn):
        VARIANTS.append(Variant(kind, name, file, fn))
        return fn
    return deco


# ----------------------------------------------------------------------------------- helpers

def _copy_store(d: Path, base: Base, name: str = "data.h5") -> Path:
    p = d / name
    shutil.copy(base.store, p)
    return p


def _copy_run(d: Path, base: Base, name: str = "run") -> Path:
    dst = d / name
    shutil.copytree(base.run, dst)
    doc = json.loads((dst / "run.json").read_text())
    doc["data"] = str(base.store.resolve())  # the copy still points at the shared valid store
    (dst / "run.json").write_text(json.dumps(doc))
    return dst


def _replace(f: h5py.File, key: str, data=None, **kwargs) -> None:
    del f[key]
    if data is None:
        f.create_dataset(key, **kwargs)
    else:
        f.create_dataset(key, data=data, **kwargs)


def _edit_run_json(d: Path, base: Base, edit: Callable[[dict], object]) -> Path:
    run = _copy_run(d, base)
    doc = json.loads((run / "run.json").read_text())
    out = edit(doc)
    (run / "run.json").write_text(json.dumps(doc if out is None else out))
    return run


def _latest(run: Path) -> Path:
    ckpt = run / "checkpoints"
    return ckpt / (ckpt / "LATEST").read_text().strip()


# ------------------------------------------------------------------------------ store kind
# `tdf data info` opens the store (cheap checks + a sampled read); rows the sample misses are
# covered by `tdf train` (which reads every row before it trains) and `tdf evaluate`.

def _store_variant(name: str, mutate: Callable[[h5py.File], None]):
    def make(d: Path, base: Base) -> list[str]:
        p = _copy_store(d, base)
        with h5py.File(p, "r+") as f:
            mutate(f)
        return ["data", "info", str(p)]
    VARIANTS.append(Variant("store", name, "data.h5", make))


def _n(f):
    return f["x"].shape[0]


_store_variant("/x is a group", lambda f: (f.__delitem__("x"), f.create_group("x")))
_store_variant("/x holds strings", lambda f: _replace(f, "x", np.full((_n(f), 16, 2, 25, 3), b"a", "S1")))
_store_variant("/x is complex64", lambda f: _replace(f, "x", f["x"][:].astype(np.complex64)))
_store_variant("/x is int8", lambda f: _replace(f, "x", f["x"][:].astype(np.int8)))
_store_variant("/x has rank 3", lambda f: _replace(f, "x", f["x"][:].reshape(_n(f), 16, 150)))
_store_variant("/x has 4 coordinates", lambda f: _replace(f, "x", np.zeros((_n(f), 16, 2, 25, 4), "f4")))
_store_variant("T = 0", lambda f: _replace(f, "x", np.zeros((_n(f), 0, 2, 25, 3), "f4")))
_store_variant("T beyond the maximum", lambda f: _replace(
    f, "x", shape=(_n(f), MAX_FRAMES + 1, 2, 25, 3), dtype="f4", chunks=(1, 100, 2, 25, 3)))


def _zero_samples(f):
    for key in list(f.keys()):
        ds = f[key]
        shape, dtype = (0,) + ds.shape[1:], ds.dtype
        _replace(f, key, shape=shape, dtype=dtype)


_store_variant("zero samples", _zero_samples)


def _nan_row(row: int, value=np.nan):
    def mutate(f):
        x = f["x"][row]
        x[0, 0, 0, 0] = value
        f["x"][row] = x
    return mutate


_store_variant("NaN in a sampled row", _nan_row(0))
_store_variant("inf in a sampled row", _nan_row(-1, np.inf))
_store_variant("float labels (1.7)", lambda f: _replace(f, "label", f["label"][:] + 0.7))
_store_variant("label beyond the classes", lambda f: f["label"].__setitem__(0, 99))
_store_variant("negative label", lambda f: f["label"].__setitem__(3, -1))
_store_variant("/label shorter than /x", lambda f: _replace(f, "label", f["label"][:-1]))
_store_variant("/label is a group", lambda f: (f.__delitem__("label"), f.create_group("label")))
_store_variant("length beyond T", lambda f: f["length"].__setitem__(0, 999))
_store_variant("negative length", lambda f: f["length"].__setitem__(0, -4))
_store_variant("float lengths", lambda f: _replace(f, "length", f["length"][:] * 1.0))
_store_variant("missing /length", lambda f: f.__delitem__("length"))
_store_variant("missing /x", lambda f: f.__delitem__("x"))


def _dup_names(f):
    names = f["name"][:]
    names[1] = names[0]
    f["name"][:] = names


_store_variant("duplicate sample names", _dup_names)
_store_variant("/name holds integers", lambda f: _replace(f, "name", np.arange(_n(f))))
_store_variant("/subject holds floats", lambda f: _replace(f, "subject", f["subject"][:] + 0.5))
_store_variant("/camera has the wrong shape", lambda f: _replace(f, "camera", np.zeros((_n(f), 2), "i2")))
for _label, _value in [("class_names '42'", "42"), ("class_names [1,2,3,4]", "[1, 2, 3, 4]"),
                       ("class_names nested lists", '[["a"], ["b"], ["c"]]'),
                       ("class_names not JSON", "a, b, c"), ("class_names an object", '{"a": 1}'),
                       ("class_names empty", "[]"), ("class_names repeated", '["a", "a", "b"]'),
                       ("class_names null entry", '["a", null, "c"]'),
                       ("class_names an integer attribute", 42),
                       ("class_names an array attribute", np.array([1, 2, 3])),
                       ("class_names 10001 classes", json.dumps([f"c{i}" for i in range(10_001)])),
                       ("class_names nested 10⁵ deep", "[" * 100_000 + "]" * 100_000)]:
    _store_variant(_label, lambda f, v=_value: f.attrs.__setitem__("class_names", v))
_store_variant("class_names missing", lambda f: f.attrs.__delitem__("class_names"))
_store_variant("format_version text", lambda f: f.attrs.__setitem__("format_version", "one"))
_store_variant("format_version from the future", lambda f: f.attrs.__setitem__("format_version", 99))
_store_variant("joint_layout an integer", lambda f: f.attrs.__setitem__("joint_layout", 5))
_store_variant("default_split an integer", lambda f: f.attrs.__setitem__("default_split", 7))
_store_variant("default_split unknown", lambda f: f.attrs.__setitem__("default_split", "xsideways"))
_store_variant("source an array", lambda f: f.attrs.__setitem__("source", np.arange(3)))


def _corrupt_chunk(f):
    info = f["x"].id.get_chunk_info(0)
    f.flush()
    path = f.filename
    f.close()
    with open(path, "r+b") as g:
        g.seek(info.byte_offset + 8)
        g.write(b"\xff" * min(64, info.size - 8))


def _store_file_variant(name: str, content: Callable[[bytes], bytes]):
    def make(d: Path, base: Base) -> list[str]:
        p = d / "data.h5"
        p.write_bytes(content(base.store.read_bytes()))
        return ["data", "info", str(p)]
    VARIANTS.append(Variant("store", name, "data.h5", make))


_store_variant("corrupt compressed chunk of row 0", _corrupt_chunk)
_store_file_variant("empty file", lambda raw: b"")
_store_file_variant("text file", lambda raw: b"x,y,z\n1,2,3\n")
_store_file_variant("truncated to half", lambda raw: raw[: len(raw) // 2])
_store_file_variant("HDF5 signature only", lambda raw: raw[:8])


def _train_on(mutate):
    def make(d: Path, base: Base) -> list[str]:
        p = _copy_store(d, base)
        with h5py.File(p, "r+") as f:
            mutate(f)
        run = _copy_run(d, base)  # an existing run that --force must not lose to a bad store
        return ["train", str(p), "--out", str(run), "--force", "--epochs", "1"]
    return make


# rows the open-time sample skips: only a full read finds them — train reads all before training
VARIANTS.append(Variant("store", "NaN in an unsampled row (train)", "data.h5", _train_on(_nan_row(5))))
VARIANTS.append(Variant("store", "-inf in an unsampled row (train)", "data.h5",
                        _train_on(_nan_row(30, -np.inf))))


def _evaluate_nan(d: Path, base: Base) -> list[str]:
    p = _copy_store(d, base, "other.h5")
    with h5py.File(p, "r+") as f:  # NaN in every row that opening the store does not sample
        n = _n(f)
        for row in sorted(set(range(n)) - set(np.linspace(0, n - 1, 8).round().astype(int).tolist())):
            _nan_row(row)(f)
    run = _copy_run(d, base)
    return ["evaluate", str(run), str(p), "--out", str(d / "eval")]


VARIANTS.append(Variant("store", "NaN in a test sample (evaluate)", "other.h5", _evaluate_nan))


# -------------------------------------------------------------------------------- run kind

def _run_variant(name: str, file: str, edit: Callable[[Path], None], command: str = "evaluate"):
    def make(d: Path, base: Base) -> list[str]:
        run = _copy_run(d, base)
        edit(run)
        if command == "evaluate":
            return ["evaluate", str(run)]
        if command == "diagnose":
            return ["diagnose", str(run), "--out", str(d / "diag")]
        if command == "fix":
            return ["fix", str(run), "--out", str(d / "fixed"), "--groups", "hands"]
        if command == "resume":
            return ["train", str(base.store), "--out", str(run), "--resume"]
        raise ValueError(command)
    VARIANTS.append(Variant("run", f"{name} ({command})", file, make))


def _json_edit(edit: Callable[[dict], object]):
    def apply(run: Path) -> None:
        doc = json.loads((run / "run.json").read_text())
        out = edit(doc)
        (run / "run.json").write_text(json.dumps(doc if out is None else out))
    return apply


def _write(rel: str, content: bytes | str):
    def apply(run: Path) -> None:
        p = run / rel
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return apply


_run_variant("no run.json", "run", lambda run: (run / "run.json").unlink())
_run_variant("run.json a list", "run.json", _json_edit(lambda doc: [doc]))
_run_variant("run.json a list", "run.json", _json_edit(lambda doc: [doc]), "diagnose")
_run_variant("run.json a list", "run.json", _json_edit(lambda doc: [doc]), "fix")
_run_variant("run.json a list", "run.json", _json_edit(lambda doc: [doc]), "resume")
_run_variant("run.json not JSON", "run.json", _write("run.json", "{\"data\": "))
_run_variant("run.json binary", "run.json", _write("run.json", bytes(range(256))))
_run_variant("run.json nested 10⁵ deep", "run.json", _write("run.json", "[" * 100_000 + "]" * 100_000))
_run_variant("run.json without split", "run.json", _json_edit(lambda doc: doc.pop("split")))
_run_variant("run.json without split", "run.json", _json_edit(lambda doc: doc.pop("split")), "diagnose")
_run_variant("run.json without config", "run.json", _json_edit(lambda doc: doc.pop("config")), "fix")
_run_variant("run.json without config", "run.json", _json_edit(lambda doc: doc.pop("config")), "resume")
_run_variant("run.json without data", "run.json", _json_edit(lambda doc: doc.pop("data")))
_run_variant("split.name unknown", "run.json", _json_edit(lambda doc: doc["split"].update(name="xbogus")))
_run_variant("split a string", "run.json", _json_edit(lambda doc: doc.update(split="xsub")))
_run_variant("config.filters strings", "run.json",
             _json_edit(lambda doc: doc["config"].update(filters=["4", "8", "16"])), "fix")
_run_variant("config.epochs 1.5", "run.json", _json_edit(lambda doc: doc["config"].update(epochs=1.5)),
             "resume")
_run_variant("config.lr negative", "run.json", _json_edit(lambda doc: doc["config"].update(lr=-1)), "fix")
_run_variant("class_names integers", "run.json", _json_edit(lambda doc: doc.update(class_names=[1, 2, 3])))
_run_variant("frames text", "run.json", _json_edit(lambda doc: doc.update(frames="16")))
_run_variant("kind unknown", "run.json", _json_edit(lambda doc: doc.update(kind="transformer")), "fix")
_run_variant("model.keras garbage", "model.keras", _write("model.keras", b"garbage, not a zip"))
_run_variant("model.keras empty", "model.keras", _write("model.keras", b""), "diagnose")
_run_variant("model.keras missing", "model.keras", lambda run: (run / "model.keras").unlink())


def _truncate_model(run: Path) -> None:
    raw = (run / "model.keras").read_bytes()
    (run / "model.keras").write_bytes(raw[: len(raw) // 2])


_run_variant("model.keras truncated", "model.keras", _truncate_model)


def _zip_without_config(run: Path) -> None:
    with zipfile.ZipFile(run / "model.keras", "w") as z:
        z.writestr("notes.txt", "not a model")


def _flip_model_bytes(run: Path) -> None:
    raw = bytearray((run / "model.keras").read_bytes())
    with zipfile.ZipFile(run / "model.keras") as z:
        info = max(z.infolist(), key=lambda i: i.compress_size)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    raw[start:start + 16] = bytes(b ^ 0xFF for b in raw[start:start + 16])
    (run / "model.keras").write_bytes(bytes(raw))


_run_variant("model.keras a zip without config.json", "model.keras", _zip_without_config, "fix")
_run_variant("model.keras with a corrupt member", "model.keras", _flip_model_bytes, "diagnose")
# A broken metrics.json is not fatal: diagnose and fix then evaluate the run's own test split in
# memory (tests/test_fuzz.py checks that); it is not in this table.
_run_variant("checkpoints/LATEST binary", "LATEST", _write("checkpoints/LATEST", b"\x00\xff\xfe\x80epoch"),
             "resume")
_run_variant("state.json not JSON", "state.json",
             lambda run: (_latest(run) / "state.json").write_text("{\"epoch\": 1,"), "resume")
_run_variant("state.json a list", "state.json",
             lambda run: (_latest(run) / "state.json").write_text("[1, 2]"), "resume")
_run_variant("state.json epoch text", "state.json", lambda run: (_latest(run) / "state.json").write_text(
    json.dumps({**json.loads((_latest(run) / "state.json").read_text()), "epoch": "1"})), "resume")
_run_variant("state.json binary", "state.json",
             lambda run: (_latest(run) / "state.json").write_bytes(bytes(range(256))), "resume")


# --------------------------------------------------------------------------- config kind

def _config_variant(name: str, text: str | bytes, file: str = "bad.toml"):
    def make(d: Path, base: Base) -> list[str]:
        p = d / "bad.toml"
        if text is not None:
            p.write_bytes(text.encode() if isinstance(text, str) else text)
        run = _copy_run(d, base)  # an existing run that a bad config must leave alone
        return ["train", str(base.store), "--out", str(run), "--force", "--config", str(p)]
    VARIANTS.append(Variant("config", name, file, make))


_config_variant("filters = [4, \"8\", 16.5]", "[train]\nfilters = [4, \"8\", 16.5]\n")
_config_variant("filters = [4, 8.0, 16]", "filters = [4, 8.0, 16]\n")
_config_variant("filters = true", "filters = true\n")
_config_variant("epochs = \"10\"", "epochs = \"10\"\n")
_config_variant("epochs = 1.5", "epochs = 1.5\n")
_config_variant("epochs = true", "epochs = true\n")
_config_variant("lr = \"fast\"", "lr = \"fast\"\n")
_config_variant("lr = nan", "lr = nan\n")
_config_variant("lr = inf", "lr = inf\n")
_config_variant("jit = \"yes\"", "jit = \"yes\"\n")
_config_variant("split = 3", "split = 3\n")
_config_variant("split = \"bogus\"", "split = \"bogus\"\n")
_config_variant("max_frames = 100000", "max_frames = 100000\n")
_config_variant("dropout = 2", "dropout = 2\n")
_config_variant("seed = [1]", "seed = [1]\n")
_config_variant("a date as batch_size", "batch_size = 1979-05-27\n")
_config_variant("unknown option", "[train]\nepoch = 3\n")
_config_variant("train = 5", "train = 5\n")
_config_variant("not TOML", "epochs: 10\n")
_config_variant("binary", bytes(range(256)))
_config_variant("nested 10⁵ deep", "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
_config_variant("2 MB of comments", "#" * (2 << 20) + "\n")
_config_variant("missing file", None)


# --------------------------------------------------------------------------- groups kind

def _groups_variant(name: str, text: str | bytes | None):
    def make(d: Path, base: Base) -> list[str]:
        p = d / "groups.toml"
        if text is not None:
            p.write_bytes(text.encode() if isinstance(text, str) else text)
        run = _copy_run(d, base)
        return ["fix", str(run), "--out", str(d / "fixed"), "--groups-file", str(p)]
    VARIANTS.append(Variant("groups", name, "groups.toml", make))


_groups_variant("groups = 5", "groups = 5\n")
_groups_variant("a group is a string", "[groups]\nhands = \"HandLeft\"\n")
_groups_variant("unknown joint", "[groups]\nhands = [\"HandLeft\", \"Tail\"]\n")
_groups_variant("empty group", "[groups]\nhands = []\n")
_groups_variant("nested list", "[groups]\nhands = [[\"HandLeft\"]]\n")
_groups_variant("joint numbers", "[groups]\nhands = [7, 11]\n")
_groups_variant("no groups", "")
_groups_variant("not TOML", "hands: HandLeft\n")
_groups_variant("binary", b"\x00\x01\xfe\xff" * 64)
_groups_variant("nested 10⁵ deep", "[groups]\nhands = " + "[" * 100_000 + "]" * 100_000 + "\n")
_groups_variant("missing file", None)


# ------------------------------------------------------------------------ diagnosis kind

def _diagnosis_variant(name: str, edit: Callable[[dict], object] | None = None, raw: bytes | str | None = None):
    def make(d: Path, base: Base) -> list[str]:
        run = _copy_run(d, base)
        info = json.loads((run / "run.json").read_text())
        doc = {"schema": 1, "run": str(run.resolve()), "data_fingerprint": info["data_fingerprint"],
               "groups": [{"name": "left_hand", "rank": 1, "score": 0.5, "classes": ["toy_0"]}],
               "recommended_groups": ["left_hand"], "weak_classes": []}
        p = d / "diagnosis.json"
        if raw is not None:
            p.write_bytes(raw.encode() if isinstance(raw, str) else raw)
        elif edit is not None:
            out = edit(doc)
            p.write_text(json.dumps(doc if out is None else out))
        return ["fix", str(run), "--out", str(d / "fixed"), "--diagnosis", str(p)]
    VARIANTS.append(Variant("diagnosis", name, "diagnosis.json", make))


_diagnosis_variant("not JSON", raw="{\"schema\": 1,")
_diagnosis_variant("binary", raw=bytes(range(256)))
_diagnosis_variant("a list", lambda doc: [doc])
_diagnosis_variant("schema 2", lambda doc: doc.update(schema=2))
_diagnosis_variant("recommended_groups a string", lambda doc: doc.update(recommended_groups="left_hand"))
_diagnosis_variant("recommended_groups numbers", lambda doc: doc.update(recommended_groups=[1, 2]))
_diagnosis_variant("recommended_groups unknown name", lambda doc: doc.update(recommended_groups=["tail"]))
_diagnosis_variant("recommended_groups empty", lambda doc: doc.update(recommended_groups=[]))
_diagnosis_variant("groups an object", lambda doc: doc.update(groups={"left_hand": 1}))
_diagnosis_variant("groups[0] without a name", lambda doc: doc["groups"][0].pop("name"))
_diagnosis_variant("groups[0].classes a number", lambda doc: doc["groups"][0].update(classes=5))
_diagnosis_variant("groups[0].classes numbers", lambda doc: doc["groups"][0].update(classes=[0, 1]))
_diagnosis_variant("run a number", lambda doc: doc.update(run=5))
_diagnosis_variant("made for another run", lambda doc: doc.update(run="/elsewhere/run"))
_diagnosis_variant("made on other data", lambda doc: doc.update(data_fingerprint="0123456789abcdef"))
_diagnosis_variant("nested 10⁵ deep", raw="[" * 100_000 + "]" * 100_000)
_diagnosis_variant("missing file", raw=None, edit=None)


# ------------------------------------------------------------------------- .skeleton kind
# In a normal `prepare` a malformed file is skipped and reported (tests/test_fuzz.py checks
# that too); with --strict it is the one-line exit-2 error checked here.

SKELETON = "S001C001P001R001A001.skeleton"
GOOD_SKELETON = "S001C001P002R001A002.skeleton"


def _lines(base: Base) -> list[str]:
    return base.skeleton.decode().splitlines()


def _skeleton_variant(name: str, content: Callable[[Base], bytes]):
    def make(d: Path, base: Base) -> list[str]:
        raw = d / "raw"
        raw.mkdir()
        (raw / GOOD_SKELETON).write_bytes(base.skeleton)
        (raw / SKELETON).write_bytes(content(base))
        out = _copy_store(d, base, "out.h5")  # an existing store that --force must keep on failure
        return ["data", "prepare", str(raw), str(out), "--force", "--strict", "--workers", "1"]
    VARIANTS.append(Variant("skeleton", name, SKELETON, make))


def _with_line(k: int, text: str | Callable[[str], str]):
    def content(base: Base) -> bytes:
        lines = _lines(base)
        lines[k] = text(lines[k]) if callable(text) else text
        return ("\n".join(lines) + "\n").encode()
    return content


def _set_field(k: int, field: int, value: str):
    def edit(line: str) -> str:
        parts = line.split(" ")
        parts[field] = value
        return " ".join(parts)
    return _with_line(k, edit)


# line 0: frame count; 1: body count; 2: body info; 3: joint count; 4–28: joints of frame 0
_skeleton_variant("5000-digit frame count", _with_line(0, "9" * 5000))
_skeleton_variant("5000-digit body count", _with_line(1, "7" * 5000))
_skeleton_variant("5000-digit bodyID", _set_field(2, 0, "1" * 5000))
_skeleton_variant("bodyID beyond 64 bits", _set_field(2, 0, str(1 << 64)))
_skeleton_variant("coordinate 1e308", _set_field(4, 0, "1e308"))
_skeleton_variant("coordinate 1e39 (beyond float32)", _set_field(5, 2, "1e39"))
_skeleton_variant("coordinate nan", _set_field(6, 1, "nan"))
_skeleton_variant("coordinate -inf", _set_field(6, 1, "-inf"))
_skeleton_variant("5 MB junk line", _with_line(7, "7" * (5 << 20)))
_skeleton_variant("5 MB junk token", _set_field(8, 0, "x" * (5 << 20)))
_skeleton_variant("binary garbage", lambda base: bytes(range(256)) * 10)
_skeleton_variant("empty file", lambda base: b"")
_skeleton_variant("only whitespace", lambda base: b" \n\n \n")
_skeleton_variant("truncated", lambda base: base.skeleton[: len(base.skeleton) // 2])
_skeleton_variant("joint count 26", _with_line(3, "26"))
_skeleton_variant("11 fields on a joint line", _with_line(9, lambda s: s.rsplit(" ", 1)[0]))
_skeleton_variant("body count 10⁸", _with_line(1, "100000000"))
_skeleton_variant("negative frame count", _with_line(0, "-2"))
_skeleton_variant("trailing content", lambda base: base.skeleton + b"1 2 3\n")
_skeleton_variant("the same bodyID twice in a frame", lambda base: _two_same_bodies(base))


def _two_same_bodies(base: Base) -> bytes:
    lines = _lines(base)
    body = lines[2:29]
    lines = [lines[0], "2"] + body + body + lines[29:]
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------------------ npz kind

def _onehot(labels, c):
    y = np.zeros((len(labels), c), np.float32)
    y[np.arange(len(labels)), labels] = 1
    return y


def _valid_arrays(n: int = 6, t: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    lab = np.arange(n) % 3
    return {"x_train": rng.normal(size=(n, t, 150)).astype(np.float32), "y_train": _onehot(lab, 3),
            "x_test": rng.normal(size=(n, t, 150)).astype(np.float32), "y_test": _onehot(lab, 3)}


def _import_args(src: Path, out: Path, fmt: str, labels: Path | None = None) -> list[str]:
    args = ["data", "import", str(src), str(out), "--format", fmt, "--force"]
    return args + (["--labels", str(labels)] if labels else [])


def _forged_npy(shape, dtype="<f4", body: bytes = b"", fortran: bool = False) -> bytes:
    """The bytes of an .npy whose header declares `shape` whatever the body holds."""
    import io
    header = {"descr": np.dtype(dtype).str, "fortran_order": fortran, "shape": tuple(shape)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + body


def _npz_variant(name: str, arrays: Callable[[], dict] | None = None, raw: Callable[[Path], bytes] | None = None,
                 members: Callable[[], dict[str, bytes]] | None = None):
    def make(d: Path, base: Base) -> list[str]:
        src = d / "src.npz"
        if arrays is not None:
            a = _valid_arrays()
            a.update(arrays())
            np.savez_compressed(src, **a)
        elif members is not None:
            with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
                for k, v in members().items():
                    z.writestr(k + ".npy", v)
        else:
            np.savez(src, **_valid_arrays())
            src.write_bytes(raw(src))
        out = _copy_store(d, base, "out.h5")
        return _import_args(src, out, "ctrgcn-npz")
    VARIANTS.append(Variant("npz", name, "src.npz", make))


def _npy(a) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


_npz_variant("not a zip", raw=lambda p: b"PK\x03\x04 but not really a zip file")
_npz_variant("truncated zip", raw=lambda p: p.read_bytes()[: p.stat().st_size // 2])
_npz_variant("empty file", raw=lambda p: b"")
_npz_variant("no x_test", members=lambda: {k: _npy(v) for k, v in _valid_arrays().items() if k != "x_test"})
_npz_variant("x_train of Python objects", arrays=lambda: {"x_train": np.array([None] * 6, dtype=object)})
_npz_variant("x_train complex", arrays=lambda: {"x_train": np.zeros((6, 8, 150), np.complex64)})
_npz_variant("x_train strings", arrays=lambda: {"x_train": np.full((6, 8, 150), "a")})
_npz_variant("x_train rank 2", arrays=lambda: {"x_train": np.zeros((6, 150), np.float32)})
_npz_variant("x_train Fortran order", arrays=lambda: {"x_train": np.asfortranarray(np.zeros((6, 8, 150), "f4"))})
_npz_variant("y_train not one-hot", arrays=lambda: {"y_train": np.full((6, 3), 0.5, np.float32)})
_npz_variant("y_train 10⁵ classes", arrays=lambda: {"y_train": np.zeros((6, 100_000), np.uint8),
                                                      "y_test": np.zeros((6, 100_000), np.uint8)})
_npz_variant("y_train rows ≠ x_train rows", arrays=lambda: {"y_train": _onehot([0, 1], 3)})
_npz_variant("T beyond the maximum", arrays=lambda: {"x_train": np.zeros((1, MAX_FRAMES + 1, 150), np.float32),
                                                      "y_train": _onehot([0], 3),
                                                      "x_test": np.zeros((1, MAX_FRAMES + 1, 150), np.float32),
                                                      "y_test": _onehot([0], 3)})
_npz_variant("every sample NaN", arrays=lambda: {"x_train": np.full((6, 8, 150), np.nan, np.float32),
                                                  "x_test": np.full((6, 8, 150), np.inf, np.float32)})
_npz_variant("header declares 10¹² samples", members=lambda: {
    **{k: _npy(v) for k, v in _valid_arrays().items()},
    "x_train": _forged_npy((10 ** 12, 8, 150), body=b"\0" * 4800)})
_npz_variant("header not numpy", members=lambda: {
    **{k: _npy(v) for k, v in _valid_arrays().items()}, "x_train": b"\x93NUMPY\x01\x00\x10\x00{'descr': 5}    \n"})
_npz_variant("header with a huge shape tuple", members=lambda: {
    **{k: _npy(v) for k, v in _valid_arrays().items()}, "x_train": _forged_npy((2,) * 40)})


# ------------------------------------------------------------------------- npy and pickle

def _stgcn_valid(n: int = 4, t: int = 8):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3, t, 25, 2)).astype(np.float32)
    names = [f"S001C001P{i + 1:03d}R001A{i % 3 + 1:03d}.skeleton" for i in range(n)]
    labels = [i % 3 for i in range(n)]
    return x, names, labels


def _npy_variant(name: str, data: Callable[[], bytes]):
    def make(d: Path, base: Base) -> list[str]:
        x, names, labels = _stgcn_valid()
        src = d / "src_data.npy"
        src.write_bytes(data())
        pkl = d / "src_label.pkl"
        pkl.write_bytes(pickle.dumps((names, labels)))
        out = _copy_store(d, base, "out.h5")
        return _import_args(src, out, "stgcn-npy", pkl)
    VARIANTS.append(Variant("npy", name, "src_data.npy", make))


def _valid_npy() -> bytes:
    return _npy(_stgcn_valid()[0])


_npy_variant("text file", lambda: b"not numpy at all\n")
_npy_variant("empty file", lambda: b"")
_npy_variant("truncated", lambda: _valid_npy()[:-100])
_npy_variant("header declares 10¹⁵ samples", lambda: _forged_npy((10 ** 15, 3, 8, 25, 2), body=b"\0" * 4096))
_npy_variant("rank 4", lambda: _npy(np.zeros((4, 3, 8, 25), "f4")))
_npy_variant("3 bodies", lambda: _npy(np.zeros((4, 3, 8, 25, 3), "f4")))
_npy_variant("Python objects", lambda: _npy(np.array([None] * 4, dtype=object)))
_npy_variant("Fortran order", lambda: _npy(np.asfortranarray(_stgcn_valid()[0])))
_npy_variant("complex", lambda: _npy(_stgcn_valid()[0].astype(np.complex64)))
_npy_variant("T beyond the maximum", lambda: _npy(np.zeros((4, 3, MAX_FRAMES + 1, 25, 1), np.float32)))
_npy_variant("every sample NaN", lambda: _npy(np.full((4, 3, 8, 25, 2), np.nan, np.float32)))
_npy_variant("zero samples", lambda: _npy(np.zeros((0, 3, 8, 25, 2), np.float32)))


def _pickle_variant(name: str, content: Callable[[list, list], bytes]):
    def make(d: Path, base: Base) -> list[str]:
        x, names, labels = _stgcn_valid()
        src = d / "src_data.npy"
        np.save(src, x)
        pkl = d / "src_label.pkl"
        pkl.write_bytes(content(names, labels))
        out = _copy_store(d, base, "out.h5")
        return _import_args(src, out, "stgcn-npy", pkl)
    VARIANTS.append(Variant("pickle", name, "src_label.pkl", make))


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned",))


_pickle_variant("text file", lambda n, l: b"names,labels\n")
_pickle_variant("empty file", lambda n, l: b"")
_pickle_variant("runs code (__reduce__)", lambda n, l: pickle.dumps((n, [_Evil()] + l[1:])))
_pickle_variant("truncated", lambda n, l: pickle.dumps((n, l))[:-5])
_pickle_variant("one name too few", lambda n, l: pickle.dumps((n[:-1], l[:-1])))
_pickle_variant("a dict", lambda n, l: pickle.dumps({"names": n, "labels": l}))
_pickle_variant("negative label", lambda n, l: pickle.dumps((n, [-1] + l[1:])))
_pickle_variant("label 10³⁰", lambda n, l: pickle.dumps((n, [10 ** 30] + l[1:])))
_pickle_variant("label disagrees with the name", lambda n, l: pickle.dumps((n, [2] + l[1:])))
_pickle_variant("duplicate names", lambda n, l: pickle.dumps(([n[0]] * len(n), l)))
_pickle_variant("names not strings", lambda n, l: pickle.dumps((list(range(len(n))), l)))


def _shared_references(depth: int = 50) -> bytes:
    """Issue 15 item 4: ~300 bytes whose object graph has 2^depth paths ([prev, prev] per level);
    a structure check that does not remember visited objects never finishes."""
    a: list = []
    for _ in range(depth):
        a = [a, a]
    return pickle.dumps(a, protocol=4)


_pickle_variant("2^50 shared references (314 bytes)", lambda n, l: _shared_references())


# ------------------------------------------------------------------------ pyskl annotation pickles

def _pyskl_valid(n: int = 6) -> dict:
    """A valid 2-D COCO-17 pyskl pickle's content (float16 keypoints and scores, own split)."""
    rng = np.random.default_rng(2)
    anns = [{"frame_dir": f"clip_{i}", "label": i % 3, "total_frames": 4 + i,
             "keypoint": rng.random((1 + i % 2, 4 + i, 17, 2)).astype(np.float16),
             "keypoint_score": rng.random((1 + i % 2, 4 + i, 17)).astype(np.float16),
             "img_shape": (1080, 1920)} for i in range(n)]
    return {"split": {"xsub_train": [a["frame_dir"] for a in anns[:4]],
                      "xsub_val": [a["frame_dir"] for a in anns[4:]]}, "annotations": anns}


def _pyskl_variant(name: str, content: Callable[[dict], bytes]):
    def make(d: Path, base: Base) -> list[str]:
        src = d / "ann.pkl"
        src.write_bytes(content(_pyskl_valid()))
        out = _copy_store(d, base, "out.h5")
        return _import_args(src, out, "pyskl") + ["--layout", "coco17"]
    VARIANTS.append(Variant("pickle", f"pyskl: {name}", "ann.pkl", make))


def _set(doc: dict, i: int, key: str, value) -> bytes:
    if value is _DROP:
        del doc["annotations"][i][key]
    else:
        doc["annotations"][i][key] = value
    return pickle.dumps(doc)


_DROP = object()
_pyskl_variant("keypoint V = 18 for coco17", lambda d: _set(d, 1, "keypoint", np.zeros((1, 5, 18, 2), np.float16)))
_pyskl_variant("keypoint C = 3 for coco17", lambda d: _set(d, 1, "keypoint", np.zeros((1, 5, 17, 3), np.float32)))
_pyskl_variant("keypoint rank 3", lambda d: _set(d, 1, "keypoint", np.zeros((5, 17, 2), np.float32)))
_pyskl_variant("keypoint of strings", lambda d: _set(d, 1, "keypoint", [["x"]]))
_pyskl_variant("keypoint with 0 frames", lambda d: _set(d, 1, "keypoint", np.zeros((1, 0, 17, 2), np.float32)))
_pyskl_variant("label −1", lambda d: _set(d, 1, "label", -1))
_pyskl_variant("label 10⁹", lambda d: _set(d, 1, "label", 10 ** 9))
_pyskl_variant("label a float", lambda d: _set(d, 1, "label", 1.0))
_pyskl_variant("no label", lambda d: _set(d, 1, "label", _DROP))
_pyskl_variant("no keypoint", lambda d: _set(d, 1, "keypoint", _DROP))
_pyskl_variant("no frame_dir", lambda d: _set(d, 1, "frame_dir", _DROP))
_pyskl_variant("total_frames disagrees", lambda d: _set(d, 1, "total_frames", 3))
_pyskl_variant("keypoint_score of another shape", lambda d: _set(d, 1, "keypoint_score", np.zeros((1, 5, 16))))
_pyskl_variant("no annotations key", lambda d: pickle.dumps({"split": d["split"]}))
_pyskl_variant("annotations not a list", lambda d: pickle.dumps({"annotations": {"a": 1}}))
_pyskl_variant("a split name with a slash", lambda d: pickle.dumps({**d, "split": {"x/y": []}}))
_pyskl_variant("every keypoint NaN", lambda d: pickle.dumps({"annotations": [
    {**a, "keypoint": np.full(a["keypoint"].shape, np.nan, np.float32)} for a in d["annotations"]]}))
_pyskl_variant("runs code (__reduce__)", lambda d: _set(d, 1, "label", _Evil()))
_pyskl_variant("object array", lambda d: _set(d, 1, "keypoint", np.array([None, 1], dtype=object)))
_pyskl_variant("2^50 shared references (314 bytes)", lambda d: _shared_references())
_pyskl_variant("truncated", lambda d: pickle.dumps(d)[:-40])


# ---------------------------------------------------------------------------- layout kind
# Joint-layout TOML files given as `--layout FILE.toml` (here to a pyskl import): each
# malformed layout is exit 2 with one line naming the layout file, nothing written.

_GOOD_LAYOUT = """name = "five"
coords = 2
bodies = 1
joints = ["hip", "neck", "head", "hand", "foot"]
bones = [["neck", "hip"], ["head", "neck"], ["hand", "neck"], ["foot", "hip"]]
[groups]
upper = ["neck", "head", "hand"]
lower = ["hip", "foot"]
"""


def _layout_variant(name: str, text: str | bytes):
    def make(d: Path, base: Base) -> list[str]:
        lay = d / "lay.toml"
        lay.write_bytes(text if isinstance(text, bytes) else text.encode())
        src = d / "ann.pkl"
        doc = _pyskl_valid()
        for a in doc["annotations"]:  # five joints, to fit the valid layout
            a["keypoint"], a["keypoint_score"] = a["keypoint"][:, :, :5], a["keypoint_score"][:, :, :5]
        src.write_bytes(pickle.dumps(doc))
        out = _copy_store(d, base, "out.h5")
        return _import_args(src, out, "pyskl") + ["--layout", str(lay)]
    LAYOUT_VARIANTS.append(Variant("layout", name, "lay.toml", make))


def _edit(old: str, new: str) -> str:
    assert old in _GOOD_LAYOUT, old
    return _GOOD_LAYOUT.replace(old, new)


LAYOUT_VARIANTS: list[Variant] = []
_layout_variant("not TOML", "name = \n[[[")
_layout_variant("empty file", "")
_layout_variant("not UTF-8", b"\xff\xfe\x00name")
_layout_variant("larger than 1 MB", "# " + "x" * (1 << 20) + "\n" + _GOOD_LAYOUT)
_layout_variant("no joints", _edit('joints = ["hip", "neck", "head", "hand", "foot"]\n', ""))
_layout_variant("joints not a list", _edit('["hip", "neck", "head", "hand", "foot"]', "5"))
_layout_variant("coords 4", _edit("coords = 2", "coords = 4"))
_layout_variant("coords a string", _edit("coords = 2", 'coords = "2"'))
_layout_variant("bodies 0", _edit("bodies = 1", "bodies = 0"))
_layout_variant("duplicate joint", _edit('"hand", "foot"]', '"hand", "hand"]'))
_layout_variant("bone names an unknown joint", _edit('["hand", "neck"]', '["hand", "elbow"]'))
_layout_variant("bones with a cycle", _edit('["neck", "hip"]', '["neck", "head"]'))
_layout_variant("a joint without parent (two roots)", _edit(', ["foot", "hip"]', ""))
_layout_variant("a joint with two parents", _edit('["foot", "hip"]', '["foot", "hip"], ["foot", "neck"]'))
_layout_variant("bone not a pair", _edit('["foot", "hip"]', '["foot"]'))
_layout_variant("group names an unknown joint", _edit('lower = ["hip", "foot"]', 'lower = ["hip", "toe"]'))
_layout_variant("group covering no joint", _edit('lower = ["hip", "foot"]', "lower = []"))
_layout_variant("no groups", _GOOD_LAYOUT.split("[groups]")[0])
_layout_variant("composite of an unknown group", _GOOD_LAYOUT + "[composites]\nall = [\"upper\", \"middle\"]\n")
_layout_variant("unknown key", "colour = 3\n" + _GOOD_LAYOUT)
_layout_variant("absurd nesting", "x = " + "[" * 5000 + "]" * 5000 + "\n" + _GOOD_LAYOUT)
_layout_variant("centre not a joint", _edit("bodies = 1", 'bodies = 1\ncentre = "belly"'))
VARIANTS.extend(LAYOUT_VARIANTS)

KINDS = ("store", "run", "config", "groups", "diagnosis", "skeleton", "npz", "npy", "pickle", "layout")
