"""DAW transport as a real DAW sends it (Ardour 7 over JACK, measured), on the fake clock:
a note before START, STOP + START at a loop wrap with CC 123 on every channel, a locate
after STOP and while rolling. Without `live/transport.py` the loop wrap is taken as a stop
and its CC 123 releases the next pass's first note; without the scheduler's check a note
whose end is already due is played for no time at all."""

import pytest
from test_improviser import Rig

from jazz_plugin.live.clock import ExternalClock
from jazz_plugin.live.midispec import (
    ALL_NOTES_OFF,
    CLOCK,
    CONTROL_CHANGE,
    NOTE_OFF,
    NOTE_ON,
    SONG_POSITION,
    START,
    STOP,
    SUSTAIN_PEDAL,
)
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.live.transport import LOCATE, PRE_START, DawTransport

BPM = 120
BEAT = 60 / BPM
PULSE = BEAT / 24
EARLY = 528 / 48000  # Ardour sends the first note this long before START
CALL = [60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62]  # 16 eighths, 2 bars


class DawRig(Rig):
    """The improviser behind a DawTransport, as the daemon runs it, on an external clock;
    it keeps the improviser's log."""

    def __init__(self, **settings):
        super().__init__(clock=ExternalClock(BPM, 0.0), **settings)
        self.transport = DawTransport(self.clock)
        self.log: list[str] = []
        self.imp.log = self.log.append

    def daw(self, t: float, *msg: int) -> None:
        self.advance(t)
        self.now = t
        for at, m in self.transport.feed(t, list(msg)):
            self.imp.on_midi(at, m)
        if not self.transport.deciding():
            self.imp.poll(t)

    def advance(self, until: float) -> None:
        """As the daemon's loop: while a STOP may be a locate, only the transport wakes."""
        while True:
            wake = None if self.transport.deciding() else self.imp.next_wakeup(self.now)
            times = [w for w in (wake, self.transport.next_time()) if w is not None]
            if not times or min(times) > until:
                break
            self.now = max(self.now, min(times))
            for at, m in self.transport.due(self.now):
                self.imp.on_midi(at, m)
            if not self.transport.deciding():
                self.imp.poll(self.now)
        self.now = max(self.now, until)

    def pass_of(self, t0: float, bars: int, first_sent: bool = False) -> float:
        """One pass of a DAW region from t0: pulses, and the 16-eighth call in bars 1-2
        (`first_sent`: its first note-on already came, before START, as Ardour sends it).
        Returns the time of the pass's end."""
        events = [(t0 + k * PULSE, (CLOCK,)) for k in range(bars * 4 * 24)]
        for i, p in enumerate(CALL):
            if i or not first_sent:
                events.append((t0 + i * BEAT / 2, (NOTE_ON, p, 100)))
            events.append((t0 + (i + 0.9) * BEAT / 2, (NOTE_OFF, p, 0)))
        for at, msg in sorted(events, key=lambda e: (e[0], e[1][0] != CLOCK)):
            self.daw(at, *msg)
        return t0 + bars * 4 * BEAT

    def calls(self) -> list[str]:
        return [line for line in self.log if line.startswith("call of")]


def wrap(rig: DawRig, t: float, locate: bool = False) -> None:
    """What Ardour 7 sends at a loop wrap, within 6 ms: the next pass's first note, STOP,
    CC 64 and CC 123 on all 16 channels, START (the pulses go on from t). A locate while
    rolling: STOP and the CCs, then 21 ms later the first note and START."""
    stop = t - (0.0213 if locate else 0.0053)
    note = t - 0.011 if locate else stop - 0.0057
    rig.daw(note, NOTE_ON, CALL[0], 100)
    rig.daw(stop, STOP)
    for ch in range(16):
        rig.daw(stop + ch * 1e-4, CONTROL_CHANGE | ch, SUSTAIN_PEDAL, 0)
        rig.daw(stop + ch * 1e-4 + 5e-5, CONTROL_CHANGE | ch, ALL_NOTES_OFF, 0)
    rig.daw(t, START)


def on_times_and_ticks(rig: DawRig):
    """Each note-on sent, with the grid tick it fell on (fake time: exact)."""
    return [(t, rig.clock.tick_at(t)) for t, _p in rig.notes()[0]]


def test_a_note_just_before_start_belongs_to_the_bar_that_starts():
    rig = DawRig()
    t0 = 1.0
    rig.daw(t0 - EARLY, NOTE_ON, CALL[0], 100)
    rig.daw(t0, START)
    end = rig.pass_of(t0, bars=6, first_sent=True)
    rig.advance(end)
    assert rig.calls()[0] == "call of 16 notes; answering 2 bar(s)", rig.log
    assert rig.imp.status.notes_in == 16
    assert rig.imp.status.stuck_input == 0 and rig.imp.sched.missed == 0


