"""Notes -> tokens -> notes through the importers: every onset where the notation puts it."""

import numpy as np
from conftest import write_csv, write_midi
from mido import Message
from test_wjazzd import BEATS_HEADER, MELODY_HEADER, beats_rows, melody_rows

from jazz_plugin.corpus.midifile import read_melody
from jazz_plugin.corpus.wjazzd import read_wjazzd_solo
from jazz_plugin.music.codec import TICKS_PER_QUARTER, Codec, quantize

codec = Codec()
MIDI_PER_TICK = 40  # 480 MIDI ticks per quarter = 40 per grid tick
# inter-onset intervals in grid ticks, as WJazzD spells them (1-tick steps of septuplets,
# quintuplets, dotted and swung values): every one must come back exactly
IOIS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 18, 21, 24, 30, 36, 48, 60)


def grid_lines(seed: int, lines: int = 12, notes: int = 60) -> list[list[tuple[int, int, int]]]:
    """Monophonic lines on the 12-tick grid: (pitch, onset, length) with length <= the IOI."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(lines):
        tick, line = int(rng.integers(0, 48)), []
        for _ in range(notes):
            ioi = int(rng.choice(IOIS))
            line.append((int(rng.integers(48, 84)), tick, int(rng.integers(1, ioi + 1))))
            tick += ioi
        out.append(line)
    return out


def decoded_onsets(notes) -> list[int]:
    return [n.start for n in codec.decode(codec.encode(notes), notes[0].pitch, notes[0].start)]


def test_midi_files_round_trip_every_grid_onset(tmp_path):
    exact = total = 0
    for i, line in enumerate(grid_lines(1)):
        msgs, now = [], 0
        for pitch, onset, length in line:
            msgs.append(Message("note_on", note=pitch, velocity=90,
                                time=onset * MIDI_PER_TICK - now))
            msgs.append(Message("note_off", note=pitch, velocity=0,
                                time=length * MIDI_PER_TICK))
            now = (onset + length) * MIDI_PER_TICK
        path = write_midi(str(tmp_path / f"line{i}.mid"), [msgs])
        q = quantize(read_melody(path), TICKS_PER_QUARTER)
        got = decoded_onsets(q)
        want = [onset for _p, onset, _l in line]
        assert len(got) == len(want)
        exact += sum(a == b for a, b in zip(got, want))
        total += len(want)
    assert exact / total >= 0.99, f"{exact} of {total} onsets exact"


def test_wjazzd_solos_round_trip_every_notated_onset(tmp_path):
    """Metrical positions with divisions that the grid holds (1, 2, 3, 4, 6, 12)."""
    rng = np.random.default_rng(2)
    exact = total = 0
    for i in range(10):
        rows, onsets, bar, beat = [], [], 1, 1
        for _ in range(60):
            division = int(rng.choice((1, 2, 3, 4, 6, 12)))
            tatums = sorted(set(rng.integers(1, division + 1, size=int(rng.integers(1, 4)))))
            for tatum in tatums:
                rows.append((bar, beat, division, int(tatum), 1, int(rng.integers(50, 80))))
                onsets.append((bar - 1) * 48 + (beat - 1) * 12 + (tatum - 1) * 12 // division)
            beat += int(rng.integers(1, 3))
            bar, beat = bar + (beat - 1) // 4, (beat - 1) % 4 + 1
        melody = write_csv(tmp_path / f"s{i}" / "melody" / "x_Solo.csv", MELODY_HEADER,
                           melody_rows(rows))
        beats = write_csv(tmp_path / f"s{i}" / "beats" / "x_Solo.csv", BEATS_HEADER,
                          beats_rows([(1, 1, "C7")]))
        solo = read_wjazzd_solo(melody, beats, codec, "x", "")
        notes = solo.notes
        got = [n.start for n in codec.decode(solo.tokens.tolist(), notes[0].pitch,
                                             notes[0].start)]
        assert len(got) == len(onsets)
        exact += sum(a == b for a, b in zip(got, onsets))
        total += len(onsets)
    assert exact / total >= 0.99, f"{exact} of {total} onsets exact"


def test_the_old_drift_is_gone():
    """A short note before an onset 1 tick past a duration class (v1 moved it a tick early)."""
    line = [(60, 0.0, 2.6 / 12), (62, 4 / 12, 10 / 12), (64, 11 / 12, 1.5), (65, 2.0, 2.5)]
    q = quantize(line, TICKS_PER_QUARTER)
    assert decoded_onsets(q) == [0, 4, 11, 24]
