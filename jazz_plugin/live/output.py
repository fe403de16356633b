"""Everything we send, with every sounding note tracked until its note-off.

`silence_messages` carries the protocol knowledge once: every path that must silence the
output (stop, panic, SIGTERM, error, mode change, lost clock) goes through `Output.silence`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from jazz_plugin.live.midispec import (
    ALL_NOTES_OFF,
    CONTROL_CHANGE,
    NOTE_OFF,
    NOTE_ON,
    PITCH_BEND,
    PITCH_BEND_CENTER,
    SUSTAIN_PEDAL,
    SYSEX_START,
)

__all__ = ["ALL_NOTES_OFF", "SUSTAIN_PEDAL", "Output", "silence_messages"]

SILENCE_CHUNK = 1  # messages sent back to back when silencing ...
SILENCE_GAP = 0.0015  # ... then a pause longer than a MIDI server period (JACK: 1.3 ms at 64)


def silence_messages(sounding: Iterable[tuple[int, int]],
                     channels: Iterable[int]) -> list[list[int]]:
    """Note-offs for every sounding (channel, pitch), then per channel CC 64 = 0, pitch bend
    centre and CC 123."""
    msgs = [[NOTE_OFF | ch, pitch, 0] for ch, pitch in sorted(sounding)]
    for ch in sorted(set(channels)):
        msgs.append([CONTROL_CHANGE | ch, SUSTAIN_PEDAL, 0])
        msgs.append([PITCH_BEND | ch, *PITCH_BEND_CENTER])
        msgs.append([CONTROL_CHANGE | ch, ALL_NOTES_OFF, 0])
    return msgs


class Output:
    """A send function plus the set of notes it left sounding."""

    def __init__(self, send: Callable[[list[int]], None], channel: int) -> None:
        self._send = send
        self.channel = channel  # zero-based
        self.sounding: set[tuple[int, int]] = set()
        self.channels_used: set[int] = {channel}
        self.muted = False
        self.send_errors = 0  # sends that failed (a dead output port); shown in the stats
        self.ons = self.offs = 0  # our own note-ons sent, and the note-offs that closed them
        self._own: set[tuple[int, int]] = set()  # our own notes sounding (not thru ones)
        self.listener: Callable[[int, int], None] | None = None  # (pitch, velocity; 0 = off)
        # of our own notes as they start and end: the session recording

    def _closed(self, keys) -> None:
        for key in keys:
            if key in self._own:
                self._own.discard(key)
                self.offs += 1
                if self.listener is not None:
                    self.listener(key[1], 0)

    def send(self, msg: list[int]) -> None:
        """Send raw bytes; a lost port must not take the daemon down with it."""
        try:
            self._send(msg)
        except Exception:
            self.send_errors += 1

    def note_on(self, pitch: int, velocity: int) -> None:
        key = (self.channel, pitch)
        if self.muted:
            return
        if key in self.sounding:  # re-strike: close the old one first
            self.send([NOTE_OFF | self.channel, pitch, 0])
            self._closed((key,))
        self.send([NOTE_ON | self.channel, pitch, velocity])
        self.sounding.add(key)
        self._own.add(key)
        self.ons += 1
        if self.listener is not None:
            self.listener(pitch, velocity)

    def note_off(self, pitch: int) -> None:
        key = (self.channel, pitch)
        if key in self.sounding:
            self.sounding.discard(key)
            self.send([NOTE_OFF | self.channel, pitch, 0])
            self._closed((key,))

    def thru(self, msg: list[int]) -> None:
        """Pass an input message on, tracking its notes like our own, and every channel it
        touches (a pedal or a bend passed through is reset on that channel at the end)."""
        status = msg[0] & 0xF0
        if msg[0] < SYSEX_START:
            self.channels_used.add(msg[0] & 0x0F)
        if status in (NOTE_ON, NOTE_OFF) and len(msg) >= 3:
            key = (msg[0] & 0x0F, msg[1])
            if status == NOTE_ON and msg[2] > 0:
                self.sounding.add(key)
            else:
                self.sounding.discard(key)
                self._closed((key,))  # the musician's note-off closes ours on that key too
        self.send(msg)

    def release(self) -> None:
        """Note-offs for everything sounding (a clean interruption, no controller resets)."""
        for ch, pitch in sorted(self.sounding):
            self.send([NOTE_OFF | ch, pitch, 0])
        self._closed(list(self.sounding))
        self.sounding.clear()

    def silence(self) -> None:
        """Note-offs, sustain up, bend centre and all-notes-off on every channel we used.

        Sent one per MIDI server period: these are the messages that must arrive, and a
        burst sent back to back through rtmidi's JACK output came out garbled or lost here
        (the last ones repeated as copies of an earlier one)."""
        for i, msg in enumerate(silence_messages(self.sounding, self.channels_used)):
            if i and i % SILENCE_CHUNK == 0:
                time.sleep(SILENCE_GAP)
            self.send(msg)
        self._closed(list(self.sounding))
        self.sounding.clear()
