"""The improviser: routes every event to where it belongs and holds the live state.

No I/O and no sleeping here: the daemon feeds `on_midi(t, bytes)` and calls `poll(now)`;
tests do the same with a fake clock. A note goes one straight way:
input -> phrase -> codec.encode -> engine -> sampler -> decoder -> scheduler -> output.
The mode (`modes.py`) decides what an event means, the planner (`model/planner.py`) plans
answers, the player (`player.py`) plays lines; controls (`controls.py`) apply themselves.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from jazz_plugin.live.chordsource import Harmony
from jazz_plugin.live.controls import BY_NAME, Controls, LiveSettings
from jazz_plugin.live.modes import State, make_mode
from jazz_plugin.live.output import Output
from jazz_plugin.live.phrase import PhraseDetector
from jazz_plugin.live.player import Player, swing_in_effect
from jazz_plugin.live.replan import Replanner
from jazz_plugin.live.router import Router
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.live.timebase import Clock, ClockEvent
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules, Plan
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony import Changes
from jazz_plugin.options import MODES, RunOptions

__all__ = ["Improviser", "State", "Status"]


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
    last_note_time: float = 0.0  # when the musician's last note ended (for the latency)


class Improviser:
    """The musical brain: one instance per daemon run."""

    def __init__(self, engine: Engine, sampler: Sampler, options: RunOptions, clock: Clock,
                 output: Output, controls: Controls | None = None,
                 log: Callable[[str], None] | None = None, verbose: bool = False,
                 chart: Changes | None = None) -> None:
        self.engine, self.sampler = engine, sampler
        self.options = options  # as the user gave them: never changed here
        self.settings = LiveSettings.from_options(options)  # what the controls change
        self.clock, self.output = clock, output
        self.controls = controls or Controls()
        self.log = log or (lambda text: None)
        self.verbose = verbose
        self.harmony = Harmony(chart)
        shift = self.settings.register
        self.voice = Voice(engine, sampler, options.low + shift, options.high + shift,
                           self.harmony)
        self.voice.set_density(self.settings.density)
        self.planner = AnswerPlanner(self.voice, self.harmony)
        self.listeners: list[Callable] = []  # callables (kind, value): "state", "note", "mode"
        self.phrase = PhraseDetector(options.phrase_end)
        self.sched = Scheduler(clock)
        self.player = Player(self.voice, clock, self.sched, output, self._sent,
                             options.velocity, self.swing, self.log if verbose else None)
        self.replanner = Replanner(self.planner, self.harmony, clock, self.sched,
                                   self.player.schedule, lambda text: self.log(text))
        self.router = Router(self)
        self.status = Status()
        self.mode = make_mode(self.settings.mode)
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
        """Tell listeners (OSC state out, LEDs) what changed; quick: on the daemon's loop."""
        for listener in self.listeners:
            listener(kind, value)

    def rules(self) -> AnswerRules:
        """How answers are planned now (live knobs; the model's figures at the tempo)."""
        return AnswerRules.of(self.options, self.settings, self.engine.info.feel, self.clock.bpm)

    def swing(self) -> float:
        """The swing in effect (auto: the soloists' ratio at this tempo)."""
        return swing_in_effect(self.settings.swing, self.engine.info.feel, self.clock.bpm)

    def start(self, now: float) -> None:
        """Begin: duet and solo start playing on the next beat; the others listen."""
        if self.clock.running:
            self.mode.start(self, self.clock.tick_at(now))

    # --- input (sorted by the router) ---------------------------------------------------
    def on_midi(self, t: float, data: list[int]) -> None:
        """Raw bytes from the port (one message or several), with their arrival time."""
        self.router.feed(t, data)

    def note_heard(self, t: float, channel: int, pitch: int) -> None:
        """A note of the call (not a chord, not a drum) began."""
        self.status.notes_in += 1
        self.status.last_in.append(pitch)
        self.mode.heard(self, self.clock.tick_at(t), channel, pitch)

    def note_ended(self, t: float, channel: int, pitch: int) -> None:
        note = self.phrase.note_off(self.clock.tick_at(t), channel, pitch)
        if note is not None:
            self.status.last_note_time = t
            self.mode.finished(self, note)

    def chord_text(self, now: float) -> str:
        """The chord now playing (or the key assumed), for the status line."""
        return self.harmony.text(self.clock.tick_at(now))

    def release_input(self, t: float, why: str) -> None:
        """Every held input note ends now: CC 123/120, a lost input port, a mode change."""
        self.harmony.played.release_all(self.clock.tick_at(t))
        held = self.phrase.release(self.clock.tick_at(t))
        if held:
            self.status.stuck_input += held
            self.log(f"{why}: released {held} held input note(s)")

    # --- controls (each applies itself; see controls.py) --------------------------------
    def set_control(self, name: str, value, t: float, why: str = "") -> None:
        """A live control to its own value (CC values are scaled first, OSC's are not)."""
        BY_NAME[name].apply(self, value, t, why)

    def end_phrase(self, now: float) -> None:
        self.mode.end_phrase(self, now)

    def set_chart(self, chart: Changes | None) -> None:
        """A new chart (or none) from now on; it loops on the bar grid from tick 0."""
        self.harmony.chart = chart if chart is not None and len(chart) else None

    def set_mode(self, mode: str, now: float) -> None:
        """Switch modes; everything sounding is closed first."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.stop_playing()
        self.phrase.clear()
        self.state = State.LISTENING
        self.settings.mode = mode
        self.mode = make_mode(mode)
        self.log(f"mode: {mode}")
        self.emit("mode", mode)
        self.mode.start(self, self.clock.tick_at(now))

    # --- stopping: one way -------------------------------------------------------------
    def stop_playing(self, hard: bool = True) -> None:
        """The one way to stop playing: nothing scheduled or generated any more, and every
        note we sound closed (`hard`: sustain up and all-notes-off too, as for a panic)."""
        self.player.stop()
        self.replanner.follow(None)
        (self.output.silence if hard else self.output.release)()

    def _go_on(self, now_tick: float) -> None:
        """After a stop: duet and solo play on from the next beat; an answer is over."""
        if self.mode.continuous:
            if self.clock.running:
                self.play_on(now_tick)
        elif self.state == State.ANSWERING:
            self.state = State.LISTENING

    def interrupt(self) -> None:
        """Playing over the answer stops it cleanly; the new notes start a new call."""
        self.stop_playing(hard=False)
        self.state = State.LISTENING

    def panic(self, why: str) -> None:
        """Silence everything and forget the current phrase and answer."""
        self.stop_playing()
        self.phrase.clear()
        self.log(f"{why}: all notes off")
        self._go_on(self.voice.tick)  # a flowing line goes on from where it was

    def shutdown(self) -> None:
        """Last words: every sounding note closed, sustain up, all-notes-off."""
        self.stop_playing()

    # --- the clock -----------------------------------------------------------------------
    def on_clock(self, event: ClockEvent | None, t: float) -> None:
        """What the clock said, from a MIDI message or from time alone."""
        if event is ClockEvent.STOP:  # the end of a performance (a locate never gets here)
            self.stop_playing()
            self.phrase.clear()  # its call was played to a position that is gone
            self.mode.rewind()
            self.state = State.STOPPED
            self.log("clock stopped: all notes closed")
        elif event is ClockEvent.START:
            self.log("clock started")
            # a call played while stopped keeps its shape against the new timeline
            self._shift_call(self.clock.start_jump)
            self.mode.rewind()
            self.mode.start(self, self.clock.tick_at(t))
        elif event is ClockEvent.MOVED:
            self._moved(t)

    def _moved(self, t: float) -> None:
        """The song position jumped while playing (a DAW loop, the playhead moved): what
        sounds is closed and the music goes on from the new position."""
        jump = self.clock.jump
        self.stop_playing(hard=False)
        self.mode.rewind()
        self._shift_call(jump)
        self._go_on(self.clock.tick_at(t))
        self.log(f"song position moved by {jump / TICKS_PER_BEAT:+.2f} beats")

    def _shift_call(self, jump: float) -> None:
        """The call keeps its shape when the timeline moves; its end moves with it."""
        for note in self.phrase.call:
            note.start += jump
            note.end += jump
        if self.phrase.last_activity is not None:
            self.phrase.last_activity += jump

    # --- time ----------------------------------------------------------------------------
    def poll(self, now: float) -> None:
        """Do whatever is due at `now`: play events, generate one step ahead, the mode's
        work (phrase ends, trading turns)."""
        self.on_clock(self.clock.check(now), now)
        if self.clock.running:
            for event in self.harmony.advance(self.clock.tick_at(now)):
                self.log(f"form {event}")
        self.player.send_due(now)
        if self.player.generating and self.clock.running:
            self.player.generate_due(now)
            self.player.send_due(now)
        if self.state == State.ANSWERING and not self.player.busy:
            self.state = State.LISTENING
        self.replanner.poll(now, self.rules())
        self.mode.poll(self, now)

    def next_wakeup(self, now: float) -> float | None:
        """The next time `poll` has something to do (None: only input can change things)."""
        times = self.mode.wakeups(self, now)
        deadline = self.clock.deadline()
        if deadline is not None:
            times.append(deadline + 1e-3)
        harmony_tick = self.harmony.next_tick()
        if harmony_tick is not None and self.clock.running:
            times.append(self.clock.time_of(harmony_tick))
        times += [t for t in (self.player.next_time(), self.replanner.next_time(now))
                  if t is not None]
        return min(times) if times else None

    def _sent(self, pitch: int, velocity: int, now: float) -> None:
        """A note-on went out: counted, announced, and timed if it opens an answer."""
        if self.listeners:
            self.emit("note", (pitch, velocity))
        self.status.notes_out += 1
        self.status.last_out.append(pitch)
        if self.first_of_answer:
            self.status.last_latency_ms = (now - self.status.last_note_time) * 1000
            self.first_of_answer = False

    # --- playing ---------------------------------------------------------------------------
    def answer(self, call: list[Note], start: int, bars: int, plan: Plan | None = None) -> None:
        """Play `bars` bars from `start` in answer to `call` (may be empty): the `plan`
        prepared for it, else the best candidate, else a line streamed one step ahead."""
        self.first_of_answer = True
        self.state = State.ANSWERING
        self.status.answers += 1
        rules = self.rules()
        if plan is None and rules.searching:
            plan = self.planner.search(call, start, bars, rules)
        self.harmony.heard(call)  # after the search, which assumed it already
        end = start + bars * TICKS_PER_BAR
        self.replanner.follow(plan)
        if plan is not None:
            self.player.play(plan.notes, end)
            if self.verbose:
                self.log(f"answer: {' '.join(str(n.pitch) for n in plan.notes)}")
            return
        self.planner.prime(call, start)
        self.player.stream(end, step_now=True)

    def play_on(self, now_tick: float) -> None:
        """Duet and solo: a line from the next beat that flows until stopped."""
        start = math.ceil(now_tick / TICKS_PER_BEAT + 1e-9) * TICKS_PER_BEAT
        self.voice.begin((self.voice.low + self.voice.high) // 2, start)
        self.player.stream(math.inf)
        self.state = State.PLAYING
