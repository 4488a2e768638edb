"""The training loop's Keras callbacks and its history file: per-step progress on stderr, and the
loop state (LR plateau or cosine schedule, early stopping, best weights, history.csv and the
per-epoch checkpoint) kept in one dict that the checkpoint saves, so resume restores it exactly."""

from __future__ import annotations

import io
import math
import os
import time

from tdf.atomic import atomic_path, write_text
from tdf.console import Output
from tdf.run_folder import RunPaths
from tdf.train.checkpoint import save_checkpoint
from tdf.train_config import TrainConfig
from tdf.train.determinism import reseed_epoch

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_s")


def history_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    buf.write(",".join(HISTORY_COLUMNS) + "\n")
    for r in rows:
        buf.write(",".join("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]))
                           for c in HISTORY_COLUMNS) + "\n")
    return buf.getvalue()


def progress_callback(output: Output, cfg: TrainConfig, steps: int, batch_size: int):
    import keras

    class RichProgress(keras.callbacks.Callback):
        """Per-step progress on stderr: loss, accuracy, lr, samples/s."""

        def __init__(self):
            super().__init__()
            self.progress = None
            self.task = None

        def on_train_begin(self, logs=None):
            self._cm = output.progress()
            self.progress = self._cm.__enter__()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.task = self.progress.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps, info="")

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            dt = max(time.perf_counter() - self.t0, 1e-9)
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.progress.update(self.task, completed=batch + 1, info=(
                f"loss {logs.get('loss', float('nan')):.4f} acc {logs.get('accuracy', float('nan')):.3f} "
                f"lr {lr:.0e} {(batch + 1) * batch_size / dt:.0f} samples/s"))

        def on_epoch_end(self, epoch, logs=None):
            self.progress.remove_task(self.task)

        def on_train_end(self, logs=None):
            self._cm.__exit__(None, None, None)

    return RichProgress()


def loop_callback(paths: RunPaths, cfg: TrainConfig, state: dict, train_batches, n_train: int,
                   has_val: bool, output: Output):
    import keras

    class LoopState(keras.callbacks.Callback):
        """LR plateau schedule, early stopping, best weights, history and checkpoints — with all
        their state in one dict that the checkpoint saves, so resume restores it exactly."""

        def on_epoch_begin(self, epoch, logs=None):
            reseed_epoch(self.model, cfg.seed, epoch)
            train_batches.set_epoch(epoch)
            if cfg.lr_schedule == "cosine":  # a function of the epoch alone: resume-safe
                state["lr"] = cosine_lr(cfg.lr, epoch, cfg.epochs)
            self.model.optimizer.learning_rate.assign(state["lr"])
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            seconds = time.perf_counter() - self.t0
            row = {"epoch": epoch + 1, "loss": float(logs.get("loss", math.nan)),
                   "accuracy": float(logs.get("accuracy", math.nan)),
                   "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                   "val_accuracy": float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                   "lr": float(state["lr"]), "seconds": round(seconds, 3),
                   "samples_per_s": round(n_train / max(seconds, 1e-9), 1)}
            state["history"].append(row)
            monitor = row["val_loss"] if has_val else row["loss"]
            counted = monitor is not None  # with --val-every N, only validated epochs count
            if counted and monitor < state["best"] - 1e-6:
                state["best"], state["best_epoch"] = float(monitor), epoch + 1
                state["wait"], state["es_wait"] = 0, 0
                if cfg.early_stop:
                    with atomic_path(paths.best, force=True) as tmp:
                        best_tmp = tmp.with_name(tmp.name + ".weights.h5")
                        self.model.save_weights(best_tmp)
                        os.replace(best_tmp, tmp)
            elif counted:
                state["wait"] += 1
                state["es_wait"] += 1
            lr_changed = (cfg.lr_schedule == "plateau" and state["wait"] >= cfg.patience
                          and state["lr"] > cfg.min_lr * (1 + 1e-9))
            if lr_changed:  # takes effect from the next epoch (on_epoch_begin assigns it)
                state["lr"] = max(state["lr"] / 10.0, cfg.min_lr)
                state["wait"] = 0
            if cfg.early_stop and state["es_wait"] >= cfg.early_stop:
                state["stopped_early"] = True
                self.model.stop_training = True
            state["epoch"] = epoch + 1
            history = history_csv(state["history"])
            save_checkpoint(paths.checkpoints, epoch + 1, self.model, state, history)
            write_text(paths.history, history)
            val = "" if row["val_loss"] is None else f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.3f}"
            output.log(f"epoch {epoch + 1}/{cfg.epochs}  loss {row['loss']:.4f}  acc {row['accuracy']:.3f}"
                       f"{val}  lr {row['lr']:.0e}  {row['samples_per_s']:.0f} samples/s")
            if lr_changed:  # logged after the epoch it follows, naming the epoch it applies to
                watched = "val_loss" if has_val else "training loss"
                output.log(f"  learning rate → {state['lr']:.0e} from epoch {epoch + 2} (no {watched} "
                           f"improvement for {cfg.patience} epoch{'s' if cfg.patience > 1 else ''})")

    return LoopState()


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The cosine schedule: lr · ½(1 + cos(π · epoch / epochs)) for 0-based `epoch`."""
    return float(lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1))))
