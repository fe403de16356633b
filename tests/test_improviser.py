"""The improviser and scheduler driven by a fake clock: deterministic, no ports, no sleeping."""

import math

import pytest

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.clock import ExternalClock, InternalClock
from jazz_plugin.live.controls import DEFAULT_CC, Controls, parse_cc_options
from jazz_plugin.live.improviser import Improviser
from jazz_plugin.live.output import ALL_NOTES_OFF, SUSTAIN_PEDAL, Output
from jazz_plugin.live.player import EIGHTH, SWING_SHIFT, swing_for_ratio
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.develop import at_tempo
from jazz_plugin.music.grid import TICKS_PER_BEAT
from jazz_plugin.options import RunOptions

ENGINE = Engine()
SEC_PER_TICK = 60 / 120 / 12  # 120 BPM


class Rig:
    """An improviser whose output is recorded with the fake time of each send; straight
    eighths unless told (`swing=None` is the default --swing auto)."""

    def __init__(self, mode="call-response", clock=None, argmax=True, **settings):
        settings.setdefault("swing", 0.0)
        self.now = 0.0
        self.sent: list[tuple[float, list[int]]] = []
        self.clock = clock or InternalClock(120, 0.0)
        self.output = Output(lambda m: self.sent.append((self.now, list(m))), channel=2)
        self.imp = Improviser(ENGINE, Sampler(argmax=argmax, seed=0),
                              RunOptions(mode=mode, channel=3, **settings), self.clock,
                              self.output, Controls())
        self.imp.start(0.0)

    def midi(self, t: float, *msg: int) -> None:
        self.advance(t)
        self.now = t
        self.imp.on_midi(t, list(msg))
        self.imp.poll(t)

    def phrase(self, t0: float, pitches, step=0.25) -> float:
        for i, p in enumerate(pitches):
            self.midi(t0 + i * step, 0x90, p, 100)
            self.midi(t0 + i * step + step * 0.9, 0x80, p, 0)
        return t0 + len(pitches) * step

    def advance(self, until: float) -> None:
        """Poll at every wake-up time the improviser asks for, as the daemon does."""
        while True:
            wake = self.imp.next_wakeup(self.now)
            if wake is None or wake > until:
                break
            self.now = max(self.now, wake)
            self.imp.poll(self.now)
        self.now = max(self.now, until)

    def notes(self):
        ons = [(t, m[1]) for t, m in self.sent if m[0] & 0xF0 == 0x90 and m[2] > 0]
        offs = [(t, m[1]) for t, m in self.sent if m[0] & 0xF0 == 0x80]
        return ons, offs


def test_swing_auto_delays_off_beat_eighths_by_the_corpus_ratio():
    rig = Rig(argmax=False, swing=None)  # --swing auto, the default
    ratio = at_tempo(ENGINE.info.feel, "swing", 120.0)
    shift = swing_for_ratio(ratio) * SWING_SHIFT  # in ticks
    assert 1.0 < ratio < 2.0 and 0 < shift < SWING_SHIFT
    assert rig.imp.swing() == pytest.approx(swing_for_ratio(ratio))
    end = rig.phrase(0.0, [60, 62, 64, 67, 69, 67, 64, 62])
    rig.advance(end + 12.0)
    ticks = [t / SEC_PER_TICK for t, _p in rig.notes()[0] if t > end]
    assert ticks
    off_beat = [t for t in ticks if abs(t % TICKS_PER_BEAT - (EIGHTH + shift)) < 1e-6]
    on_grid = [t for t in ticks
               if abs(t - round(t)) < 1e-6 and round(t) % TICKS_PER_BEAT != EIGHTH]
    assert len(off_beat) + len(on_grid) == len(ticks)


def test_a_phrase_gets_an_answer_on_the_beat_after_the_phrase_end_rule():
    rig = Rig()  # straight: every onset on the grid
    end = rig.phrase(0.0, [60, 62, 64, 67, 69, 67, 64, 62])  # one bar of eighths at 120 BPM
    last_off = end - 0.025
    rig.advance(last_off + 4 * 0.5 - 0.001)  # a bar of silence is the phrase end
    assert rig.notes()[0] == [] and rig.imp.status.state == "listening"
    rig.advance(last_off + 4 * 0.5 + 8.0)
    ons, offs = rig.notes()
    assert ons, "an answer was played"
    assert rig.imp.status.answers == 1
    phrase_end = last_off + 2.0
    start = math.ceil(phrase_end / 0.5) * 0.5  # the next beat
    answer_end = rig.imp.player.answer_end
    assert answer_end * SEC_PER_TICK == pytest.approx(start + 2.0)  # a bar, as called
    for t, _p in ons:  # every onset on the 12-per-quarter grid, within the answer
        assert t / SEC_PER_TICK == pytest.approx(round(t / SEC_PER_TICK), abs=1e-6)
        assert start <= t < start + 2.0
    assert max(t for t, _p in offs) <= start + 2.0 + 1e-9
    assert all(m[0] & 0x0F == 2 for _t, m in rig.sent)  # channel 3
    assert all(48 <= p <= 84 for _t, p in ons)
    assert sorted(p for _t, p in ons) == sorted(p for _t, p in offs)
    assert rig.output.sounding == set()


