"""Chord symbols, Jazzomat spellings, charts, the Changes timeline and key estimation."""

import pytest

from jazz_plugin.errors import ConfigError, JazzError
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import (
    NC,
    Changes,
    ChordSymbolError,
    Key,
    chord_from_mask,
    estimate_key,
    parse_chart,
    parse_chord,
    parse_jazzomat,
    read_chart_file,
)

C, Db, D, Eb, E, F, Gb, G, Ab, A, Bb, B = range(12)


def pcs(*names: int) -> int:
    return pcs_mask(names)


@pytest.mark.parametrize("symbol,root,mask,bass", [
    ("Dm7", D, pcs(D, F, A, C), None),
    ("G7b9", G, pcs(G, B, D, F, Ab), None),
    ("Cmaj7", C, pcs(C, E, G, B), None),
    ("C7/E", C, pcs(C, E, G, Bb), E),
    ("Bbm7b5", Bb, pcs(Bb, Db, E, Ab), None),
    ("F#dim7", Gb, pcs(Gb, A, C, Eb), None),
    ("C7alt", C, pcs(C, E, Bb, Db, Eb, Ab), None),  # 7(b9,#9,b13), no natural fifth
    ("Csus4", C, pcs(C, F, G), None),
    ("C6", C, pcs(C, E, G, A), None),
    ("Cm6", C, pcs(C, Eb, G, A), None),
    ("C13", C, pcs(C, E, G, Bb, D, A), None),  # the 11 is left out over the major third
    ("C-7", C, pcs(C, Eb, G, Bb), None),
    ("CΔ7", C, pcs(C, E, G, B), None),
    ("Cø", C, pcs(C, Eb, Gb, Bb), None),
    ("Cm(maj7)", C, pcs(C, Eb, G, B), None),
    ("Caug7", C, pcs(C, E, Ab, Bb), None),  # pychord lacks it
    ("Cm7b9", C, pcs(C, Eb, G, Bb, Db), None),  # base m7 (pychord) + b9 (ours)
    ("C7(b9,#11)", C, pcs(C, E, G, Bb, Db, Gb), None),
    ("C6/9", C, pcs(C, E, G, A, D), None),  # a 6/9 chord, not a slash bass
    ("Bb7/Ab", Bb, pcs(Bb, D, F, Ab), Ab),
    ("Eb/E", Eb, pcs(Eb, G, Bb, E), E),  # the bass sounds, so it is in the mask
    ("Cb", B, pcs(B, Eb, Gb), None),
    ("Cm13", C, pcs(C, Eb, G, Bb, D, A), None),  # the 13 implies the 7th and the 9th
    ("C7#9b13", C, pcs(C, E, G, Bb, Eb, Ab), None),
    ("Cadd9", C, pcs(C, E, G, D), None),
])
def test_standard_symbols_parse_to_root_mask_and_bass(symbol, root, mask, bass):
    chord = parse_chord(symbol)
    assert (chord.root, chord.mask, chord.bass) == (root, mask, bass)
    assert chord.symbol == symbol


def test_no_chord_has_an_empty_mask():
    for text in ("NC", "N.C.", " nc "):
        assert parse_chord(text) == NC and NC.mask == 0 and NC.root is None


@pytest.mark.parametrize("symbol,match", [
    ("Xq7", "'Xq7'"), ("C7?", "'C7\\?'"), ("C/H", "'C/H'.*'H' is not a note"), ("", "''"),
    ("Cm7(x)", "'Cm7\\(x\\)'"),
])
def test_unreadable_symbols_are_one_error_naming_them(symbol, match):
    with pytest.raises(ChordSymbolError, match=match) as info:
        parse_chord(symbol)
    assert isinstance(info.value, JazzError) and "\n" not in str(info.value)


