"""Choosing the next token from the model's probabilities.

argmax is the seed's behaviour and deterministic; the rest draw from a seeded generator so
that a run can be reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

temperature = 0.9  # < 1.0 more predictable, > 1.0 wilder
top_k = 0  # keep only the k likeliest tokens; 0 = off
top_p = 0.95  # keep the likeliest tokens up to this much probability; 1.0 = off


@dataclass
class Sampler:
    """Settings for one stream of choices; change fields live (knobs do)."""

    temperature: float = temperature
    top_k: int = top_k
    top_p: float = top_p
    argmax: bool = False
    seed: int | None = None
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def __call__(self, probs: np.ndarray) -> int:
        """One token index from probs [n_values]: one sort, one cumsum, one draw."""
        if self.argmax or self.temperature <= 0:
            return int(np.argmax(probs))
        p = probs / probs.max()
        if self.temperature != 1.0:
            p **= 1.0 / self.temperature  # = softmax(log p / T), up to normalisation
        order = np.argsort(-p)  # likeliest first
        cum = np.cumsum(p[order])
        keep = p.size
        if self.top_p < 1.0:  # keep the token that crosses top_p
            keep = int(np.searchsorted(cum, self.top_p * cum[-1])) + 1
        if 0 < self.top_k < keep:
            keep = self.top_k
        keep = min(keep, p.size)
        i = int(np.searchsorted(cum[:keep], self.rng.random() * cum[keep - 1], side="right"))
        return int(order[min(i, keep - 1)])
