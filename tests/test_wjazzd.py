"""The Weimar Jazz Database importer, on small fixture folders in its CSV export format."""

import os

import pytest
from conftest import write_csv
from jazz_export.corpus import load_wjazzd_corpus

from jazz_plugin.corpus.wjazzd import WJAZZD_LICENCE, load_wjazzd, read_wjazzd_solo
from jazz_plugin.errors import CorpusError
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.harmony import parse_chord

codec = Codec()
MELODY_HEADER = ["bar", "beat", "beatdur", "denom", "division", "duration", "num", "onset",
                 "period", "pitch", "subtatum", "tatum"]
BEATS_HEADER = ["bar", "bass_pitch", "beat", "chord", "chorus_id", "form", "onset", "signature"]
BEATDUR = 0.5  # seconds per beat (120 BPM): 1/24 s is one grid tick

# (bar, beat, division, tatum, duration in ticks, pitch): bar 0 is a pickup bar
SWING_NOTES = [
    (0, 4, 1, 1, 12, 60),  # pickup quarter on beat 4
    (1, 1, 3, 1, 8, 62), (1, 1, 3, 3, 4, 64),  # swing eighths: tatum 3 of 3 is tick 8
    (1, 2, 3, 1, 4, 65), (1, 2, 3, 2, 4, 67), (1, 2, 3, 3, 4, 69),  # eighth triplet
    (1, 3, 4, 1, 3, 71), (1, 3, 4, 2, 3, 72), (1, 3, 4, 3, 3, 74), (1, 3, 4, 4, 3, 72),
    (1, 4, 2, 2, 6, 71),  # an offbeat eighth
    (2, 1, 1, 1, 18, 67),  # held legato into the next note (overlaps it by half a beat)
    (2, 2, 1, 1, 12, 65),
    (2, 3, 5, 1, 2.4, 69), (2, 3, 5, 2, 2.4, 70),  # quintuplet: tatum 2 is tick 2.4 -> 2
    (3, 1, 1, 1, 24, 72),
]
SWING_EXPECTED = [
    Note(36, 60, 12), Note(48, 62, 8), Note(56, 64, 4), Note(60, 65, 4), Note(64, 67, 4),
    Note(68, 69, 4), Note(72, 71, 3), Note(75, 72, 3), Note(78, 74, 3), Note(81, 72, 3),
    Note(90, 71, 6), Note(96, 67, 12), Note(108, 65, 12), Note(120, 69, 2), Note(122, 70, 2),
    Note(144, 72, 24),
]
# (bar, beat, chord): the beats file starts a bar before the melody
SWING_BEATS = [
    (-1, 1, "Ebj7"), (-1, 2, ""), (-1, 3, ""), (-1, 4, ""),
    (0, 1, ""), (0, 2, ""), (0, 3, "D-7"), (0, 4, ""),
    (1, 1, "G79b"), (1, 2, ""), (1, 3, "Cj7/E"), (1, 4, ""),
    (2, 1, "NC"), (2, 2, ""), (2, 3, "F7xyz"), (2, 4, ""),
    (3, 1, "Bbm7b5"), (3, 2, ""), (3, 3, ""), (3, 4, ""),
]


def melody_rows(notes, period=4):
    rows = []
    for bar, beat, division, tatum, ticks, pitch in notes:
        rows.append([bar, beat, BEATDUR, 4, division, ticks * BEATDUR / 12, period, 0.0,
                     period, f"{pitch}.0", 0, tatum])
    return rows


def beats_rows(beats):
    return [[bar, "", beat, chord, 1, "", 0.0, ""] for bar, beat, chord in beats]




def write_solo(folder, name, notes, beats=SWING_BEATS, period=4):
    melody = write_csv(os.path.join(folder, "melody", f"{name}_Solo.csv"), MELODY_HEADER,
                       melody_rows(notes, period))
    beats_path = write_csv(os.path.join(folder, "beats", f"{name}_Solo.csv"), BEATS_HEADER,
                           beats_rows(beats))
    return melody, beats_path


def corpus_folder(tmp_path):
    """Three good solos, a 3/4 one, a corrupt one, one with a bad value, solos.csv, README."""
    folder = str(tmp_path / "wjazzd")
    write_solo(folder, "TestPlayer_Swing", SWING_NOTES)
    write_solo(folder, "TestPlayer_Ballad-1", SWING_NOTES[:6])
    write_solo(folder, "NoRow_SomeTune", SWING_NOTES[3:9])
    write_solo(folder, "TestPlayer_Waltz", [(1, b, 1, 1, 12, 60 + b) for b in (1, 2, 3)],
               beats=[(1, 1, "C")], period=3)
    broken = os.path.join(folder, "melody", "TestPlayer_Broken_Solo.csv")
    with open(broken, "w") as f:
        f.write("this is not,the export\n1,2\n")
    bad_pitch = melody_rows(SWING_NOTES[:3])
    bad_pitch[1][9] = "high"
    write_csv(os.path.join(folder, "melody", "TestPlayer_BadPitch_Solo.csv"), MELODY_HEADER,
              bad_pitch)
    write_csv(os.path.join(folder, "solos.csv"), ["melid", "filename_sv", "performer", "title"],
              [[1, "TestPlayer_Swing_FINAL.sv", "Test Player", "Swing"],
               [2, "TestPlayer_Ballad_1_FINAL.sv", "Test Player", "Ballad"]])
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write('A model must say so: "Trained on the Fixture Corpus (nobody), CC0."\n')
    return folder


