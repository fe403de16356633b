"""A small logistic regression and its cross-validated AUC, grouped: numpy only.

The tell-apart test asks how well phrases can be told apart by their features. Folds are
made of whole groups (solos), so a classifier never scores a phrase of a solo it has seen:
otherwise it would learn the solo (its tune, its tempo), not the difference asked about.
"""

from __future__ import annotations

import numpy as np

l2 = 1.0  # ridge on the standardised weights: larger = simpler boundaries
folds = 5  # cross-validation folds (of whole groups)
NEWTON_STEPS = 25  # iteratively reweighted least squares converges in a handful


def fit_logistic(x: np.ndarray, y: np.ndarray, penalty: float = l2) -> np.ndarray:
    """Weights [width + 1] (bias last) of an L2 logistic regression on x [n, width], y in
    {0, 1}, by Newton's method; standardise x first (the bias is not penalised)."""
    xb = np.hstack([x, np.ones((len(x), 1))])  # [n, width + 1]
    w = np.zeros(xb.shape[1])
    ridge = np.full(xb.shape[1], penalty)
    ridge[-1] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + ridge * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    ranks[order] = _tied_ranks(values)
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _tied_ranks(sorted_values: np.ndarray) -> np.ndarray:
    """1-based ranks of sorted values, ties sharing their mean rank."""
    ranks = np.arange(1, len(sorted_values) + 1, dtype=float)
    _, first, count = np.unique(sorted_values, return_index=True, return_counts=True)
    for f, c in zip(first, count):
        if c > 1:
            ranks[f:f + c] = ranks[f:f + c].mean()
    return ranks


def grouped_auc(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int = folds,
                seed: int = 0) -> float:
    """Out-of-fold AUC of `fit_logistic`, folds made of whole groups (shuffled by `seed`)."""
    names = np.unique(groups)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(names, rng.permutation(len(names)) % n_folds))
    fold = np.array([fold_of[g] for g in groups])
    scores = np.zeros(len(y))
    for k in range(n_folds):
        test, train = fold == k, fold != k
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        mean, std = x[train].mean(0), x[train].std(0) + 1e-6
        w = fit_logistic((x[train] - mean) / std, y[train])
        scores[test] = ((x[test] - mean) / std) @ w[:-1] + w[-1]
    return auc(scores, y)
