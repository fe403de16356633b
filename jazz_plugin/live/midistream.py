"""Raw MIDI bytes -> complete messages, the way a MIDI wire delivers them.

mido's Parser does not handle running status; a live input may use it, and fuzzed input
certainly does. Real-time bytes (clock, start, stop) may arrive between a message's bytes;
SysEx is skipped; stray data bytes are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from jazz_plugin.live.midispec import (
    CHANNEL_DATA_BYTES,
    REALTIME_FIRST,
    SYSEX_END,
    SYSEX_START,
    SYSTEM_DATA_BYTES,
)


class MidiStream:
    """Stateful byte parser: running status and partial messages carry across feeds."""

    def __init__(self) -> None:
        self.running = 0  # the channel status in force, 0 = none
        self.pending: list[int] = []
        self.need = 0
        self.in_sysex = False

    def feed(self, data: Iterable[int]) -> Iterator[list[int]]:
        """Yield each complete message in `data` (channel, system common or real-time)."""
        for byte in data:
            byte &= 0xFF
            if byte >= REALTIME_FIRST:  # real-time: may interleave anything, never changes state
                yield [byte]
                continue
            if byte == SYSEX_START:
                self.in_sysex, self.running, self.pending = True, 0, []
                continue
            if byte == SYSEX_END:
                self.in_sysex = False
                continue
            if byte & 0x80:  # a status byte ends any SysEx and starts a message
                self.in_sysex = False
                if byte >= SYSEX_START:
                    self.running = 0
                    need = SYSTEM_DATA_BYTES.get(byte, 0)
                    if need == 0:
                        if byte in SYSTEM_DATA_BYTES:
                            yield [byte]
                        self.pending = []
                        continue
                    self.pending, self.need = [byte], need
                else:
                    self.running = byte
                    self.pending, self.need = [byte], CHANNEL_DATA_BYTES[byte & 0xF0]
                continue
            if self.in_sysex:
                continue
            if not self.pending:
                if not self.running:
                    continue  # a stray data byte
                self.pending, self.need = [self.running], CHANNEL_DATA_BYTES[self.running & 0xF0]
            self.pending.append(byte)
            if len(self.pending) == self.need + 1:
                msg, self.pending = self.pending, []
                yield msg
