"""Bad input to the running daemon's brain: it keeps playing correctly, and fuzzing finds no
exception. Driven through the real parser and improviser with a fake clock."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_improviser import Rig

from jazz_plugin.live.clock import ExternalClock
from jazz_plugin.live.controls import DEFAULT_CC
from jazz_plugin.live.midiinput import InputQueue, Stamps


def answered(rig: Rig, t0: float) -> list:
    """Play a clean phrase after whatever came before; return the answer's note-ons."""
    before = len(rig.notes()[0])
    end = rig.phrase(t0, [60, 62, 64, 67])
    rig.advance(end + 6.0)
    return rig.notes()[0][before:]


def assert_clean(rig: Rig) -> None:
    ons, offs = rig.notes()
    rig.imp.shutdown()
    assert rig.output.sounding == set()
    assert all(0 <= m[1] <= 127 for _t, m in rig.sent)


def test_running_status_bytes_are_understood():
    rig = Rig()
    rig.midi(0.0, 0x90, 60, 100, 62, 100, 64, 100)  # one status byte, three notes
    assert {k[1] for k in rig.imp.phrase.held} == {60, 62, 64}
    rig.midi(0.3, 0x80, 60, 0, 62, 0, 64, 0)
    assert rig.imp.phrase.held == {}


def test_stray_note_offs_and_velocity_zero_note_ons():
    rig = Rig()
    for p in range(0, 128, 7):
        rig.midi(0.01, 0x80, p, 0)  # never started
    rig.midi(0.02, 0x90, 61, 0)  # velocity 0 = note-off, also never started
    assert rig.imp.phrase.call == [] and rig.imp.phrase.held == {}
    rig.midi(0.1, 0x90, 60, 90)
    rig.midi(0.3, 0x90, 60, 0)  # velocity-0 note-on ends it
    assert rig.imp.phrase.held == {} and rig.imp.phrase.call[0].end > rig.imp.phrase.call[0].start
    assert answered(rig, 1.0)
    assert_clean(rig)


def test_all_16_channels_at_once_and_drums_ignored():
    rig = Rig()
    for ch in range(16):
        rig.midi(0.0, 0x90 | ch, 50 + ch, 90)
    for ch in range(16):
        rig.midi(0.4, 0x80 | ch, 50 + ch, 0)
    assert len(rig.imp.phrase.call) == 15  # channel 10 is drums
    rig.advance(6.0)
    ons = rig.notes()[0]
    assert ons and rig.imp.status.answers == 1  # the chord's top voice made a call
    assert_clean(rig)


def test_sysex_is_ignored_and_the_phrase_still_answered():
    rig = Rig()
    for _ in range(200):
        rig.midi(0.0, 0xF0, 0x7D, *range(100), 0xF7)
    assert answered(rig, 0.1)
    assert_clean(rig)


def test_cc_values_at_0_and_127_for_every_control():
    rig = Rig()
    for value in (0, 127, 0):
        for name, number in DEFAULT_CC.items():
            if name != "mode":
                rig.midi(0.0, 0xB0, number, value)
    assert rig.imp.settings.mode == "call-response"
    assert not rig.output.muted and rig.imp.sampler.argmax is False
    assert answered(rig, 0.1)
    rig.midi(rig.now, 0xB0, DEFAULT_CC["mode"], 127)
    rig.midi(rig.now, 0xB0, DEFAULT_CC["mode"], 0)
    assert rig.imp.settings.mode == "call-response"
    assert_clean(rig)


def test_clock_pulses_without_start_are_followed():
    clock = ExternalClock(120, 0.0)
    rig = Rig(clock=clock)
    t = 0.0
    for _ in range(48):
        rig.midi(t, 0xF8)
        t += 60 / 90 / 24
    assert clock.running and clock.bpm == pytest.approx(90, rel=0.02)
    assert clock.tick_at(t - 60 / 90 / 24) == pytest.approx(47 * 0.5)


def test_start_without_clock_plays_nothing_until_pulses_come_and_stop_closes_notes():
    clock = ExternalClock(120, 0.0)
    rig = Rig(clock=clock, mode="solo")
    rig.midi(0.0, 0xFA)
    assert not clock.running and not rig.imp.player.generating
    rig.advance(3.0)
    assert rig.notes()[0] == []  # START alone, no pulses: silence, not --bpm forever
    t = 3.0
    for _ in range(24 * 4):
        rig.midi(t, 0xF8)
        t += 60 / 120 / 24
    ons = rig.notes()[0]
    assert clock.running and ons and ons[0][0] == pytest.approx(3.0 + 0.5, abs=1e-3)
    rig.midi(t, 0xFC)
    assert rig.output.sounding == set() and rig.imp.status.state == "stopped"


