"""Input routing: what each message from the input port is, and who it goes to.

Clock messages go to the clock, control changes to their control (or the pedal and
all-notes-off), chord-channel and below-the-split notes to the harmony, drums nowhere, and
the rest are the musician's call, to the improviser's mode. With --thru everything that is
not a system message also goes straight to the output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jazz_plugin.live.chordsource import is_chord_input
from jazz_plugin.live.controls import CC_ON
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

if TYPE_CHECKING:
    from jazz_plugin.live.improviser import Improviser


class Router:
    """Splits the input's bytes into messages and sends each where it belongs."""

    def __init__(self, imp: Improviser) -> None:
        self.imp = imp
        o = self.options = imp.options
        self.thru = o.thru
        self.chord_channel = None if o.chord_channel is None else o.chord_channel - 1
        self.split = o.split
        self.stream = MidiStream()

    def feed(self, t: float, data: list[int]) -> None:
        """Raw bytes (one message or several) that arrived at `t`."""
        for msg in self.stream.feed(data):
            self.route(t, msg)

    def route(self, t: float, msg: list[int]) -> None:
        imp = self.imp
        status = msg[0]
        if status >= SYSEX_START:
            if status in CLOCK_MESSAGES:
                imp.on_clock(imp.clock.handle(status, msg, t), t)
            return
        what, ch = kind(status), channel(status)
        if self.thru:
            imp.output.thru(msg)
        if what == CONTROL_CHANGE:
            if msg[1] in (ALL_NOTES_OFF, ALL_SOUND_OFF):
                imp.release_input(t, f"CC {msg[1]}")
            elif msg[1] == SUSTAIN_PEDAL:
                if self._is_chord_channel(ch):
                    imp.harmony.played.sustain(imp.clock.tick_at(t), msg[2] >= CC_ON)
            else:
                control = imp.controls.control_for(msg[1])
                if control is not None:
                    control.apply(imp, control.scale(msg[2]), t, "CC")
        elif ch == DRUM_CHANNEL or what not in (NOTE_ON, NOTE_OFF):
            return
        elif self.is_chord_note(ch, msg[1]):
            if what == NOTE_ON and msg[2] > 0:
                imp.harmony.played.note_on(imp.clock.tick_at(t), msg[1])
            else:
                imp.harmony.played.note_off(imp.clock.tick_at(t), msg[1])
        elif what == NOTE_ON and msg[2] > 0:
            imp.note_heard(t, ch, msg[1])
        else:
            imp.note_ended(t, ch, msg[1])

    def _is_chord_channel(self, ch: int) -> bool:
        return ch == self.chord_channel or (self.split is not None
                                            and self.chord_channel is None)

    def is_chord_note(self, ch: int, pitch: int) -> bool:
        """Chord-channel notes, or notes below the split, are harmony, not the call."""
        return is_chord_input(self.options.chord_channel, self.split, ch, pitch)
