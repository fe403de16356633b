"""The four modes, one class each behind one small interface (`Mode`).

The improviser routes every event to its mode: a note heard, a note finished, the passing of
time, the transport starting, the end-of-phrase button. A mode decides what that means (an
answer to plan, a turn to take, a line to steer) and asks the improviser to play it; it
never touches the ports or the scheduler.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import TYPE_CHECKING, ClassVar

from jazz_plugin.live.phrase import CallNote
from jazz_plugin.model.planner import Plan
from jazz_plugin.music.codec import Note, quantize
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT

if TYPE_CHECKING:
    from jazz_plugin.live.improviser import Improviser

SEARCH_LEAD = 0.150  # seconds: the candidate search runs this long before the phrase end


class State(str, Enum):
    """Where the improviser is; compares equal to its name."""

    LISTENING = "listening"  # call-response and trade: waiting for (or hearing) a call
    ANSWERING = "answering"  # an answer is being played
    PLAYING = "playing"  # duet and solo: the line flows
    STOPPED = "stopped"  # the external clock stopped


class Mode:
    """What one mode makes of the events the improviser routes to it (the interface; each
    mode overrides what it needs)."""

    name: ClassVar[str]
    continuous: ClassVar[bool] = False  # plays without waiting for a call
    records: ClassVar[bool] = True  # the notes heard make up a call

    def start(self, imp: Improviser, tick: float) -> None:
        """The mode begins, or the transport starts: listen."""
        imp.state = State.LISTENING

    def rewind(self) -> None:
        """The timeline jumped: forget where on it things were."""

    def heard(self, imp: Improviser, tick: float, channel: int, pitch: int) -> None:
        """The musician played a note."""
        imp.phrase.note_on(tick, channel, pitch, record=self.records)

    def finished(self, imp: Improviser, note: CallNote) -> None:
        """A note the musician played has ended."""

    def poll(self, imp: Improviser, now: float) -> None:
        """Whatever the mode has to do at `now`."""

    def wakeups(self, imp: Improviser, now: float) -> list[float]:
        """When `poll` has something to do next."""
        return []

    def end_phrase(self, imp: Improviser, now: float) -> None:
        """The end-of-phrase button."""


class CallResponse(Mode):
    """Play a phrase; when it ends (silence or the button) the answer comes on the beat."""

    name = "call-response"

    def __init__(self) -> None:
        self.prepared: tuple[tuple, Plan] | None = None  # (call key, plan) searched ahead

    def rewind(self) -> None:
        """The timeline jumped or stopped: a plan made for the old position is not played."""
        self.prepared = None

    def heard(self, imp: Improviser, tick: float, channel: int, pitch: int) -> None:
        if imp.state == State.ANSWERING:
            imp.interrupt()  # playing over the answer stops it; the notes start a new call
        super().heard(imp, tick, channel, pitch)
        imp.state = State.LISTENING

    def _end_tick(self, imp: Improviser) -> float | None:
        return imp.phrase.end_tick() if imp.state == State.LISTENING else None

    def _stale(self, imp: Improviser) -> bool:
        """A search is due: answers are searched and none is prepared for this call."""
        return imp.rules().searching and (self.prepared is None
                                          or self.prepared[0] != _call_key(imp))

    def poll(self, imp: Improviser, now: float) -> None:
        end = self._end_tick(imp)
        if end is None or not imp.clock.running:
            return
        if now >= imp.clock.time_of(end) - SEARCH_LEAD and self._stale(imp):
            self._prepare(imp, end)
        if now >= imp.clock.time_of(end):
            self._answer(imp, now)

    def wakeups(self, imp: Improviser, now: float) -> list[float]:
        end = self._end_tick(imp)
        if end is None or not imp.clock.running:
            return []
        at = imp.clock.time_of(end)
        return [at, at - SEARCH_LEAD] if self._stale(imp) else [at]

    def end_phrase(self, imp: Improviser, now: float) -> None:
        if imp.phrase.call and imp.state == State.LISTENING:
            self._answer(imp, now)

    def _prepare(self, imp: Improviser, end_tick: float) -> None:
        """Shortly before the phrase end, search the answer to the call as it stands, so
        that the search never delays the first note. Any new input makes it stale."""
        snapshot = [(n.pitch, n.start, end_tick if n.end != n.end else n.end)
                    for n in imp.phrase.call]
        call = quantize(snapshot, 1.0)
        if not call:
            return
        rules = imp.rules()
        start, bars = imp.planner.window(end_tick, call, rules, imp.clock.bpm)
        self.prepared = (_call_key(imp), imp.planner.search(call, start, bars, rules))

    def _answer(self, imp: Improviser, now: float) -> None:
        """The call is over: answer it (with the plan prepared for it, if it still holds)."""
        prepared, self.prepared = self.prepared, None
        key = _call_key(imp)
        call = _take_call(imp, now)
        if not call:
            return
        if prepared is not None and prepared[0] == key:
            plan: Plan | None = prepared[1]
            call, start, bars = plan.call, plan.start, plan.bars
        else:
            plan = None
            start, bars = imp.planner.window(imp.clock.tick_at(now), call, imp.rules(),
                                             imp.clock.bpm)
        imp.answer(call, start, bars, plan)
        imp.log(f"call of {len(call)} notes; answering {bars} bar(s)")


def _call_key(imp: Improviser) -> tuple:
    """What a prepared answer depends on: the call as it stands."""
    return (imp.phrase.last_activity, len(imp.phrase.call), len(imp.phrase.held))


def _take_call(imp: Improviser, now: float) -> list[Note]:
    """The call so far, quantized; the phrase detector is cleared for the next."""
    phrase = imp.phrase
    stuck_before = phrase.stuck
    call = quantize(phrase.take_call(imp.clock.tick_at(now)), 1.0)
    if phrase.stuck > stuck_before:
        imp.status.stuck_input += phrase.stuck - stuck_before
        imp.log("a held input note got no note-off: counted as stuck, answering anyway")
    return call


class Trade(Mode):
    """Trading N bars on the bar grid from tick 0: even turns are the musician's. The
    answer is primed in the last beat of the musician's turn, so it starts on the bar line
    without waiting for silence."""

    name = "trade"

    def __init__(self) -> None:
        self.turn = -1  # the last musician's turn answered

    def start(self, imp: Improviser, tick: float) -> None:
        self.turn = -1  # turns count again from the new start
        super().start(imp, tick)

    def rewind(self) -> None:
        self.turn = -1  # the turns follow the new position

    def poll(self, imp: Improviser, now: float) -> None:
        if imp.clock.running:
            self._trade(imp, now)

    def wakeups(self, imp: Improviser, now: float) -> list[float]:
        if not imp.clock.running:
            return []
        return [imp.clock.time_of(self._prime_tick(imp, imp.clock.tick_at(now)))]

    def _prime_tick(self, imp: Improviser, tick: float) -> float:
        """The next moment to prepare an answer: the last beat of the musician's turn."""
        turn = imp.options.trade_bars * TICKS_PER_BAR
        k = math.floor(tick / turn)
        mine = k + 1 if k % 2 else k  # the musician's turn now or next
        if mine <= self.turn:
            mine += 2
        return (mine + 1) * turn - TICKS_PER_BEAT

    def _trade(self, imp: Improviser, now: float) -> None:
        tick = imp.clock.tick_at(now)
        bars = imp.options.trade_bars
        turn = bars * TICKS_PER_BAR
        k = math.floor(tick / turn)
        end = (k + 1) * turn
        if k % 2 or k <= self.turn or tick < end - TICKS_PER_BEAT:
            return
        self.turn = k
        begin = k * turn
        notes = [n for n in imp.phrase.call if begin <= n.start < end]  # by onset
        for n in notes:
            if n.end != n.end:  # still held: it belongs to this turn, up to the bar line
                n.end = end
        imp.phrase.call = [n for n in imp.phrase.call if n.start >= end]
        call = quantize(notes, 1.0)
        if not call and imp.options.trade_empty == "rest":
            imp.log("your turn was empty: resting")
            return
        imp.answer(call, end, bars)
        imp.log(f"trade: {len(call)} notes in your turn; answering bars "
                f"{end // TICKS_PER_BAR + 1}-{end // TICKS_PER_BAR + bars}")


