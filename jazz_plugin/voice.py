"""One improvising voice: engine, sampler and decoder in one generation loop.

Both the daemon's answers and `jazz-plugin generate` play through this class, so a fix to
how a line is made lands once (nanoGPT keeps exactly one `generate`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .codec import LineDecoder, Note, Token, fold_pitch, fold_range, nearest_duration
from .engine import Engine
from .sampling import Sampler


class Voice:
    """Primes the LSTM with a phrase, then yields one token (and its note) at a time."""

    def __init__(self, engine: Engine, sampler: Sampler, low: int = 0, high: int = 127) -> None:
        self.engine, self.sampler = engine, sampler
        self.low, self.high = low, high
        self.codec = engine.codec
        self.note_mask = np.array([not t.is_rest for t in self.codec.tokens], np.float32)
        self.decoder = LineDecoder(self.codec, (low + high) // 2, 0, low, high)
        self.probs: np.ndarray | None = None
        self.first = False  # the next token opens a line: it must be a note

    def begin(self, pitch: int, tick: int, phrase: Sequence[Note] = ()) -> None:
        """Start a line at `tick` from `pitch`, primed with `phrase` (may be empty)."""
        self.engine.reset()
        self.probs = self.engine.prime(self.codec.encode(list(phrase)))
        self.decoder = LineDecoder(self.codec, pitch, tick, self.low, self.high)
        self.first = True

    @property
    def tick(self) -> int:
        """Where the next token starts."""
        return self.decoder.tick

    def next(self) -> tuple[int, Note | None]:
        """Sample one token, feed it back; returns (its start tick, its note or None)."""
        probs = self.probs
        if self.first:  # a line opens with a note, on its beat
            probs = probs * self.note_mask
            self.first = False
        token = self.sampler(probs)
        start = self.decoder.tick
        note = self.decoder.feed(token)
        self.probs = self.engine.step(token)
        return start, note

    def steer(self, pitch: int, prev_pitch: int, ticks: float) -> None:
        """Duet: a note the musician finished is fed through the model as it comes."""
        interval = fold_pitch(pitch, prev_pitch) - prev_pitch
        token = Token("n", interval, nearest_duration(ticks))
        self.probs = self.engine.step(self.codec.index[token])
        self.decoder.pitch = fold_range(pitch, self.low, self.high)

    def line(self, steps: int) -> list[Note]:
        """`steps` tokens in one go (offline generation)."""
        notes = []
        for _ in range(steps):
            _start, note = self.next()
            if note is not None:
                notes.append(note)
        return notes
