"""Training windows: X of Tx one-hot tokens, Y the same shifted by one, split by piece.

The validation split never shares a window with training: whole pieces go to validation,
or, with a single piece, its last contiguous stretch does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from jazz_plugin.errors import CorpusError

VALIDATION_FRACTION = 0.15  # share of pieces (or of a lone piece's tokens) held out


@dataclass
class Dataset:
    """One-hot windows for training and validation."""

    X: np.ndarray  # [m, Tx, n_values]
    Y: np.ndarray  # [m, Tx, n_values], X shifted one step left
    X_val: np.ndarray
    Y_val: np.ndarray
    train_tokens: list[list[int]]  # the training pieces, for n-gram baselines

    @property
    def Y_list(self) -> list[np.ndarray]:
        """Y as the seed's djmodel wants it: Tx arrays of [m, n_values]."""
        return list(np.swapaxes(self.Y, 0, 1))


def split_pieces(pieces: list[list[int]], seed: int) -> tuple[list[list[int]], list[list[int]]]:
    """Whole pieces to validation; a single piece is cut into two contiguous parts."""
    if len(pieces) == 1:
        cut = int(len(pieces[0]) * (1 - VALIDATION_FRACTION))
        return [pieces[0][:cut]], [pieces[0][cut:]]
    order = list(range(len(pieces)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(pieces) * VALIDATION_FRACTION))
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return [pieces[i] for i in train], [pieces[i] for i in val]


def windows(pieces: list[list[int]], tx: int, stride: int) -> np.ndarray:
    """All windows of tx + 1 token indices, `stride` apart, inside each piece."""
    rows = [p[s:s + tx + 1] for p in pieces for s in range(0, len(p) - tx, stride)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), tx + 1)


def one_hot(indices: np.ndarray, n_values: int) -> np.ndarray:
    """Token indices of any shape -> float32 one-hot with a trailing n_values axis."""
    return np.eye(n_values, dtype=np.float32)[indices]


def make_dataset(pieces: list[list[int]], n_values: int, tx: int, seed: int = 0,
                 stride: int | None = None) -> Dataset:
    """Cut pieces into windows; refuses a Tx that no piece is long enough for."""
    longest = max((len(p) for p in pieces), default=0)
    if longest < tx + 1 + (tx + 1) * (len(pieces) == 1):
        need = "a piece of at least" if len(pieces) > 1 else "a single piece of at least"
        minimum = tx + 1 if len(pieces) > 1 else 2 * (tx + 1)
        raise CorpusError(f"--tx {tx} needs {need} {minimum} tokens; the longest has {longest}")
    train, val = split_pieces(pieces, seed)
    stride = stride or max(1, tx // 2)
    w_train, w_val = windows(train, tx, stride), windows(val, tx, stride)
    if len(w_train) == 0 or len(w_val) == 0:
        raise CorpusError(f"--tx {tx} leaves no {'training' if len(w_train) == 0 else 'validation'}"
                          f" window; use a smaller --tx or a larger corpus")
    return Dataset(
        X=one_hot(w_train[:, :-1], n_values),  # [m, Tx, n_values]
        Y=one_hot(w_train[:, 1:], n_values),
        X_val=one_hot(w_val[:, :-1], n_values),
        Y_val=one_hot(w_val[:, 1:], n_values),
        train_tokens=train,
    )
