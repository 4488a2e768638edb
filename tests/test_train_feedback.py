"""What training tells the user: the learning-rate log agrees with history.csv (issue 14 item 6),
an empty validation part is warned about with what the schedule then watches (item 5), and
`--tensorboard DIR` writes loss, accuracy and learning rate per epoch (last bullet)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from toy_data import TINY, make_toy_store
from tdf.data.store import Sample, StoreWriter


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_store(tmp_path_factory.mktemp("toy") / "toy.h5", classes=3, per_class=12, frames=16)


def test_lr_log_names_the_epoch_history_shows(toy, tmp_path, invoke):
    """A high LR and patience 1 make the plateau schedule fire several times; every "learning
    rate → v from epoch k" line must follow epoch k−1's line and match history.csv's lr of epoch k
    (the bug: the line came before epoch k−1's line, one epoch early)."""
    run = tmp_path / "run"
    r = invoke("train", toy, "--out", run, "--epochs", "6", "--patience", "1", "--lr", "0.5", "--seed", "0", *TINY)
    assert r.exit_code == 0, r.stderr
    history = {int(row["epoch"]): float(row["lr"]) for row in csv.DictReader(open(run / "history.csv"))}
    lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip().startswith(("epoch ", "learning rate"))]
    changes = 0
    for prev, line in zip(lines, lines[1:]):
        m = re.match(r"learning rate → (\S+) from epoch (\d+)", line)
        if not m:
            continue
        changes += 1
        lr, epoch = float(m.group(1)), int(m.group(2))
        assert prev.startswith(f"epoch {epoch - 1}/"), (prev, line)
        if epoch in history:
            assert history[epoch] == pytest.approx(lr), (line, history)
            assert lr == pytest.approx(max(history[epoch - 1] / 10, 1e-4)), (line, history)  # floor 1e-4
    assert changes >= 2, r.stderr
    logged = {int(m.group(1)): float(m.group(2)) for m in
              re.finditer(r"epoch (\d+)/\d+ .* lr (\S+)", r.stderr)}
    assert logged == pytest.approx(history)


def one_per_class_store(path, classes: int = 6, frames: int = 12):
    """Each class has exactly one training sample (subjects 1 and 3 train, 3 tests under xsub)."""
    rng = np.random.default_rng(0)
    with StoreWriter(path, frames, [f"c{i}" for i in range(classes)], source="test",
                     attrs={"default_split": "xsub"}) as w:
        for c in range(classes):
            for subject in (1, 3):
                x = rng.normal(0, 0.1, size=(frames, 2, 25, 3)).astype(np.float32)
                w.append(Sample(x, c, f"S001C001P{subject:03d}R001A{c + 1:03d}", subject=subject,
                                camera=1, setup=1, replication=1))
    return path


def test_empty_validation_part_is_warned_about(tmp_path, invoke):
    data = one_per_class_store(tmp_path / "d.h5")
    r = invoke("train", data, "--out", tmp_path / "run", "--epochs", "2", "--early-stop", "3", *TINY)
    assert r.exit_code == 0, r.stderr
    text = " ".join(r.stderr.split())
    assert "warning: no validation data: each class has at most one training sample" in text
    assert "The LR schedule (÷10 after 10 epochs without improvement) and early stopping (after 3) " \
           "will watch the training loss instead" in text
    # the control: with validation data there is no such warning
    r = invoke("train", make_toy_store(tmp_path / "t.h5", classes=3, per_class=12), "--out", tmp_path / "r2",
               "--epochs", "1", *TINY)
    assert r.exit_code == 0 and "no validation data" not in r.stderr


def test_tensorboard_event_files_hold_loss_accuracy_and_lr(toy, tmp_path, invoke):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tb = tmp_path / "tb"
    run = tmp_path / "run"
    r = invoke("--quiet", "train", toy, "--out", run, "--epochs", "3", "--tensorboard", tb, *TINY)
    assert r.exit_code == 0, r.stderr
    history = list(csv.DictReader(open(run / "history.csv")))

    def scalars(part):
        acc = EventAccumulator(str(tb / part), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags = acc.Tags()
        out = {}
        for tag in tags["tensors"]:
            out[tag] = [(e.step, float(np.asarray(__import__("tensorflow").make_ndarray(e.tensor_proto))))
                        for e in acc.Tensors(tag)]
        for tag in tags["scalars"]:
            out[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
        return out

    train, val = scalars("train"), scalars("validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert {"epoch_loss", "epoch_accuracy"} <= set(val)
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    for (step, loss), (_, lr), row in zip(train["epoch_loss"], train["epoch_learning_rate"], history):
        assert loss == pytest.approx(float(row["loss"]), rel=1e-4)
        assert lr == pytest.approx(float(row["lr"]))
    for (_, vl), row in zip(val["epoch_loss"], history):
        assert vl == pytest.approx(float(row["val_loss"]), rel=1e-4)


def test_val_every_validates_every_nth_epoch_and_counts_validations(toy, tmp_path, invoke):
    """`--val-every 2`: validation after epochs 2 and 4 only (history.csv's val cells are empty
    for 1 and 3), the best epoch is a validated one, and run.json records the setting."""
    import json
    run = tmp_path / "run"
    r = invoke("train", toy, "--out", run, "--epochs", "4", "--val-every", "2", "--seed", "0", *TINY)
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [bool(row["val_loss"]) for row in rows] == [False, True, False, True]
    info = json.loads((run / "run.json").read_text())
    assert info["config"]["val_every"] == 2 and info["best_epoch"] in (2, 4)
    assert invoke("train", toy, "--out", tmp_path / "bad", "--val-every", "0", *TINY).exit_code == 2


def test_plateau_and_early_stop_count_validations_not_epochs(tmp_path):
    """The loop state only moves on validated epochs: an epoch without val_loss neither improves
    nor waits. Driven by hand with the logs Keras passes (validation after epochs 1, 3, 5, 7)."""
    import keras

    from tdf.console import Output
    from tdf.run_folder import RunPaths
    from tdf.train.callbacks import loop_callback
    from tdf.train_config import TrainConfig
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    cfg = TrainConfig(patience=2, early_stop=3, lr=0.1)
    state = {"epoch": 0, "lr": 0.1, "best": float("inf"), "best_epoch": 0, "wait": 0, "es_wait": 0,
             "stopped_early": False, "history": []}
    cb = loop_callback(RunPaths(tmp_path / "run"), cfg, state, None, 10, True, Output(quiet=True))
    cb.set_model(model)
    val = {1: 1.0, 3: 1.5, 5: 1.6, 7: 1.7}
    seen = []
    for epoch in range(1, 8):
        cb.t0 = 0.0
        logs = {"loss": 0.5, "accuracy": 0.5}
        if epoch in val:
            logs.update(val_loss=val[epoch], val_accuracy=0.5)
        cb.on_epoch_end(epoch - 1, logs)
        seen.append((state["wait"], state["es_wait"], state["lr"], model.stop_training))
    assert state["best_epoch"] == 1
    # waits move on epochs 3 and 5 only; the LR drops after epoch 5 (the 2nd validation without
    # improvement), early stopping fires after epoch 7 (the 3rd)
    assert [s[1] for s in seen] == [0, 0, 1, 1, 2, 2, 3]
    assert [s[2] for s in seen] == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])
    assert [s[3] for s in seen] == [False] * 6 + [True]