def test_argmax_answers_the_same_phrase_the_same_way():
    answers = []
    for _ in range(2):
        rig = Rig()
        rig.phrase(0.0, [60, 63, 65, 67])
        rig.advance(20.0)
        answers.append([(round(t, 6), p) for t, p in rig.notes()[0]])
    assert answers[0] == answers[1] and answers[0]


def test_answer_length_follows_the_call_clamped():
    rig = Rig(min_bars=2, max_bars=3)
    end = rig.phrase(0.0, [60, 62])  # half a bar
    rig.advance(end + 30)
    ons, offs = rig.notes()
    start = ons[0][0]
    assert max(t for t, _ in offs) <= start + 2 * 2.0 + 1e-9  # clamped up to 2 bars
    answer_end = rig.imp.player.answer_end
    assert (answer_end * SEC_PER_TICK - start) == pytest.approx(2 * 2.0)  # not less
    rig = Rig(min_bars=1, max_bars=2)
    end = rig.phrase(0.0, [60, 62, 64, 65] * 4, step=0.5)  # a 4-bar call
    rig.advance(end + 30)
    start = rig.notes()[0][0][0]
    answer_end = rig.imp.player.answer_end
    assert (answer_end * SEC_PER_TICK - start) == pytest.approx(2 * 2.0)  # clamped down


def test_playing_over_the_answer_interrupts_it_cleanly():
    rig = Rig(answer_bars=0, min_bars=4)
    end = rig.phrase(0.0, [60, 62, 64, 65])
    rig.advance(end + 2.0 + 1.2)  # into the answer
    assert rig.imp.status.state == "answering" and rig.notes()[0]
    rig.midi(rig.now, 0x90, 72, 100)  # the musician plays again
    assert rig.output.sounding == set() and rig.imp.sched.heap == []
    assert rig.imp.status.state == "listening" and rig.imp.phrase.call[0].pitch == 72
    before = len(rig.notes()[0])
    rig.advance(rig.now + 0.4)
    assert len(rig.notes()[0]) == before  # nothing more of the old answer


def test_mute_and_panic_knobs():
    rig = Rig()
    end = rig.phrase(0.0, [60, 62, 64, 65])
    rig.midi(end, 0xB0, DEFAULT_CC["mute"], 127)
    rig.advance(end + 10)
    assert rig.notes()[0] == []  # muted: nothing sounds
    rig.midi(rig.now, 0xB0, DEFAULT_CC["mute"], 0)
    end = rig.phrase(rig.now + 0.1, [60, 62, 64, 65])
    rig.advance(end + 2.0 + 0.7)
    assert rig.notes()[0]
    rig.midi(rig.now, 0xB0, DEFAULT_CC["panic"], 127)
    tail = [m for _t, m in rig.sent[-3:]]
    assert [0xB2, SUSTAIN_PEDAL, 0] in tail and [0xB2, ALL_NOTES_OFF, 0] in tail
    assert rig.output.sounding == set() and rig.imp.sched.heap == []


def test_end_of_phrase_cc_and_temperature_and_argmax_knobs():
    rig = Rig(argmax=False)
    rig.midi(0.0, 0x90, 60, 90)
    rig.midi(0.2, 0x80, 60, 0)
    rig.midi(0.3, 0xB0, DEFAULT_CC["end_phrase"], 127)
    assert rig.imp.status.state == "answering"  # no need to wait for the silence
    rig.midi(0.31, 0xB0, DEFAULT_CC["temperature"], 0)
    assert rig.imp.sampler.temperature == pytest.approx(0.1)
    rig.midi(0.32, 0xB0, DEFAULT_CC["argmax"], 127)
    assert rig.imp.sampler.argmax is True
    rig.midi(0.33, 0xB0, DEFAULT_CC["answer_length"], 127)
    assert rig.imp.settings.answer_bars == 16


def test_mode_cc_switches_to_solo_which_plays_without_input():
    rig = Rig()
    rig.midi(0.0, 0xB0, DEFAULT_CC["mode"], 80)  # 64-95: solo
    assert rig.imp.settings.mode == "solo"
    rig.advance(10.0)
    ons, offs = rig.notes()
    assert len(ons) > 5 and rig.imp.status.state == "playing"


def test_duet_plays_continuously_and_input_steers_the_state():
    rig = Rig(mode="duet")
    rig.advance(2.0)
    played = len(rig.notes()[0])
    assert played > 0
    h_before = ENGINE.h.copy()
    steps = ENGINE.steps
    rig.midi(2.0, 0x90, 70, 100)
    rig.midi(2.2, 0x80, 70, 0)
    assert ENGINE.steps == steps + 1 and not (ENGINE.h == h_before).all()
    rig.advance(6.0)
    assert len(rig.notes()[0]) > played  # the flow did not stop


