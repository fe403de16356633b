"""Held-out quality: the LSTM's per-token NLL and accuracy beside n-gram baselines.

Every model is scored on the same validation windows, each target seeing only its own
window's past, so the LSTM (which starts each window from a zero state) and the n-grams
(which start each window from a begin marker) get the same context. Windows come as token
index arrays [m, Tx]; nothing here is one-hot.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

SMOOTHING_KS = (1.0, 0.1, 0.01)  # add-k values tried; each baseline keeps its best on validation
# (trigram, bigram, unigram) weights tried for the interpolated trigram; it keeps its best
INTERPOLATION = ((0.6, 0.3, 0.1), (0.4, 0.4, 0.2), (0.3, 0.5, 0.2), (0.2, 0.5, 0.3))
BOS = -1  # begin-of-window marker for n-gram contexts
# The n-grams are scored in pure Python (~10 µs a position): past this many held-out
# windows they see an even sample of them. 4,000 windows of 64 tokens give a mean NLL with
# a standard error near 0.005, well under the gaps between the models.
BASELINE_WINDOWS = 4000


@dataclass
class Score:
    """Mean negative log-likelihood per token (nats) and next-token accuracy."""

    name: str
    nll: float
    accuracy: float


def lstm_score(nll: np.ndarray, hits: np.ndarray, name: str = "LSTM") -> Score:
    """Score from the LSTM's per-token NLL [m, Tx] and argmax hits [m, Tx]
    (export.train.score_windows)."""
    return Score(name, float(np.mean(nll)), float(np.mean(hits)))


def scores_by(nll: np.ndarray, hits: np.ndarray, groups: list[str]) -> list[Score]:
    """One score per group (e.g. performer), windows [m, Tx] labelled by `groups` [m];
    the largest groups first."""
    labels = np.asarray(groups)
    order = sorted(set(groups), key=lambda g: (-int((labels == g).sum()), g))
    return [lstm_score(nll[labels == g], hits[labels == g], g or "(unknown)") for g in order]


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


def ngram_score(train: list[list[int]], x_ids: np.ndarray, y_ids: np.ndarray, order: int,
                n_values: int) -> Score:
    """Add-k smoothed n-gram of `order` (1 = unigram) on windows with inputs x_ids and
    targets y_ids [m, Tx], k chosen from SMOOTHING_KS."""
    grams, contexts = _ngram_counts(train, order)
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


def _followers(pieces: list[list[int]], order: int) -> dict[tuple, Counter]:
    """context (order - 1 tokens, BOS-padded) -> counts of the token that followed it."""
    table: dict[tuple, Counter] = {}
    for piece in pieces:
        seq = [BOS] * (order - 1) + piece
        for i in range(order - 1, len(seq)):
            table.setdefault(tuple(seq[i - order + 1:i]), Counter())[seq[i]] += 1
    return table


def interpolated_score(train: list[list[int]], x_ids: np.ndarray, y_ids: np.ndarray,
                       n_values: int) -> Score:
    """Jelinek-Mercer trigram: a weighted mix of the trigram, bigram and add-one unigram
    estimates (weights from INTERPOLATION, best kept); a context never seen in training
    hands its weight to the lower orders. A stronger baseline than add-k alone."""
    tables = {3: _followers(train, 3), 2: _followers(train, 2)}
    unigram = np.bincount(np.concatenate([np.asarray(p, np.int64) for p in train]),
                          minlength=n_values) + 1.0
    unigram /= unigram.sum()  # [n_values]
    dense: dict[tuple, np.ndarray | None] = {}

    def estimate(order: int, ctx: tuple) -> np.ndarray | None:
        key = (order,) + ctx
        if key not in dense:
            followers = tables[order].get(ctx)
            if followers is None:
                dense[key] = None
            else:
                v = np.zeros(n_values)
                v[list(followers)] = list(followers.values())
                dense[key] = v / v.sum()
        return dense[key]

    positions = []  # (trigram context, bigram context, target)
    for xs, ys in zip(x_ids.tolist(), y_ids.tolist(), strict=True):
        history = [BOS, BOS]
        for x, y in zip(xs, ys, strict=True):
            history.append(x)
            positions.append((tuple(history[-2:]), tuple(history[-1:]), y))
    best: Score | None = None
    for weights in INTERPOLATION:
        nll_sum, correct = 0.0, 0
        for ctx3, ctx2, y in positions:
            parts = [(w, p) for w, p in zip(weights, (estimate(3, ctx3), estimate(2, ctx2),
                                                      unigram)) if p is not None]
            total = sum(w for w, _ in parts)
            mix = sum(w * p for w, p in parts) / total  # [n_values]
            nll_sum -= math.log(mix[y])
            correct += int(mix.argmax()) == y
        name = "trigram interp. (" + "/".join(f"{w:g}" for w in weights) + ")"
        score = Score(name, nll_sum / len(positions), correct / len(positions))
        if best is None or score.nll < best.nll:
            best = score
    assert best is not None
    return best


def quality_table(scores: list[Score], title: str = "", first: str = "model") -> str:
    """A plain-text table of scores under an optional title line, in the order given."""
    width = max([22, len(first)] + [len(s.name) for s in scores])
    lines = [title] if title else []
    lines += [f"{first:<{width}} {'NLL/token':>10} {'accuracy':>9}"]
    lines += [f"{s.name:<{width}} {s.nll:>10.3f} {s.accuracy:>9.3f}" for s in scores]
    return "\n".join(lines)


def sample_note(windows: int, limit: int = BASELINE_WINDOWS) -> str:
    """What a table title adds when the n-grams saw a sample of `windows`."""
    return (f"; n-grams on an even sample of {limit:,} of the {windows:,} windows"
            if windows > limit else "")


def baseline_scores(train: list[list[int]], x_ids: np.ndarray, y_ids: np.ndarray,
                    n_values: int, limit: int = BASELINE_WINDOWS) -> list[Score]:
    """Unigram, bigram, trigram (add-k) and interpolated trigram scores on windows [m, Tx]
    of input and target ids (an even sample of `limit` of them when there are more)."""
    if len(x_ids) > limit:
        keep = np.linspace(0, len(x_ids) - 1, limit).round().astype(np.int64)
        x_ids, y_ids = x_ids[keep], y_ids[keep]
    return ([ngram_score(train, x_ids, y_ids, order, n_values) for order in (1, 2, 3)]
            + [interpolated_score(train, x_ids, y_ids, n_values)])
