"""The answer planner: where an answer starts, how long it lasts, and which line is played.

One planner for the daemon (call-response and trade), `jazz-plugin generate` and
`jazz-plugin evaluate`, so an answer is planned one way everywhere. The voice is primed with
the call; `candidates` lines are made in one batched run per step, and the one that best
develops the call over the harmony (`develop.best`) is the plan. A plan keeps the model's
state after each of its tokens, and the chord it assumed under each, so it can be planned
again from any tick (`replan`) when the harmony there is no longer what it assumed.
The choice adds the model's own likelihood of each line and the critic's verdict on all of
them, in one batched run (`develop.best`), aiming at the soloists' measured figures
(`AnswerRules.targets`, from the model's `feel` at the tempo).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from jazz_plugin.model.voice import Line, Voice
from jazz_plugin.music import develop
from jazz_plugin.music.codec import Note, fold_range
from jazz_plugin.music.distributions import Phrase
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT

if TYPE_CHECKING:
    from jazz_plugin.options import RunOptions

START_MARGIN = 0.005  # seconds: an answer never starts closer to the call's end than this


class LiveKnobs(Protocol):
    """The answer knobs a performance moves (live.controls.LiveSettings)."""

    answer_bars: int
    develop: float
    critic: float


class CallHarmony(Protocol):
    """The chords a voice plays over, which can assume the key of a call."""

    def at(self, tick: float) -> tuple[int, int]: ...

    def assume(self, notes: list[Note]) -> None: ...


@dataclass(frozen=True)
class AnswerRules:
    """How answers are planned: the run options, with the live values where they moved."""

    answer_on: str  # "beat" or "bar": where an answer starts
    answer_bars: int  # 0 = as long as the call
    min_bars: int
    max_bars: int
    candidates: int  # lines tried; 1 = stream the one line
    develop: float  # 0 = unrelated to the call .. 1 = close variations
    critic: float = develop.critic  # weight of the critic's verdict, 0 = off
    targets: develop.Targets | None = None  # the soloists' figures at this tempo

    @classmethod
    def of(cls, o: RunOptions, live: LiveKnobs | None = None, feel: dict | None = None,
           bpm: float | None = None) -> AnswerRules:
        """The options, with the `live` answer length, develop and critic where given;
        `feel`: the model's measured figures, taken at `bpm` (default: the options')."""
        knobs = live or o
        return cls(o.answer_on, knobs.answer_bars, o.min_bars, o.max_bars, o.candidates,
                   knobs.develop, knobs.critic,
                   develop.search_targets(feel or {}, o.bpm if bpm is None else bpm))

    @property
    def searching(self) -> bool:
        """Answers are chosen among candidates (else one line is streamed)."""
        return self.candidates > 1


@dataclass
class Plan:
    """An answer chosen ahead: from `start` for `bars` bars, the chosen line and where it
    began (`origin`, the voice's snapshot), so it can be planned again from a tick."""

    call: list[Note]
    start: int
    bars: int
    line: Line
    origin: Line
    chords: list[int] = field(default_factory=list)  # the chord assumed at each token

    @property
    def end(self) -> int:
        return self.start + self.bars * TICKS_PER_BAR

    @property
    def notes(self) -> list[Note]:
        return self.line.notes

    def tokens_before(self, tick: float) -> int:
        """How many of the plan's tokens start before `tick`."""
        return sum(1 for t in self.token_ticks() if t < tick)

    def token_ticks(self) -> list[int]:
        """Where each of the plan's tokens starts."""
        ticks, t = [], self.start
        tokens = self.origin.decoder.tokens
        for token in self.line.tokens:
            ticks.append(t)
            t += tokens[token].dur
        return ticks


class AnswerPlanner:
    """Plans answers on one voice (and the harmony it plays over)."""

    def __init__(self, voice: Voice, harmony: CallHarmony) -> None:
        self.voice, self.harmony = voice, harmony

    @staticmethod
    def window(end_tick: float, call: Sequence[Note], rules: AnswerRules,
               bpm: float) -> tuple[int, int]:
        """Where the answer to `call`, which ended at `end_tick`, starts (the next beat or
        bar, at least START_MARGIN later at `bpm`) and how many bars it lasts."""
        unit = TICKS_PER_BAR if rules.answer_on == "bar" else TICKS_PER_BEAT
        start = math.ceil((end_tick + 1e-9) / unit) * unit
        if (start - end_tick) * 60.0 / (bpm * TICKS_PER_BEAT) < START_MARGIN:
            start += unit
        call_ticks = call[-1].start + call[-1].dur - call[0].start
        bars = rules.answer_bars or math.ceil(call_ticks / TICKS_PER_BAR)
        return start, min(max(bars, rules.min_bars), rules.max_bars)

    def prime(self, call: Sequence[Note], start: int) -> None:
        """The harmony assumes the call's key; the voice hears the call and waits at
        `start` on its last pitch (the middle of its range without a call)."""
        voice = self.voice
        self.harmony.assume(list(call))
        if call:
            pitch = fold_range(call[-1].pitch, voice.low, voice.high)
        else:
            pitch = (voice.low + voice.high) // 2
        voice.begin(pitch, start, call)

    def search(self, call: Sequence[Note], start: int, bars: int, rules: AnswerRules) -> Plan:
        """The best of the candidate answers to `call` from `start`, `bars` long."""
        self.prime(call, start)
        origin = self.voice.snapshot()
        end = start + bars * TICKS_PER_BAR
        return self._assumed(Plan(list(call), start, bars, self._best(call, end, rules),
                                  origin))

    def answer(self, call: Sequence[Note], end_tick: float, rules: AnswerRules,
               bpm: float) -> Plan:
        """The whole plan for a call that ended at `end_tick`: its window, then its line."""
        start, bars = self.window(end_tick, call, rules, bpm)
        return self.search(call, start, bars, rules)

    def replan(self, plan: Plan, tick: float, rules: AnswerRules) -> Plan:
        """The same answer up to `tick`, searched again from there (from the state the plan
        kept at that token) to its end over the harmony as it is now, scoring only what is
        still to come; a candidate whose first note fits the chord it falls on is preferred."""
        k = plan.tokens_before(tick)
        prefix = self.voice.resume(plan.origin, plan.line, k)
        rest = (self._best(plan.call, plan.end, rules, fit_first=True)
                if self.voice.tick < plan.end else None)
        line = prefix if rest is None else _joined(prefix, rest)
        return self._assumed(Plan(plan.call, plan.start, plan.bars, line, plan.origin))

    def _assumed(self, plan: Plan) -> Plan:
        """The plan with the chord the harmony gives at each of its tokens now."""
        plan.chords = [self.harmony.at(t)[0] for t in plan.token_ticks()]
        return plan

    def extend(self, until: int, call: Sequence[Note], rules: AnswerRules) -> Line:
        """The voice goes on up to `until` with the best of `rules.candidates` lines
        developing `call`, and stays there (`generate` makes a long line phrase by phrase)."""
        line = self._best(call, until, rules)
        self.voice.adopt(line)
        return line

    def _best(self, call: Sequence[Note], until: int, rules: AnswerRules,
              fit_first: bool = False) -> Line:
        """The best of the candidates: develop, the model's likelihood of each (mean per
        token) and the critic's verdict on all of them in one batched run; with
        `fit_first`, among those whose first note is a tone of its chord, where any is."""
        voice = self.voice
        start = voice.tick
        lines = voice.candidates(max(rules.candidates, 1), until)
        if fit_first:
            lines = [c for c in lines if self._fits(c.notes[:1])] or lines
        if len(lines) == 1:
            return lines[0]
        verdicts = None
        critic = voice.engine.critic
        if rules.critic > 0 and critic is not None:
            bars = max(1, -(-(until - start) // TICKS_PER_BAR))
            verdicts = critic.logits([Phrase(c.notes, start, bars, self.harmony) for c in lines])
        loglik = [c.logp / max(1, len(c.tokens)) for c in lines]
        return lines[develop.best([c.notes for c in lines], call, self.harmony, rules.develop,
                                  loglik=loglik, verdicts=verdicts, critic=rules.critic,
                                  targets=rules.targets)]

    def _fits(self, notes: list[Note]) -> bool:
        chord = self.harmony.at(notes[0].start)[0] if notes else 0
        return bool(chord >> (notes[0].pitch % 12) & 1) if chord else False


def _joined(prefix: Line, rest: Line) -> Line:
    """`prefix` followed by `rest` (which went on from its end)."""
    return Line(rest.decoder, rest.guard, rest.first, prefix.notes + rest.notes,
                prefix.tokens + rest.tokens, rest.probs, rest.h, rest.c,
                prefix.states + rest.states, prefix.logp + rest.logp)
