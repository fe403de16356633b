"""Training speed: our fused default path against the seed's unrolled djmodel, same data.

The data has the seed's shape, 60 windows x Tx=30 x 90 values: built-in corpus tokens
folded into 90 classes, so the loss has something to learn, with the corpus's own chords
and bar positions as conditioning. Both paths read the same tf.data pipeline.
"""

from __future__ import annotations

import numpy as np

from .table import Row

M, TX, N_VALUES, N_A = 60, 30, 90, 64


def dataset():
    from export.corpus import builtin_corpus
    from export.dataset import RECORD_FIELDS, Dataset, Span
    from jazz_plugin.codec import Codec

    solos = builtin_corpus(Codec(), seed=0, pieces_per_key=2).solos
    records = {k: np.concatenate([np.asarray(getattr(s, k), np.int32) for s in solos])
               for k in RECORD_FIELDS}
    records["tokens"] %= N_VALUES
    records["key_chord"] = np.zeros_like(records["tokens"])
    starts = np.arange(M + 8, dtype=np.int32) * (TX + 1)  # [M + 8] non-overlapping windows
    n = int(starts[-1]) + TX + 1
    return Dataset({k: v[:n] for k, v in records.items()}, TX, N_VALUES,
                   [Span("bench", "", 0, n)], [], starts[:M], starts[M:])


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
    seed_like = {"lr": 0.01, "batch_size": 32, "dropout": 0.0}  # the seed's settings
    fused = train(ds, N_VALUES, N_A, epochs=epochs, seed=0, verbose=False, **seed_like)
    unrolled = train(ds, N_VALUES, N_A, epochs=epochs, unrolled=True, seed=0, verbose=False,
                     **seed_like)
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
