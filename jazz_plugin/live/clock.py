"""Musical time: grid ticks <-> monotonic seconds, from our own tempo or from MIDI clock.

A tick is 1/12 of a quarter note (the codec's grid). Both clocks map absolute ticks to
absolute times, so the scheduler never accumulates sleeps.
"""

from __future__ import annotations

from collections import deque

from jazz_plugin.live.midispec import (
    CLOCK,
    CONTINUE,
    PULSES_PER_QUARTER,
    SONG_POSITION,
    START,
    STOP,
)
from jazz_plugin.live.timebase import ClockEvent
from jazz_plugin.music.grid import TICKS_PER_QUARTER

TICKS_PER_PULSE = TICKS_PER_QUARTER / PULSES_PER_QUARTER
FIT_PULSES = 48  # pulses (two beats) in the tick -> time line fit; more = smoother, slower
JUMP_PULSES = 4  # pulses in a row off the fit, each further off than the last: a new tempo
# (a stall that delivers late pulses in a burst is off by less and less: not a tempo change)
JUMP_MIN = 0.004  # seconds; a residual below this is jitter whatever the fit says
JUMP_SIGMAS = 4.0  # ... and so is one within this many residual standard deviations
LOSS_MIN_PULSES = 8  # pulses in the fit before a gap can count as lost pulses
LOST_PULSES_MAX = 3  # a longer gap is not lost pulses but a stall (the fit then restarts)
LOST_TOLERANCE = 0.3  # how near a whole number of pulse intervals a gap must be to count
DUPLICATE_RATIO = 0.25  # a pulse this soon after the last one's place on the line ...
DUPLICATE_WINDOW = 0.002  # ... and within this many seconds of its arrival: the same again
MIN_SEC_PER_TICK = 60.0 / (1000 * TICKS_PER_QUARTER)  # a fit beyond 1000 BPM is a burst
MAX_SEC_PER_TICK = 60.0 / (5 * TICKS_PER_QUARTER)  # ... below 5 BPM, a stall
CLOCK_TIMEOUT_PULSES = 24  # no pulse for a beat's worth of pulses: the clock has gone away
CLOCK_TIMEOUT_MIN = 1.0  # seconds; never sooner (a MIDI server may stall for a moment)

class InternalClock:
    """A steady tempo from a fixed origin."""

    source = "internal"
    jump = start_jump = 0.0  # it never jumps
    peers = None  # not a shared clock

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

    def handle(self, status: int, data: list[int], t: float) -> ClockEvent | None:
        """The internal clock ignores MIDI clock messages."""
        return None

    def check(self, now: float) -> ClockEvent | None:
        """The internal clock never goes away."""
        return None

    def deadline(self) -> float | None:
        return None

    def close(self) -> None:
        """Nothing to let go of."""


