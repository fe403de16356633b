"""`run --record`: the session file on a fake clock (the real-port round trip with a SIGTERM
mid-answer is in test_band_e2e.py)."""

import mido
import pytest
from test_improviser import SEC_PER_TICK, Rig

from jazz_plugin.corpus.midifile import read_solo_parts
from jazz_plugin.live.clock import ExternalClock
from jazz_plugin.live.recorder import Recorder
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.harmony import parse_chord

CHORDS = ["Dm7", "G7", "Cmaj7", "A7"]
VOICINGS = {"Dm7": [50, 53, 57, 60], "G7": [43, 53, 59, 62], "Cmaj7": [48, 52, 55, 59],
            "A7": [45, 55, 61, 64]}
EIGHTH = 6 * SEC_PER_TICK
BAR = 48 * SEC_PER_TICK


class RecordedRig(Rig):
    """A Rig whose input and output also go to a Recorder, as in the daemon's loop."""

    def __init__(self, path, **settings):
        super().__init__(**settings)
        self.rec = Recorder(str(path), self.clock, self.imp.harmony, self.imp.router.is_chord_note,
                            now=lambda: self.now)
        self.output.listener = self.rec.on_output

    def midi(self, t, *msg):
        self.advance(t)
        self.now = t
        self.rec.on_input(t, list(msg))
        self.imp.on_midi(t, list(msg))
        self.rec.poll(t)
        self.imp.poll(t)

    def advance(self, until):
        while True:
            wake = self.imp.next_wakeup(self.now)
            if wake is None or wake > until:
                break
            self.now = max(self.now, wake)
            self.rec.poll(self.now)
            self.imp.poll(self.now)
        self.now = max(self.now, until)
        self.rec.poll(self.now)


def test_a_session_file_has_the_call_the_answers_and_the_chords_heard_on_the_bar_grid(
        tmp_path):
    path = tmp_path / "session.mid"
    rig = RecordedRig(path, mode="trade", trade_bars=2, chord_channel=2)
    call = [62, 65, 69, 72, 71, 67, 65, 62]
    sent = []
    events = []  # the chords of four bars, each an eighth early; the call over the first two
    for k in range(4):
        t = max(k * BAR - EIGHTH, 0.0)
        if k:
            events += [(t, (0x81, p, 0)) for p in VOICINGS[CHORDS[k - 1]]]
        events += [(t, (0x91, p, 70)) for p in VOICINGS[CHORDS[k]]]
    for i, p in enumerate(call):
        start = 0.01 + i * 0.5
        events += [(start, (0x90, p, 90)), (start + 0.3, (0x80, p, 0))]
        sent.append((p, start / SEC_PER_TICK / 12, (start + 0.3) / SEC_PER_TICK / 12))
    for t, msg in sorted(events, key=lambda e: e[0]):
        rig.midi(t, *msg)
    rig.advance(4 * BAR + 0.2)
    summary = rig.rec.save()
    assert summary.startswith(f"recorded {path}: 8 call notes")
    melody, changes, info = read_solo_parts(str(path), "Call")
    assert [p for p, _s, _e in melody] == [p for p, _s, _e in sent]
    resolution = 1 / 480  # quarter notes: the file's
    for (_p, s, e), (_q, s0, e0) in zip(melody, sent):
        assert (s, e) == (pytest.approx(s0, abs=resolution), pytest.approx(e0, abs=resolution))
    ons, offs = rig.notes()
    assert ons and all(t >= 2 * BAR - 1e-9 for t, _p in ons)  # our answer: bars 3-4
    solo, changes, info = read_solo_parts(str(path))  # the default: the Solo track
    assert info.melody == ["2 'Solo'"] and info.chords == ["3 'Chords'"]
    assert [p for p, _s, _e in solo] == [p for _t, p in ons]
    assert [round(s * 12) for _p, s, _e in solo] == [round(t / SEC_PER_TICK) for t, _p in ons]
    for k, name in enumerate(CHORDS):  # heard on the bar line, though comped an eighth early
        for beat in range(4):
            assert changes.at(k * 48 + beat * 12)[0] == parse_chord(name).mask, (k, beat)
    mid = mido.MidiFile(str(path))
    assert [t.name for t in mid.tracks] == ["jazz-plugin session", "Call", "Solo", "Chords"]
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers[:5] == ["bar 1", "bar 2", "bar 3", "bar 4", "bar 5"]
    tempo = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempo == [mido.bpm2tempo(120)]
    assert [m.numerator for m in mid.tracks[0] if m.type == "time_signature"] == [4]


