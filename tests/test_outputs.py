"""The output-ownership rule (tdf.outputs, issue 15): markers, refusals, staged replacement,
locks, leftovers of killed writers, and the umask's modes (issue 14) — without TensorFlow."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tdf import outputs
from tdf.atomic import temp_dir_in, write_text
from tdf.errors import BadInput
from tdf.outputs import MARKER, OutputFolder, final_path, output_folder, recognise


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes (None for folders) under `folder`, by relative path."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def make_diagnosis(folder: Path, text: str = "old") -> Path:
    with output_folder(folder, "diagnosis") as work:
        (work / "diagnosis.json").write_text(json.dumps({"schema": 1, "groups": [], "text": text}))
        (work / "report.html").write_text(text)
    return folder


def test_new_output_is_marked_and_staged(tmp_path):
    out = tmp_path / "sub" / "diag"
    with output_folder(out, "diagnosis") as work:
        assert work != out and work.parent == out.parent and work.name.startswith(".diag.tdf-new-")
        assert not out.exists()  # nothing at the target until the output is complete
        assert final_path(work / "x.png") == out.resolve() / "x.png"
        (work / "diagnosis.json").write_text("{}")
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "diagnosis" and marker["tdf"]
    assert recognise(out) == "diagnosis"
    assert sorted(p.name for p in tmp_path.joinpath("sub").iterdir()) == ["diag"]  # no lock, no staging left
    assert final_path(work / "x.png") == (work / "x.png").resolve()  # the mapping ends with the block


def test_user_folder_is_refused_with_or_without_force(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    (user / "metrics.json").write_text("{}")
    before = tree(user)
    for force in (False, True):
        with pytest.raises(BadInput, match="did not write"):
            with output_folder(user, "diagnosis", force=force) as work:
                (work / "diagnosis.json").write_text("{}")
    assert tree(user) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_other_kind_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"config": {}, "kind": "res_tcn"}))
    (run / "model.keras").write_bytes(b"model")
    before = tree(run)
    with pytest.raises(BadInput, match="holds a tdf run, not a diagnosis"):
        with output_folder(run, "diagnosis", force=True):
            pass
    assert tree(run) == before


def test_same_kind_needs_force_and_is_replaced_whole(tmp_path):
    out = make_diagnosis(tmp_path / "d")
    (out / "stale.png").write_bytes(b"old picture")
    with pytest.raises(BadInput, match="--force"):
        with output_folder(out, "diagnosis"):
            pass
    assert (out / "report.html").read_text() == "old"
    make_diagnosis_force = output_folder(out, "diagnosis", force=True)
    with make_diagnosis_force as work:
        (work / "diagnosis.json").write_text(json.dumps({"schema": 1, "groups": []}))
        (work / "report.html").write_text("new")
    assert (out / "report.html").read_text() == "new"
    assert not (out / "stale.png").exists()  # nothing of the old output survives beside the new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("exchange", [True, False])
def test_failed_replacement_leaves_the_old_output(tmp_path, monkeypatch, exchange):
    if not exchange:  # the two-rename fallback where renameat2 is missing
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    out = make_diagnosis(tmp_path / "d")
    before = tree(out)
    with pytest.raises(RuntimeError):
        with output_folder(out, "diagnosis", force=True) as work:
            (work / "report.html").write_text("half")
            raise RuntimeError("killed halfway")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    with output_folder(out, "diagnosis", force=True) as work:
        (work / "diagnosis.json").write_text(json.dumps({"schema": 1, "groups": []}))
        (work / "report.html").write_text("new")
    assert (out / "report.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_in_place_output_that_fails_at_once_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(BadInput):
        with OutputFolder(out, "run") as folder:
            assert folder.create(in_place=True) == out.resolve()
            assert (out / MARKER).is_file()
            raise BadInput("bad data")
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput):
        with OutputFolder(empty, "run") as folder:
            folder.create(in_place=True)
            raise BadInput("bad data")
    assert empty.is_dir() and not any(empty.iterdir())
    # one that got further stays, to be resumed
    with pytest.raises(KeyboardInterrupt):
        with OutputFolder(out, "run") as folder:
            work = folder.create(in_place=True)
            (work / "run.json").write_text(json.dumps({"config": {}, "status": "training"}))
            raise KeyboardInterrupt
    assert recognise(out) == "run"


def test_second_writer_fails_at_once(tmp_path):
    out = tmp_path / "d"
    with output_folder(out, "diagnosis") as work:
        assert (tmp_path / ".d.tdf-lock").is_file()
        with pytest.raises(BadInput, match="another tdf process is writing"):
            with output_folder(out, "diagnosis", force=True):
                pass
        (work / "diagnosis.json").write_text("{}")
    assert not (tmp_path / ".d.tdf-lock").exists()
    assert (out / "diagnosis.json").is_file()


def test_leftovers_of_a_killed_writer_are_cleaned(tmp_path):
    out = make_diagnosis(tmp_path / "d")
    stale = temp_dir_in(tmp_path, ".d.tdf-new-")
    (stale / "half.png").write_bytes(b"x")
    (tmp_path / ".d.tdf-lock").write_text("12345\n")  # left by SIGKILL: not locked any more
    with output_folder(out, "diagnosis", force=True) as work:
        (work / "diagnosis.json").write_text(json.dumps({"schema": 1, "groups": []}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    # killed between the two renames of the fallback swap: the old output is put back
    os.replace(out, tmp_path / ".d.tdf-old-abc")
    with pytest.raises(BadInput, match="--force"):
        with output_folder(out, "diagnosis"):
            pass
    assert (out / "diagnosis.json").is_file()


def test_outputs_written_by_older_tdf_are_recognised(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"config": {}, "kind": "ms_res_tcn"}))
    assert recognise(run) == "fix"
    (run / "run.json").write_text(json.dumps({"config": {}}))
    assert recognise(run) == "run"
    diag = tmp_path / "diag"
    diag.mkdir()
    (diag / "diagnosis.json").write_text(json.dumps({"schema": 1, "groups": []}))
    assert recognise(diag) == "diagnosis"
    loop = tmp_path / "loop"
    (loop / "baseline").mkdir(parents=True)
    (loop / "baseline" / "run.json").write_text("{}")
    assert recognise(loop) == "loop"
    ev = tmp_path / "ev"
    ev.mkdir()
    for name in ("metrics-val.json", "predictions-val.npz", "confusion-val.png"):
        (ev / name).write_text("x")
    assert recognise(ev) == "evaluation"
    (ev / "notes.txt").write_text("mine")
    assert recognise(ev) is None
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "run.json").write_text("[1, 2]")
    assert recognise(junk) is None
    (junk / MARKER).write_text('{"kind": "nonsense"}')
    assert recognise(junk) is None


def test_an_output_holding_an_input_is_never_replaced(tmp_path):
    out = make_diagnosis(tmp_path / "d")
    (out / "data.h5").write_bytes(b"the data")
    with pytest.raises(BadInput, match="which this command reads"):
        with OutputFolder(out, "diagnosis", inputs=[out / "data.h5"]) as folder:
            folder.create(force=True)
    assert (out / "data.h5").read_bytes() == b"the data"


def test_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in (".", tmp_path, tmp_path.parent):
        with pytest.raises(BadInput, match="current folder"):
            with output_folder(target, "diagnosis"):
                pass
    assert not any(tmp_path.iterdir())


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "f").write_text("mine")
    with pytest.raises(BadInput, match="is a file"):
        with output_folder(tmp_path / "f", "evaluation", force=True):
            pass
    assert (tmp_path / "f").read_text() == "mine"


def test_nested_staging_maps_to_the_final_path(tmp_path):
    with output_folder(tmp_path / "loop", "loop") as work:
        (work / "loop.json").write_text("{}")
    # a forced loop: the stages inside the staged loop record the loop's final paths
    with output_folder(tmp_path / "loop", "loop", force=True) as work:
        with output_folder(work / "diagnosis", "diagnosis") as inner:
            assert inner.parent == work
            want = (tmp_path / "loop" / "diagnosis" / "report.html").resolve()
            assert final_path(inner / "report.html") == want


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_modes_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with output_folder(tmp_path / "d", "diagnosis") as work:
            write_text(work / "report.html", "x")
            (work / "pictures").mkdir()
            write_text(work / "pictures" / "a.png", "x")
    finally:
        os.umask(old)
    for p in [tmp_path / "d", *(tmp_path / "d").rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert mode == want, f"{p}: {oct(mode)} ≠ {oct(want)}"


def test_no_output_inside_another_output(tmp_path):
    run = tmp_path / "run"
    with OutputFolder(run, "run") as folder:
        work = folder.create(in_place=True)
        (work / "run.json").write_text(json.dumps({"config": {}}))
        # the command writing the run may put its own parts inside it
        with output_folder(work / "part", "evaluation") as inner:
            (inner / "metrics.json").write_text("{}")
    before = tree(run)
    with pytest.raises(BadInput, match="a tdf run; tdf does not write one output inside another"):
        with output_folder(run / "diag", "diagnosis"):
            pass
    with pytest.raises(BadInput, match="inside"):
        with output_folder(run / "checkpoints" / "x", "evaluation"):
            pass
    assert tree(run) == before
    # evaluate owns RUN/evaluations/
    with output_folder(run / "evaluations" / "other-0123", "evaluation") as work:
        (work / "metrics.json").write_text("{}")
    assert recognise(run / "evaluations" / "other-0123") == "evaluation"
