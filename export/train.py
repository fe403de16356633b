"""Train the shared LSTM_cell and densor, fused (default) or through the unrolled djmodel,
on one device or many under tf.distribute.

The loop is TensorFlow's own distributed training loop: `strategy.run` takes one step on
every replica and the optimizer sums the gradients across them (an all-reduce), so one
process, several local GPUs (MirroredStrategy) and several workers
(MultiWorkerMirroredStrategy) run the same code. Batches come from
`dataset.train_batches`: window offsets expanded into one-hots and conditioning vectors
inside the graph, each worker taking its slice of every global batch. The fused path runs
the same weights over the whole window as one sequence layer; the unrolled djmodel spends
most of its time building Tx copies of the graph.

Every epoch ends with a validation pass (each worker on its own, the same numbers) and a
checkpoint; the weights of the best validation epoch end up in LSTM_cell and densor, ready
for music_inference_model and ONNX export.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field

from .model import import_tensorflow_quietly

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from jazz_plugin.corpus.cache import peak_rss_mb  # noqa: E402
from jazz_plugin.errors import ConfigError  # noqa: E402

from .checkpoint import Checkpoints, Saved  # noqa: E402
from .cluster import Cluster, explain  # noqa: E402
from .dataset import Dataset, steps_per_epoch, tf_dataset, train_batches  # noqa: E402
from .model import djmodel, fused_model, make_layers, sync_back  # noqa: E402
from .resume import agreed_start  # noqa: E402

# Defaults for the real corpus (WJazzD: ~190k notes, 420 solos), from a sweep on a third of
# it (val loss/token, best epoch kept): lr 0.003 / batch 32 / dropout 0.3 gave 3.382 against
# 3.390-3.413 for lr 0.01 with dropout 0-0.4 and batch 32-64, and learnt without jumps.
LEARNING_RATE = 0.003  # Adam step size: higher learns faster, too high overfits sooner
BATCH_SIZE = 32  # windows per step, over all workers: smaller gives more (noisier) steps
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
    epoch_times: list[float]  # seconds since this run's first step, at the end of each epoch
    losses: list[float]  # training loss per token, each epoch of this run
    hyperparameters: dict  # what this run used, for the model's metadata
    peak_rss_mb: float  # the process's peak resident memory at the end of training
    first_epoch: int = 0  # epochs already done when this run began (a resumed run: > 0)
    tokens_per_s: float = 0.0  # training tokens/s over all workers, after the first epoch
    replicas: int = 1  # replicas in sync (workers x local devices)
    last_epoch: int = 0  # epochs done when training ended (below --epochs: stopped early)
    steps: int = 0  # optimizer steps this run took


@dataclass
class History:
    """What the epochs so far gave: saved in every checkpoint, so a resumed run goes on."""

    losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    best_val: float = float("inf")
    best_epoch: int = 0
    best_weights: list[np.ndarray] | None = None

    def state(self) -> dict:
        return {"losses": self.losses, "val_losses": self.val_losses,
                "best_val": self.best_val, "best_epoch": self.best_epoch}

    @classmethod
    def from_saved(cls, saved: Saved) -> History:
        s = saved.state
        return cls(list(s["losses"]), list(s["val_losses"]), float(s["best_val"]),
                   int(s["best_epoch"]), saved.arrays.get("best") or None)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def data_fingerprint(ds: Dataset) -> str:
    """A short hash of the training data and windows: workers and resumed runs must match."""
    h = hashlib.sha256()
    for key in sorted(ds.records):
        h.update(np.ascontiguousarray(ds.records[key]).tobytes())
    h.update(np.ascontiguousarray(ds.train_starts).tobytes())
    h.update(np.ascontiguousarray(ds.val_starts).tobytes())
    return h.hexdigest()[:12]


def weights_fingerprint(weights: list[np.ndarray]) -> str:
    """A short hash of a base model's weights: a resumed fine-tuning run must match it."""
    h = hashlib.sha256()
    for w in weights:
        h.update(np.ascontiguousarray(w, np.float32).tobytes())
    return h.hexdigest()[:12]


