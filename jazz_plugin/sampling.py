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
        """One token index from probs [n_values]."""
        if self.argmax or self.temperature <= 0:
            return int(np.argmax(probs))
        logits = np.log(np.maximum(probs.astype(np.float64), 1e-30)) / self.temperature
        p = np.exp(logits - logits.max())
        if 0 < self.top_k < p.size:
            p[np.argpartition(p, -self.top_k)[:-self.top_k]] = 0.0
        if self.top_p < 1.0:
            order = np.argsort(p)[::-1]
            cum = np.cumsum(p[order]) / p.sum()
            cut = int(np.searchsorted(cum, self.top_p)) + 1  # keep the token that crosses top_p
            p[order[cut:]] = 0.0
        p /= p.sum()
        return int(self.rng.choice(p.size, p=p))
