"""The built-in corpus and the training windows."""

import numpy as np
import pytest

from export.corpus import builtin_corpus, builtin_lines
from export.dataset import make_dataset, split_pieces, windows
from jazz_plugin.codec import Codec, Token
from jazz_plugin.errors import CorpusError

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


def test_builtin_lines_put_chord_tones_on_strong_beats():
    # ii-V-I in C: beat 0 of bar 1 is Dm7 (D F A C), so the downbeat note is one of those
    from export.corpus import CHORD_TONES, PROGRESSIONS

    for line in builtin_lines(seed=1, n=6):
        assert line
    rng_line = builtin_lines(seed=2, n=3)[0]  # key 0, "blues" (sorted progressions, k=0)
    chords = [c for c in PROGRESSIONS["blues"] for _ in range(c[2])]
    on_beat = [(p, s) for p, s, _e in rng_line if float(s).is_integer() and s < len(chords)]
    hits = sum((p - chords[int(s)][0]) % 12 in CHORD_TONES[chords[int(s)][1]]
               for p, s in on_beat)
    assert on_beat and hits / len(on_beat) > 0.8


def test_windows_shift_by_one_and_split_by_piece():
    pieces = [list(range(i * 100, i * 100 + 40)) for i in range(10)]
    train, val = split_pieces(pieces, seed=0)
    assert not {tuple(p) for p in train} & {tuple(p) for p in val}
    assert len(val) == 2 and len(train) == 8
    w = windows(train, tx=5, stride=2)
    assert w.shape[1] == 6
    ds = make_dataset([[i % 312 for i in range(k * 50, k * 50 + 60)] for k in range(8)],
                      codec.n_values, tx=10)
    assert ds.X.shape[1:] == (10, codec.n_values) and ds.Y.shape == ds.X.shape
    np.testing.assert_array_equal(ds.X[:, 1:], ds.Y[:, :-1])  # Y is X shifted by one
    assert len(ds.Y_list) == 10 and ds.Y_list[0].shape == (len(ds.X), codec.n_values)


def test_a_single_piece_splits_into_contiguous_parts():
    train, val = split_pieces([list(range(100))], seed=0)
    assert train[0] + val[0] == list(range(100)) and len(val[0]) == 15


def test_tx_longer_than_the_corpus_is_refused():
    with pytest.raises(CorpusError, match="--tx 50 needs"):
        make_dataset([[1, 2, 3] * 5, [4] * 20], codec.n_values, tx=50)


def test_token_names_round_trip():
    for name in codec.names:
        assert Token.parse(name).name == name
    with pytest.raises(ValueError):
        Token.parse("x+1/4")
