"""Held-out quality: the LSTM's per-token NLL and accuracy beside n-gram baselines.

Every model is scored on the same validation windows, each target seeing only its own
window's past, so the LSTM (which starts each window from a zero state) and the n-grams
(which start each window from a begin marker) get the same context.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

SMOOTHING_KS = (1.0, 0.1, 0.01)  # add-k values tried; each baseline keeps its best on validation
BOS = -1  # begin-of-window marker for n-gram contexts


@dataclass
class Score:
    """Mean negative log-likelihood per token (nats) and next-token accuracy."""

    name: str
    nll: float
    accuracy: float


def lstm_score(probs: np.ndarray, Y: np.ndarray) -> Score:
    """Score predictions [m, Tx, n_values] against one-hot targets of the same shape."""
    target = Y.argmax(-1)  # [m, Tx]
    p = np.take_along_axis(probs, target[..., None], -1)[..., 0]  # [m, Tx]
    nll = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
    acc = float((probs.argmax(-1) == target).mean())
    return Score("LSTM", nll, acc)


def _ngram_counts(pieces: list[list[int]], order: int) -> tuple[Counter, Counter]:
    grams: Counter = Counter()
    contexts: Counter = Counter()
    for piece in pieces:
        seq = [BOS] * (order - 1) + piece
        for i in range(order - 1, len(seq)):
            ctx = tuple(seq[i - order + 1:i])
            grams[ctx + (seq[i],)] += 1
            contexts[ctx] += 1
    return grams, contexts


def ngram_score(train: list[list[int]], X_val: np.ndarray, Y_val: np.ndarray, order: int,
                n_values: int) -> Score:
    """Add-k smoothed n-gram of `order` (1 = unigram), k chosen from SMOOTHING_KS."""
    grams, contexts = _ngram_counts(train, order)
    x_ids, y_ids = X_val.argmax(-1), Y_val.argmax(-1)  # [m, Tx]
    likeliest: dict[tuple, int] = {}  # context -> its most frequent next token
    best: Score | None = None
    for k in SMOOTHING_KS:
        nll_sum, correct, count = 0.0, 0, 0
        for xs, ys in zip(x_ids.tolist(), y_ids.tolist(), strict=True):
            history = [BOS] * (order - 1) + [xs[0]] if order > 1 else []
            for t, y in enumerate(ys):
                if t > 0 and order > 1:
                    history.append(xs[t])
                ctx = tuple(history[len(history) - (order - 1):]) if order > 1 else ()
                denom = contexts[ctx] + k * n_values
                nll_sum -= math.log((grams[ctx + (y,)] + k) / denom)
                count += 1
                if ctx not in likeliest:
                    likeliest[ctx] = max(range(n_values), key=lambda v: (grams[ctx + (v,)], -v))
                correct += likeliest[ctx] == y
        score = Score(f"{_ORDER_NAMES[order]} (k={k:g})", nll_sum / count, correct / count)
        if best is None or score.nll < best.nll:
            best = score
    assert best is not None
    return best


_ORDER_NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}


def quality_table(scores: list[Score]) -> str:
    """A plain-text table of scores, LSTM first."""
    lines = [f"{'model':<22} {'NLL/token':>10} {'accuracy':>9}"]
    lines += [f"{s.name:<22} {s.nll:>10.3f} {s.accuracy:>9.3f}" for s in scores]
    return "\n".join(lines)


def baseline_scores(train: list[list[int]], X_val: np.ndarray, Y_val: np.ndarray,
                    n_values: int) -> list[Score]:
    """Unigram, bigram and trigram scores on the validation windows."""
    return [ngram_score(train, X_val, Y_val, order, n_values) for order in (1, 2, 3)]
