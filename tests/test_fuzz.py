"""Fuzz suite, fast part: every malformed input of tests/fuzz_variants.py, run through the CLI
in-process, must give exit 2, exactly one stderr line naming the file, no traceback, and leave
every file that existed before byte-identical (nothing deleted, nothing left behind).
The long part (real processes, hostile sizes, peak memory) is bench/fuzz_inputs.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzz_variants import KINDS, SKELETON, VARIANTS, Base, Variant
from toy_data import train_tiny_run


def skeleton_text(frames: int = 20) -> bytes:
    """A valid .skeleton file: one upright body (bodyID 72057594037932219) for `frames` frames."""
    lines = [str(frames)]
    for t in range(frames):
        lines += ["1", "72057594037932219 0 1 1 1 1 0 0.01 0.02 2", "25"]
        for j in range(25):
            x, y, z = -0.2 + 0.4 * j / 24 + 0.01 * t, -0.7 + 1.5 * j / 24, 3.0
            lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.5 200.25 1000.5 500.25 0.5 0.1 0.2 0.3 2")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("fuzz_base")
    run = train_tiny_run(root, classes=3, per_class=16, epochs=1)
    return Base(store=root / "toy.h5", run=run, skeleton=skeleton_text())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def check_variant(v: Variant, d: Path, base: Base, invoke) -> str:
    """Run one variant; assert the contract; return the error line."""
    args = v.make(d, base)
    before = snapshot(d)
    r = invoke("--quiet", *args)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2, f"{v.id}: exit {r.exit_code}, stderr {r.stderr[-500:]!r}"
    assert len(lines) == 1, f"{v.id}: {len(lines)} stderr lines: {r.stderr[:800]!r}"
    line = lines[0]
    assert line.startswith("tdf: error: "), f"{v.id}: {line[:300]!r}"
    assert v.file in line, f"{v.id}: the line does not name {v.file}: {line[:300]!r}"
    assert "Traceback" not in r.stderr and len(line) < 600, f"{v.id}: {line[:300]!r}…"
    after = snapshot(d)
    assert sorted(after) == sorted(before), f"{v.id}: files changed: {set(after) ^ set(before)}"
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, f"{v.id}: modified {changed}"
    return line


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_inputs_of_each_kind(kind, base, tmp_path, invoke):
    """Each kind's whole table in one test (one trained run shared by all of them)."""
    variants = [v for v in VARIANTS if v.kind == kind]
    assert len(variants) >= 8, f"too few {kind} variants"
    base_before = snapshot(base.run.parent)
    failures = []
    for i, v in enumerate(variants):
        d = tmp_path / f"v{i:03d}"
        d.mkdir()
        try:
            check_variant(v, d, base, invoke)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
    assert not failures, f"{len(failures)} of {len(variants)} {kind} variants break the contract:\n" + \
        "\n".join(failures)
    assert snapshot(base.run.parent) == base_before, "the shared valid inputs were modified"


def test_every_variant_has_a_unique_id():
    ids = [v.id for v in VARIANTS]
    assert len(ids) == len(set(ids))
    assert {v.kind for v in VARIANTS} == set(KINDS)


def test_skeleton_variants_are_skipped_and_reported_without_strict(base, tmp_path, invoke):
    """Without --strict a bad .skeleton is not fatal: the others are converted, the bad one is
    listed with its line and a short reason (never a 5 MB line copied into the summary)."""
    for i, v in enumerate(x for x in VARIANTS if x.kind == "skeleton"):
        d = tmp_path / f"s{i:02d}"
        d.mkdir()
        args = [a for a in v.make(d, base) if a != "--strict"]
        r = invoke("--quiet", "--json", *args)
        assert r.exit_code == 0, f"{v.id}: {r.stderr[-400:]}"
        doc = json.loads(r.stdout)
        assert doc["converted"] == 1, v.id
        assert [m["name"] for m in doc["malformed"]] == [SKELETON[:-9]], v.id
        reason = doc["malformed"][0]["reason"]
        assert len(reason) < 300 and len(r.stdout) < 5000, f"{v.id}: {reason[:200]!r}"


def test_nan_store_never_trains_and_keeps_the_old_run(base, tmp_path, invoke):
    """Issue 15 item 7: a NaN in a row the open-time sample misses is found before training,
    named, and the run that --force would replace is untouched."""
    v = next(x for x in VARIANTS if x.id == "store:NaN in an unsampled row (train)")
    line = check_variant(v, tmp_path, base, invoke)
    import h5py
    with h5py.File(tmp_path / "data.h5") as f:
        name = f["name"][5].decode()
    assert name in line and "NaN or infinite" in line


def test_evaluate_refuses_nan_instead_of_scoring_class_0(base, tmp_path, invoke):
    v = next(x for x in VARIANTS if x.id == "store:NaN in a test sample (evaluate)")
    line = check_variant(v, tmp_path, base, invoke)
    assert "NaN or infinite" in line and not (tmp_path / "eval").exists()


@pytest.mark.parametrize("content", ["{", json.dumps({"n": "5", "top1": "high", "per_class_accuracy": [],
                                                     "confusion_matrix": 3}), "[" * 100_000])
def test_a_broken_metrics_json_is_recomputed_not_trusted(base, tmp_path, content):
    """A run's metrics.json that is not JSON or has fields of the wrong type is not used (the
    run's own test split is evaluated again, in memory), so it cannot break a fix after training."""
    import shutil
    from tdf.train.evaluate import read_own_metrics
    from tdf.run_folder import read_run_json
    run = tmp_path / "run"
    shutil.copytree(base.run, run)
    info = read_run_json(run)
    assert read_own_metrics(run, info)[0] is not None
    (run / "metrics.json").write_text(content)
    m, why = read_own_metrics(run, info)
    assert m is None and "metrics.json" in why
