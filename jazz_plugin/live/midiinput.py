"""MIDI input that never waits for Python: rtmidi's own queue, a reader thread, and the
MIDI system's own times.

With no callback set, python-rtmidi keeps incoming messages in its C++ queue: JACK's process
thread appends to it and never takes the GIL. Each message carries the time since the one
before, taken on that thread (RtMidi's JACK input reads `jack_get_time()`, CLOCK_MONOTONIC
in jackd2, once per event as the period is processed). `Stamps` turns those deltas back
into absolute monotonic times, so a message keeps the time JACK saw it, however late Python
gets to it.

rtmidi offers no blocking read and no file descriptor to wait on, so `InputReader` sleeps
POLL_INTERVAL between reads (a timed wait in the kernel, not a spin). That is shorter than
one JACK period (1.33 ms at 64 frames, 48 kHz), so it adds less than a period to the time
the loop reacts, and nothing to the times the music is placed by.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from jazz_plugin.live.realtime import enter_realtime

POLL_INTERVAL = 0.001  # seconds between reads of rtmidi's queue (under one JACK period)
RTMIDI_QUEUE_SIZE = 8192  # messages rtmidi's C++ queue holds between two reads
INPUT_QUEUE_SIZE = 4096  # messages held between the reader and the loop; oldest dropped beyond
ANCHOR_WINDOW = 10.0  # seconds of reads the anchor is the earliest of (follows clock drift)


class Stamps:
    """Absolute times from rtmidi's delta times: an anchor plus the running sum of deltas.

    A message cannot arrive after we read it, so for every message the anchor is at most
    (read time - sum of deltas). The anchor is the smallest of those over the last
    ANCHOR_WINDOW seconds: its error is the quickest read in the window (under a poll
    interval), and a window rather than all time follows a drift between the MIDI system's
    clock and ours, or a delta lost in rtmidi's queue. A stamp is never after its read.
    """

    def __init__(self, window: float = ANCHOR_WINDOW) -> None:
        self.window = window
        self.sum = 0.0  # seconds from the first message to the last, by the deltas
        self._candidates: deque[tuple[float, float]] = deque()  # (read at, anchor), rising

    def stamp(self, delta: float, read_at: float) -> float:
        """The absolute time of a message read at `read_at` with this `delta`."""
        self.sum += delta
        candidate = read_at - self.sum
        cands = self._candidates
        while cands and cands[-1][1] >= candidate:
            cands.pop()
        cands.append((read_at, candidate))
        while cands[0][0] < read_at - self.window:
            cands.popleft()
        return cands[0][1] + self.sum


class InputQueue:
    """Bounded queue between the reader thread and the daemon loop; `wakeup` wakes the loop."""

    def __init__(self, maxlen: int = INPUT_QUEUE_SIZE) -> None:
        self.items: deque[tuple[float, list[int]]] = deque(maxlen=maxlen)
        self.wakeup = threading.Event()
        self.dropped = 0

    def put(self, t: float, msg: list[int]) -> None:
        items = self.items
        if len(items) == items.maxlen:
            self.dropped += 1  # deque drops the oldest itself
        items.append((t, msg))

    def drain(self) -> list[tuple[float, list[int]]]:
        """Everything queued so far, oldest first."""
        out = []
        items = self.items
        while items:
            out.append(items.popleft())
        return out


class InputReader:
    """A thread that moves messages from an rtmidi input's queue to `put(t, msg)`, stamped
    with the MIDI system's times, then calls `wake()`. `stop` before closing the input."""

    def __init__(self, midi_in, put: Callable[[float, list[int]], None],
                 wake: Callable[[], None] | None = None, interval: float = POLL_INTERVAL,
                 name: str = "midi-in", priority: int | None = None) -> None:
        self.midi_in, self.put, self.wake, self.interval = midi_in, put, wake, interval
        self.priority = priority  # SCHED_FIFO for this thread alone; None: inherit
        self.stamps = Stamps()
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.priority is not None:
            enter_realtime(self.priority)
        get, put, stamp = self.midi_in.get_message, self.put, self.stamps.stamp
        clock = time.monotonic
        while not self.halt.wait(self.interval):
            got = False
            while (item := get()) is not None:
                msg, delta = item
                put(stamp(delta, clock()), msg)
                got = True
            if got and self.wake is not None:
                self.wake()

    def stop(self) -> None:
        """Idempotent; returns once the thread has read for the last time."""
        self.halt.set()
        if self.thread is not threading.current_thread():
            self.thread.join()

