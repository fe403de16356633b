"""The built-in corpus and the training windows."""

import numpy as np
import pytest
from conftest import melody_messages, write_midi
from jazz_export.corpus import TRACK_LINES, builtin_corpus, builtin_lines, load_midi_corpus
from jazz_export.dataset import SoloRecords, make_dataset

from jazz_plugin.corpus.solo import encode_solo
from jazz_plugin.errors import CorpusError
from jazz_plugin.model.conditioning import (
    BEAT,
    CHORD,
    NEXT_CHORD,
    NO_CHORD,
    TICK,
    cond_matrix,
    pcs_mask,
)
from jazz_plugin.music.codec import Codec, Note, Token
from jazz_plugin.music.harmony import Changes, estimate_key, parse_chord

codec = Codec()


def test_builtin_corpus_is_deterministic_per_seed_and_idiomatic():
    a = builtin_corpus(codec, seed=3, pieces_per_key=2)
    b = builtin_corpus(codec, seed=3, pieces_per_key=2)
    c = builtin_corpus(codec, seed=4, pieces_per_key=2)
    assert a.pieces == b.pieces and a.pieces != c.pieces
    assert {name.split()[1] for name in a.names} == {f"key={k}" for k in range(12)}
    assert {" ".join(n.split()[2:-1]) for n in a.names} == {"ii-V-I", "blues", "rhythm changes"}
    tokens = [codec.tokens[i] for p in a.pieces for i in p]
    durs = {t.dur for t in tokens}
    assert {8, 4} <= durs  # swung eighths (long-short)
    assert any(t.is_rest for t in tokens)  # phrases separated by rests
    assert any(t.interval in (1, -1) for t in tokens if not t.is_rest)  # chromatic moves
    assert "synthetic" in a.summary


def test_builtin_corpus_carries_its_chords_on_the_bar_grid():
    corpus = builtin_corpus(codec, seed=1, pieces_per_key=1, choruses=1)
    blues = next(s for s in corpus.solos if s.name == "builtin key=0 blues #0")
    assert [c.symbol for _, c in blues.changes.segments][:4] == ["C7", "F7", "C7", "F7"]
    assert blues.changes.segments[1][0] == 48 and blues.changes.bars >= 12
    twofive = next(s for s in corpus.solos if "key=4 ii-V-I" in s.name)  # in E
    assert [c.symbol for _, c in twofive.changes.segments] == ["F#m7", "B7", "Emaj7"]
    for solo in corpus.solos:
        assert solo.has_chords and solo.notes[0].start < 3 * 12  # tick 0 is the bar line
        # chord tones on the downbeats of the bars: the generator aims at them
        downbeats = [n for n in solo.notes if n.start % 48 == 0]
        hits = [solo.changes.at(n.start)[0] >> (n.pitch % 12) & 1 for n in downbeats]
        assert sum(hits) >= 0.8 * len(hits)
    assert corpus.pieces[0] == corpus.solos[0].tokens.tolist() and len(corpus.names) == 12


def test_solo_records_give_the_conditioning_for_the_next_token():
    # | Dm7 G7 | Cmaj7 |: D (a beat), F (swung long), G (swung short), a rest, E
    changes = Changes([(0, parse_chord("Dm7")), (24, parse_chord("G7")),
                       (48, parse_chord("Cmaj7"))], end=96)
    notes = [Note(0, 62, 12), Note(12, 65, 8), Note(20, 67, 4), Note(48, 64, 24)]
    solo = encode_solo("line", "me", notes, changes, codec)
    names = [codec.names[i] for i in solo.tokens]
    assert names == ["n+0/12", "n+3/8", "n+2/4", "r/24", "n-3/24"]
    assert solo.ref_pc.tolist() == [2, 5, 7, 7, 4]
    assert solo.pos.tolist() == [12, 20, 24, 0, 24]  # where token i+1 starts in the bar
    dm7, g7, cmaj7 = (parse_chord(s).mask for s in ("Dm7", "G7", "Cmaj7"))
    assert solo.chord.tolist() == [dm7, dm7, g7, cmaj7, cmaj7]
    assert solo.next_chord.tolist() == [g7, g7, cmaj7, 0, 0]
    cond = cond_matrix(solo.chord, solo.next_chord, solo.ref_pc, solo.pos)  # [5, 41]

    def bits(row, start):
        return {k for k in range(12) if cond[row, start + k]}

    # After the D: Dm7 seen from D is root, m3, 5, m7; G7 (next) from D is 4, 6, root, m3
    assert bits(0, CHORD) == {0, 3, 7, 10} and bits(0, NEXT_CHORD) == {5, 9, 0, 3}
    assert cond[0, BEAT + 1] == 1 and cond[0, TICK + 0] == 1  # the next note is on beat 2
    # After the G (ends on beat 3): G7 from G is 1, 3, 5, b7; Cmaj7 next from G is 4, 6, 1, 3
    assert bits(2, CHORD) == {0, 4, 7, 10} and bits(2, NEXT_CHORD) == {5, 9, 0, 4}
    assert cond[2, BEAT + 2] == 1 and cond[2, NO_CHORD] == 0
    # After the rest: the bar line, Cmaj7 still seen from the G; no change follows, so the
    # next-chord slice repeats the chord
    assert bits(3, CHORD) == {5, 9, 0, 4} == bits(3, NEXT_CHORD) and cond[3, BEAT + 0] == 1
    assert bits(4, CHORD) == {8, 0, 3, 7}  # Cmaj7 from E
    assert solo.key_chord == estimate_key(notes).tonic_chord_mask


