"""Ableton Link as a clock: the session's tempo and beat phase on our monotonic time.

aalink (asyncio) runs in a small background thread of its own. It reads Link's beat and
tempo every REFRESH seconds, and at once when a peer changes the tempo or starts or stops
the transport, and publishes one immutable line `(origin, seconds per tick)`. The daemon's
loop reads that line without a lock, so `tick_at`/`time_of` are plain arithmetic, as in
InternalClock, and the scheduler's pending notes move with every tempo change.

Link beat b is our tick 12 b. Link aligns the beat phase of all peers modulo the quantum,
so with the usual quantum of 4 our bar lines (every 4 beats) are the session's bars, and
answers and trading turns start on them. Link's clock is CLOCK_MONOTONIC_RAW on Linux,
not Python's monotonic clock: each reading brackets `link.beat` between two
`time.monotonic()` calls, so the mapping needs no clock conversion at all.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.timebase import ClockEvent
from jazz_plugin.music.grid import TICKS_PER_BEAT

REFRESH = 0.05  # seconds between readings of the Link timeline (tempo changes come at once)
JUMP_TICKS = 1.0  # the beat off our line by more than this: the timeline jumped (a realignment)
READ_TRIES = 5  # readings per update; the one bracketed most tightly in time counts
START_TIMEOUT = 5.0  # seconds for the Link thread to take its first reading
INSTALL_HINT = "pip install 'jazz-plugin[link]'"


def import_aalink():
    """The aalink module, or one line saying how to install it."""
    try:
        import aalink
    except ImportError:
        raise ConfigError("--clock link needs Ableton Link support (the aalink package): "
                          f"{INSTALL_HINT}") from None
    return aalink


class LinkClock:
    """Follows an Ableton Link session: its tempo, its beat phase and, when a peer uses it,
    its start/stop sync.

    It plays from the start, like the internal clock. Once a peer starts or stops the
    session's transport (start/stop sync), it stops and starts with them.
    """

    source = "link"
    start_jump = 0.0  # a start keeps the session's timeline

    def __init__(self, bpm: float, now: float, quantum: int = 4,
                 wake: Callable[[], None] | None = None) -> None:
        self._aalink = import_aalink()
        self.quantum = quantum
        self.wake = wake or (lambda: None)
        self._line = (now, 60.0 / (bpm * TICKS_PER_BEAT))  # (time of tick 0, s per tick)
        self._bpm0 = bpm
        self.running = True
        self.jump = 0.0  # ticks the last timeline jump moved us by (read on 'moved')
        self.peers = 0
        self.tempo_changes = 0
        self._playing = False  # the session's transport as last seen (Link starts stopped)
        self._events: deque[tuple[ClockEvent, float]] = deque()  # from the Link thread to `check`
        self._halt = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="link", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._error is not None:
            self.close()
            raise ConfigError(f"Ableton Link did not start ({self._error or 'timed out'})")

    # --- the daemon's side: the same interface as InternalClock and ExternalClock ---------
    @property
    def bpm(self) -> float:
        return 60.0 / (self._line[1] * TICKS_PER_BEAT)

    def tick_at(self, t: float) -> float:
        origin, sec_per_tick = self._line
        return (t - origin) / sec_per_tick

    def time_of(self, tick: float) -> float:
        origin, sec_per_tick = self._line
        return origin + tick * sec_per_tick

    def handle(self, status: int, data: list[int], t: float) -> ClockEvent | None:
        """MIDI clock messages are not ours to follow: Link leads."""
        return None

    def deadline(self) -> float | None:
        return None

    def check(self, now: float) -> ClockEvent | None:
        """START, STOP (the session's transport, with start/stop sync) or MOVED (the
        timeline jumped by `self.jump` ticks), one per call, in the order they came."""
        while self._events:
            kind, value = self._events.popleft()
            if self._events:
                self.wake()  # more to come: the loop polls again at once
            if kind is ClockEvent.MOVED:
                self.jump = value
                return kind
            if kind is ClockEvent.START and not self.running:
                self.running = True
                return kind
            if kind is ClockEvent.STOP and self.running:
                self.running = False
                return kind
        return None

    def close(self) -> None:
        """Leave the session (idempotent)."""
        self._halt.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2 * REFRESH + 1.0)

    # --- the Link thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # reported by __init__ if it happens before the first read
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        link = self._aalink.Link(self._bpm0)
        link.quantum = self.quantum
        link.start_stop_sync_enabled = True
        link.enabled = True
        link.set_tempo_callback(lambda _tempo: self._read(link, tempo_change=True))
        link.set_start_stop_callback(self._start_stop)
        link.set_num_peers_callback(self._num_peers)
        self._read(link, first=True)
        self._ready.set()
        try:
            while not self._halt.is_set():
                await asyncio.sleep(REFRESH)
                self._read(link)
        finally:
            link.enabled = False

    def _read(self, link, first: bool = False, tempo_change: bool = False) -> None:
        """Take the beat at a well-known moment of our clock and publish the new line."""
        best = (float("inf"), 0.0, 0.0)
        for _ in range(READ_TRIES):
            t0 = time.monotonic()
            beat = link.beat
            t1 = time.monotonic()
            if t1 - t0 < best[0]:
                best = (t1 - t0, (t0 + t1) / 2, beat)
        _width, t, beat = best
        sec_per_tick = 60.0 / (link.tempo * TICKS_PER_BEAT)
        tick = beat * TICKS_PER_BEAT
        off = tick - self.tick_at(t)
        old_sec_per_tick = self._line[1]
        self._line = (t - tick * sec_per_tick, sec_per_tick)
        if first:
            return
        if abs(off) > JUMP_TICKS:
            self._events.append((ClockEvent.MOVED, off))
            self.wake()
        elif tempo_change or abs(sec_per_tick - old_sec_per_tick) > 1e-9:
            self.tempo_changes += 1
            self.wake()  # pending deadlines moved: the loop recomputes its wait

    def _start_stop(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self._events.append((ClockEvent.START if playing else ClockEvent.STOP, 0.0))
            self.wake()

    def _num_peers(self, peers: int) -> None:
        self.peers = peers
        self.wake()