def test_a_clock_that_vanishes_mid_song_closes_every_note():
    clock = ExternalClock(120, 0.0)
    rig = Rig(clock=clock, mode="solo")
    t = 0.0
    for _ in range(24 * 8):  # 8 beats of clock, then nothing (the DAW crashed)
        rig.midi(t, 0xF8)
        t += 60 / 120 / 24
    assert rig.notes()[0]
    rig.advance(t + 1.0)
    assert not clock.running and rig.imp.status.state == "stopped"
    assert rig.output.sounding == set() and rig.imp.sched.heap == []


def test_song_position_far_beyond_the_end_and_tempo_jumps():
    clock = ExternalClock(120, 0.0)
    rig = Rig(clock=clock, mode="solo")
    rig.midi(0.0, 0xF2, 0x7F, 0x7F)  # 16383 sixteenths in
    rig.midi(0.0, 0xFB)  # continue
    t = 0.0
    for bpm in (30, 300, 30, 300, 120):
        for _ in range(48):
            rig.midi(t, 0xF8)
            t += 60 / bpm / 24
        assert clock.bpm == pytest.approx(bpm, rel=0.05)
    assert clock.tick_at(t) > 16383 * 3
    ons = rig.notes()[0]
    assert ons, "kept playing through the jumps"
    for a, b in zip(ons, ons[1:]):
        assert b[0] >= a[0]
    rig.midi(t, 0xFC)
    assert rig.output.sounding == set()


def test_thousands_of_notes_per_second_keep_the_call_bounded():
    rig = Rig()
    t = 0.0
    for k in range(5000):  # 5000 notes in half a second
        rig.midi(t, 0x90, 40 + k % 50, 100)
        rig.midi(t + 1e-5, 0x80, 40 + k % 50, 0)
        t += 1e-4
    assert len(rig.imp.phrase.call) <= 256
    rig.advance(t + 4.0)
    assert rig.imp.status.answers == 1 and rig.notes()[0]
    assert_clean(rig)


def test_stamps_rebuild_the_midi_systems_times_from_its_deltas():
    # a message at each true time; Python reads it a little later, late by up to 50 ms
    true = [10.0, 10.0004, 10.25, 10.2501, 11.0, 12.5]
    lags = [0.003, 0.05, 0.0001, 0.0205, 0.03, 0.0002]
    stamps = Stamps()
    got = [stamps.stamp(t - prev, t + lag)
           for t, prev, lag in zip(true, [true[0]] + true[:-1], lags)]
    # no stamp after its read; once one read came quickly, every stamp is within that
    assert all(g <= t + lag + 1e-12 for g, t, lag in zip(got, true, lags))
    assert all(abs(g - t) <= 0.0001 + 1e-9 for g, t in zip(got[2:], true[2:]))
    assert got[1] - got[0] == pytest.approx(0.0004)  # the deltas are kept whatever the lag


def test_stamps_follow_a_drift_within_their_window():
    stamps = Stamps(window=1.0)
    t, got = 0.0, []
    for k in range(200):  # the MIDI system's clock runs 1 % slow against ours
        t += 0.05
        got.append(stamps.stamp(0.05 * 0.99 if k else 0.0, t + 0.001))
    assert abs(got[-1] - t) < 0.02  # a window of reads, not all time: the drift is followed


def test_input_queue_is_bounded_and_counts_what_it_drops():
    q = InputQueue(maxlen=100)
    for k in range(250):
        q.put(0.0, [0x90, k % 128, 100])
    items = q.drain()
    assert len(items) == 100 and q.dropped == 150
    assert items[0][1] == [0x90, 150 % 128, 100]  # the oldest were dropped


@given(st.lists(st.binary(min_size=1, max_size=12), max_size=60), st.integers(0, 2**16))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_raw_midi_bytes_never_raise(chunks, seed):
    rng = random.Random(seed)
    clock = ExternalClock(120, 0.0) if seed % 2 else None
    rig = Rig(clock=clock, mode=("call-response", "duet", "solo")[seed % 3], argmax=False)
    t = 0.0
    for chunk in chunks:
        t += rng.uniform(0, 0.2)
        rig.midi(t, *chunk)
    rig.advance(t + 3.0)
    rig.imp.shutdown()
    assert rig.output.sounding == set()


def test_clock_jitter_is_smoothed_out_of_the_grid():
    rng = random.Random(3)
    clock = ExternalClock(100, 0.0)
    pulse = 60 / 120 / 24
    clock.handle(0xFA, [0xFA], 0.0)
    worst_raw = 0.0
    for k in range(24 * 8):
        jitter = rng.uniform(-0.003, 0.003)  # +-3 ms, like a busy sender and a 1.3 ms period
        worst_raw = max(worst_raw, abs(jitter))
        clock.handle(0xF8, [0xF8], 1.0 + k * pulse + jitter)
    assert clock.bpm == pytest.approx(120, rel=0.01)
    ideal_next_beat = 1.0 + 24 * 8 * pulse  # tick 96
    assert abs(clock.time_of(96) - ideal_next_beat) < worst_raw / 2
