"""Listen, seed, answer: the three modes, driven by MIDI input and the passing of time.

No I/O and no sleeping here: the daemon feeds `on_midi(t, bytes)` and calls `poll(now)`;
tests do the same with a fake clock. A note goes one straight way:
input -> phrase -> codec.encode -> engine.prime -> sampler -> decoder -> scheduler -> output.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .clock import (
    CLOCK,
    CONTINUE,
    SONG_POSITION,
    START,
    STOP,
    TICKS_PER_BAR,
    TICKS_PER_BEAT,
    ExternalClock,
    InternalClock,
)
from .codec import LineDecoder, Token, fold_pitch, fold_range, nearest_duration, quantize
from .controls import Controls
from .engine import Engine
from .midistream import MidiStream
from .output import CONTROL_CHANGE, NOTE_OFF, NOTE_ON, Output
from .sampling import Sampler
from .scheduler import Scheduler

MODES = ("call-response", "duet", "solo")
DRUM_CHANNEL = 9
CLOCK_MESSAGES = (CLOCK, START, CONTINUE, STOP, SONG_POSITION)
MAX_CALL_NOTES = 256  # a longer call keeps its latest notes
MAX_STEPS_PER_POLL = 64  # generation catch-up is bounded; late notes are dropped, not bunched
START_MARGIN = 0.005  # seconds: an answer never starts closer to "now" than this


@dataclass
class Settings:
    """What the musician chose; the CC knobs change some of it live."""

    mode: str = "call-response"
    channel: int = 0  # zero-based output channel
    velocity: int = 80  # base velocity; strong beats get a small accent
    low: int = 48  # lowest pitch we play
    high: int = 84  # highest pitch we play
    phrase_end_beats: float = 4.0  # silence that ends a call
    answer_on: str = "beat"  # answers start on the next "beat" or "bar"
    min_bars: int = 1
    max_bars: int = 8
    answer_bars: int = 0  # 0 = as long as the call (clamped); else fixed
    thru: bool = False


@dataclass
class Status:
    """What the status line shows."""

    state: str = "listening"
    notes_in: int = 0
    notes_out: int = 0
    last_in: deque = field(default_factory=lambda: deque(maxlen=6))
    last_out: deque = field(default_factory=lambda: deque(maxlen=6))
    answers: int = 0
    last_latency_ms: float = float("nan")


class Improviser:
    """The musical brain: one instance per daemon run."""

    def __init__(self, engine: Engine, sampler: Sampler, settings: Settings,
                 clock: InternalClock | ExternalClock, output: Output,
                 controls: Controls | None = None, log=None, verbose: bool = False) -> None:
        self.engine, self.sampler, self.settings = engine, sampler, settings
        self.clock, self.output = clock, output
        self.controls = controls or Controls()
        self.log = log or (lambda text: None)
        self.verbose = verbose
        self.answer_notes: list[int] = []  # pitches of the current answer, for -v
        self.sched = Scheduler(clock)
        self.stream = MidiStream()
        self.status = Status()
        self.call: list[list[float]] = []  # [pitch, start_tick, end_tick or nan]
        self.held: dict[tuple[int, int], list[float]] = {}
        self.last_activity_tick: float | None = None
        self.decoder: LineDecoder | None = None
        self.probs = None
        self.gen_tick = 0.0  # onset tick of the last generated token
        self.answer_end = math.inf
        self.phrase_end_time = 0.0
        self.duet_prev_pitch: int | None = None
        self.generating = False
        self.first_token = False  # the next token opens a line: it must be a note
        self.first_of_answer = False  # the next note-on sent is an answer's first
        self.note_mask = np.array([not t.is_rest for t in engine.codec.tokens], np.float32)

    def start(self, now: float) -> None:
        """Begin: duet and solo start playing on the next beat; call-response listens."""
        if self.settings.mode != "call-response":
            self._start_continuous(self.clock.tick_at(now))

    # --- input -------------------------------------------------------------------------
    def on_midi(self, t: float, data: list[int]) -> None:
        """Raw bytes from the port (one message or several), with their arrival time."""
        for msg in self.stream.feed(data):
            self._on_message(t, msg)

    def _on_message(self, t: float, msg: list[int]) -> None:
        status = msg[0]
        if status >= 0xF0:
            if status in CLOCK_MESSAGES:
                self._clock_change(self.clock.handle(status, msg, t), t)
            return
        kind, channel = status & 0xF0, status & 0x0F
        if self.settings.thru:
            self.output.thru(msg)
        if kind == CONTROL_CHANGE:
            self._on_control(t, msg[1], msg[2])
        elif channel == DRUM_CHANNEL:
            return
        elif kind == NOTE_ON and msg[2] > 0:
            self._note_on(t, channel, msg[1])
        elif kind in (NOTE_ON, NOTE_OFF):
            self._note_off(t, channel, msg[1])

    def _clock_change(self, change: str | None, t: float) -> None:
        if change == "stop":
            self.sched.clear()
            self.output.silence()
            self.generating = False
            self.status.state = "stopped"
            self.log("clock stopped: all notes closed")
        elif change == "start":
            self.log("clock started")
            if self.settings.mode != "call-response":
                self._start_continuous(self.clock.tick_at(t))
            else:
                self.status.state = "listening"

    def _note_on(self, t: float, channel: int, pitch: int) -> None:
        tick = self.clock.tick_at(t)
        self.status.notes_in += 1
        self.status.last_in.append(pitch)
        mode = self.settings.mode
        if mode == "solo":
            return
        if mode == "call-response" and self.status.state == "answering":
            self._interrupt()
        key = (channel, pitch)
        if key in self.held:  # re-struck without a note-off
            self._note_off(t, channel, pitch)
        note = [pitch, tick, math.nan]
        self.held[key] = note
        if mode == "call-response":
            self.call.append(note)
            if len(self.call) > MAX_CALL_NOTES:
                del self.call[0]
            self.status.state = "listening"
        self.last_activity_tick = tick

    def _note_off(self, t: float, channel: int, pitch: int) -> None:
        note = self.held.pop((channel, pitch), None)
        if note is None:
            return  # a note-off for a note we never saw start
        tick = self.clock.tick_at(t)
        note[2] = max(tick, note[1])
        self.last_activity_tick = tick
        if self.settings.mode == "duet" and self.generating:
            self._steer(note)

    def _on_control(self, t: float, control: int, value: int) -> None:
        action = self.controls.action_for(control)
        if action is None:
            return
        on = value >= 64
        s = self.settings
        if action == "temperature":
            self.sampler.temperature = 0.1 + 1.9 * value / 127
        elif action == "argmax":
            self.sampler.argmax = on
        elif action == "answer_length":
            s.answer_bars = 0 if value == 0 else 1 + (value - 1) * 15 // 126
        elif action == "mute":
            self.output.muted = on
            if on:
                self.output.release()
        elif action == "panic" and on:
            self.panic("panic CC")
        elif action == "end_phrase" and on:
            if s.mode == "call-response" and self.call and self.status.state == "listening":
                self._end_phrase(t)
        elif action == "mode":
            mode = MODES[min(value * len(MODES) // 128, len(MODES) - 1)]
            if mode != s.mode:
                self.set_mode(mode, t)

    # --- control -----------------------------------------------------------------------
    def set_mode(self, mode: str, now: float) -> None:
        """Switch modes; everything sounding is closed first."""
        self.sched.clear()
        self.output.silence()
        self.settings.mode = mode
        self.call.clear()
        self.held.clear()
        self.generating = False
        self.status.state = "listening"
        self.log(f"mode: {mode}")
        if mode != "call-response":
            self._start_continuous(self.clock.tick_at(now))

    def panic(self, why: str) -> None:
        """Silence everything and forget the current phrase/answer."""
        self.sched.clear()
        self.output.silence()
        self.call.clear()
        self.held.clear()
        self.generating = self.settings.mode != "call-response" and self.generating
        if self.status.state == "answering":
            self.status.state = "listening"
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
        self._dispatch(now)
        if self.generating and self.clock.running:
            steps = 0
            while (self.generating and steps < MAX_STEPS_PER_POLL
                   and now >= self.clock.time_of(self.gen_tick)):
                self._generate_one()
                steps += 1
            self._dispatch(now)
        if self.status.state == "answering" and not self.generating and not self.sched.heap:
            self.status.state = "listening"
        if self._phrase_end_due(now):
            self._end_phrase(now)

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
        if self._phrase_end_tick() is not None:
            times.append(self.clock.time_of(self._phrase_end_tick()))
        return min(times) if times else None

    def _dispatch(self, now: float) -> None:
        out = self.output
        for event in self.sched.due(now):
            if event.is_on:
                out.note_on(event.pitch, event.velocity)
                self.status.notes_out += 1
                self.status.last_out.append(event.pitch)
                if self.first_of_answer:
                    self.status.last_latency_ms = (now - self.phrase_end_time) * 1000
                    self.first_of_answer = False
            else:
                out.note_off(event.pitch)

    # --- call and response -------------------------------------------------------------
    def _phrase_end_tick(self) -> float | None:
        if (self.settings.mode != "call-response" or self.status.state != "listening"
                or not self.call or self.held or self.last_activity_tick is None):
            return None
        return self.last_activity_tick + self.settings.phrase_end_beats * TICKS_PER_BEAT

    def _phrase_end_due(self, now: float) -> bool:
        tick = self._phrase_end_tick()
        return tick is not None and self.clock.running and now >= self.clock.time_of(tick)

    def _end_phrase(self, now: float) -> None:
        """The call is over: prime the LSTM with it and schedule the answer."""
        s = self.settings
        now_tick = self.clock.tick_at(now)
        for note in self.held.values():
            note[2] = now_tick
        self.held.clear()
        line = quantize(((int(p), st, en) for p, st, en in self.call), 1.0)
        self.call.clear()
        if not line:
            return
        self.phrase_end_time = now
        self.engine.reset()
        self.probs = self.engine.prime(self.engine.codec.encode(line))
        unit = TICKS_PER_BAR if s.answer_on == "bar" else TICKS_PER_BEAT
        start = math.ceil((now_tick + 1e-9) / unit) * unit
        if self.clock.time_of(start) - now < START_MARGIN:
            start += unit
        call_ticks = line[-1].start + line[-1].dur - line[0].start
        bars = s.answer_bars or math.ceil(call_ticks / TICKS_PER_BAR)
        bars = min(max(bars, s.min_bars), s.max_bars)
        self.answer_end = start + bars * TICKS_PER_BAR
        pitch = fold_range(line[-1].pitch, s.low, s.high)
        self.decoder = LineDecoder(self.engine.codec, pitch, start, s.low, s.high)
        self.gen_tick = -math.inf
        self.generating = True
        self.first_token = True
        self.answer_notes = []
        self.first_of_answer = True
        self.status.state = "answering"
        self.status.answers += 1
        self.log(f"call of {len(line)} notes; answering {bars} bar(s)")
        self._generate_one()

    def _interrupt(self) -> None:
        """Playing over the answer stops it cleanly; the new notes start a new call."""
        self.sched.clear()
        self.output.release()
        self.generating = False
        self.status.state = "listening"

    # --- generation --------------------------------------------------------------------
    def _start_continuous(self, now_tick: float) -> None:
        s = self.settings
        start = math.ceil(now_tick / TICKS_PER_BEAT + 1e-9) * TICKS_PER_BEAT
        self.engine.reset()
        self.probs = self.engine.prime([])
        self.decoder = LineDecoder(self.engine.codec, (s.low + s.high) // 2, start, s.low, s.high)
        self.answer_end = math.inf
        self.gen_tick = -math.inf
        self.generating = True
        self.first_token = True
        self.status.state = "playing"

    def _generate_one(self) -> None:
        """Sample one token, feed it back, schedule its note: one step ahead, no more."""
        decoder = self.decoder
        probs = self.probs
        if self.first_token:  # an answer starts with a note, on its beat
            probs = probs * self.note_mask
            self.first_token = False
        token = self.sampler(probs)
        self.probs = self.engine.step(token)
        note = decoder.feed(token)
        start = decoder.tick - self.engine.codec.tokens[token].dur
        self.gen_tick = start
        if note is not None and note.start < self.answer_end:
            end = min(note.start + note.dur, self.answer_end)
            self.sched.add_note(note.start, end, note.pitch, self._velocity(note.start))
            if self.verbose:
                self.answer_notes.append(note.pitch)
        if decoder.tick >= self.answer_end:
            self.generating = False
            if self.verbose:
                self.log(f"answer: {' '.join(map(str, self.answer_notes))}")
                self.answer_notes = []

    def _velocity(self, tick: int) -> int:
        """Base velocity, a little more on beats 1 and 3, a touch on 2 and 4."""
        accent = 10 if tick % (2 * TICKS_PER_BEAT) == 0 else 5 if tick % TICKS_PER_BEAT == 0 else 0
        return max(1, min(127, self.settings.velocity + accent))

    def _steer(self, note: list[float]) -> None:
        """Duet: a finished input note is fed through the model as it comes."""
        pitch = int(note[0])
        prev = self.duet_prev_pitch if self.duet_prev_pitch is not None else pitch
        interval = fold_pitch(pitch, prev) - prev
        token = Token("n", interval, nearest_duration(note[2] - note[1]))
        self.probs = self.engine.step(self.engine.codec.index[token])
        self.duet_prev_pitch = pitch
        s = self.settings
        self.decoder.pitch = fold_range(pitch, s.low, s.high)