def test_external_clock_grid_and_stop_closes_notes():
    clock = ExternalClock(120, 0.0)
    rig = Rig(clock=clock)
    pulse = 60 / 100 / 24  # 100 BPM
    t = 0.0
    rig.midi(t, 0xFA)
    pulses = []
    notes = iter([(0.3, 60), (0.6, 62), (0.9, 64), (1.2, 65)])
    pending = next(notes)
    for _ in range(24 * 16):
        rig.midi(t, 0xF8)
        pulses.append(t)
        if pending and t >= pending[0]:
            rig.midi(t + 0.001, 0x90, pending[1], 90)
            rig.midi(t + 0.2, 0x80, pending[1], 0)
            pending = next(notes, None)
        t += pulse
    assert clock.bpm == pytest.approx(100, rel=1e-3)
    ons, _ = rig.notes()
    assert ons, "answered under external clock"
    half = pulse  # the 12-per-quarter grid is every other... every half pulse
    for onset, _p in ons:
        k = (onset - pulses[0]) / (pulse / 2)
        assert k == pytest.approx(round(k), abs=1e-3), onset
    rig.midi(t, 0xFC)  # stop
    assert rig.output.sounding == set() and rig.imp.sched.heap == []
    assert half == pytest.approx(60 / 100 / 24)


def test_scheduler_drops_late_notes_instead_of_bunching_them():
    clock = InternalClock(120, 0.0)
    sched = Scheduler(clock)
    for k in range(8):
        sched.add_note(k * 6, k * 6 + 5, 60 + k, 80)
    first = sched.due(0.0)
    assert [e.pitch for e in first if e.is_on] == [60]
    late = sched.due(2.0)  # a stall of almost 2 s
    assert [e for e in late if e.is_on] == [] and sched.missed == 7
    assert sched.heap == []  # the dropped notes' note-offs went with them


def test_cc_mapping_overrides_and_refusals():
    assert Controls(parse_cc_options(["temperature=74"])).action_for(74) == "temperature"
    with pytest.raises(ConfigError, match="mapped twice"):
        Controls({"mute": 21})
    with pytest.raises(ConfigError, match="0..127"):
        Controls({"mute": 200})
    with pytest.raises(ConfigError, match="reserved"):
        Controls({"panic": 123})
    with pytest.raises(ConfigError, match="unknown control 'volume'"):
        Controls({"volume": 7})
    with pytest.raises(ConfigError, match="NAME=NUMBER"):
        parse_cc_options(["temperature"])


def test_thru_passes_the_input_on_and_tracks_its_notes():
    rig = Rig(thru=True)
    rig.midi(0.0, 0x93, 70, 90)  # channel 4
    assert rig.sent[-1] == (0.0, [0x93, 70, 90]) and (3, 70) in rig.output.sounding
    rig.imp.shutdown()  # a held thru note is closed on the way out, on its own channel
    assert [0x83, 70, 0] in [m for _t, m in rig.sent]
    assert [0xB3, ALL_NOTES_OFF, 0] in [m for _t, m in rig.sent]


def test_answers_can_start_on_the_next_bar():
    rig = Rig(answer_on="bar")
    end = rig.phrase(0.3, [60, 62, 64])
    rig.advance(end + 6.0)
    bar = 2.0  # seconds at 120 BPM
    start_tick = rig.imp.player.answer_end - 48 * 1
    assert start_tick % 48 == 0
    assert all(t >= start_tick * SEC_PER_TICK for t, _p in rig.notes()[0])
    assert start_tick * SEC_PER_TICK >= end + 2.0 - bar


def test_every_answer_starts_with_a_note_on_its_beat():
    for seed in range(8):
        rig = Rig(argmax=False)
        rig.imp.sampler = Sampler(seed=seed, temperature=2.0, top_p=1.0)  # wild: rests likely
        end = rig.phrase(0.0, [60, 55, 67])
        rig.advance(end + 2.0 + 0.6)
        start = math.ceil((end - 0.025 + 2.0) / 0.5) * 0.5
        ons = rig.notes()[0]
        assert ons and ons[0][0] == pytest.approx(start), seed


def test_config_file_then_command_line(tmp_path):
    import argparse

    from jazz_plugin.live.daemon import resolve_options

    path = tmp_path / "jazz.toml"
    path.write_text('mode = "duet"\nbpm = 96\nlow = 40\nhigh = 70\n[cc]\ntemperature = 74\n')
    args = argparse.Namespace(config=str(path), cc=["mute=75"], bpm="140", mode=None)
    o = resolve_options(args)
    assert (o.mode, o.bpm, o.low, o.high) == ("duet", 140.0, 40, 70)
    controls = Controls(o.cc)
    assert controls.action_for(74) == "temperature" and controls.action_for(75) == "mute"
    assert controls.action_for(20) is None  # the default temperature CC moved to 74
