"""Choosing the next token from the model's probabilities.

argmax is the seed's behaviour and deterministic; the rest draw from a seeded generator so
that a run can be reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.errors import ConfigError

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

    @classmethod
    def from_options(cls, temperature: float | None = None, top_k: int | None = None,
                     top_p: float | None = None, argmax: bool = False,
                     seed: int | None = None) -> Sampler:
        """A sampler from command-line/config values (None = the default), checked."""
        s = cls(seed=seed, argmax=argmax is True)
        if temperature is not None:
            if not temperature > 0:
                raise ConfigError(f"temperature must be > 0, got {temperature}")
            s.temperature = float(temperature)
        if top_k is not None:
            if top_k < 0:
                raise ConfigError(f"top-k must be >= 0, got {top_k}")
            s.top_k = int(top_k)
        if top_p is not None:
            if not 0 < top_p <= 1:
                raise ConfigError(f"top-p must be in (0, 1], got {top_p}")
            s.top_p = float(top_p)
        return s

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
