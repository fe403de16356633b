"""Note events on absolute musical deadlines.

Events are kept in ticks and turned into times only when asked, through the clock, so a
tempo change (or a new MIDI clock pulse) moves every pending deadline at once. Nothing here
sleeps: the daemon waits until `next_time()` and calls `due(now)`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

LATE_LIMIT = 0.050  # seconds: an event this late is dropped (counted), never played in a burst


@dataclass(order=True)
class Event:
    """A note-on or note-off at a tick; offs sort before ons at the same tick."""

    tick: float
    order: int  # 0 = note-off, 1 = note-on
    seq: int
    pitch: int = 0
    velocity: int = 0
    end: float = 0.0  # a note-on's note-off tick

    @property
    def is_on(self) -> bool:
        return self.order == 1


class Scheduler:
    """A heap of future note events, read against a clock."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.heap: list[Event] = []
        self._seq = 0
        self.missed = 0  # note-ons dropped because they were too late

    def add_note(self, tick: float, end_tick: float, pitch: int, velocity: int) -> None:
        self._seq += 1
        heapq.heappush(self.heap, Event(tick, 1, self._seq, pitch, velocity, end_tick))
        heapq.heappush(self.heap, Event(end_tick, 0, self._seq, pitch, 0))

    def next_time(self) -> float | None:
        """The time of the earliest event, or None when nothing is pending."""
        if not self.heap or not self.clock.running:
            return None
        return self.clock.time_of(self.heap[0].tick)

    def due(self, now: float) -> list[Event]:
        """Pop every event whose time has come. A note-on later than LATE_LIMIT, or whose
        note-off is already due (it would sound for no time at all), is dropped and counted
        with its note-off: never a catch-up burst, never a zero-length note."""
        out: list[Event] = []
        if not self.clock.running:
            return out
        heap = self.heap
        while heap and self.clock.time_of(heap[0].tick) <= now:
            event = heapq.heappop(heap)
            if event.is_on and (now - self.clock.time_of(event.tick) > LATE_LIMIT
                                or self.clock.time_of(event.end) <= now):
                self.missed += 1
                self._drop_off(event.seq)
                continue
            out.append(event)
        return out

    def _drop_off(self, seq: int) -> None:
        self.heap = [e for e in self.heap if e.seq != seq]
        heapq.heapify(self.heap)

    def drop_from(self, tick: float) -> None:
        """Forget the notes that start at or after `tick`, with their note-offs; a note
        that started before keeps its note-off (it is not cut)."""
        later = {e.seq for e in self.heap if e.is_on and e.tick >= tick}
        if later:
            self.heap = [e for e in self.heap if e.seq not in later]
            heapq.heapify(self.heap)

    def clear(self) -> None:
        """Forget every pending event (the caller silences what already sounds)."""
        self.heap.clear()