class Continuous(Mode):
    """A line that flows from the next beat on."""

    continuous = True
    records = False

    def start(self, imp: Improviser, tick: float) -> None:
        imp.play_on(tick)


class Duet(Continuous):
    """Plays continuously; each note the musician finishes is fed through the model."""

    name = "duet"

    def __init__(self) -> None:
        self.prev_pitch: int | None = None  # the last note fed, for the next interval

    def finished(self, imp: Improviser, note: CallNote) -> None:
        if imp.player.generating:
            prev = self.prev_pitch if self.prev_pitch is not None else note.pitch
            imp.voice.steer(note.pitch, prev, note.end - note.start)
            self.prev_pitch = note.pitch


class Solo(Continuous):
    """Just plays: what the musician plays is not heard."""

    name = "solo"

    def heard(self, imp: Improviser, tick: float, channel: int, pitch: int) -> None:
        pass


MODE_CLASSES: dict[str, type[Mode]] = {m.name: m for m in (CallResponse, Duet, Solo, Trade)}


def make_mode(name: str) -> Mode:
    """A fresh mode object for `name` (one of options.MODES)."""
    if name not in MODE_CLASSES:
        raise ValueError(f"unknown mode {name!r}; known: {', '.join(MODE_CLASSES)}")
    return MODE_CLASSES[name]()
