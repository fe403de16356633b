"""Musical time: grid ticks <-> monotonic seconds, from our own tempo or from MIDI clock.

A tick is 1/12 of a quarter note (the codec's grid). Both clocks map absolute ticks to
absolute times, so the scheduler never accumulates sleeps.
"""

from __future__ import annotations

from collections import deque

from .codec import TICKS_PER_QUARTER

PULSES_PER_QUARTER = 24  # MIDI clock (0xF8) rate
TICKS_PER_PULSE = TICKS_PER_QUARTER / PULSES_PER_QUARTER
TICKS_PER_BEAT = TICKS_PER_QUARTER
TICKS_PER_BAR = 4 * TICKS_PER_QUARTER  # we count in 4/4
FIT_PULSES = 24  # pulses (one beat) in the tick -> time line fit; more = smoother, slower
TEMPO_JUMP = 0.25  # a pulse interval this far off the estimate, twice running, resets it
CLOCK_TIMEOUT_PULSES = 8  # no pulse for this many expected pulses: the clock has gone away
CLOCK_TIMEOUT_MIN = 0.3  # seconds; never time out sooner than this

CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2


class InternalClock:
    """A steady tempo from a fixed origin."""

    source = "internal"

    def __init__(self, bpm: float, origin: float) -> None:
        self.origin = origin
        self.running = True
        self.sec_per_tick = 60.0 / (bpm * TICKS_PER_QUARTER)

    @property
    def bpm(self) -> float:
        return 60.0 / (self.sec_per_tick * TICKS_PER_QUARTER)

    def tick_at(self, t: float) -> float:
        return (t - self.origin) / self.sec_per_tick

    def time_of(self, tick: float) -> float:
        return self.origin + tick * self.sec_per_tick

    def handle(self, status: int, data: list[int], t: float) -> str | None:
        """The internal clock ignores MIDI clock messages."""
        return None

    def check(self, now: float) -> str | None:
        """The internal clock never goes away."""
        return None

    def deadline(self) -> float | None:
        return None


class ExternalClock:
    """Follows MIDI clock: 24 PPQN, start/stop/continue, song position pointer.

    Pulses arrive with jitter (the sender's, the MIDI server's period). Instead of trusting
    the last pulse, the tick -> time line is a least-squares fit over the recent pulses, so
    notes land on the grid the pulses describe, not on their jitter. A tempo change shows
    as two pulse intervals in a row off the fit by more than TEMPO_JUMP; the fit restarts.
    """

    source = "external"

    def __init__(self, bpm: float, now: float) -> None:
        self.sec_per_tick = 60.0 / (bpm * TICKS_PER_QUARTER)
        self.anchor_tick = 0.0  # the tick of the last pulse (or of start)
        self.anchor_time = now
        self.origin = now  # time of tick 0 on the fitted line
        self.running = False
        self.pending_position: float | None = 0.0  # where the next pulse lands, after start/SPP
        self.last_pulse: float | None = None
        self.history: deque[tuple[float, float]] = deque(maxlen=FIT_PULSES)
        self.off_count = 0
        self.pulses = 0
        self.stopped = False  # by a Stop message: only Start/Continue resume

    @property
    def bpm(self) -> float:
        return 60.0 / (self.sec_per_tick * TICKS_PER_QUARTER)

    def tick_at(self, t: float) -> float:
        """On the fitted line (also while stopped, so that a phrase played with the
        transport stopped still has a rhythm)."""
        return (t - self.origin) / self.sec_per_tick

    def time_of(self, tick: float) -> float:
        return self.origin + tick * self.sec_per_tick

    def _place(self, tick: float, t: float) -> None:
        """Put `tick` at time `t` without changing the tempo (start, continue, a new fit)."""
        self.anchor_tick, self.anchor_time = tick, t
        self.origin = t - tick * self.sec_per_tick

    def handle(self, status: int, data: list[int], t: float) -> str | None:
        """Update from one system real-time/common message; returns 'start'/'stop'/None."""
        if status == CLOCK:
            return self._pulse(t)
        if status == START:
            self.pending_position = 0.0
            self.running, self.stopped = True, False
            self._restart(0.0, t)
            return "start"
        if status == CONTINUE:
            self.running, self.stopped = True, False
            self._restart(self.anchor_tick, t)
            return "start"
        if status == STOP:
            was = self.running
            self.running, self.stopped = False, True
            self.pending_position = None
            return "stop" if was else None
        if status == SONG_POSITION and len(data) >= 3:
            sixteenths = data[1] | (data[2] << 7)
            self.pending_position = sixteenths * TICKS_PER_QUARTER / 4
            self.anchor_tick = self.pending_position
            return None
        return None

    def _restart(self, tick: float, t: float) -> None:
        self.history.clear()
        self.last_pulse = None
        self._place(tick, t)

    def deadline(self) -> float | None:
        """When, without another pulse, the clock counts as gone (None when not running)."""
        if not self.running or self.last_pulse is None:
            return None
        expected = self.sec_per_tick * TICKS_PER_PULSE
        return self.last_pulse + max(CLOCK_TIMEOUT_PULSES * expected, CLOCK_TIMEOUT_MIN)

    def check(self, now: float) -> str | None:
        """'stop' when the pulses have stopped coming (the DAW quit, a cable came out)."""
        deadline = self.deadline()
        if deadline is not None and now > deadline:
            self.running = False
            return "stop"
        return None

    def _pulse(self, t: float) -> str | None:
        self.pulses += 1
        started = None
        if self.pending_position is not None:  # the first pulse after start or SPP
            tick = self.pending_position
            self.pending_position = None
            self.history.clear()
            if not self.running:  # pulses without start: follow them anyway
                started = "start"
        elif self.running:
            tick = self.anchor_tick + TICKS_PER_PULSE
        elif self.stopped:  # stopped by a message: hold the position, keep the tempo
            self.last_pulse = t
            return None
        else:  # pulses are back after a timeout: carry on from where we were
            tick = self.anchor_tick + TICKS_PER_PULSE
            self.history.clear()
            started = "start"
        self.running = True
        self._fit(tick, t)
        return started

    def _fit(self, tick: float, t: float) -> None:
        h = self.history
        if self.last_pulse is not None and h:
            interval = (t - h[-1][1]) / (tick - h[-1][0]) if tick > h[-1][0] else 0.0
            if interval <= 0 or t - self.last_pulse > max(
                    CLOCK_TIMEOUT_PULSES * self.sec_per_tick * TICKS_PER_PULSE,
                    CLOCK_TIMEOUT_MIN):
                h.clear()  # a gap: start a new line from here
            elif abs(interval - self.sec_per_tick) > TEMPO_JUMP * self.sec_per_tick:
                self.off_count += 1
                if self.off_count >= 2:  # a real tempo change, not one late pulse
                    last = h[-1]
                    h.clear()
                    h.append(last)
                    self.sec_per_tick = interval
                    self.off_count = 0
            else:
                self.off_count = 0
        self.last_pulse = t
        h.append((tick, t))
        if len(h) >= 3:
            n = len(h)
            mean_k = sum(k for k, _ in h) / n
            mean_t = sum(x for _, x in h) / n
            var = sum((k - mean_k) ** 2 for k, _ in h)
            slope = sum((k - mean_k) * (x - mean_t) for k, x in h) / var
            if slope > 0:
                self.sec_per_tick = slope
                self.origin = mean_t - mean_k * slope
                self.anchor_tick, self.anchor_time = tick, t
                return
        self._place(tick, t)
