"""One improvising voice: engine, sampler, decoder and harmony in one generation loop.

Both the daemon's answers and `jazz-plugin generate` play through this class, so a fix to
how a line is made lands once (nanoGPT keeps exactly one `generate`). A single step is a
batch of one: `next` and `candidates` choose each token with the same `_pick` (density
bias, loop guard, first-note mask, sampler, decoder) and condition it with the same
`_condition`. Before each step the voice tells a conditioned model where the next token
starts: the bar position, and the chord there relative to the last note (conditioning.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.model.conditioning import COND_WIDTH, cond_into
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.codec import (
    LineDecoder,
    Note,
    Token,
    fold_pitch,
    fold_range,
)

NO_HARMONY = None  # a voice without harmony conditions on "no chord known"
DENSITY_RANGE = 4.0  # at density 0 rests are this much likelier, at 1 this much less likely


LOOP_MAX_PERIOD = 32  # periods the loop guard watches (tokens)
LOOP_MIN_TOKENS = 16  # a stretch this long that repeats exactly (at least twice) is a loop
NEAR_GRAM = 3  # argmax: a token that would repeat a 3-token figure ...
NEAR_WINDOW = 48  # ... played within the last 48 tokens (about 4 bars) ...
NEAR_PENALTY = 0.2  # ... has its probability multiplied by this, once per earlier time
HISTORY = max(LOOP_MAX_PERIOD, NEAR_WINDOW)  # tokens the guard keeps (at least)


class LoopGuard:
    """Keeps a line from repeating itself exactly, as a player would not.

    For each period p it counts how many tokens in a row equal the one p before; the token
    that would make a stretch of at least two periods and LOOP_MIN_TOKENS tokens repeat
    exactly is banned for the next step (argmax would otherwise cycle for ever). Under
    argmax it also makes a figure repeated lately less likely (`near`), so the likeliest
    line moves on instead of climbing one scale fragment with a note changed now and then.
    """

    def __init__(self) -> None:
        self.history: list[int] = []
        self.runs = [0] * (LOOP_MAX_PERIOD + 1)  # runs[p]: matches with period p, ending now

    def feed(self, token: int) -> None:
        h = self.history
        for p in range(1, min(LOOP_MAX_PERIOD, len(h)) + 1):
            self.runs[p] = self.runs[p] + 1 if h[-p] == token else 0
        h.append(token)
        if len(h) > 2 * HISTORY:
            del h[:HISTORY]

    def banned(self) -> list[int]:
        """Tokens that would close an exact loop now."""
        h = self.history
        return [h[-p] for p in range(1, min(LOOP_MAX_PERIOD, len(h)) + 1)
                if self.runs[p] + 1 + p >= max(2 * p, LOOP_MIN_TOKENS)]

    def copy(self) -> LoopGuard:
        other = LoopGuard()
        other.history, other.runs = list(self.history), list(self.runs)
        return other

    def near(self) -> dict[int, int]:
        """token -> how often it followed the last NEAR_GRAM - 1 tokens within NEAR_WINDOW."""
        h = self.history[-NEAR_WINDOW:]
        k = NEAR_GRAM - 1
        if len(h) <= k:
            return {}
        context, seen = h[-k:], {}
        for i in range(len(h) - k):
            if h[i:i + k] == context:
                seen[h[i + k]] = seen.get(h[i + k], 0) + 1
        return seen

    def apply(self, probs: np.ndarray, near_loops: bool = False) -> np.ndarray:
        """`probs` without the tokens that close an exact loop; with `near_loops` (argmax)
        also with figures repeated lately made less likely (deterministic: nothing drawn)."""
        banned = self.banned()
        repeats = self.near() if near_loops else {}
        if not banned and not repeats:
            return probs
        out = probs.copy()
        for token, times in repeats.items():
            out[token] *= NEAR_PENALTY ** times
        out[banned] = 0.0
        return out if out.any() else probs


@dataclass
class Line:
    """A line being made: where it is, its loop memory, what it played, and the model's
    state after its last token (and, for candidates, after each of its tokens)."""

    decoder: LineDecoder
    guard: LoopGuard
    first: bool = False  # the next token opens the line: a note, on its beat
    notes: list[Note] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    probs: np.ndarray | None = None  # [n_values] the prediction after its last token
    h: np.ndarray | None = None  # [1, n_a] the state after its last token
    c: np.ndarray | None = None
    states: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    # states[k]: (probs [n_values], h [1, n_a], c [1, n_a]) after token k
    logp: float = 0.0  # the model's own log-likelihood of its tokens (candidates; no bias)

    @property
    def tick(self) -> int:
        """Where its next token starts."""
        return self.decoder.tick

    def fork(self) -> Line:
        """The same position and loop memory, with nothing played yet."""
        return Line(copy.copy(self.decoder), self.guard.copy(), self.first, probs=self.probs,
                    h=self.h, c=self.c)


class Voice:
    """Primes the LSTM with a phrase, then yields one token (and its note) at a time."""

    def __init__(self, engine: Engine, sampler: Sampler, low: int = 0, high: int = 127,
                 harmony=NO_HARMONY) -> None:
        self.engine, self.sampler = engine, sampler
        self.low, self.high = low, high
        self.harmony = harmony  # anything with at(tick) -> (chord mask, next chord mask)
        self.codec = engine.codec
        is_rest = np.array([t.is_rest for t in self.codec.tokens])
        self.note_mask = (~is_rest).astype(np.float32)
        self.rest_mask = is_rest.astype(np.float32)
        self.bias = np.ones(len(is_rest), np.float32)
        self.line = Line(LineDecoder(self.codec, (low + high) // 2, 0, low, high), LoopGuard())

    def set_density(self, value: float) -> None:
        """0..1: bias the rests (0.5 leaves the model's own choice)."""
        factor = DENSITY_RANGE ** (1.0 - 2.0 * value)
        self.bias = self.note_mask + self.rest_mask * np.float32(factor)

    def set_range(self, low: int, high: int) -> None:
        """Move the register window (live)."""
        self.low, self.high = low, high
        self.line.decoder.low, self.line.decoder.high = low, high

    @property
    def tick(self) -> int:
        """Where the next token starts."""
        return self.line.decoder.tick

    # --- the one step: choose a token, condition the next ---------------------------------
    def _pick(self, line: Line, probs: np.ndarray) -> tuple[int, int, Note | None]:
        """Choose `line`'s next token from `probs` and feed it to its decoder and guard:
        (its start tick, the token, its note or None)."""
        p = line.guard.apply(probs * self.bias, self.sampler.argmax)
        if line.first:  # a line opens with a note, on its beat
            p = p * self.note_mask
            line.first = False
        token = self.sampler(p)
        line.guard.feed(token)
        start = line.decoder.tick
        return start, token, line.decoder.feed(token)

    def _condition(self, out: np.ndarray, decoder: LineDecoder) -> None:
        """Fill `out` [COND_WIDTH] for the token starting where `decoder` stands."""
        if self.engine.has_cond:
            chord, nxt = self.harmony.at(decoder.tick) if self.harmony is not None else (0, 0)
            cond_into(out, decoder.pitch, int(decoder.tick), chord, nxt)

    def _feed(self, token: int | None) -> np.ndarray:
        """One step of the engine's own state, conditioned where the voice's line stands."""
        self._condition(self.engine.cond, self.line.decoder)
        return self.engine.step(token)

    # --- lines ------------------------------------------------------------------------------
    def begin(self, pitch: int, tick: int, phrase: Sequence[Note] = ()) -> None:
        """Start a line at `tick` from `pitch`, primed with `phrase` (may be empty).

        The phrase's own timing is fed, and then the silence from its end up to `tick` as
        rests, so the model knows where in the bar the line starts.
        """
        self.engine.reset()
        codec = self.codec
        probs = None
        if phrase:
            self.line = Line(LineDecoder(codec, phrase[0].pitch, phrase[0].start), LoopGuard())
            for token in codec.encode(list(phrase)):
                self.line.decoder.feed(token)
                probs = self._feed(token)
            gap = int(tick - self.line.decoder.tick)
            for dur in codec.split_rest(gap) if gap > 0 else ():
                token = codec.rest_index[dur]
                self.line.decoder.feed(token)
                probs = self._feed(token)
        self.line = Line(LineDecoder(codec, pitch, tick, self.low, self.high), LoopGuard(), True)
        self.line.probs = self._feed(None) if probs is None else probs

    def next(self) -> tuple[int, int, Note | None]:
        """Sample one token, feed it back: a batch of one. Returns (its start tick, the
        token, its note or None)."""
        line = self.line
        start, token, note = self._pick(line, line.probs)
        line.probs = self._feed(token)
        return start, token, note

    def steer(self, pitch: int, prev_pitch: int, ticks: float) -> None:
        """Duet: a note the musician finished is fed through the model as it comes."""
        interval = fold_pitch(pitch, prev_pitch) - prev_pitch
        token = Token("n", interval, self.codec.nearest_duration(ticks))
        self.line.decoder.pitch = fold_range(pitch, self.low, self.high)
        self.line.probs = self._feed(self.codec.index[token])

    def snapshot(self) -> Line:
        """The voice's line as it stands, with the engine's state: where a search starts."""
        line = self.line.fork()
        line.h, line.c = self.engine.state()
        return line

    def candidates(self, n: int, until: int) -> list[Line]:
        """`n` different continuations up to tick `until`, in one batched run per step.

        Call after `begin` (or `adopt`); every candidate starts from the voice's state, which
        is left as it was. A candidate stops at the first token that reaches `until`; its
        last note may ring past it (callers cut). Each keeps the state after each of its
        tokens, so the voice can `adopt` the chosen one, or `resume` it from any token.
        """
        h0, c0 = self.engine.state()
        h = np.repeat(h0, n, axis=0)  # [n, n_a]
        c = np.repeat(c0, n, axis=0)
        probs = np.repeat(self.line.probs[None, :], n, axis=0)  # [n, n_values]
        cond = np.zeros((n, COND_WIDTH), np.float32)  # [n, COND_WIDTH]
        tokens = np.zeros(n, np.int64)
        out = [self.line.fork() for _ in range(n)]
        active = np.ones(n, bool)
        while active.any():
            for i, line in enumerate(out):
                if active[i]:
                    _start, tokens[i], note = self._pick(line, probs[i])
                    line.logp += float(np.log(probs[i, tokens[i]] + 1e-12))
                    line.tokens.append(int(tokens[i]))
                    if note is not None:
                        line.notes.append(note)
                    self._condition(cond[i], line.decoder)
            new_probs, new_h, new_c = self.engine.step_batch(tokens, cond, h, c)
            probs[active], h[active], c[active] = (new_probs[active], new_h[active],
                                                   new_c[active])
            kept = probs.copy(), h.copy(), c.copy()  # [n, ...] each: the states after it
            for i, line in enumerate(out):
                if active[i]:
                    line.states.append((kept[0][i], kept[1][i:i + 1], kept[2][i:i + 1]))
                    if line.tick >= until:
                        active[i] = False
                        line.probs, line.h, line.c = line.states[-1]
        return out

    def adopt(self, line: Line) -> None:
        """Go on from a line's end: its state, position and loop memory."""
        self.engine.set_state(line.h, line.c)
        self.line = Line(line.decoder, line.guard, False, probs=line.probs)

    def resume(self, origin: Line, line: Line, k: int) -> Line:
        """Go on from `line` after its first `k` tokens (`origin`: where it started, as
        `snapshot` gave it); returns that prefix of `line`."""
        prefix = origin.fork()
        for token in line.tokens[:k]:
            prefix.guard.feed(token)
            note = prefix.decoder.feed(token)
            prefix.tokens.append(token)
            if note is not None:
                prefix.notes.append(note)
        prefix.states = line.states[:k]
        if k:
            prefix.probs, prefix.h, prefix.c = line.states[k - 1]
            prefix.first = False
        self.engine.set_state(prefix.h, prefix.c)
        self.line = Line(copy.copy(prefix.decoder), prefix.guard.copy(), prefix.first,
                         probs=prefix.probs)
        return prefix
