"""What a DAW's transport really sends, turned into what it means (external clock only).

DAWs do not send a transport change as one clean message. Measured with Ardour 7 over JACK:
- a fresh start: the first note of bar 1 arrives about 11 ms *before* START;
- a loop wrap or a locate while rolling: the next pass's first note, CC 64 and CC 123 on
  every channel, STOP, then START, all within about 6 ms.

Taken one by one, the first note would belong to the bar before the start, the STOP would
end the performance and the CC 123 would cut the note that opens the next pass.
A locate while rolling sends STOP, the CCs, the first note and START over about 21 ms (four
256-frame periods). `DawTransport` sits between the MIDI input and the improviser and holds
what is ambiguous, briefly:
- while the transport is stopped, channel messages wait; a START or CONTINUE within
  PRE_START takes them into the bar that starts: they pass right after its first pulse,
  with its time;
- while it runs, a STOP and CC 120/123 wait; a START or CONTINUE within LOCATE of the STOP
  makes them a locate: the STOP and the CCs are dropped, and the clock sees a jump.
Whatever turns out to mean nothing more goes on with its own time, that much late.
"""

from __future__ import annotations

from jazz_plugin.live.midispec import (
    ALL_NOTES_OFF,
    ALL_SOUND_OFF,
    CLOCK,
    CONTINUE,
    CONTROL_CHANGE,
    START,
    STOP,
    SYSEX_START,
    kind,
)

PRE_START = 0.020  # seconds: a note this soon before START belongs to the bar that starts
LOCATE = 0.050  # seconds: a START this soon after STOP makes them a locate (a real STOP is
# acted on this much later: the silence it brings is that late)
CUTS = (ALL_NOTES_OFF, ALL_SOUND_OFF)  # controllers a DAW sends on stop and at a loop wrap

Message = tuple[float, list[int]]


class DawTransport:
    """Holds, re-times or drops transport-related input; `feed` what comes, `due` what
    waited long enough, wake up at `next_time`. Counts the locates it recognised.
    With another clock than MIDI clock it passes everything on at once."""

    def __init__(self, clock, window: float = PRE_START, locate: float = LOCATE) -> None:
        self.clock = clock
        external = clock.source == "external"  # only MIDI clock has this transport
        self.window = window if external else 0.0
        self.locate = locate if external else 0.0
        self.waiting: list[Message] = []  # channel messages while stopped
        self.cuts: list[Message] = []  # CC 120/123 and a STOP while running, in order
        self.stop_at: float | None = None  # when the held STOP came
        self.started_at: float | None = None  # a START/CONTINUE waiting for its first pulse
        self.locates = 0  # STOP + START pairs taken as a jump (a loop wrap, a locate)

    def _running(self) -> bool:
        return self.clock.running and self.started_at is None

    def take(self, items: list[Message], now: float) -> list[Message]:
        """Everything read from the input, then what waited long enough: what passes now."""
        out: list[Message] = []
        for t, msg in items:
            out += self.feed(t, msg)
        return out + self.due(now)

    def feed(self, t: float, msg: list[int]) -> list[Message]:
        """One message in; what passes now, in order (a held one may come later)."""
        status = msg[0] if msg else 0
        if not self.window:
            return [(t, msg)]
        if status == CLOCK and self.started_at is not None:
            self.started_at = None  # the first pulse: the bar starts here, and so do they
            out = [(t, msg)] + [(t, m) for _t, m in self.waiting]
            self.waiting = []
            return out
        if status in (START, CONTINUE):
            out = [(s, m) for s, m in self.waiting if t - s > self.window]  # played stopped
            self.waiting = [(s, m) for s, m in self.waiting if t - s <= self.window]
            if self.stop_at is not None and t - self.stop_at <= self.locate:
                self.locates += 1  # a jump, not the end: the STOP and its CCs mean nothing
            else:
                out = self._release_cuts() + out
            self.cuts, self.stop_at = [], None
            self.started_at = t
            return out + [(t, msg)]
        if status == STOP:
            if self._running() and self.stop_at is None:
                self.cuts.append((t, msg))
                self.stop_at = t
                return []
            return self._release_cuts() + [(t, msg)]
        if status >= SYSEX_START or not status & 0x80:
            return [(t, msg)]
        if self.clock.running and self.started_at is None:
            if kind(status) == CONTROL_CHANGE and len(msg) > 1 and msg[1] in CUTS:
                self.cuts.append((t, msg))
                return []
            return [(t, msg)]
        self.waiting.append((t, msg))
        return []

    def deciding(self) -> bool:
        """A STOP is held: until it is known to be a locate or a stop, nothing plays (a
        note due now would sound after the DAW stopped)."""
        return self.stop_at is not None

    def _release_cuts(self) -> list[Message]:
        out, self.cuts, self.stop_at = self.cuts, [], None
        return out

    def due(self, now: float) -> list[Message]:
        """What waited for a START that did not come: on with its own time."""
        out: list[Message] = []
        first = self._first_cut()
        if first is not None and now >= first + self.locate:
            out += self._release_cuts()
        since = self.started_at
        if self.waiting and since is not None and now >= since + self.window:
            out += self.waiting  # a START with no pulse: the clock is not running after all
            self.waiting = []
        elif self.waiting and since is None and now >= self.waiting[0][0] + self.window:
            keep = [(t, m) for t, m in self.waiting if now < t + self.window]
            out += [(t, m) for t, m in self.waiting if now >= t + self.window]
            self.waiting = keep
        return out

    def _first_cut(self) -> float | None:
        return self.cuts[0][0] if self.cuts else None

    def next_time(self) -> float | None:
        """When `due` next has something to give (None: nothing waits)."""
        times = []
        first = self._first_cut()
        if first is not None:
            times.append(first + self.locate)
        if self.waiting:
            since = self.started_at if self.started_at is not None else self.waiting[0][0]
            times.append(since + self.window)
        return min(times) if times else None
