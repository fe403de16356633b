"""The musician's phrase: timestamped notes in, "the call is over" out. Pure, no I/O.

Held notes block the end of a phrase, as a sustained note is still part of it. But a
note-off can be lost (a sender killed mid-note, a cable pulled, an event dropped by the MIDI
server), and a held note that never ends would keep the improviser deaf for good. So a note
held for STUCK_BARS with no other input counts as stuck: it stops blocking, and is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_QUARTER

MAX_CALL_NOTES = 256  # a longer call keeps its latest notes
STUCK_BARS = 2  # a note held this long with no other input no longer blocks the phrase end


@dataclass
class CallNote:
    """One note of the call, in grid ticks; `end` is NaN while it is held."""

    pitch: int
    start: float
    end: float = math.nan

    def __iter__(self):  # (pitch, start, end), as codec.quantize takes notes
        return iter((self.pitch, self.start, self.end))


class PhraseDetector:
    """Collects the call and says when it has ended (a silence of `end_beats` beats)."""

    def __init__(self, end_beats: float = 4.0) -> None:
        self.end_beats = end_beats
        self.call: list[CallNote] = []
        self.held: dict[tuple[int, int], CallNote] = {}
        self.last_activity: float | None = None  # tick of the last note-on or note-off
        self.stuck = 0  # held notes that stopped blocking after STUCK_BARS

    def note_on(self, tick: float, channel: int, pitch: int, record: bool = True) -> None:
        """A note starts; with `record` it joins the call (duet only tracks held notes)."""
        key = (channel, pitch)
        if key in self.held:  # re-struck without a note-off
            self.note_off(tick, channel, pitch)
        note = CallNote(pitch, tick)
        self.held[key] = note
        if record:
            self.call.append(note)
            if len(self.call) > MAX_CALL_NOTES:
                del self.call[0]
        self.last_activity = tick

    def note_off(self, tick: float, channel: int, pitch: int) -> CallNote | None:
        """A note ends; returns it (None for a note-off of a note we never saw start)."""
        note = self.held.pop((channel, pitch), None)
        if note is None:
            return None
        note.end = max(tick, note.start)
        self.last_activity = tick
        return note

    def release(self, tick: float) -> int:
        """Every held note ends now (CC 123/120, a lost input, a mode change); returns how
        many were held."""
        n = len(self.held)
        for note in self.held.values():
            note.end = max(tick, note.start)
        self.held.clear()
        return n

    def clear(self) -> None:
        self.call.clear()
        self.held.clear()

    def end_tick(self) -> float | None:
        """When the call ends if nothing more is played (None: no call, or a note is held
        and not yet stuck)."""
        if not self.call or self.last_activity is None:
            return None
        end = self.last_activity + self.end_beats * TICKS_PER_QUARTER
        if self.held:
            return max(end, self.last_activity + STUCK_BARS * TICKS_PER_BAR)
        return end

    def take_call(self, tick: float) -> list[CallNote]:
        """The call, ended at `tick` (held notes end there, stuck ones are counted)."""
        if self.held and self.last_activity is not None and (
                tick - self.last_activity >= STUCK_BARS * TICKS_PER_BAR):
            self.stuck += len(self.held)
        self.release(tick)
        call, self.call = self.call, []
        return call
