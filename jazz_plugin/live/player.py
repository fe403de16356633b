"""Playing a line: a planned one note by note, or one streamed from the voice a step ahead.

Notes go to the scheduler cut at the line's end, swung and accented, and out of the port
when due. The improviser decides what to play; this only plays it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from jazz_plugin.live.output import Output
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.live.timebase import Clock
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.develop import at_tempo
from jazz_plugin.music.grid import TICKS_PER_BEAT

MAX_STEPS_PER_POLL = 64  # generation catch-up is bounded; late notes are dropped, not bunched
EIGHTH = TICKS_PER_BEAT // 2
SWING_SHIFT = TICKS_PER_BEAT // 6  # full swing moves the off-beat eighth from 6 to 8 ticks
ACCENT_1_3, ACCENT_2_4 = 10, 5  # velocity added on beats 1 and 3, and on 2 and 4


def swung(tick: float, amount: float) -> float:
    """Swing the eighth-note grid: an off-beat eighth is delayed toward the triplet (2:1)."""
    if amount and tick % TICKS_PER_BEAT == EIGHTH:
        return tick + amount * SWING_SHIFT
    return tick


def swing_for_ratio(ratio: float | None) -> float:
    """The swing amount that plays off-beat eighths at `ratio` long:short (1 = straight,
    2 = the triplet's 2:1 = amount 1); None (no figure in the model): straight."""
    if not ratio or ratio <= 1:
        return 0.0
    return (TICKS_PER_BEAT * ratio / (1 + ratio) - EIGHTH) / SWING_SHIFT


def swing_in_effect(setting: float | None, feel: dict, bpm: float) -> float:
    """A set swing, or for auto (None) the soloists' ratio at `bpm` from the model's feel."""
    if setting is not None:
        return setting
    return swing_for_ratio(at_tempo(feel, "swing", bpm))


def accented(tick: int, velocity: int) -> int:
    """Base velocity, a little more on beats 1 and 3, a touch on 2 and 4."""
    accent = (ACCENT_1_3 if tick % (2 * TICKS_PER_BEAT) == 0
              else ACCENT_2_4 if tick % TICKS_PER_BEAT == 0 else 0)
    return max(1, min(127, velocity + accent))


class Player:
    """The line now playing: its end, whether the voice still streams it, what is due."""

    def __init__(self, voice: Voice, clock: Clock, sched: Scheduler, output: Output,
                 sent: Callable[[int, int, float], None], velocity: int,
                 swing: Callable[[], float], tell: Callable[[str], None] | None = None) -> None:
        self.voice, self.clock, self.sched, self.output = voice, clock, sched, output
        self.sent = sent  # (pitch, velocity, now) of each note-on sent
        self.velocity = velocity
        self.swing = swing  # the live swing amount, read at each note
        self.tell = tell  # -v: each streamed line's pitches when it ends
        self.generating = False  # the voice streams the line one step ahead
        self.gen_tick = 0.0  # onset tick of the last generated token
        self.answer_end: float = math.inf  # the line is cut here
        self.notes: list[int] = []  # pitches of the streamed line, for -v only

    def play(self, notes: Iterable[Note], end: float) -> None:
        """A planned line, up to `end`."""
        self.answer_end = end
        self.generating = False
        for note in notes:
            self.schedule(note)

    def stream(self, end: float, step_now: bool = False) -> None:
        """The voice (begun) plays on, one step ahead of time, up to `end` (inf: for ever);
        `step_now`: its first token at once."""
        self.answer_end = end
        self.notes = []
        self.gen_tick = -math.inf
        self.generating = True
        if step_now:
            self.step()

    def stop(self) -> None:
        """Nothing more is scheduled or generated (what sounds is the caller's to close)."""
        self.sched.clear()
        self.generating = False

    @property
    def busy(self) -> bool:
        return self.generating or bool(self.sched.heap)

    def generate_due(self, now: float) -> None:
        """Step the voice up to `now` (bounded: a stall drops notes, never bunches them)."""
        if not self.generating or not self.clock.running:
            return
        steps = 0
        while (self.generating and steps < MAX_STEPS_PER_POLL
               and now >= self.clock.time_of(self.gen_tick)):
            self.step()
            steps += 1

    def send_due(self, now: float) -> None:
        """Send what the scheduler has due at `now`."""
        out = self.output
        for event in self.sched.due(now):
            if event.is_on:
                out.note_on(event.pitch, event.velocity)
                self.sent(event.pitch, event.velocity, now)
            else:
                out.note_off(event.pitch)

    def next_time(self) -> float | None:
        """When something is due next: a scheduled event, or the next step."""
        times = [t for t in (self.sched.next_time(),) if t is not None]
        if self.generating and self.clock.running:
            times.append(self.clock.time_of(self.gen_tick))
        return min(times) if times else None

    def step(self) -> None:
        """Sample one token, feed it back, schedule its note: one step ahead, no more."""
        start, _token, note = self.voice.next()
        self.gen_tick = start
        if note is not None and note.start < self.answer_end:
            self.schedule(note)
            if self.tell is not None:
                self.notes.append(note.pitch)
        if self.voice.tick >= self.answer_end:
            self.generating = False
            if self.tell is not None:
                self.tell(f"answer: {' '.join(map(str, self.notes))}")
                self.notes = []

    def schedule(self, note: Note) -> None:
        """A note to the scheduler: cut at the line's end, swung, accented."""
        end = min(note.start + note.dur, self.answer_end)
        swing = self.swing()
        self.sched.add_note(swung(note.start, swing), swung(end, swing), note.pitch,
                            accented(note.start, self.velocity))
