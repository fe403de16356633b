"""The codec: quantization, polyphony reduction, key independence, exact round trips."""

from hypothesis import given, settings
from hypothesis import strategies as st

from jazz_plugin.music.codec import (
    DURATIONS,
    DURATIONS_V1,
    TICKS_PER_QUARTER,
    Codec,
    LineDecoder,
    Note,
    Token,
    default_vocabulary,
    quantize,
    skyline,
    split_rest,
)

codec = Codec()

free_notes = st.lists(
    st.tuples(st.integers(0, 127), st.floats(0, 64, allow_nan=False),
              st.floats(0.01, 8, allow_nan=False)).map(lambda n: (n[0], n[1], n[1] + n[2])),
    min_size=1, max_size=40)


@given(free_notes)
@settings(max_examples=300, deadline=None)
def test_decode_encode_gives_back_the_quantized_line(notes):
    q = quantize(notes, TICKS_PER_QUARTER)
    assert q, "at least one note survives"
    ids = codec.encode(q)
    assert codec.decode(ids, q[0].pitch, q[0].start) == q


@given(free_notes)
@settings(max_examples=200, deadline=None)
def test_quantized_line_is_on_the_grid_and_monophonic(notes):
    q = quantize(notes, TICKS_PER_QUARTER)
    for a, b in zip(q, q[1:]):
        assert a.start + a.dur <= b.start
        assert abs(b.pitch - a.pitch) <= 12
    assert all(n.dur in DURATIONS and 0 <= n.pitch <= 127 for n in q)
    assert quantize([(n.pitch, n.start, n.start + n.dur) for n in q]) == q  # idempotent


@given(free_notes, st.integers(-24, 24))
@settings(max_examples=200, deadline=None)
def test_transposed_line_gives_the_same_tokens(notes, shift):
    q = quantize(notes, TICKS_PER_QUARTER)
    moved = [Note(n.start, n.pitch + shift, n.dur) for n in q]
    if all(0 <= n.pitch <= 127 for n in moved):
        assert codec.encode(moved) == codec.encode(q)


def test_vocabulary_is_sorted_deterministic_and_sized():
    vocab = default_vocabulary()
    assert vocab == default_vocabulary()
    assert [Token.parse(n) for n in vocab] == sorted(Token.parse(n) for n in vocab)
    assert len(vocab) == 25 * len(DURATIONS) + len(DURATIONS) == codec.n_values


def test_swing_triplets_and_sixteenths_survive_exactly():
    # swung eighths (2/3 + 1/3 of a beat), an eighth triplet, then sixteenths
    line = [(60, 0, 2 / 3), (62, 2 / 3, 1), (64, 1, 4 / 3), (65, 4 / 3, 5 / 3), (67, 5 / 3, 2),
            (69, 2, 2.25), (71, 2.25, 2.5)]
    q = quantize(line, TICKS_PER_QUARTER)
    assert [(n.start, n.dur) for n in q] == [(0, 8), (8, 4), (12, 4), (16, 4), (20, 4),
                                             (24, 3), (27, 3)]


def test_durations_snap_to_the_nearest_class_and_rests_become_tokens():
    q = quantize([(60, 0, 0.95), (62, 2, 2.5)], TICKS_PER_QUARTER)
    assert q == [Note(0, 60, 12), Note(24, 62, 6)]  # 11.4 ticks -> quarter; gap of a quarter
    names = [codec.names[i] for i in codec.encode(q)]
    assert names == ["n+0/12", "r/12", "n+2/6"]


def test_chords_reduce_to_the_highest_voice():
    chord_then_line = [(48, 0, 1), (60, 0, 1), (64, 0, 1), (67, 0, 1), (72, 1, 2), (55, 1.5, 3)]
    assert [p for p, _s, _e in skyline(chord_then_line)] == [67, 72]


def test_leaps_fold_by_octave_and_decoding_keeps_the_range():
    q = quantize([(60, 0, 1), (79, 1, 2)], TICKS_PER_QUARTER)
    assert [n.pitch for n in q] == [60, 67]  # +19 folds to +7
    decoder = LineDecoder(codec, 83, 0, low=60, high=84)
    up = codec.index[Token("n", 7, 12)]
    assert decoder.feed(up).pitch == 78  # 90 folds down an octave into the range


def test_long_rests_split_canonically_and_exactly():
    assert split_rest(100) == [48, 48, 4]
    assert split_rest(sum(split_rest(77))) == split_rest(77)
    assert split_rest(1) == [1]  # v2: a 1-tick remainder is a rest, the next onset stays put
    assert split_rest(1, DURATIONS_V1) == []  # what a v1 vocabulary can hold


grid_onsets = st.lists(st.tuples(st.integers(0, 127), st.integers(1, 30), st.integers(1, 60)),
                       min_size=2, max_size=60)


@given(grid_onsets)
@settings(max_examples=300, deadline=None)
def test_every_grid_onset_survives_the_round_trip(steps):
    """(pitch, ioi, length) in ticks: the tokens put every onset where the input had it."""
    notes, tick = [], 0
    for pitch, ioi, length in steps:
        notes.append((pitch, tick, tick + min(length, ioi)))  # one voice
        tick += ioi
    q = quantize(notes)
    assert [n.start for n in q] == [s for _p, s, _e in notes]
    assert codec.decode(codec.encode(q), q[0].pitch, q[0].start) == q


def test_a_v1_vocabulary_still_encodes_with_its_own_classes():
    old = Codec(default_vocabulary(DURATIONS_V1))
    q = [Note(0, 60, 3), Note(4, 62, 5), Note(9, 64, 12)]  # 1-tick gaps v1 cannot hold
    names = [old.names[i] for i in old.encode(q)]
    assert names == ["n+0/3", "n+2/4", "n+2/12"]  # the old behaviour: the remainder drops
    assert [codec.names[i] for i in codec.encode(q)] == ["n+0/3", "r/1", "n+2/5", "n+2/12"]
