"""What every clock is: the Clock protocol and the events a clock reports.

InternalClock and ExternalClock (clock.py) and LinkClock (linkclock.py) all satisfy `Clock`,
so the improviser, the scheduler and the OSC reply take any of them.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol


class ClockEvent(Enum):
    """What a clock tells the improviser, from `handle` (a MIDI message) or `check` (time)."""

    START = "start"  # the transport started (or came back): play from here
    STOP = "stop"  # the transport stopped, or the clock went away: close everything
    MOVED = "moved"  # the position jumped while playing by `clock.jump` ticks


class Clock(Protocol):
    """Grid ticks <-> monotonic seconds, and the transport's state."""

    source: str  # "internal", "external" or "link": the ready and status lines show it
    running: bool  # the transport plays
    jump: float  # ticks the last MOVED moved the timeline by
    start_jump: float  # ticks the last START moved it by (a song position set while stopped)
    peers: int | None  # Link: the peers sharing the session; None: not a shared clock

    @property
    def bpm(self) -> float: ...

    def tick_at(self, t: float) -> float: ...

    def time_of(self, tick: float) -> float: ...

    def handle(self, status: int, data: list[int], t: float) -> ClockEvent | None:
        """One MIDI system real-time/common message (clock, start, stop, song position)."""

    def check(self, now: float) -> ClockEvent | None:
        """What happened with time alone (a timeout, a Link peer's start or jump)."""

    def deadline(self) -> float | None:
        """When `check` must run next at the latest (None: only input changes things)."""

    def close(self) -> None:
        """Let go of what the clock holds (idempotent)."""
