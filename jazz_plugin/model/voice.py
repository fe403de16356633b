"""One improvising voice: engine, sampler, decoder and harmony in one generation loop.

Both the daemon's answers and `jazz-plugin generate` play through this class, so a fix to
how a line is made lands once (nanoGPT keeps exactly one `generate`). Before each step the
voice tells a conditioned model where the next token starts: the bar position, and the
chord there relative to the last note (see conditioning.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.model.conditioning import COND_WIDTH, cond_into
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music import develop
from jazz_plugin.music.codec import (
    LineDecoder,
    Note,
    Token,
    fold_pitch,
    fold_range,
    nearest_duration,
    split_rest,
)

NO_HARMONY = None  # a voice without harmony conditions on "no chord known"
density = 0.5  # 0 = sparse (rests favoured) .. 1 = busy (rests disfavoured); 0.5 = the model's
DENSITY_RANGE = 4.0  # at density 0 rests are this much likelier, at 1 this much less likely


LOOP_MAX_PERIOD = 32  # periods the loop guard watches (tokens)
LOOP_MIN_TOKENS = 16  # a stretch this long that repeats exactly (at least twice) is a loop


class LoopGuard:
    """Keeps a line from repeating itself exactly, as a player would not.

    For each period p it counts how many tokens in a row equal the one p before; the token
    that would make a stretch of at least two periods and LOOP_MIN_TOKENS tokens repeat
    exactly is banned for the next step (argmax would otherwise cycle for ever).
    """

    def __init__(self) -> None:
        self.history: list[int] = []
        self.runs = [0] * (LOOP_MAX_PERIOD + 1)  # runs[p]: matches with period p, ending now

    def feed(self, token: int) -> None:
        h = self.history
        for p in range(1, min(LOOP_MAX_PERIOD, len(h)) + 1):
            self.runs[p] = self.runs[p] + 1 if h[-p] == token else 0
        h.append(token)
        if len(h) > 2 * LOOP_MAX_PERIOD:
            del h[:LOOP_MAX_PERIOD]

    def banned(self) -> list[int]:
        """Tokens that would close an exact loop now."""
        h = self.history
        return [h[-p] for p in range(1, min(LOOP_MAX_PERIOD, len(h)) + 1)
                if self.runs[p] + 1 + p >= max(2 * p, LOOP_MIN_TOKENS)]

    def copy(self) -> LoopGuard:
        other = LoopGuard()
        other.history, other.runs = list(self.history), list(self.runs)
        return other

    def apply(self, probs: np.ndarray) -> np.ndarray:
        banned = self.banned()
        if not banned:
            return probs
        out = probs.copy()
        out[banned] = 0.0
        return out if out.any() else probs


@dataclass
class Candidate:
    """One candidate continuation: its notes and tokens, and where it ended."""

    decoder: LineDecoder
    guard: LoopGuard
    notes: list[Note] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    probs: np.ndarray | None = None  # the prediction after its last token
    h: np.ndarray | None = None  # [1, n_a] state after its last token
    c: np.ndarray | None = None


class Voice:
    """Primes the LSTM with a phrase, then yields one token (and its note) at a time."""

    def __init__(self, engine: Engine, sampler: Sampler, low: int = 0, high: int = 127,
                 harmony=NO_HARMONY) -> None:
        self.engine, self.sampler = engine, sampler
        self.low, self.high = low, high
        self.harmony = harmony  # anything with at(tick) -> (chord mask, next chord mask)
        self.codec = engine.codec
        self.conditioned = getattr(engine, "has_cond", False)
        self._cond = engine.cond if self.conditioned else np.zeros(COND_WIDTH, np.float32)
        is_rest = np.array([t.is_rest for t in self.codec.tokens])
        self.note_mask = (~is_rest).astype(np.float32)
        self.rest_mask = is_rest.astype(np.float32)
        self.bias = np.ones(len(is_rest), np.float32)
        self.decoder = LineDecoder(self.codec, (low + high) // 2, 0, low, high)
        self.probs: np.ndarray | None = None
        self.first = False  # the next token opens a line: it must be a note
        self.guard = LoopGuard()

    def set_density(self, value: float) -> None:
        """0..1: bias the rests (0.5 leaves the model's own choice)."""
        factor = DENSITY_RANGE ** (1.0 - 2.0 * value)
        self.bias = self.note_mask + self.rest_mask * np.float32(factor)

    def set_range(self, low: int, high: int) -> None:
        """Move the register window (live)."""
        self.low, self.high = low, high
        self.decoder.low, self.decoder.high = low, high

    def _condition(self, pitch: int, tick: float) -> None:
        """Fill the engine's conditioning for a token starting at `tick` after `pitch`."""
        if self.conditioned:
            chord, nxt = self.harmony.at(tick) if self.harmony is not None else (0, 0)
            cond_into(self._cond, pitch, int(tick), chord, nxt)

    def _step(self, token: int | None) -> np.ndarray:
        self._condition(self.decoder.pitch, self.decoder.tick)
        return self.engine.step(token)

    def begin(self, pitch: int, tick: int, phrase: Sequence[Note] = ()) -> None:
        """Start a line at `tick` from `pitch`, primed with `phrase` (may be empty).

        The phrase's own timing is fed, and then the silence from its end up to `tick` as
        rests, so the model knows where in the bar the line starts.
        """
        self.engine.reset()
        codec = self.codec
        self.probs = None
        if phrase:
            self.decoder = LineDecoder(codec, phrase[0].pitch, phrase[0].start)
            for token in codec.encode(list(phrase)):
                self.decoder.feed(token)
                self.probs = self._step(token)
            gap = int(tick - self.decoder.tick)
            for dur in split_rest(gap) if gap > 0 else ():
                token = codec.rest_index[dur]
                self.decoder.feed(token)
                self.probs = self._step(token)
        self.decoder = LineDecoder(codec, pitch, tick, self.low, self.high)
        if self.probs is None:
            self.probs = self._step(None)
        self.first = True
        self.guard = LoopGuard()

    @property
    def tick(self) -> int:
        """Where the next token starts."""
        return self.decoder.tick

    def next(self) -> tuple[int, Note | None]:
        """Sample one token, feed it back; returns (its start tick, its note or None)."""
        probs = self.guard.apply(self.probs * self.bias)
        if self.first:  # a line opens with a note, on its beat
            probs = probs * self.note_mask
            self.first = False
        token = self.sampler(probs)
        self.guard.feed(token)
        start = self.decoder.tick
        note = self.decoder.feed(token)
        self.probs = self._step(token)
        return start, note

    def steer(self, pitch: int, prev_pitch: int, ticks: float) -> None:
        """Duet: a note the musician finished is fed through the model as it comes."""
        interval = fold_pitch(pitch, prev_pitch) - prev_pitch
        token = Token("n", interval, nearest_duration(ticks))
        self.decoder.pitch = fold_range(pitch, self.low, self.high)
        self.probs = self._step(self.codec.index[token])

    def candidates(self, n: int, until: int) -> list[Candidate]:
        """`n` different continuations up to tick `until`, in one batched run per step.

        Call after `begin` (or `adopt`); every candidate starts from the voice's state, which
        is left as it was. A candidate stops at the first token that reaches `until`; its
        last note may ring past it (callers cut). Each keeps its end state, so the voice
        can `adopt` the chosen one and go on from there.
        """
        engine, codec = self.engine, self.codec
        h0, c0 = engine.state()
        h = np.repeat(h0, n, axis=0)  # [n, n_a]
        c = np.repeat(c0, n, axis=0)
        probs = np.repeat(self.probs[None, :], n, axis=0)  # [n, n_values]
        cond = np.zeros((n, COND_WIDTH), np.float32)  # [n, COND_WIDTH]
        tokens = np.zeros(n, np.int64)
        start = self.decoder
        out = [Candidate(LineDecoder(codec, start.pitch, start.tick, start.low, start.high),
                         self.guard.copy()) for _ in range(n)]
        first = self.first
        active = np.ones(n, bool)
        while active.any():
            for i, cand in enumerate(out):
                if not active[i]:
                    continue
                p = cand.guard.apply(probs[i] * self.bias)
                if first:
                    p = p * self.note_mask
                token = self.sampler(p)
                tokens[i] = token
                cand.guard.feed(token)
                cand.tokens.append(token)
                note = cand.decoder.feed(token)
                if note is not None:
                    cand.notes.append(note)
                if self.conditioned:
                    d = cand.decoder
                    chord, nxt = self.harmony.at(d.tick) if self.harmony is not None else (0, 0)
                    cond_into(cond[i], d.pitch, d.tick, chord, nxt)
            first = False
            new_probs, new_h, new_c = engine.step_batch(tokens, cond, h, c)
            probs[active], h[active], c[active] = (new_probs[active], new_h[active],
                                                   new_c[active])
            for i, cand in enumerate(out):
                if active[i] and cand.decoder.tick >= until:
                    active[i] = False
                    cand.probs = probs[i].copy()
                    cand.h, cand.c = h[i:i + 1].copy(), c[i:i + 1].copy()
        return out

    def best_of(self, n: int, until: int, call: Sequence[Note], develop_amount: float) -> Candidate:
        """The candidate (of `n`, up to `until`) that best develops `call` over the harmony."""
        cands = self.candidates(n, until)
        return cands[develop.best([c.notes for c in cands], call, self.harmony, develop_amount)]

    def adopt(self, cand: Candidate) -> None:
        """Go on from a candidate's end: its state, position and loop memory."""
        self.engine.set_state(cand.h, cand.c)
        self.probs = cand.probs
        self.decoder = cand.decoder
        self.guard = cand.guard
        self.first = False

    def line(self, steps: int) -> list[Note]:
        """`steps` tokens in one go (offline generation)."""
        notes = []
        for _ in range(steps):
            _start, note = self.next()
            if note is not None:
                notes.append(note)
        return notes