@pytest.mark.parametrize("symbol,standard,root,mask,bass", [
    ("C-7", "Cm7", C, pcs(C, Eb, G, Bb), None),
    ("Ebj7", "Ebmaj7", Eb, pcs(Eb, G, Bb, D), None),
    ("Dm7b5", "Dm7b5", D, pcs(D, F, Ab, C), None),
    ("Eo", "Edim", E, pcs(E, G, Bb), None),
    ("Eo7", "Edim7", E, pcs(E, G, Bb, Db), None),
    ("Ab+", "Abaug", Ab, pcs(Ab, C, E), None),
    ("G+7", "Gaug7", G, pcs(G, B, Eb, F), None),
    ("D79b", "D7(b9)", D, pcs(D, Gb, A, C, Eb), None),
    ("Ebj7911#", "Ebmaj7(9,#11)", Eb, pcs(Eb, G, Bb, D, F, A), None),
    ("G7913", "G7(9,13)", G, pcs(G, B, D, F, A, E), None),
    ("Bb79b13b", "Bb7(b9,b13)", Bb, pcs(Bb, D, F, Ab, B, Gb), None),
    ("Fsus7", "F7sus4", F, pcs(F, Bb, C, Eb), None),
    ("Bsus", "Bsus4", B, pcs(B, E, Gb), None),
    ("E7alt", "E7alt", E, pcs(E, Ab, D, F, G, C), None),
    ("G-6", "Gm6", G, pcs(G, Bb, D, E), None),
    ("C-69", "Cm6(9)", C, pcs(C, Eb, G, A, D), None),
    ("F-j7", "FmM7", F, pcs(F, Ab, C, E), None),
    ("C-/Bb", "Cm/Bb", C, pcs(C, Eb, G, Bb), Bb),
    ("G79b/B", "G7(b9)/B", G, pcs(G, B, D, F, Ab), B),
    ("NC", "NC", None, 0, None),
])
def test_jazzomat_spellings(symbol, standard, root, mask, bass):
    chord, understood = parse_jazzomat(symbol)
    assert understood
    assert (chord.symbol, chord.root, chord.mask, chord.bass) == (standard, root, mask, bass)


@pytest.mark.parametrize("symbol,fallback", [
    ("C-7zz", "Cm7"), ("Fj7??", "Fmaj7"), ("Bbm7b5q", "Bbm7b5"), ("G7!", "G7"),
    ("Ebo7x", "Ebdim7"), ("Dqq", "D"), ("Xq7", "NC"),
])
def test_unreadable_jazzomat_falls_back_to_the_closest_triad_or_seventh(symbol, fallback):
    chord, understood = parse_jazzomat(symbol)
    assert not understood and chord.symbol == fallback


def test_chart_bars_split_2_2_and_2_1_1_and_percent_repeats():
    changes = parse_chart("| Dm7 G7 | Cmaj7 | % |\n| C A7 Dm7 | D7 G7 / Db7 |")
    assert changes.loop_ticks == 5 * 48 and changes.bars == 5
    assert [(s, c.symbol) for s, c in changes.segments] == [
        (0, "Dm7"), (24, "G7"), (48, "Cmaj7"), (144, "C"), (168, "A7"), (180, "Dm7"),
        (192, "D7"), (204, "G7"), (228, "Db7"),  # "/" held G7 for a beat
    ]
    assert [seg.end - seg.start for seg in changes][:3] == [24, 24, 96]  # % merged into one


def test_chart_errors_name_the_bar_and_symbol():
    with pytest.raises(ChordSymbolError, match="chart bar 2: cannot read chord symbol 'Xq7'"):
        parse_chart("| Dm7 G7 | Xq7 |")
    with pytest.raises(ChordSymbolError, match="chart bar 1: '%'"):
        parse_chart("| % | C |")
    with pytest.raises(ChordSymbolError, match="chart bar 1: 5 chords"):
        parse_chart("| C D E F G |")
    with pytest.raises(ChordSymbolError, match="no chords"):
        parse_chart(" | | \n")


def test_chart_file(tmp_path):
    path = tmp_path / "tune.txt"
    path.write_text("| Cmaj7 | Am7 |\n| Dm7 | G7 |\n")
    assert [c.symbol for _, c in read_chart_file(str(path)).segments] == [
        "Cmaj7", "Am7", "Dm7", "G7"]
    with pytest.raises(ConfigError, match="nope.txt"):
        read_chart_file(str(tmp_path / "nope.txt"))
    (tmp_path / "bad.txt").write_text("| C | C7 |\n| F | Hm7 |\n")
    with pytest.raises(ChordSymbolError, match="bad.txt: chart bar 4: .*'Hm7'"):
        read_chart_file(str(tmp_path / "bad.txt"))


