"""Reading melodies from real MIDI files, and refusing bad ones clearly."""

import mido
import pytest
from conftest import melody_messages, write_midi

from jazz_plugin.codec import Note
from jazz_plugin.errors import MidiFileError
from jazz_plugin.midifile import find_midi_files, read_melody, read_parts, write_line


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
