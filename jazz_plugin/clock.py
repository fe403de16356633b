"""Musical time: grid ticks <-> monotonic seconds, from our own tempo or from MIDI clock.

A tick is 1/12 of a quarter note (the codec's grid). Both clocks map absolute ticks to
absolute times, so the scheduler never accumulates sleeps.
"""

from __future__ import annotations

from .codec import TICKS_PER_QUARTER

PULSES_PER_QUARTER = 24  # MIDI clock (0xF8) rate
TICKS_PER_PULSE = TICKS_PER_QUARTER / PULSES_PER_QUARTER
TICKS_PER_BEAT = TICKS_PER_QUARTER
TICKS_PER_BAR = 4 * TICKS_PER_QUARTER  # we count in 4/4
TEMPO_SMOOTHING = 0.15  # weight of each new pulse interval in the tempo estimate
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
        self.set_bpm(bpm, origin)

    @property
    def bpm(self) -> float:
        return 60.0 / (self.sec_per_tick * TICKS_PER_QUARTER)

    def set_bpm(self, bpm: float, now: float) -> None:
        """Change tempo without moving the current musical position."""
        tick_now = self.tick_at(now) if hasattr(self, "sec_per_tick") else 0.0
        self.sec_per_tick = 60.0 / (bpm * TICKS_PER_QUARTER)
        self.origin = now - tick_now * self.sec_per_tick

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
    """Follows MIDI clock: 24 PPQN with a smoothed tempo, start/stop/continue, SPP."""

    source = "external"

    def __init__(self, bpm: float, now: float) -> None:
        self.sec_per_tick = 60.0 / (bpm * TICKS_PER_QUARTER)
        self.anchor_tick = 0.0  # the tick of the last pulse (or of start)
        self.anchor_time = now
        self.running = False
        self.pending_position: float | None = 0.0  # where the next pulse lands, after start/SPP
        self.last_pulse: float | None = None
        self.off_count = 0
        self.pulses = 0
        self.stopped = False  # by a Stop message: only Start/Continue resume

    @property
    def bpm(self) -> float:
        return 60.0 / (self.sec_per_tick * TICKS_PER_QUARTER)

    def tick_at(self, t: float) -> float:
        """Extrapolated from the last pulse at the estimated tempo (also while stopped, so
        that a phrase played with the transport stopped still has a rhythm)."""
        return self.anchor_tick + (t - self.anchor_time) / self.sec_per_tick

    def time_of(self, tick: float) -> float:
        return self.anchor_time + (tick - self.anchor_tick) * self.sec_per_tick

    def handle(self, status: int, data: list[int], t: float) -> str | None:
        """Update from one system real-time/common message; returns 'start'/'stop'/None."""
        if status == CLOCK:
            return self._pulse(t)
        if status == START:
            self.pending_position = 0.0
            self.running, self.anchor_tick, self.anchor_time = True, 0.0, t
            self.stopped = False
            self.last_pulse = None
            return "start"
        if status == CONTINUE:
            self.running, self.stopped = True, False
            self.anchor_time = t
            self.last_pulse = None
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
        if self.last_pulse is not None:
            interval = t - self.last_pulse
            expected = self.sec_per_tick * TICKS_PER_PULSE
            if 0 < interval < max(expected * CLOCK_TIMEOUT_PULSES, CLOCK_TIMEOUT_MIN):
                if abs(interval - expected) > TEMPO_JUMP * expected:
                    self.off_count += 1
                    if self.off_count >= 2:  # a real tempo change, not one late pulse
                        self.sec_per_tick = interval / TICKS_PER_PULSE
                        self.off_count = 0
                else:
                    self.off_count = 0
                    smoothed = (1 - TEMPO_SMOOTHING) * expected + TEMPO_SMOOTHING * interval
                    self.sec_per_tick = smoothed / TICKS_PER_PULSE
        self.last_pulse = t
        started = None
        if self.pending_position is not None:
            self.anchor_tick = self.pending_position
            self.pending_position = None
            if not self.running:  # pulses without start: follow them anyway
                started = "start"
        elif self.running:
            self.anchor_tick += TICKS_PER_PULSE
        elif self.stopped:
            return None  # stopped by a message: keep the tempo estimate, hold the position
        else:  # pulses are back after a timeout: carry on from where we were
            self.anchor_tick += TICKS_PER_PULSE
            started = "start"
        self.anchor_time = t
        self.running = True
        return started