def test_a_big_midi_corpus_prints_the_first_track_choices_then_a_count(tmp_path, capsys):
    for i in range(TRACK_LINES + 3):
        write_midi(str(tmp_path / f"{i:03d}.mid"), [melody_messages([60 + i % 12, 62, 64])],
                   names=["alto"])
    (tmp_path / "broken.mid").write_bytes(b"MThd nonsense")
    corpus = load_midi_corpus([str(tmp_path)], codec, cache_dir=None, jobs=1, progress=False)
    err = capsys.readouterr().err
    assert len(corpus.solos) == TRACK_LINES + 3
    assert err.count("solo from track 0 'alto'") == TRACK_LINES
    assert "... and 3 more files" in err
    assert err.count("warning: skipped") == 1  # every skipped file is still reported


def test_solo_without_chords_says_so_in_every_row():
    notes = [Note(6, 60, 6), Note(12, 62, 3), Note(15, 64, 9)]
    solo = encode_solo("bare", "", notes, Changes(), codec)
    cond = cond_matrix(solo.chord, solo.next_chord, solo.ref_pc, solo.pos)
    assert not solo.has_chords and cond[:, NO_CHORD].tolist() == [1.0] * 3
    assert solo.pos.tolist() == [12, 15, 24] and solo.tokens.dtype == np.int16


def test_midi_corpus_prints_which_tracks_gave_the_solo_and_the_chords(tmp_path, capsys):
    comp = []
    for _bar in range(3):
        comp += [mido_on(p) for p in (50, 53, 57, 60)]
        comp += [mido_off(p, 1920 if i == 0 else 0) for i, p in enumerate((50, 53, 57, 60))]
    band = write_midi(str(tmp_path / "band.mid"),
                      [melody_messages([62, 65, 69, 72, 71, 69, 67, 65]), comp],
                      names=["tenor", "piano"])
    solo_only = write_midi(str(tmp_path / "solo.mid"), [melody_messages([60, 62, 64])],
                           names=["alto"])
    (tmp_path / "broken.mid").write_bytes(b"MThd nonsense")
    corpus = load_midi_corpus([str(tmp_path)], codec, cache_dir=None)
    err = capsys.readouterr().err
    assert f"{band}: solo from track 0 'tenor'; chords from 1 'piano'" in err
    assert f"{solo_only}: solo from track 0 'alto'; chords from none" in err
    assert err.count("warning: skipped") == 1 and "broken.mid" in err
    assert "with chords" in corpus.summary and len(corpus.solos) == 2
    with_chords = next(s for s in corpus.solos if s.name == band)
    assert set(with_chords.chord.tolist()) == {pcs_mask([2, 5, 9, 0])}  # Dm7 throughout


def mido_on(pitch):
    import mido

    return mido.Message("note_on", note=pitch, velocity=70, time=0)


def mido_off(pitch, time):
    import mido

    return mido.Message("note_off", note=pitch, velocity=0, time=time)


def test_builtin_lines_put_chord_tones_on_strong_beats():
    # ii-V-I in C: beat 0 of bar 1 is Dm7 (D F A C), so the downbeat note is one of those
    from jazz_export.corpus import CHORD_TONES, PROGRESSIONS

    for line in builtin_lines(seed=1, n=6):
        assert line
    rng_line = builtin_lines(seed=2, n=3)[0]  # key 0, "blues" (sorted progressions, k=0)
    chords = [c for c in PROGRESSIONS["blues"] for _ in range(c[2])]
    on_beat = [(p, s) for p, s, _e in rng_line if float(s).is_integer() and s < len(chords)]
    hits = sum((p - chords[int(s)][0]) % 12 in CHORD_TONES[chords[int(s)][1]]
               for p, s in on_beat)
    assert on_beat and hits / len(on_beat) > 0.8


def test_windows_shift_by_one_and_split_by_solo():
    solos = [SoloRecords.from_tokens([(i * 20 + k) % 312 for k in range(40)], codec,
                                     name=f"solo {i}") for i in range(10)]
    ds = make_dataset(solos, codec.n_values, tx=5, seed=0, stride=2)
    assert len(ds.val) == 2 and len(ds.train) == 8
    assert not {s.name for s in ds.train} & {s.name for s in ds.val}  # whole solos
    x, y = ds.window_ids(ds.train_starts)
    assert x.shape == y.shape == (len(ds.train_starts), 5)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # Y is X shifted by one
    for spans, starts in ((ds.train, ds.train_starts), (ds.val, ds.val_starts)):
        assert all(any(sp.start <= s and s + 6 <= sp.stop for sp in spans) for s in starts)
    assert len(ds.train_starts) == 8 * len(range(0, 40 - 5, 2))  # every window, stride 2


def test_a_single_solo_splits_into_contiguous_parts():
    ds = make_dataset([SoloRecords.from_tokens(list(range(100)), codec)], codec.n_values, tx=5)
    assert [(s.start, s.stop) for s in ds.train + ds.val] == [(0, 85), (85, 100)]


def test_tx_longer_than_the_corpus_is_refused():
    solos = [SoloRecords.from_tokens(t, codec) for t in ([1, 2, 3] * 5, [4] * 20)]
    with pytest.raises(CorpusError, match="--tx 50 needs"):
        make_dataset(solos, codec.n_values, tx=50)


def test_token_names_round_trip():
    for name in codec.names:
        assert Token.parse(name).name == name
    with pytest.raises(ValueError):
        Token.parse("x+1/4")
