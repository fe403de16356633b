"""Harmony: chord symbols -> pitch-class masks, chord charts on the bar grid, and the key.

Everything the model hears about harmony is a 12-bit pitch-class mask (bit p = pitch class
p, C = 0; see `conditioning.pcs_mask`). This module turns the ways harmony reaches us into
masks: chord symbols (`parse_chord`, read by the pychord library where it can, with the
jazz spellings it lacks added here), the Weimar Jazz Database's own syntax
(`parse_jazzomat`), chord charts (`parse_chart`), and, when no chords are given, the key
estimated from the notes (`estimate_key`, Krumhansl-Schmuckler).

Three modules, one concept each: `chords.py` (symbols and masks), `changes.py` (the chord
timeline and charts) and `key.py` (the key). Their public names are importable from here.
"""

from jazz_plugin.music.harmony.changes import Changes, Segment, parse_chart, read_chart_file
from jazz_plugin.music.harmony.chords import (
    NC,
    Chord,
    ChordSymbolError,
    chord_from_mask,
    parse_chord,
    parse_jazzomat,
    pc_name,
)
from jazz_plugin.music.harmony.key import Key, estimate_key

__all__ = ["NC", "Changes", "Chord", "ChordSymbolError", "Key", "Segment", "chord_from_mask",
           "estimate_key", "parse_chart", "parse_chord", "parse_jazzomat", "pc_name",
           "read_chart_file"]
