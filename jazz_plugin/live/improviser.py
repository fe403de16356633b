"""The mode machine: listen, seed, answer. Driven by MIDI input and the passing of time.

No I/O and no sleeping here: the daemon feeds `on_midi(t, bytes)` and calls `poll(now)`;
tests do the same with a fake clock. A note goes one straight way:
input -> phrase -> codec.encode -> engine.prime -> sampler -> decoder -> scheduler -> output.
The phrase detector (`phrase.py`) and the voice (`voice.py`) do the musical work; this
class only decides, by mode and state, what happens next.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from jazz_plugin.live.chordsource import Harmony, is_chord_input
from jazz_plugin.live.clock import TICKS_PER_BAR, TICKS_PER_BEAT, ExternalClock, InternalClock
from jazz_plugin.live.controls import CC_ON, Controls, scaled
from jazz_plugin.live.midispec import (
    ALL_NOTES_OFF,
    ALL_SOUND_OFF,
    CLOCK_MESSAGES,
    CONTROL_CHANGE,
    DRUM_CHANNEL,
    NOTE_OFF,
    NOTE_ON,
    SUSTAIN_PEDAL,
    SYSEX_START,
    channel,
    kind,
)
from jazz_plugin.live.midistream import MidiStream
from jazz_plugin.live.output import Output
from jazz_plugin.live.phrase import PhraseDetector
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import fold_range, quantize
from jazz_plugin.music.harmony import Changes
from jazz_plugin.options import MODES, RunOptions

MAX_STEPS_PER_POLL = 64  # generation catch-up is bounded; late notes are dropped, not bunched
START_MARGIN = 0.005  # seconds: an answer never starts closer to "now" than this
SEARCH_LEAD = 0.150  # seconds: the candidate search runs this long before the phrase end


CONTINUOUS = ("duet", "solo")  # modes that play without waiting for a call
EIGHTH = TICKS_PER_BEAT // 2
SWING_SHIFT = TICKS_PER_BEAT // 6  # full swing moves the off-beat eighth from 6 to 8 ticks


def swung(tick: float, amount: float) -> float:
    """Swing the eighth-note grid: an off-beat eighth is delayed toward the triplet (2:1)."""
    if amount and tick % TICKS_PER_BEAT == EIGHTH:
        return tick + amount * SWING_SHIFT
    return tick


class State(str, Enum):
    """Where the improviser is; compares equal to its name."""

    LISTENING = "listening"  # call-response: waiting for (or hearing) a call
    ANSWERING = "answering"  # call-response: an answer is being played
    PLAYING = "playing"  # duet and solo: the line flows
    STOPPED = "stopped"  # the external clock stopped


@dataclass
class Status:
    """What the status line shows and the stats line counts."""

    state: State = State.LISTENING
    notes_in: int = 0
    notes_out: int = 0
    last_in: deque = field(default_factory=lambda: deque(maxlen=6))
    last_out: deque = field(default_factory=lambda: deque(maxlen=6))
    answers: int = 0
    last_latency_ms: float = float("nan")  # last note played -> first answer note
    stuck_input: int = 0  # held input notes released without their note-off


class Improviser:
    """The musical brain: one instance per daemon run."""

    def __init__(self, engine: Engine, sampler: Sampler, settings: RunOptions,
                 clock: InternalClock | ExternalClock, output: Output,
                 controls: Controls | None = None, log=None, verbose: bool = False,
                 chart: Changes | None = None) -> None:
        self.engine, self.sampler, self.settings = engine, sampler, settings
        self.clock, self.output = clock, output
        self.controls = controls or Controls()
        self.log = log or (lambda text: None)
        self.verbose = verbose
        self.harmony = Harmony(chart)
        self.voice = Voice(engine, sampler, settings.low + settings.register,
                           settings.high + settings.register, self.harmony)
        self.voice.set_density(settings.density)
        self.trade_turn = -1  # the last musician's turn we answered (trade mode)
        self.prepared: tuple | None = None  # (call key, line, start, bars, pick)
        self.listeners: list = []  # callables (kind, value): "state", "note", "mode"
        self.phrase = PhraseDetector(settings.phrase_end)
        self.sched = Scheduler(clock)
        self.stream = MidiStream()
        self.status = Status()
        self.answer_notes: list[int] = []  # pitches of the current answer, for -v
        self.gen_tick = 0.0  # onset tick of the last generated token
        self.answer_end = math.inf
        self.last_note_time = 0.0  # when the musician's last note ended (for the latency)
        self.duet_prev_pitch: int | None = None
        self.generating = False
        self.first_of_answer = False  # the next note-on sent is an answer's first

    @property
    def state(self) -> State:
        return self.status.state

    @state.setter
    def state(self, value: State) -> None:
        if value != self.status.state:
            self.status.state = value
            self.emit("state", value.value)

    def emit(self, kind: str, value) -> None:
        """Tell listeners (OSC state out, a controller's LEDs) what changed; they must be
        quick: they run on the daemon's loop."""
        for listener in self.listeners:
            listener(kind, value)

    def start(self, now: float) -> None:
        """Begin: duet and solo start playing on the next beat; call-response listens."""
        if self.settings.mode in CONTINUOUS and self.clock.running:
            self._start_continuous(self.clock.tick_at(now))

    # --- input -------------------------------------------------------------------------
    def on_midi(self, t: float, data: list[int]) -> None:
        """Raw bytes from the port (one message or several), with their arrival time."""
        for msg in self.stream.feed(data):
            self._on_message(t, msg)

    def _on_message(self, t: float, msg: list[int]) -> None:
        status = msg[0]
        if status >= SYSEX_START:
            if status in CLOCK_MESSAGES:
                self._clock_change(self.clock.handle(status, msg, t), t)
            return
        what, ch = kind(status), channel(status)
        if self.settings.thru:
            self.output.thru(msg)
        if what == CONTROL_CHANGE:
            if msg[1] in (ALL_NOTES_OFF, ALL_SOUND_OFF):
                self.release_input(t, f"CC {msg[1]}")
            elif msg[1] == SUSTAIN_PEDAL:
                if self._is_chord_channel(ch):
                    self.harmony.played.sustain(self.clock.tick_at(t), msg[2] >= CC_ON)
            else:
                self._on_control(t, msg[1], msg[2])
        elif ch == DRUM_CHANNEL or what not in (NOTE_ON, NOTE_OFF):
            return
        elif self.is_chord_note(ch, msg[1]):
            if what == NOTE_ON and msg[2] > 0:
                self.harmony.played.note_on(self.clock.tick_at(t), msg[1])
            else:
                self.harmony.played.note_off(self.clock.tick_at(t), msg[1])
        elif what == NOTE_ON and msg[2] > 0:
            self._note_on(t, ch, msg[1])
        else:
            self._note_off(t, ch, msg[1])

    def _is_chord_channel(self, ch: int) -> bool:
        s = self.settings
        return (s.chord_channel is not None and ch == s.chord_channel - 1) or (
            s.split is not None and s.chord_channel is None)

    def is_chord_note(self, ch: int, pitch: int) -> bool:
        """Chord-channel notes, or notes below the split, are harmony, not the call."""
        return is_chord_input(self.settings.chord_channel, self.settings.split, ch, pitch)

    def chord_text(self, now: float) -> str:
        """The chord now playing (or the key assumed), for the status line."""
        return self.harmony.text(self.clock.tick_at(now))

    def _note_on(self, t: float, ch: int, pitch: int) -> None:
        self.status.notes_in += 1
        self.status.last_in.append(pitch)
        mode = self.settings.mode
        if mode == "solo":
            return
        if mode == "call-response" and self.state == State.ANSWERING:
            self._interrupt()
        self.phrase.note_on(self.clock.tick_at(t), ch, pitch,
                            record=mode in ("call-response", "trade"))
        if mode == "call-response":
            self.state = State.LISTENING

    def _note_off(self, t: float, ch: int, pitch: int) -> None:
        note = self.phrase.note_off(self.clock.tick_at(t), ch, pitch)
        if note is None:
            return
        self.last_note_time = t
        if self.settings.mode == "duet" and self.generating:
            prev = self.duet_prev_pitch if self.duet_prev_pitch is not None else note.pitch
            self.voice.steer(note.pitch, prev, note.end - note.start)
            self.duet_prev_pitch = note.pitch

    def release_input(self, t: float, why: str) -> None:
        """Every held input note ends now: CC 123/120, a lost input port, a mode change."""
        self.harmony.played.release_all(self.clock.tick_at(t))
        held = self.phrase.release(self.clock.tick_at(t))
        if held:
            self.status.stuck_input += held
            self.log(f"{why}: released {held} held input note(s)")

    def _on_control(self, t: float, control: int, value: int) -> None:
        action = self.controls.action_for(control)
        if action is not None:
            self.set_control(action, scaled(action, value), t, "CC")

    def set_control(self, action: str, v, t: float, why: str = "") -> None:
        """Change a live control to its own value (the CC path scales first; OSC sends
        values directly). Switches act when true."""
        s = self.settings
        if action == "temperature":
            self.sampler.temperature = v
        elif action == "argmax":
            self.sampler.argmax = bool(v)
        elif action == "answer_length":
            s.answer_bars = v
        elif action == "mute":
            self.output.muted = bool(v)
            if v:
                self.output.release()
        elif action == "panic" and v:
            self.panic(f"panic {why}".strip())
        elif action == "end_phrase" and v:
            if s.mode == "call-response" and self.phrase.call and self.state == State.LISTENING:
                self._end_phrase(t)
        elif action == "mode" and v != s.mode:
            self.set_mode(v, t)
        elif action == "develop":
            s.develop = v
        elif action == "swing":
            s.swing = v
        elif action == "density":
            s.density = v
            self.voice.set_density(v)
        elif action == "register":
            shift = max(-s.low, min(127 - s.high, v))
            s.register = shift
            self.voice.set_range(s.low + shift, s.high + shift)

    def set_chart(self, chart: Changes | None) -> None:
        """A new chart (or none) from now on; it loops on the bar grid from tick 0."""
        self.harmony.chart = chart if chart is not None and len(chart) else None

    # --- the clock ---------------------------------------------------------------------
    def _clock_change(self, change: str | None, t: float) -> None:
        if change == "stop":
            self.sched.clear()
            self.output.silence()
            self.generating = False
            self.state = State.STOPPED
            self.log("clock stopped: all notes closed")
        elif change == "start":
            self.log("clock started")
            self.trade_turn = -1  # turns count again from the new start
            if self.settings.mode in CONTINUOUS:
                self._start_continuous(self.clock.tick_at(t))
            else:
                self.state = State.LISTENING
        elif change == "moved":
            self._moved(t)

    def _moved(self, t: float) -> None:
        """The song position jumped while playing (a DAW loop, the playhead moved): what
        sounds is closed and the music goes on from the new position."""
        jump = self.clock.jump
        self.trade_turn = -1  # the turns follow the new position
        self.sched.clear()
        self.output.release()
        for note in self.phrase.call:  # a call keeps its shape; its end moves with it
            note.start += jump
            note.end += jump
        if self.phrase.last_activity is not None:
            self.phrase.last_activity += jump
        if self.settings.mode in CONTINUOUS:
            self._start_continuous(self.clock.tick_at(t))
        elif self.state == State.ANSWERING:
            self.generating = False
            self.state = State.LISTENING
        self.log(f"song position moved by {jump / TICKS_PER_BEAT:+.2f} beats")

    # --- control -----------------------------------------------------------------------
    def set_mode(self, mode: str, now: float) -> None:
        """Switch modes; everything sounding is closed first."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.sched.clear()
        self.output.silence()
        self.settings.mode = mode
        self.phrase.clear()
        self.generating = False
        self.state = State.LISTENING
        self.trade_turn = -1
        self.log(f"mode: {mode}")
        self.emit("mode", mode)
        if mode in CONTINUOUS:
            self._start_continuous(self.clock.tick_at(now))

    def panic(self, why: str) -> None:
        """Silence everything and forget the current phrase/answer."""
        self.sched.clear()
        self.output.silence()
        self.phrase.clear()
        self.generating = self.settings.mode in CONTINUOUS and self.generating
        if self.state == State.ANSWERING:
            self.state = State.LISTENING
        self.log(f"{why}: all notes off")

    def shutdown(self) -> None:
        """Last words: every sounding note closed, sustain up, all-notes-off."""
        self.sched.clear()
        self.generating = False
        self.output.silence()

    # --- time --------------------------------------------------------------------------
    def poll(self, now: float) -> None:
        """Do whatever is due at `now`: play events, generate one step ahead, end phrases."""
        self._clock_change(self.clock.check(now), now)
        if self.clock.running:
            for event in self.harmony.advance(self.clock.tick_at(now)):
                self.log(f"form {event}")
        self._dispatch(now)
        if self.generating and self.clock.running:
            steps = 0
            while (self.generating and steps < MAX_STEPS_PER_POLL
                   and now >= self.clock.time_of(self.gen_tick)):
                self._generate_one()
                steps += 1
            self._dispatch(now)
        if self.state == State.ANSWERING and not self.generating and not self.sched.heap:
            self.state = State.LISTENING
        end = self._phrase_end_tick() if self._searching() else None
        if (end is not None and self.clock.running and now >= self._prepare_time(end)
                and (self.prepared is None or self.prepared[0] != self._call_key())):
            self._prepare(end)
        if self._phrase_end_due(now):
            self._end_phrase(now)
        if self.settings.mode == "trade" and self.clock.running:
            self._trade(now)

    def next_wakeup(self, now: float) -> float | None:
        """The next time `poll` has something to do (None: only input can change things)."""
        times = []
        deadline = self.clock.deadline()
        if deadline is not None:
            times.append(deadline + 1e-3)
        t = self.sched.next_time()
        if t is not None:
            times.append(t)
        if self.generating and self.clock.running:
            times.append(self.clock.time_of(self.gen_tick))
        end = self._phrase_end_tick()
        if end is not None and self.clock.running:
            times.append(self.clock.time_of(end))
            if self._searching() and (self.prepared is None
                                      or self.prepared[0] != self._call_key()):
                times.append(self._prepare_time(end))
        if self.settings.mode == "trade" and self.clock.running:
            times.append(self.clock.time_of(self._trade_prime_tick(self.clock.tick_at(now))))
        return min(times) if times else None

    def _dispatch(self, now: float) -> None:
        out = self.output
        for event in self.sched.due(now):
            if event.is_on:
                out.note_on(event.pitch, event.velocity)
                if self.listeners:
                    self.emit("note", (event.pitch, event.velocity))
                self.status.notes_out += 1
                self.status.last_out.append(event.pitch)
                if self.first_of_answer:
                    self.status.last_latency_ms = (now - self.last_note_time) * 1000
                    self.first_of_answer = False
            else:
                out.note_off(event.pitch)

    # --- call and response -------------------------------------------------------------
    def _phrase_end_tick(self) -> float | None:
        if self.settings.mode != "call-response" or self.state != State.LISTENING:
            return None
        return self.phrase.end_tick()

    def _prepare_time(self, end_tick: float) -> float:
        return self.clock.time_of(end_tick) - SEARCH_LEAD

    def _phrase_end_due(self, now: float) -> bool:
        tick = self._phrase_end_tick()
        return tick is not None and self.clock.running and now >= self.clock.time_of(tick)

    def _searching(self) -> bool:
        """Answers are chosen among candidates (needs a batch-capable model)."""
        return self.settings.candidates > 1 and hasattr(self.engine, "step_batch")

    def _call_key(self) -> tuple:
        """What a prepared answer depends on: the call as it stands."""
        return (self.phrase.last_activity, len(self.phrase.call), len(self.phrase.held))

    def _plan(self, end_tick: float, end_time: float, line: list) -> tuple[int, int]:
        """Where the answer to `line`, ended at `end_tick`, starts, and how many bars."""
        s = self.settings
        unit = TICKS_PER_BAR if s.answer_on == "bar" else TICKS_PER_BEAT
        start = math.ceil((end_tick + 1e-9) / unit) * unit
        if self.clock.time_of(start) - end_time < START_MARGIN:
            start += unit
        call_ticks = line[-1].start + line[-1].dur - line[0].start
        bars = s.answer_bars or math.ceil(call_ticks / TICKS_PER_BAR)
        return start, min(max(bars, s.min_bars), s.max_bars)

    def _prepare(self, end_tick: float) -> None:
        """Shortly before the phrase end, search the answer to the call as it stands, so
        that the search never delays the first note. Any new input makes it stale."""
        snapshot = [(n.pitch, n.start, end_tick if n.end != n.end else n.end)
                    for n in self.phrase.call]
        line = quantize(snapshot, 1.0)
        if not line:
            return
        start, bars = self._plan(end_tick, self.clock.time_of(end_tick), line)
        pick = self._search(line, start, bars)
        self.prepared = (self._call_key(), line, start, bars, pick)

    def _end_phrase(self, now: float) -> None:
        """The call is over: prime the LSTM with it and schedule the answer."""
        prepared, self.prepared = self.prepared, None
        key = self._call_key()
        now_tick = self.clock.tick_at(now)
        stuck_before = self.phrase.stuck
        line = quantize(self.phrase.take_call(now_tick), 1.0)
        if self.phrase.stuck > stuck_before:
            self.status.stuck_input += self.phrase.stuck - stuck_before
            self.log("a held input note got no note-off: counted as stuck, answering anyway")
        if not line:
            return
        if prepared is not None and prepared[0] == key:
            _key, line, start, bars, pick = prepared
        else:
            start, bars = self._plan(now_tick, now, line)
            pick = None
        self._answer(line, start, bars, pick)
        self.log(f"call of {len(line)} notes; answering {bars} bar(s)")

    def _search(self, line: list, start: int, bars: int) -> list:
        """The best of the candidate answers (the voice is primed with the call)."""
        self._prime(line, start)
        return self.voice.best_of(self.settings.candidates, start + bars * TICKS_PER_BAR,
                                  line, self.settings.develop).notes

    def _prime(self, line: list, start: int) -> None:
        self.harmony.assume(line)
        if line:
            pitch = fold_range(line[-1].pitch, self.voice.low, self.voice.high)
        else:
            pitch = (self.voice.low + self.voice.high) // 2
        self.voice.begin(pitch, start, line)

    def _answer(self, line: list, start: int, bars: int, pick: list | None = None) -> None:
        """Play `bars` bars from `start` in answer to `line` (may be empty): the prepared
        `pick`, else the best candidate, else streamed one step ahead."""
        self.answer_end = start + bars * TICKS_PER_BAR
        self.answer_notes = []
        self.first_of_answer = True
        self.state = State.ANSWERING
        self.status.answers += 1
        if pick is None and self._searching():
            pick = self._search(line, start, bars)
        self.harmony.heard(line)  # after the search, which assumed it already
        if pick is not None:
            for note in pick:
                self._schedule(note)
            self.generating = False
            if self.verbose:
                self.log(f"answer: {' '.join(str(n.pitch) for n in pick)}")
            return
        self._prime(line, start)
        self.gen_tick = -math.inf
        self.generating = True
        self._generate_one()

    # --- trading -----------------------------------------------------------------------
    def _turn_ticks(self) -> int:
        return self.settings.trade_bars * TICKS_PER_BAR

    def _trade_prime_tick(self, tick: float) -> float:
        """The next moment to prepare an answer: the last beat of the musician's turn.

        Turns alternate on the bar grid from tick 0: even turns are the musician's."""
        turn = self._turn_ticks()
        k = math.floor(tick / turn)
        mine = k + 1 if k % 2 else k  # the musician's turn now or next
        if mine <= self.trade_turn:
            mine += 2
        return (mine + 1) * turn - TICKS_PER_BEAT

    def _trade(self, now: float) -> None:
        """In the last beat of the musician's turn, prime and start the answer, whose first
        note falls on the bar line; no waiting for silence."""
        tick = self.clock.tick_at(now)
        turn = self._turn_ticks()
        k = math.floor(tick / turn)
        end = (k + 1) * turn
        if k % 2 or k <= self.trade_turn or tick < end - TICKS_PER_BEAT:
            return
        self.trade_turn = k
        begin = k * turn
        notes = [n for n in self.phrase.call if begin <= n.start < end]  # by onset
        for n in notes:
            if n.end != n.end:  # still held: it belongs to this turn, up to the bar line
                n.end = end
        self.phrase.call = [n for n in self.phrase.call if n.start >= end]
        line = quantize(notes, 1.0)
        if not line and self.settings.trade_empty == "rest":
            self.log("your turn was empty: resting")
            return
        self._answer(line, end, self.settings.trade_bars)
        self.log(f"trade: {len(line)} notes in your turn; answering bars "
                 f"{end // TICKS_PER_BAR + 1}-{end // TICKS_PER_BAR + self.settings.trade_bars}")

    def _interrupt(self) -> None:
        """Playing over the answer stops it cleanly; the new notes start a new call."""
        self.sched.clear()
        self.output.release()
        self.generating = False
        self.state = State.LISTENING

    # --- generation --------------------------------------------------------------------
    def _start_continuous(self, now_tick: float) -> None:
        start = math.ceil(now_tick / TICKS_PER_BEAT + 1e-9) * TICKS_PER_BEAT
        self.voice.begin((self.voice.low + self.voice.high) // 2, start)
        self.answer_end = math.inf
        self.gen_tick = -math.inf
        self.generating = True
        self.state = State.PLAYING

    def _generate_one(self) -> None:
        """Sample one token, feed it back, schedule its note: one step ahead, no more."""
        start, note = self.voice.next()
        self.gen_tick = start
        if note is not None and note.start < self.answer_end:
            self._schedule(note)
            if self.verbose:
                self.answer_notes.append(note.pitch)
        if self.voice.tick >= self.answer_end:
            self.generating = False
            if self.verbose:
                self.log(f"answer: {' '.join(map(str, self.answer_notes))}")
                self.answer_notes = []

    def _schedule(self, note) -> None:
        """A note to the scheduler: cut at the answer's end, swung, accented."""
        end = min(note.start + note.dur, self.answer_end)
        swing = self.settings.swing
        self.sched.add_note(swung(note.start, swing), swung(end, swing), note.pitch,
                            self._velocity(note.start))

    def _velocity(self, tick: int) -> int:
        """Base velocity, a little more on beats 1 and 3, a touch on 2 and 4."""
        accent = 10 if tick % (2 * TICKS_PER_BEAT) == 0 else 5 if tick % TICKS_PER_BEAT == 0 else 0
        return max(1, min(127, self.settings.velocity + accent))
