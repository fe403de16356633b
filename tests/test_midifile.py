"""Reading melodies from real MIDI files, and refusing bad ones clearly."""

import mido
import pytest
from conftest import melody_messages, write_midi

from jazz_plugin.corpus.midifile import (
    find_midi_files,
    read_melody,
    read_parts,
    read_solo_parts,
    write_line,
)
from jazz_plugin.errors import MidiFileError
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import parse_chart


def chords(n: int) -> list[mido.Message]:
    msgs = []
    for _ in range(n):
        for p in (48, 52, 55):
            msgs.append(mido.Message("note_on", note=p, velocity=70, time=0))
        for i, p in enumerate((48, 52, 55)):
            msgs.append(mido.Message("note_off", note=p, velocity=0, time=960 if i == 0 else 0))
    return msgs


def test_default_track_is_the_most_solo_like(tmp_path):
    path = write_midi(str(tmp_path / "band.mid"),
                      [chords(8), melody_messages([60, 62, 64, 65, 67, 69])],
                      names=["comping", "tenor"])
    melody = read_melody(path)
    assert [p for p, _s, _e in melody] == [60, 62, 64, 65, 67, 69]
    assert melody[1][1] == pytest.approx(0.5)  # times in quarter notes


def test_track_by_name_and_by_index(tmp_path):
    path = write_midi(str(tmp_path / "band.mid"),
                      [chords(2), melody_messages([60, 62])], names=["comping", "tenor"])
    assert {p for p, _s, _e in read_melody(path, "COMPING")} == {48, 52, 55}
    assert [p for p, _s, _e in read_melody(path, "1")] == [60, 62]
    with pytest.raises(MidiFileError, match="no track 'piano'.*'comping'"):
        read_melody(path, "piano")


def test_drums_are_ignored(tmp_path):
    drums = melody_messages([36, 38, 42, 36], channel=9)
    path = write_midi(str(tmp_path / "d.mid"), [drums])
    with pytest.raises(MidiFileError, match="no pitched notes"):
        read_melody(path)
    mixed = write_midi(str(tmp_path / "m.mid"), [drums + melody_messages([70, 72])],
                       file_type=0)
    assert [p for p, _s, _e in read_melody(mixed)] == [70, 72]


def test_velocity_zero_note_on_ends_a_note_and_zero_length_notes_drop(tmp_path):
    msgs = [mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_on", note=60, velocity=0, time=480),
            mido.Message("note_on", note=62, velocity=80, time=0),
            mido.Message("note_off", note=62, time=0),  # zero length
            mido.Message("note_on", note=64, velocity=80, time=0),
            mido.Message("note_off", note=64, time=480)]
    path = write_midi(str(tmp_path / "v.mid"), [msgs])
    assert read_melody(path) == [(60, 0.0, 1.0), (64, 1.0, 2.0)]


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"MThd\x00\x00\x00\x06\x00\x01", "not a readable MIDI file"),
    (b"hello, I am a text file pretending to be MIDI", "not a readable MIDI file"),
])
def test_bad_files_raise_one_clear_error(tmp_path, content, match):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiFileError, match=match):
        read_parts(str(path))


