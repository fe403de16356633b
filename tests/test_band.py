"""Playing with the band on a fake clock: trading on the bar grid, chords from the DAW,
swing, register and density knobs."""

import pytest
from test_improviser import SEC_PER_TICK, Rig

from jazz_plugin.live.chordsource import Harmony, PlayedChords
from jazz_plugin.live.controls import DEFAULT_CC
from jazz_plugin.live.player import swung
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.harmony import parse_chart

BAR = 2.0  # seconds at 120 BPM
TURN = 2 * BAR  # --trade-bars 2


def test_trade_answers_start_exactly_on_the_bar_line_and_stay_in_their_turn():
    rig = Rig(mode="trade", trade_bars=2)
    # the musician's turn: bars 1-2; a note across the bar line into our turn
    for k, p in enumerate([60, 62, 64, 65, 67, 69, 71]):
        rig.midi(k * 0.5 + 0.01, 0x90, p, 90)
        rig.midi(k * 0.5 + 0.4, 0x80, p, 0)
    rig.midi(3.9, 0x90, 72, 90)  # starts in the musician's turn, ends in ours
    rig.midi(4.3, 0x80, 72, 0)
    rig.advance(TURN * 2 + 0.001)
    ons, offs = rig.notes()
    assert ons and ons[0][0] == pytest.approx(TURN)  # first note on the bar line
    assert all(TURN <= t < 2 * TURN for t, _p in ons)
    assert max(t for t, _p in offs) <= 2 * TURN + 1e-9  # never into the next turn
    assert rig.imp.status.answers == 1 and rig.output.sounding == set()
    # the next musician's turn (bars 5-6) is answered in bars 7-8
    for k, p in enumerate([67, 65, 64, 62]):
        rig.midi(2 * TURN + k * 0.5, 0x90, p, 90)
        rig.midi(2 * TURN + k * 0.5 + 0.3, 0x80, p, 0)
    rig.advance(4 * TURN)
    second = [t for t, _p in rig.notes()[0] if t >= 2 * TURN]
    assert second and second[0] == pytest.approx(3 * TURN) and rig.imp.status.answers == 2


@pytest.mark.parametrize("empty, answers", [("solo", 2), ("rest", 0)])
def test_an_empty_turn_is_played_over_or_rested(empty, answers):
    rig = Rig(mode="trade", trade_bars=2, trade_empty=empty)
    rig.advance(4 * TURN)
    assert rig.imp.status.answers == answers
    assert bool(rig.notes()[0]) == bool(answers)


def test_trade_answers_are_played_over_their_own_bars_of_the_chart():
    chart = parse_chart("| Cmaj7 | Cmaj7 | F#7 | F#7 |")
    rig = Rig(mode="trade", trade_bars=2)
    rig.imp.harmony = Harmony(chart)
    rig.imp.voice.harmony = rig.imp.harmony
    assert rig.imp.harmony.at(0) == (pcs_mask([0, 4, 7, 11]), pcs_mask([6, 10, 1, 4]))
    ours = int(TURN / SEC_PER_TICK)  # our turn starts at bar 3: F#7
    assert rig.imp.harmony.text(ours) == "F#7"
    assert rig.imp.chord_text(0.0) == "Cmaj7" and rig.imp.chord_text(TURN) == "F#7"


def test_played_chords_count_arpeggios_and_the_pedal_and_go_stale():
    chords = PlayedChords()
    for k, p in enumerate([50, 53, 57, 60]):  # Dm7 broken, each released before the next
        chords.note_on(k * 6, p)
        chords.note_off(k * 6 + 4, p)
    assert chords.mask(24) == pcs_mask([2, 5, 9, 0])
    chords.sustain(30, True)  # pedal down: G7 held by the pedal after the keys come up
    for p in (43, 53, 59, 62):
        chords.note_on(40, p)
    for p in (43, 53, 59, 62):
        chords.note_off(44, p)
    assert chords.mask(90) == pcs_mask([7, 11, 2, 5])
    chords.sustain(100, False)
    assert chords.mask(100 + 3 * 48) == 0  # stale: the key estimate takes over


def test_chord_channel_and_split_route_notes_to_the_harmony_not_the_call():
    rig = Rig(chord_channel=2)
    for p in (48, 52, 55, 59):
        rig.midi(0.0, 0x91, p, 70)  # channel 2: Cmaj7
    assert rig.imp.harmony.source(0) == "played" and rig.imp.phrase.call == []
    rig = Rig(split=60)
    rig.midi(0.0, 0x90, 50, 70)
    rig.midi(0.0, 0x90, 53, 70)
    rig.midi(0.0, 0x90, 57, 70)
    rig.midi(0.0, 0x90, 72, 90)
    assert [n.pitch for n in rig.imp.phrase.call] == [72]
    assert rig.imp.harmony.at(1) == (pcs_mask([2, 5, 9]), pcs_mask([2, 5, 9]))


def test_without_chords_the_key_of_the_call_is_assumed():
    rig = Rig()
    end = rig.phrase(0.0, [57, 60, 64, 62, 60, 59, 57, 64])  # A minor
    rig.advance(end + 3.0)
    assert rig.imp.harmony.source(0) == "key"
    assert rig.imp.harmony.text(0) == "key A minor"


def test_swing_moves_only_the_off_beat_eighths():
    assert swung(6, 1.0) == 8 and swung(6, 0.5) == 7 and swung(6, 0.0) == 6
    assert swung(12, 1.0) == 12 and swung(3, 1.0) == 3
    rig = Rig(mode="solo", swing=1.0)
    rig.advance(20.0)
    for t, _p in rig.notes()[0]:
        assert round(t / SEC_PER_TICK) % 12 != 6  # no straight off-beat eighth left


def test_register_and_density_knobs():
    rig = Rig(mode="solo")
    rig.midi(0.0, 0xB0, DEFAULT_CC["register"], 127)  # up two octaves (clamped to 127)
    low, high = rig.imp.voice.low, rig.imp.voice.high
    assert (low, high) == (48 + 24, 84 + 24)
    rig.advance(10.0)
    assert all(low <= p <= high for _t, p in rig.notes()[0] if _t > 1.0)
    sparse = Rig(mode="solo", density=0.0, argmax=False)
    busy = Rig(mode="solo", density=1.0, argmax=False)
    sparse.advance(30.0)
    busy.advance(30.0)
    assert len(busy.notes()[0]) > len(sparse.notes()[0])