def test_a_song_position_jump_back_keeps_the_file_going_forward_on_the_daws_bars(tmp_path):
    path = tmp_path / "loop.mid"
    clock = ExternalClock(120, 0.0)
    rig = RecordedRig(path, clock=clock, mode="trade", trade_bars=2, chord_channel=2)
    pulse = 60 / 120 / 24
    rig.midi(0.0, 0xF2, 32, 0)  # bar 3 (32 sixteenths = 2 bars in), then Continue from there
    rig.midi(0.0, 0xFB)
    t = 0.0
    for i in range(96 * 3):  # three bars from the DAW's bar 3, then back to its bar 1
        if i == 96 * 2:
            rig.midi(t - pulse / 2, 0xF2, 0, 0)
        rig.midi(t, 0xF8)
        if i % 96 == 0:
            rig.midi(t + 0.01, 0x90, 60 + i // 96, 90)
            rig.midi(t + 0.2, 0x80, 60 + i // 96, 0)
        t += pulse
    rig.rec.save()
    mid = mido.MidiFile(str(path))
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers[:3] == ["bar 3", "bar 4", "bar 1"], markers
    melody, _changes, _info = read_solo_parts(str(path), "Call")
    starts = [s for _p, s, _e in melody]
    assert starts == sorted(starts) and [p for p, _s, _e in melody] == [60, 61, 62]
    # each call note was played just after a DAW bar line: in the file too
    assert [round(s % 4, 1) for s in starts] == [0.0, 0.0, 0.0]


def test_the_file_is_replaced_whole_or_not_at_all(tmp_path):
    path = tmp_path / "take.mid"
    path.write_bytes(b"an older take")
    rig = RecordedRig(path, mode="solo")
    rig.advance(3.0)
    rig.rec.save()
    assert mido.MidiFile(str(path)).tracks[2].name == "Solo"
    assert [p.name for p in tmp_path.iterdir()] == ["take.mid"]  # no temporary left behind


@pytest.mark.parametrize("bad, why", [("no/such/folder/x.mid", "does not exist"),
                                      (".", "is a folder")])
def test_a_recording_path_that_cannot_be_written_is_one_line_at_start(bad, why, tmp_path):
    from conftest import jazz, one_error_line

    proc = jazz("run", "--record", bad, cwd=str(tmp_path), timeout=60)
    assert why in one_error_line(proc)


def test_played_block_chords_replace_the_last_even_when_it_rings_on():
    rig = Rig(chord_channel=2)
    for p in VOICINGS["Dm7"]:
        rig.midi(0.0, 0x91, p, 70)
    for p in VOICINGS["G7"]:  # struck while Dm7 is still held (legato), then Dm7 released
        rig.midi(1.0, 0x91, p, 70)
    for p in VOICINGS["Dm7"]:
        if p not in VOICINGS["G7"]:
            rig.midi(1.05, 0x81, p, 0)
    tick = 1.1 / SEC_PER_TICK
    assert rig.imp.harmony.at(tick)[0] == pcs_mask([7, 11, 2, 5])
    assert rig.imp.harmony.played.mask_at(0.5 / SEC_PER_TICK) == pcs_mask([2, 5, 9, 0])
    assert pcs_mask([2, 5, 9, 0]) == parse_chord("Dm7").mask
