"""Training speed: our fused default path against the seed's unrolled djmodel, same data.

The data has the seed's shape, 60 windows x Tx=30 x 90 values: built-in corpus tokens
folded into 90 classes, so the loss has something to learn.
"""

from __future__ import annotations

import numpy as np

from .table import Row

M, TX, N_VALUES, N_A = 60, 30, 90, 64


def dataset():
    from export.corpus import builtin_corpus
    from export.dataset import Dataset, one_hot
    from jazz_plugin.codec import Codec

    tokens = np.concatenate(builtin_corpus(Codec(), seed=0, pieces_per_key=2).pieces) % N_VALUES
    rows = np.stack([tokens[i * (TX + 1):(i + 1) * (TX + 1)] for i in range(M + 8)])
    X, Y = one_hot(rows[:, :-1], N_VALUES), one_hot(rows[:, 1:], N_VALUES)
    return Dataset(X[:M], Y[:M], X[M:], Y[M:], [])


def time_to_loss(epoch_times: list[float], losses: list[float], target: float) -> float:
    """Seconds until the training loss first reaches `target` (nan if it never does)."""
    for t, loss in zip(epoch_times, losses):
        if loss <= target:
            return t
    return float("nan")


def run(quick: bool) -> list[Row]:
    from export.train import train

    epochs = 15 if quick else 100
    ds = dataset()
    fused = train(ds, N_VALUES, N_A, epochs=epochs, seed=0, verbose=False)
    unrolled = train(ds, N_VALUES, N_A, epochs=epochs, unrolled=True, seed=0, verbose=False)
    sec = f"training {M}x{TX}x{N_VALUES}"
    rows = []
    for name, r in (("fused (default)", fused), ("unrolled djmodel", unrolled)):
        rows.append(Row(sec, f"{name}: first epoch", r.first_epoch_s, unit="s",
                        ratio=r.first_epoch_s / fused.first_epoch_s, note="includes tracing"))
        rows.append(Row(sec, f"{name}: {epochs} epochs", r.total_s, unit="s",
                        ratio=r.total_s / fused.total_s,
                        note=f"final loss/token {r.final_loss:.4f}"))
    target = max(fused.losses[-1], unrolled.losses[-1])
    t_fused = time_to_loss(fused.epoch_times, fused.losses, target)
    t_unrolled = time_to_loss(unrolled.epoch_times, unrolled.losses, target)
    rows.append(Row(sec, f"fused: time to loss {target:.4f}", t_fused, unit="s", ratio=1.0))
    rows.append(Row(sec, f"unrolled: time to loss {target:.4f}", t_unrolled, unit="s",
                    ratio=t_unrolled / t_fused, note="the speed-up to the same loss"))
    return rows