def token_nll(model: keras.Model, inputs, y, training: bool):
    """Per-token cross-entropy [B, Tx] of the fused or unrolled model on one batch."""
    probs = model(inputs, training=training)
    if isinstance(probs, (list, tuple)):  # the unrolled djmodel: Tx x [B, n_values]
        probs = tf.stack(probs, axis=1)
    return keras.losses.sparse_categorical_crossentropy(y, probs)  # [B, Tx]


def train(ds: Dataset, n_values: int, n_a: int, epochs: int = EPOCHS, unrolled: bool = False,
          seed: int = 0, verbose: bool = True, lr: float | None = None,
          batch_size: int | None = None, dropout: float | None = None,
          strategy: tf.distribute.Strategy | None = None,
          checkpoints: Checkpoints | None = None, resume: bool = False,
          cluster: Cluster | None = None, init: list[np.ndarray] | None = None,
          patience: int | None = None) -> TrainResult:
    """Train from a fresh initialisation, from a base model's weights (`init`: LSTM kernel,
    recurrent kernel, bias, densor kernel, bias; fine-tuning), or from `checkpoints` with
    `resume`.

    Deterministic for a given seed on one machine; the data order depends on (seed, epoch)
    only, so a resumed run ends where an uninterrupted one would. `lr`, `batch_size` and
    `dropout` default (None) to LEARNING_RATE, BATCH_SIZE (or all the windows of a tinier
    corpus), DROPOUT; `batch_size` is global, split over the replicas. `strategy` is a
    tf.distribute strategy (default: none); `cluster` says where this process stands in a
    multi-worker run (its log lines say which worker; a lost worker is named). `patience`
    stops early once that many epochs in a row fail to beat the best validation loss (every
    worker computes the same validation, so all stop together).
    """
    lr = LEARNING_RATE if lr is None else lr
    p = DROPOUT if dropout is None else dropout
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    label = f"[{cluster.label()}] " if cluster is not None and cluster.size > 1 else ""
    bs = batch_size or _default_batch(len(ds.train_starts), replicas)
    if bs % replicas:
        raise ConfigError(f"--batch-size {bs} does not split evenly over {replicas} replicas; "
                          f"use a multiple of {replicas}")
    tx = ds.tx
    steps = steps_per_epoch(ds, bs)
    settings = {"n_values": n_values, "n_a": n_a, "tx": tx, "lr": lr, "batch_size": bs,
                "dropout": p, "seed": seed, "unrolled": unrolled, "data": data_fingerprint(ds)}
    if init is not None:  # a resumed fine-tuning run must start from the same base
        settings["init"] = weights_fingerprint(init)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        LSTM_cell, densor, reshaper = make_layers(n_values, n_a, dropout=p)
        if init is not None:  # before fused_model copies LSTM_cell's weights
            LSTM_cell.set_weights(init[:3])
            densor.set_weights(init[3:])
        if unrolled:
            model, trained = djmodel(tx, LSTM_cell, densor, reshaper), [LSTM_cell, densor]
        else:
            model, seq = fused_model(tx, LSTM_cell, densor)
            trained = [seq, densor]
        optimizer = keras.optimizers.Adam(learning_rate=lr)
        optimizer.build(model.trainable_variables)

    history, first = History(), 0
    saved = agreed_start(strategy, checkpoints, settings, epochs, resume, label)
    if saved is not None:
        first, history = saved.epoch, History.from_saved(saved)
        _restore(model, optimizer, saved)
    if first > epochs:
        raise ConfigError(f"--resume: the checkpoint has {first} epochs, more than --epochs "
                          f"{epochs}; ask for {first} or more")
    # first == epochs: training is done, and the run only exports (a crash after the last
    # epoch, while scoring or writing the model, loses nothing)

    batches = strategy.distribute_datasets_from_function(
        lambda context: train_batches(ds, bs, n_a, seed, first, epochs, context))
    batch_iter = iter(batches)
    scale = 1.0 / (bs * tx)  # each replica's share of the global mean per token

    @tf.function
    def train_step(iterator):
        def step(inputs, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(token_nll(model, inputs, y, training=True)) * scale
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        return strategy.reduce("SUM", strategy.run(step, args=next(iterator)), axis=None)

    validate = _validator(model, ds, n_a)
    if init is not None and first == 0:  # the base is epoch 0: kept unless an epoch beats it
        history.best_val, history.best_epoch = validate(), 0
        history.best_weights = [w for layer in trained for w in layer.get_weights()]
    start = time.perf_counter()
    epoch_times: list[float] = []
    try:
        for epoch in range(first, epochs):
            epoch_start = time.perf_counter()
            loss = float(np.mean([train_step(batch_iter) for _ in range(steps)]))
            val = validate()
            if not (np.isfinite(loss) and np.isfinite(val)):  # the same on every worker
                raise ConfigError(f"training diverged in epoch {epoch + 1} (loss {loss:.4g}, "
                                  f"validation {val:.4g}); try a lower --lr than {lr:g}")
            epoch_times.append(time.perf_counter() - start)
            history.losses.append(loss)
            history.val_losses.append(val)
            if val < history.best_val:
                history.best_val, history.best_epoch = val, epoch + 1
                history.best_weights = [w for layer in trained for w in layer.get_weights()]
            if checkpoints is not None:
                checkpoints.save(_snapshot(epoch + 1, model, optimizer, history, settings))
            if verbose:
                _print_epoch(label, epoch, epochs, loss, val, history.best_epoch,
                             epoch_times, time.perf_counter() - epoch_start)
            if patience and epoch + 1 - history.best_epoch >= patience and epoch + 1 < epochs:
                if verbose:
                    print(f"{label}stopped early after epoch {epoch + 1}: validation has not "
                          f"improved for {patience} epochs (best: epoch {history.best_epoch})",
                          file=sys.stderr, flush=True)
                break
    except KeyboardInterrupt:
        print(f"{label}interrupted; {_saved_note(checkpoints)}", file=sys.stderr, flush=True)
        raise
    except tf.errors.OpError as e:  # a collective failed: another worker died or hung
        if cluster is None or cluster.size == 1:
            raise
        raise explain(e, _saved_note(checkpoints), cluster) from None

    weights = history.best_weights or [w for layer in trained for w in layer.get_weights()]
    at = 0
    for layer in trained:
        n = len(layer.get_weights())
        layer.set_weights(weights[at:at + n])
        at += n
    if not unrolled:
        sync_back(seq, LSTM_cell)
    LSTM_cell, densor, reshaper = _plain_copies(LSTM_cell, densor, n_values, n_a, p)
    hyper = {"n_a": n_a, "tx": tx, "lr": lr, "batch_size": bs, "dropout": p, "epochs": epochs,
             "best_epoch": history.best_epoch, "unrolled": unrolled, "seed": seed,
             "replicas": replicas}
    if patience:
        hyper["patience"] = patience
    # after the first epoch (which includes tracing), unless there was only one
    timed = max(1, len(epoch_times) - 1)
    run_s = (epoch_times[-1] - (epoch_times[0] if len(epoch_times) > 1 else 0.0)
             if epoch_times else 0.0)
    tokens = timed * steps * bs * tx
    ends = (epoch_times[0], epoch_times[-1]) if epoch_times else (0.0, 0.0)
    return TrainResult(LSTM_cell, densor, reshaper, *ends,
                       history.losses[-1], history.best_epoch, history.best_val, epoch_times,
                       history.losses[first:], hyper, peak_rss_mb(), first,
                       tokens / run_s if run_s > 0 else 0.0, replicas,
                       len(history.losses), len(epoch_times) * steps)


def _snapshot(epoch: int, model: keras.Model, optimizer: keras.optimizers.Optimizer,
              history: History, settings: dict) -> Saved:
    """Everything a resumed run needs: weights (dropout's seed state too), Adam's state,
    the best epoch so far and the history."""
    return Saved(epoch, {"model": [v.numpy() for v in model.variables],
                         "optimizer": [v.numpy() for v in optimizer.variables],
                         "best": history.best_weights or []},
                 dict(history.state(), settings=settings))


def _restore(model: keras.Model, optimizer: keras.optimizers.Optimizer, saved: Saved) -> None:
    for v, a in zip(model.variables, saved.arrays["model"], strict=True):
        v.assign(a)
    for v, a in zip(optimizer.variables, saved.arrays["optimizer"], strict=True):
        v.assign(a)


def _default_batch(windows: int, replicas: int) -> int:
    """BATCH_SIZE whatever the number of workers (so 1 or 8 train alike), or every window of
    a corpus too small for one such batch."""
    if windows >= BATCH_SIZE:
        return BATCH_SIZE
    return max(replicas, windows // replicas * replicas)


def _saved_note(checkpoints: Checkpoints | None) -> str:
    """Where an interrupted run stands, and how to go on."""
    done = checkpoints.epochs() if checkpoints is not None else []
    if not done:
        return "no epoch was saved"
    return (f"{done[-1]} epochs are saved in {checkpoints.folder}: run the same command "
            f"with --resume (on every worker, in a cluster)")


def _print_epoch(label: str, epoch: int, epochs: int, loss: float, val: float,
                 best_epoch: int, epoch_times: list[float], seconds: float) -> None:
    """One line per epoch on stderr; the first epoch includes tracing, so later ones give
    the ETA."""
    done = len(epoch_times)
    per_epoch = (epoch_times[-1] - epoch_times[0]) / (done - 1) if done > 1 else seconds
    eta = per_epoch * (epochs - epoch - 1)
    best = " *" if best_epoch == epoch + 1 else ""
    print(f"{label}epoch {epoch + 1:>4}/{epochs}  train {loss:.4f}  val {val:.4f}{best:2}  "
          f"{seconds:6.1f} s  ETA {_clock(eta)}", file=sys.stderr, flush=True)


def _validator(model: keras.Model, ds: Dataset, n_a: int):
    """The mean NLL per token on the validation windows, with their real chords.

    Every worker runs it on its own copy of the weights (which all agree), so it needs no
    collective and every worker picks the same best epoch.
    """
    data = tf_dataset(ds, ds.val_starts, SCORE_BATCH, n_a)

    @tf.function(reduce_retracing=True)
    def batch_nll(inputs, y):
        return tf.reduce_sum(token_nll(model, inputs, y, training=False))

    def validate() -> float:
        total = sum(float(batch_nll(inputs, y)) for inputs, y in data)
        return total / (len(ds.val_starts) * ds.tx)

    return validate


def _plain_copies(LSTM_cell, densor, n_values: int, n_a: int, dropout: float):
    """The trained layers again, outside any strategy: what scoring and ONNX export use."""
    cell, dense, reshaper = make_layers(n_values, n_a, dropout=dropout)
    cell.set_weights(LSTM_cell.get_weights())
    dense.set_weights(densor.get_weights())
    return cell, dense, reshaper


def score_windows(LSTM_cell: keras.layers.LSTM, densor: keras.layers.Dense, ds: Dataset,
                  starts: np.ndarray, chords: str = "real") -> tuple[np.ndarray, np.ndarray]:
    """Per-token NLL (nats) and argmax hits [m, Tx] of windows, each from a zero state,
    hearing the `chords` of dataset.tf_dataset ("real", "key" or "none").

    Batch by batch: the [m, Tx, n_values] probabilities never exist all at once.
    """
    model, _ = fused_model(ds.tx, LSTM_cell, densor)

    @tf.function(reduce_retracing=True)  # one graph, not an eager call per layer and batch
    def batch_scores(inputs, y):  # y [B, Tx]
        probs = model(inputs, training=False)  # [B, Tx, n_values]
        p = tf.gather(probs, y, batch_dims=2)  # [B, Tx]
        hit = tf.equal(tf.argmax(probs, axis=-1, output_type=y.dtype), y)
        return -tf.math.log(tf.clip_by_value(p, 1e-12, 1.0)), hit

    nll, hits = [], []
    for inputs, Y in tf_dataset(ds, starts, SCORE_BATCH, LSTM_cell.units, chords=chords):
        batch_nll, batch_hits = batch_scores(inputs, Y)
        nll.append(batch_nll.numpy())
        hits.append(batch_hits.numpy())
    if not nll:
        return np.zeros((0, ds.tx)), np.zeros((0, ds.tx), bool)
    return np.concatenate(nll), np.concatenate(hits)


def window_count_note(ds: Dataset) -> str:
    """How big the data is, for the log."""
    tokens = int(sum(s.stop - s.start for s in ds.train))
    return (f"{len(ds.train_starts)} train windows ({len(ds.train)} solos, {tokens} tokens), "
            f"{len(ds.val_starts)} validation windows ({len(ds.val)} solos)")