def test_truncated_file_is_refused(tmp_path):
    good = write_midi(str(tmp_path / "g.mid"), [melody_messages(list(range(60, 80)))])
    data = open(good, "rb").read()
    (tmp_path / "t.mid").write_bytes(data[: len(data) // 2])
    with pytest.raises(MidiFileError):
        read_melody(str(tmp_path / "t.mid"))


def test_find_files_recurses_and_refuses_missing_or_empty(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_midi(str(tmp_path / "a" / "b" / "x.MID"), [melody_messages([60])])
    (tmp_path / "a" / "notes.txt").write_text("no")
    assert [p.endswith("x.MID") for p in find_midi_files([str(tmp_path)])] == [True]
    with pytest.raises(MidiFileError, match="does not exist"):
        find_midi_files([str(tmp_path / "nope")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MidiFileError, match="no MIDI files"):
        find_midi_files([str(tmp_path / "empty")])


def test_write_line_reads_back(tmp_path):
    notes = [Note(0, 60, 8), Note(8, 63, 4), Note(24, 67, 12)]
    path = str(tmp_path / "out.mid")
    write_line(notes, path, bpm=100)
    assert read_melody(path) == [(60, 0.0, 8 / 12), (63, 8 / 12, 1.0), (67, 2.0, 3.0)]


BEAT = 480  # ticks per quarter note in these files


def block(pitches: tuple[int, ...], beats: int, gap: int = 0) -> list[mido.Message]:
    """A block chord held for `beats` quarter notes, after `gap` ticks of silence."""
    msgs = [mido.Message("note_on", note=p, velocity=60, time=gap if i == 0 else 0)
            for i, p in enumerate(pitches)]
    return msgs + [mido.Message("note_off", note=p, velocity=0,
                                time=beats * BEAT if i == 0 else 0)
                   for i, p in enumerate(pitches)]


def quarters(pitches: list[int], channel: int = 0) -> list[mido.Message]:
    return melody_messages(pitches, beat=BEAT, channel=channel)


def band(tmp_path) -> str:
    """| Dm7 G7 | Cmaj7 |: a tenor line, piano block chords, bass roots and drums."""
    tenor = melody_messages([65, 69, 72, 74, 71, 67, 65, 62, 64, 67, 71, 72, 71, 67, 64, 60])
    piano = block((50, 53, 57, 60), 2) + block((47, 50, 53, 55), 2) + block((48, 52, 55, 59), 4)
    bass = quarters([38, 38, 43, 43, 36, 36, 36, 36])
    drums = quarters([36, 42, 38, 42, 36, 42, 38, 42], channel=9)
    return write_midi(str(tmp_path / "band.mid"), [tenor, piano, bass, drums],
                      names=["tenor", "piano", "Acoustic Bass", "drums"])


def test_chords_come_from_piano_and_bass_beat_by_beat(tmp_path):
    melody, changes, info = read_solo_parts(band(tmp_path))
    assert [p for p, _s, _e in melody][:4] == [65, 69, 72, 74]
    assert info.melody == ["0 'tenor'"]
    assert info.chords == ["1 'piano'", "2 'Acoustic Bass'"]  # drums never count
    assert [(s, c.symbol) for s, c in changes.segments] == [(0, "Dm7"), (24, "G7"),
                                                             (48, "Cmaj7")]
    assert changes.at(30) == (pcs_mask([7, 11, 2, 5]), pcs_mask([0, 4, 7, 11]))
    assert changes.loop_ticks is None and changes.end == 96
    assert info.describe() == ("solo from track 0 'tenor'; chords from 1 'piano', "
                               "2 'Acoustic Bass'")
    assert read_solo_parts(band(tmp_path), chord_track=None)[2] == info  # None means auto


def test_an_explicit_chord_track_is_used_alone(tmp_path):
    path = band(tmp_path)
    _melody, changes, info = read_solo_parts(path, chord_track="piano")
    assert info.chords == ["1 'piano'"]
    assert [c.symbol for _s, c in changes.segments] == ["Dm7", "G7/B", "Cmaj7"]  # no bass
    _melody, changes, info = read_solo_parts(path, chord_track="2")
    assert [c.symbol for _s, c in changes.segments] == ["{D}", "{G}", "{C}"]
    _melody, changes, info = read_solo_parts(path, chord_track="none")
    assert len(changes) == 0 and info.chords == []
    with pytest.raises(MidiFileError, match="no chord track 'strings'.*'piano'.*'Acoustic Bass'"):
        read_solo_parts(path, chord_track="strings")


def test_silent_beats_hold_the_chord_and_a_lone_line_gives_no_chords(tmp_path):
    stabs = block((50, 53, 57, 60), 1) + block((47, 50, 53, 55), 1, gap=2 * BEAT)
    path = write_midi(str(tmp_path / "stabs.mid"),
                      [melody_messages(list(range(60, 76))), stabs], names=["sax", "Rhodes"])
    _melody, changes, info = read_solo_parts(path)
    assert info.chords == ["1 'Rhodes'"]  # a comping instrument by name
    assert [(s, c.symbol) for s, c in changes.segments] == [(0, "Dm7"), (36, "G7/B")]
    assert changes.symbol_at(20) == "Dm7"  # beats 2 and 3 were silent: Dm7 holds
    alone = write_midi(str(tmp_path / "alone.mid"),
                       [melody_messages([60, 62, 64, 65]), quarters([36, 43, 36, 43])],
                       names=["sax", "bass"])
    _melody, changes, info = read_solo_parts(alone)
    assert len(changes) == 0 and info.describe().endswith("chords from none (no chord track)")


def test_write_line_with_changes_writes_solo_and_chords_tracks_that_read_back(tmp_path):
    changes = parse_chart("| Dm7 G7 | Cmaj7 |")
    notes = [Note(i * 6, 62 + i % 5, 6) for i in range(32)]  # 4 bars: the chart plays twice
    path = str(tmp_path / "out.mid")
    write_line(notes, path, bpm=120, changes=changes)
    names = [t.name for t in mido.MidiFile(path).tracks]
    assert names == ["Solo", "Chords"]
    melody, read_back, info = read_solo_parts(path)
    assert info.melody == ["0 'Solo'"] and info.chords == ["1 'Chords'"]
    assert [p for p, _s, _e in melody] == [n.pitch for n in notes]
    assert [(s, c.symbol) for s, c in read_back.segments] == [
        (0, "Dm7"), (24, "G7"), (48, "Cmaj7"), (96, "Dm7"), (120, "G7"), (144, "Cmaj7")]