class ExternalClock:
    """Follows MIDI clock: 24 PPQN, start/stop/continue, song position pointer.

    Pulses arrive with jitter (the sender's, the MIDI server's period). The tick -> time line
    is a least-squares fit over the last FIT_PULSES pulses, so notes land on the grid the
    pulses describe, not on their jitter. A real tempo change shows as JUMP_PULSES pulses in
    a row off the fit on the same side, each by more than the jitter explains; the fit then
    restarts from the new pulses. Jitter alone has random sign and never does that.

    Only START and CONTINUE start the transport; after STOP, pulses (DAWs keep sending them)
    and song position changes only move the position. START waits for its first pulse:
    with no pulses, nothing plays.
    """

    source = "external"
    peers = None  # not a shared clock

    def __init__(self, bpm: float, now: float) -> None:
        self.sec_per_tick = 60.0 / (bpm * TICKS_PER_QUARTER)
        self.anchor_tick = 0.0  # the tick of the last pulse (or of start)
        self.origin = now  # time of tick 0 on the fitted line
        self.running = False
        self.pending_position: float | None = 0.0  # where the next pulse lands, after start/SPP
        self.last_pulse: float | None = None
        self.history: deque[tuple[float, float]] = deque(maxlen=FIT_PULSES)
        self.off_side = 0  # +n / -n: n pulses in a row late / early beyond the jitter
        self.last_resid = 0.0
        self.lost_last = False  # the last pulse came after lost ones
        self.duplicates = 0  # pulses that arrived twice, ignored
        self.resid_var = 0.0  # running variance of the fit residuals (seconds^2)
        self.stopped = False  # by a Stop message: only Start/Continue resume
        self.starting = False  # Start/Continue seen, waiting for the first pulse
        self.jump = 0.0  # ticks the last song position change moved the timeline by
        self.start_jump = 0.0  # ... and the last start

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
        self.anchor_tick = tick
        self.origin = t - tick * self.sec_per_tick

    def handle(self, status: int, data: list[int], t: float) -> ClockEvent | None:
        """Update from one system real-time/common message.

        Returns START, STOP, MOVED (a song position change while running) or None.
        """
        if status == CLOCK:
            return self._pulse(t)
        if status == START:
            self.pending_position = 0.0
            self.starting, self.stopped = True, False
            return None
        if status == CONTINUE:
            if self.pending_position is None:
                self.pending_position = self.anchor_tick
            self.starting, self.stopped = True, False
            return None
        if status == STOP:
            was = self.running or self.starting
            self.running = self.starting = False
            self.stopped = True
            self.pending_position = None
            return ClockEvent.STOP if was else None
        if status == SONG_POSITION and len(data) >= 3:
            sixteenths = data[1] | (data[2] << 7)
            self.pending_position = sixteenths * TICKS_PER_QUARTER / 4
            if not self.running:
                self.anchor_tick = self.pending_position
            return None
        return None

    def deadline(self) -> float | None:
        """When, without another pulse, the clock counts as gone (None when not running)."""
        if not self.running or self.last_pulse is None:
            return None
        expected = self.sec_per_tick * TICKS_PER_PULSE
        return self.last_pulse + max(CLOCK_TIMEOUT_PULSES * expected, CLOCK_TIMEOUT_MIN)

    def check(self, now: float) -> ClockEvent | None:
        """STOP when the pulses have stopped coming (the DAW quit, a cable came out)."""
        deadline = self.deadline()
        if deadline is not None and now > deadline:
            self.running = False
            return ClockEvent.STOP
        return None

    def close(self) -> None:
        """Nothing to let go of."""

    def _pulse(self, t: float) -> ClockEvent | None:
        change = None
        if self.stopped:  # stopped by a message: hold the position, keep the tempo
            self.last_pulse = t
            if self.pending_position is not None:
                self.anchor_tick = self.pending_position
            return None
        if self.pending_position is not None:  # the first pulse after start/continue/SPP
            tick = self.pending_position
            self.pending_position = None
            if self.running:  # a jump while playing (a DAW loop, the playhead moved)
                self.jump = tick - self.tick_at(t)
                change = ClockEvent.MOVED
            else:  # a start, or pulses without any start at all: follow them; what was
                # heard while stopped moves with the timeline
                self.start_jump = tick - self.tick_at(t)
                change = ClockEvent.START
            self.history.clear()
        elif self.running:
            n = self._pulses_since(t)
            if n == 0:  # the same pulse twice (a MIDI server under load repeats events)
                self.duplicates += 1
                return None
            tick = self.anchor_tick + TICKS_PER_PULSE * n
        else:  # pulses are back after a timeout: carry on from where we were
            tick = self.anchor_tick + TICKS_PER_PULSE
            self.history.clear()
            change = ClockEvent.START
        self.running, self.starting = True, False
        if self.history and t - self.last_pulse > max(
                CLOCK_TIMEOUT_PULSES * self.sec_per_tick * TICKS_PER_PULSE, CLOCK_TIMEOUT_MIN):
            self.history.clear()  # a gap: start a new line from here
        self.last_pulse = t
        self._fit(tick, t)
        return change

    def _pulses_since(self, t: float) -> int:
        """How many pulses this one is after the last: 1, or more when pulses were lost.

        A MIDI server under load can drop events (JACK dropped 6 of 3,000 here); counting
        pulses would then fall behind the DAW for good. Once the fit knows the tempo, a gap
        of about k pulse intervals after the last pulse's place on the fitted line (not its
        jittery arrival) counts as k pulses. Gaps like that twice in a row, or far from a
        whole number of pulses, are a new tempo (or a stall), which the fit follows. 0 means
        the pulse came again (JACK under load repeats events too): it is ignored.
        """
        if len(self.history) < LOSS_MIN_PULSES or self.last_pulse is None:
            return 1
        interval = self.sec_per_tick * TICKS_PER_PULSE
        ratio = (t - self.time_of(self.anchor_tick)) / interval  # from the smoothed line
        k = round(ratio)
        if ratio < DUPLICATE_RATIO and t - self.last_pulse < DUPLICATE_WINDOW:
            return 0
        lost = 1 < k <= LOST_PULSES_MAX + 1 and abs(ratio - k) < LOST_TOLERANCE
        if lost and not self.lost_last:  # isolated: pulses lost
            self.lost_last = True
            return k
        self.lost_last = False  # in a row, or off the grid: a new tempo, for the fit
        return 1

    def _fit(self, tick: float, t: float) -> None:
        h = self.history
        if len(h) >= 3:
            resid = t - self.time_of(tick)  # > 0: late against the fitted line
            limit = max(JUMP_MIN, JUMP_SIGMAS * self.resid_var ** 0.5)
            if abs(resid) > limit:
                side = 1 if resid > 0 else -1
                growing = self.off_side * side > 0 and abs(resid) > abs(self.last_resid)
                self.off_side = self.off_side + side if growing else side
                self.last_resid = resid
                if abs(self.off_side) >= JUMP_PULSES:  # a real tempo change
                    recent = list(h)[-(JUMP_PULSES - 1):]
                    h.clear()
                    h.extend(recent)
                    self.off_side = 0
                    self.resid_var = 0.0
            else:
                self.off_side = 0
                self.resid_var += (resid * resid - self.resid_var) / FIT_PULSES
        h.append((tick, t))
        if len(h) >= 2:
            n = len(h)
            mean_k = sum(k for k, _ in h) / n
            mean_t = sum(x for _, x in h) / n
            var = sum((k - mean_k) ** 2 for k, _ in h)
            slope = sum((k - mean_k) * (x - mean_t) for k, x in h) / var if var else 0.0
            if MIN_SEC_PER_TICK < slope < MAX_SEC_PER_TICK:
                self.sec_per_tick = slope
                self.origin = mean_t - mean_k * slope
                self.anchor_tick = tick
                return
        self._place(tick, t)
