"""Train the shared LSTM_cell and densor, fused (default) or through the unrolled djmodel.

Batches come from `dataset.tf_dataset`: window offsets expanded into one-hots and
conditioning vectors inside the graph. The fused path runs the same weights over the whole
window as one sequence layer; the unrolled djmodel spends most of its time building Tx
copies of the graph. Both end with the weights of the best validation epoch in LSTM_cell
and densor, ready for music_inference_model and ONNX export.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass

from .model import import_tensorflow_quietly

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from .dataset import Dataset, tf_dataset  # noqa: E402
from .model import djmodel, fused_model, make_layers, sync_back  # noqa: E402

# Defaults for the real corpus (WJazzD: ~190k notes, 420 solos), from a sweep on a third of
# it (val loss/token, best epoch kept): lr 0.003 / batch 32 / dropout 0.3 gave 3.382 against
# 3.390-3.413 for lr 0.01 with dropout 0-0.4 and batch 32-64, and learnt without jumps.
LEARNING_RATE = 0.003  # Adam step size: higher learns faster, too high overfits sooner
BATCH_SIZE = 32  # windows per step: smaller gives more (noisier) steps per epoch
DROPOUT = 0.3  # on the LSTM input while training: more fights overfitting a small corpus
EPOCHS = 100  # passes over the training windows (the best validation epoch is kept)
SCORE_BATCH = 256  # windows per batch when scoring (no gradients: larger is fine)


@dataclass
class TrainResult:
    """The trained layers and how the training went."""

    LSTM_cell: keras.layers.LSTM
    densor: keras.layers.Dense
    reshaper: keras.layers.Reshape
    first_epoch_s: float  # includes graph building/tracing
    total_s: float
    final_loss: float  # mean cross-entropy per token on the training windows, last epoch
    best_epoch: int  # the epoch whose weights were kept (lowest validation loss)
    best_val_loss: float
    epoch_times: list[float]  # seconds since fit() began, at the end of each epoch
    losses: list[float]  # training loss per token, each epoch
    hyperparameters: dict  # what this run used, for the model's metadata
    peak_rss_mb: float  # the process's peak resident memory at the end of training


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class EpochPrinter(keras.callbacks.Callback):
    """One line per epoch on stderr, and the weights of the best validation epoch.

    A small corpus overfits long before the last epoch; keeping the epoch with the lowest
    held-out loss gives the model that generalises, whatever --epochs says.
    """

    def __init__(self, epochs: int, tx: int, per_output_sum: bool, layers_: list,
                 verbose: bool) -> None:
        super().__init__()
        self.epochs, self.tx, self.per_output_sum = epochs, tx, per_output_sum
        self.layers_, self.verbose = layers_, verbose
        self.start = self.epoch_start = time.perf_counter()
        self.epoch_times: list[float] = []
        self.best_val, self.best_epoch, self.best_weights = float("inf"), 0, None
        self.losses: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.epoch_times.append(now - self.start)
        logs = logs or {}
        scale = 1 / self.tx if self.per_output_sum else 1.0
        loss = logs.get("loss", float("nan")) * scale
        val = logs.get("val_loss", float("nan")) * scale
        self.losses.append(loss)
        if val < self.best_val:
            self.best_val, self.best_epoch = val, epoch + 1
            self.best_weights = [layer.get_weights() for layer in self.layers_]
        if self.verbose:
            # the first epoch includes tracing: later ones predict the rest better
            per_epoch = (self.epoch_times[-1] - self.epoch_times[0]) / epoch if epoch else (
                now - self.epoch_start)
            eta = per_epoch * (self.epochs - epoch - 1)
            best = " *" if self.best_epoch == epoch + 1 else ""
            print(f"epoch {epoch + 1:>4}/{self.epochs}  train {loss:.4f}  val {val:.4f}{best:2}  "
                  f"{now - self.epoch_start:6.1f} s  ETA {_clock(eta)}", file=sys.stderr,
                  flush=True)

    def restore_best(self) -> None:
        if self.best_weights is not None:
            for layer, weights in zip(self.layers_, self.best_weights, strict=True):
                layer.set_weights(weights)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(ds: Dataset, n_values: int, n_a: int, epochs: int = EPOCHS, unrolled: bool = False,
          seed: int = 0, verbose: bool = True, lr: float | None = None,
          batch_size: int | None = None, dropout: float | None = None) -> TrainResult:
    """Train from a fresh initialisation; deterministic for a given seed on one machine.

    `lr`, `batch_size` and `dropout` default (None) to LEARNING_RATE, BATCH_SIZE, DROPOUT.
    """
    lr = LEARNING_RATE if lr is None else lr
    bs = BATCH_SIZE if batch_size is None else batch_size
    p = DROPOUT if dropout is None else dropout
    keras.utils.set_random_seed(seed)
    LSTM_cell, densor, reshaper = make_layers(n_values, n_a, dropout=p)
    tx = ds.tx
    train_data = tf_dataset(ds, ds.train_starts, bs, n_a, training=True, unrolled=unrolled,
                            seed=seed)
    val_data = tf_dataset(ds, ds.val_starts, SCORE_BATCH, n_a, training=False,
                          unrolled=unrolled)
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    if unrolled:
        model = djmodel(tx, LSTM_cell, densor, reshaper)
        printer = EpochPrinter(epochs, tx, True, [LSTM_cell, densor], verbose)
    else:
        model, seq = fused_model(tx, LSTM_cell, densor)
        printer = EpochPrinter(epochs, tx, False, [seq, densor], verbose)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(train_data, epochs=epochs, verbose=0, validation_data=val_data, shuffle=False,
              callbacks=[printer])  # tf_dataset reshuffles the training windows itself
    printer.restore_best()
    if not unrolled:
        sync_back(seq, LSTM_cell)
    hyper = {"n_a": n_a, "tx": tx, "lr": lr, "batch_size": bs, "dropout": p, "epochs": epochs,
             "best_epoch": printer.best_epoch, "unrolled": unrolled, "seed": seed}
    return TrainResult(LSTM_cell, densor, reshaper, printer.epoch_times[0],
                       printer.epoch_times[-1], printer.losses[-1], printer.best_epoch,
                       printer.best_val, printer.epoch_times, printer.losses, hyper,
                       peak_rss_mb())


def score_windows(LSTM_cell: keras.layers.LSTM, densor: keras.layers.Dense, ds: Dataset,
                  starts: np.ndarray, chords: str = "real") -> tuple[np.ndarray, np.ndarray]:
    """Per-token NLL (nats) and argmax hits [m, Tx] of windows, each from a zero state,
    hearing the `chords` of dataset.tf_dataset ("real", "key" or "none").

    Batch by batch: the [m, Tx, n_values] probabilities never exist all at once.
    """
    model, _ = fused_model(ds.tx, LSTM_cell, densor)
    nll, hits = [], []
    for inputs, Y in tf_dataset(ds, starts, SCORE_BATCH, LSTM_cell.units, training=False,
                                chords=chords):
        probs = np.asarray(model(inputs, training=False))  # [B, Tx, n_values]
        y = Y.numpy()  # [B, Tx]
        p = np.take_along_axis(probs, y[..., None], -1)[..., 0]  # [B, Tx]
        nll.append(-np.log(np.clip(p, 1e-12, 1.0)))
        hits.append(probs.argmax(-1) == y)
    if not nll:
        return np.zeros((0, ds.tx)), np.zeros((0, ds.tx), bool)
    return np.concatenate(nll), np.concatenate(hits)


def window_count_note(ds: Dataset) -> str:
    """How big the data is, for the log."""
    tokens = int(sum(s.stop - s.start for s in ds.train))
    return (f"{len(ds.train_starts)} train windows ({len(ds.train)} solos, {tokens} tokens), "
            f"{len(ds.val_starts)} validation windows ({len(ds.val)} solos)")