def test_metrical_timing_lands_swing_tuplets_and_the_pickup_on_the_grid(tmp_path):
    melody, beats = write_solo(str(tmp_path), "A_B", SWING_NOTES)
    solo = read_wjazzd_solo(melody, beats, codec, "A_B", "A")
    assert solo.notes == SWING_EXPECTED
    assert solo.notes[2].start % 12 == 8  # division 3, tatum 3: the swung eighth
    assert solo.pos[0] == 0  # the pickup note ends on the bar line of bar 1 (tick 48)
    assert solo.notes[11].dur == 12  # the legato note stops where the next one starts


def test_chords_from_the_beats_file(tmp_path):
    melody, beats = write_solo(str(tmp_path), "A_B", SWING_NOTES)
    solo = read_wjazzd_solo(melody, beats, codec, "A_B", "A")
    assert [(s, c.symbol) for s, c in solo.changes.segments] == [
        (0, "Ebmaj7"),  # written a bar before the melody: it is sounding at tick 0
        (24, "Dm7"), (48, "G7(b9)"), (72, "Cmaj7/E"), (96, "NC"),
        (120, "F7"),  # unreadable 'F7xyz' fell back to the seventh chord on its root
        (144, "Bbm7b5"),
    ]
    assert solo.changes.loop_ticks is None and solo.changes.end == 192
    assert parse_chord("Cmaj7/E").mask == pcs_mask([0, 4, 7, 11])
    # token 0 (the pickup) ends at tick 48: G7(b9) sounds there, Cmaj7/E comes next
    assert (solo.chord[0], solo.next_chord[0]) == (parse_chord("G7b9").mask,
                                                  parse_chord("Cmaj7").mask)
    assert solo.ref_pc[0] == 0
    no_chords = read_wjazzd_solo(melody, None, codec, "A_B", "A")
    assert len(no_chords.changes) == 0 and set(no_chords.chord.tolist()) == {0}


def test_a_folder_imports_with_performers_skips_and_a_report(tmp_path, capsys):
    solos, report = load_wjazzd(corpus_folder(tmp_path), codec, progress=False)
    err = capsys.readouterr().err
    assert sorted(s.name for s in solos) == ["NoRow_SomeTune", "TestPlayer_Ballad-1",
                                             "TestPlayer_Swing"]
    performers = {s.name: s.performer for s in solos}
    assert performers["TestPlayer_Swing"] == "Test Player"
    assert performers["TestPlayer_Ballad-1"] == "Test Player"  # "Ballad_1" in solos.csv
    assert performers["NoRow_SomeTune"] == "No Row"  # not in solos.csv: from the file name
    assert report.solos == 3 and report.files == 6
    assert report.skipped_meter == ["TestPlayer_Waltz (3/4)"]
    assert len(report.skipped_bad) == 2
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: skipped")]
    assert len(warnings) == 2
    assert any("TestPlayer_Broken_Solo.csv" in w and "no column" in w for w in warnings)
    assert any("TestPlayer_BadPitch_Solo.csv" in w and "line 3" in w for w in warnings)
    assert report.unread == {"F7xyz": "F7"} and report.unread_count == 3
    assert report.symbols["Ebj7"] == 3 and len(report.symbols) == 7
    assert report.notes == len(SWING_NOTES) + 6 + 6 == report.notes_kept
    text = report.describe()
    assert "1 not in 4/4" in text and "2 unreadable" in text and "'F7xyz'->F7 x3" in text


def test_the_corpus_summary_carries_the_licence_line_of_the_readme(tmp_path, capsys):
    folder = corpus_folder(tmp_path)
    corpus = load_wjazzd_corpus(folder, codec, progress=False)
    assert corpus.summary.startswith("wjazzd: 3 solos")
    assert corpus.summary.endswith("Trained on the Fixture Corpus (nobody), CC0.")
    assert "not understood" in capsys.readouterr().err
    os.remove(os.path.join(folder, "README.md"))
    assert load_wjazzd_corpus(folder, codec, progress=False).summary.endswith(WJAZZD_LICENCE)


def test_no_usable_solo_is_one_clear_error(tmp_path):
    folder = str(tmp_path / "bad")
    write_solo(folder, "X_Waltz", [(1, b, 1, 1, 12, 60) for b in (1, 2, 3)], period=3)
    os.makedirs(os.path.join(folder, "melody"), exist_ok=True)
    with open(os.path.join(folder, "melody", "X_Empty_Solo.csv"), "w") as f:
        f.write(",".join(MELODY_HEADER) + "\n")
    with pytest.raises(CorpusError, match="no usable solo.*2 files, 1 not in 4/4, 1 unreadable"):
        load_wjazzd(folder, codec, progress=False)
    with pytest.raises(CorpusError, match="not a folder"):
        load_wjazzd(str(tmp_path / "missing"), codec)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(CorpusError, match="no melody/ folder"):
        load_wjazzd(str(tmp_path / "empty"), codec)
