"""Train the shared LSTM_cell and densor, fused (default) or through the unrolled djmodel.

The fused path runs the same weights over the whole window as one sequence layer: the
unrolled djmodel spends most of its time building Tx copies of the graph. Both end with the
weights in LSTM_cell and densor, ready for music_inference_model and ONNX export.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from .dataset import Dataset
from .model import djmodel, fused_model, make_layers, sync_back

learning_rate = 0.01  # Adam step size, as in the seed
batch_size = 32  # Keras's default, as in the seed
epochs = 100  # passes over the training windows


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


class EpochPrinter(keras.callbacks.Callback):
    """Progress every few epochs on stderr, and the weights of the best validation epoch.

    A small corpus overfits long before the seed's 100 epochs; keeping the epoch with the
    lowest held-out loss gives the model that generalises, whatever --epochs says.
    """

    def __init__(self, epochs: int, tx: int, per_output_sum: bool, layers_: list,
                 verbose: bool) -> None:
        super().__init__()
        self.epochs, self.tx, self.per_output_sum = epochs, tx, per_output_sum
        self.layers_, self.verbose = layers_, verbose
        self.every = max(1, epochs // 20)
        self.start = time.perf_counter()
        self.epoch_times: list[float] = []
        self.best_val, self.best_epoch, self.best_weights = float("inf"), 0, None
        self.losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_times.append(time.perf_counter() - self.start)
        logs = logs or {}
        scale = 1 / self.tx if self.per_output_sum else 1.0
        loss = logs.get("loss", float("nan")) * scale
        val = logs.get("val_loss", float("nan")) * scale
        self.losses.append(loss)
        if val < self.best_val:
            self.best_val, self.best_epoch = val, epoch + 1
            self.best_weights = [layer.get_weights() for layer in self.layers_]
        if self.verbose and ((epoch + 1) % self.every == 0 or epoch == 0
                             or epoch + 1 == self.epochs):
            print(f"epoch {epoch + 1:>4}/{self.epochs}  loss/token {loss:.4f}  "
                  f"val {val:.4f}  {self.epoch_times[-1]:6.1f} s", file=sys.stderr, flush=True)

    def restore_best(self) -> None:
        if self.best_weights is not None:
            for layer, weights in zip(self.layers_, self.best_weights, strict=True):
                layer.set_weights(weights)


def train(ds: Dataset, n_values: int, n_a: int, epochs: int = epochs, unrolled: bool = False,
          seed: int = 0, verbose: bool = True) -> TrainResult:
    """Train from a fresh initialisation; deterministic for a given seed on one machine."""
    keras.utils.set_random_seed(seed)
    LSTM_cell, densor, reshaper = make_layers(n_values, n_a)
    tx = ds.X.shape[1]
    m = ds.X.shape[0]
    a0 = np.zeros((m, n_a), np.float32)  # [m, n_a]
    a0_val = np.zeros((ds.X_val.shape[0], n_a), np.float32)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if unrolled:
        model = djmodel(tx, LSTM_cell, densor, reshaper)
        printer = EpochPrinter(epochs, tx, True, [LSTM_cell, densor], verbose)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        model.fit([ds.X, a0, a0], ds.Y_list, epochs=epochs, batch_size=batch_size, verbose=0,
                  validation_data=([ds.X_val, a0_val, a0_val], list(np.swapaxes(ds.Y_val, 0, 1))),
                  callbacks=[printer])
        printer.restore_best()
    else:
        model, seq = fused_model(tx, LSTM_cell, densor)
        printer = EpochPrinter(epochs, tx, False, [seq, densor], verbose)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        model.fit([ds.X, a0, a0], ds.Y, epochs=epochs, batch_size=batch_size, verbose=0,
                  validation_data=([ds.X_val, a0_val, a0_val], ds.Y_val), callbacks=[printer])
        printer.restore_best()
        sync_back(seq, LSTM_cell)
    return TrainResult(LSTM_cell, densor, reshaper, printer.epoch_times[0],
                       printer.epoch_times[-1], printer.losses[-1], printer.best_epoch,
                       printer.best_val, printer.epoch_times, printer.losses)


def predict_windows(LSTM_cell: keras.layers.LSTM, densor: keras.layers.Dense,
                    X: np.ndarray) -> np.ndarray:
    """Probabilities [m, Tx, n_values] for windows X, each from a zero state."""
    model, _ = fused_model(X.shape[1], LSTM_cell, densor)
    a0 = np.zeros((X.shape[0], LSTM_cell.units), np.float32)
    return model.predict([X, a0, a0], verbose=0, batch_size=256)