def test_at_gives_current_and_next_different_chord_and_wraps_a_loop():
    changes = parse_chart("| Dm7 G7 | Cmaj7 | Cmaj7 |")
    dm7, g7, cmaj7 = (parse_chord(s).mask for s in ("Dm7", "G7", "Cmaj7"))
    assert changes.at(0) == (dm7, g7)
    assert changes.at(23) == (dm7, g7) and changes.at(24) == (g7, cmaj7)
    assert changes.at(100) == (cmaj7, dm7)  # wraps: after the last bar comes the first
    assert changes.at(144) == (dm7, g7) and changes.at(144 * 7 + 30) == (g7, cmaj7)
    assert changes.symbol_at(50) == "Cmaj7"
    assert changes.at(1) is changes.at(2)  # hot path: a stored tuple, nothing allocated


def test_solo_changes_do_not_loop_and_know_nothing_before_or_after():
    dm7, g7 = parse_chord("Dm7"), parse_chord("G7")
    changes = Changes([(48, dm7), (96, g7), (120, g7)], end=144)
    assert len(changes) == 2  # the repeated G7 merged
    assert changes.at(0) == (0, dm7.mask)  # before the first chord: none yet
    assert changes.at(60) == (dm7.mask, g7.mask)
    assert changes.at(130) == (g7.mask, 0)  # the last chord: nothing follows
    assert changes.at(144) == (0, 0) and changes.symbol_at(144) == ""
    assert changes.symbol_at(0) == "" and changes.symbol_at(100) == "G7"
    assert Changes().at(5) == (0, 0) and Changes().bars == 0
    assert [tuple(s[:2]) for s in changes] == [(48, 96), (96, 144)]


def test_no_chord_in_the_changes_is_a_zero_mask():
    changes = parse_chart("| C7 | NC | F7 |")
    assert changes.at(50) == (0, parse_chord("F7").mask)
    assert changes.at(0) == (parse_chord("C7").mask, 0)  # NC differs from C7


def test_chord_from_mask_names_common_chords():
    assert chord_from_mask(pcs(D, F, A, C)).symbol == "Dm7"
    assert chord_from_mask(pcs(C, E, G, A), bass=C).symbol == "C6"  # Am7's notes over C
    assert chord_from_mask(pcs(G, B, D, F), bass=B).symbol == "G7/B"
    odd = chord_from_mask(pcs(C, Db, D))
    assert odd.symbol == "{C Db D}" and odd.mask == pcs(C, Db, D)
    assert chord_from_mask(0) == NC


MAJOR = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


@pytest.mark.parametrize("tonic", range(12))
def test_key_of_major_scales_and_tonic_arpeggios(tonic):
    scale = [Note(i * 6, 60 + tonic + s, 6) for i, s in enumerate(MAJOR + (12,))]
    arpeggio = [(60 + tonic + s, 12 if s == 0 else 6) for s in (0, 4, 7, 12, 7, 4, 0)]
    for notes in (scale, arpeggio):
        key = estimate_key(notes)
        assert (key.tonic, key.minor) == (tonic, False), key.name


@pytest.mark.parametrize("tonic", range(12))
def test_key_of_minor_lines(tonic):
    line = [(48 + tonic + s, 12 if s in (0, 3, 7) else 4)
            for s in HARMONIC_MINOR + (12, 7, 3, 0)]
    key = estimate_key(line)
    assert (key.tonic, key.minor) == (tonic, True), key.name


def test_key_names_masks_and_in_key_share():
    assert Key(0, False).name == "C major" and Key(9, True).name == "A minor"
    assert Key(0, False).scale_mask == pcs(*MAJOR)
    assert Key(9, True).scale_mask == pcs(A, B, C, D, E, F, G, Ab)  # natural + raised 7th
    assert Key(7, False).tonic_chord_mask == pcs(G, B, D, Gb)
    assert Key(9, True).tonic_chord_mask == pcs(A, C, E, G)
    assert Key(0, False).in_key_share([60, 62, 61, 73]) == 0.5
    assert Key(0, False).in_key_share([]) == 0.0
    assert estimate_key([]).name == "C major" and estimate_key([]).score == 0.0


def test_key_weights_notes_by_duration():
    # Long A, C, E and short passing F#, G#: A minor; the same notes, long G#: not A minor
    line = [(69, 24), (72, 24), (76, 24), (66, 1), (68, 1), (64, 12)]
    assert estimate_key(line).name == "A minor"
    assert estimate_key([(p, 48 if p == 68 else d) for p, d in line]).name != "A minor"