@pytest.mark.parametrize("locate", [False, True])
def test_a_loop_wrap_is_a_jump_not_a_stop_and_its_cc_123_cuts_nothing(locate):
    rig = DawRig()
    t = 0.5
    rig.daw(t - EARLY, NOTE_ON, CALL[0], 100)
    rig.daw(t, START)
    for k in range(3):  # a 4-bar loop, played 3 times
        end = rig.pass_of(t, bars=4, first_sent=True)
        if k < 2:
            wrap(rig, end, locate)
        t = end
    assert not any("stopped" in line or "released" in line for line in rig.log), rig.log
    rig.advance(t + 4 * BEAT)  # (the pulses stop here: the clock then counts as gone)
    assert rig.calls() == ["call of 16 notes; answering 2 bar(s)"] * 3, rig.log
    assert rig.transport.locates == 2
    assert rig.imp.status.stuck_input == 0 and rig.imp.sched.missed == 0


def test_a_real_stop_still_stops_and_its_cc_123_still_releases():
    rig = DawRig()
    rig.daw(0.0, START)
    t = rig.pass_of(0.0, bars=4)
    rig.daw(t, NOTE_ON, 60, 100)  # held when the DAW stops
    rig.daw(t + 0.001, CONTROL_CHANGE, ALL_NOTES_OFF, 0)
    rig.daw(t + 0.002, STOP)
    rig.advance(t + 0.002 + LOCATE + 0.01)
    assert "clock stopped: all notes closed" in rig.log
    assert rig.imp.phrase.held == {} and rig.output.sounding == set()
    assert not [at for at, _p in rig.notes()[0] if at > t + 0.002]  # nothing after the STOP
    assert rig.transport.locates == 0


@pytest.mark.parametrize("while_rolling", [False, True])
def test_after_a_locate_no_note_is_late_none_bunched_none_of_zero_length(while_rolling):
    rig = DawRig()
    rig.daw(0.0, START)
    t = rig.pass_of(0.0, bars=3)  # the call (bars 1-2), then silence: its answer is planned
    assert rig.imp.mode.prepared is not None or rig.imp.status.answers
    if while_rolling:  # STOP + START at once: a locate to bar 1 while the answer is due
        rig.daw(t, STOP)
        rig.daw(t + 0.002, START)
        t += 0.002
    else:  # stop, locate to bar 1, start again a second later
        rig.daw(t, STOP)
        rig.advance(t + 0.5)
        rig.daw(t + 0.5, SONG_POSITION, 0, 0)
        t += 1.0
        rig.daw(t, START)
    sent_before = len(rig.sent)
    end = rig.pass_of(t, bars=8)
    rig.advance(end)
    assert rig.imp.sched.missed == 0
    later = rig.sent[sent_before:]
    ons = [(at, m[1]) for at, m in later if m[0] & 0xF0 == NOTE_ON and m[2]]
    assert ons, rig.log
    ticks = [rig.clock.tick_at(at) for at, _p in ons]
    assert all(abs(k - round(k)) < 1e-6 for k in ticks)  # each on its tick, none late
    assert len(set(at for at, _p in ons)) == len(ons)  # no burst: one note-on at a time
    for at, p in ons:  # no zero-length note: its note-off comes later
        off = next(a for a, m in later if a >= at and m[0] & 0xF0 == NOTE_OFF and m[1] == p)
        assert off > at


def test_the_scheduler_never_plays_a_note_whose_end_is_already_due():
    clock = ExternalClock(BPM, 0.0)
    clock.running = True
    sched = Scheduler(clock)
    sched.add_note(10, 11, 60, 100)  # 10 and 11 ticks: 0.417 and 0.458 s
    sched.add_note(12, 18, 62, 100)
    events = sched.due(0.46)  # late by 43 ms (under the late limit) but already over
    assert [(e.pitch, e.is_on) for e in events] == [(60, False)]
    assert sched.missed == 1
    assert [(e.pitch, e.is_on) for e in sched.due(0.5)] == [(62, True)]


def test_notes_played_with_the_transport_stopped_wait_no_longer_than_the_window():
    rig = DawRig()
    rig.daw(0.0, NOTE_ON, 60, 100)
    assert rig.imp.status.notes_in == 0 and rig.transport.next_time() == pytest.approx(PRE_START)
    rig.advance(PRE_START)
    assert rig.imp.status.notes_in == 1  # with its own time
    assert rig.imp.phrase.call[0].start == pytest.approx(rig.clock.tick_at(0.0))
