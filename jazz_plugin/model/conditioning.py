"""What the model hears besides the tokens: the chord, the next chord and the bar position.

The conditioning vector of step t describes where the *next* token starts: the bar position
right after token t, the chord sounding there and the next change, each chord as pitch
classes relative to the reference pitch (the last note played). Relative chords keep the
model key-independent, like the interval tokens, and tell it which intervals land on chord
tones.

Layout `COND_LAYOUT` v`COND_VERSION`, `COND_WIDTH` = 41 floats:

| slice   | meaning                                                                 |
| ------- | ----------------------------------------------------------------------- |
| 0:12    | current chord: bit k = 1 if pitch class (ref + k) % 12 is in the chord  |
| 12:24   | next chord (the next change), the same way                              |
| 24:28   | beat in the bar, one-hot (4/4)                                          |
| 28:40   | tick within the beat, one-hot (12 ticks per quarter)                    |
| 40      | no chord known (the two chord slices are then all zero)                 |

A chord is kept compactly as a 12-bit pitch-class mask (bit p = pitch class p, C = 0;
0 = no chord). Datasets store per token `(chord, next_chord, ref_pc, pos)` as small integers
and expand them here (numpy) or in the training graph (TensorFlow, same arithmetic).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from jazz_plugin.music.grid import BEATS_PER_BAR, TICKS_PER_BAR, TICKS_PER_BEAT

COND_LAYOUT = "relchord12-nextchord12-beat4-tick12-nochord1"
COND_VERSION = 1
COND_WIDTH = 41
CHORD, NEXT_CHORD, BEAT, TICK, NO_CHORD = 0, 12, 24, 28, 40  # slice starts
FULL_MASK = 0xFFF


def pcs_mask(pitch_classes: Iterable[int]) -> int:
    """Pitch classes (any integers, taken mod 12) -> a 12-bit mask."""
    mask = 0
    for pc in pitch_classes:
        mask |= 1 << (int(pc) % 12)
    return mask


def mask_pcs(mask: int) -> list[int]:
    """A 12-bit mask -> its sorted pitch classes."""
    return [pc for pc in range(12) if mask >> pc & 1]


def relative_mask(mask: int, ref_pc: int) -> int:
    """Rotate so that bit k means pitch class (ref_pc + k) % 12."""
    r = int(ref_pc) % 12
    return ((mask >> r) | (mask << (12 - r))) & FULL_MASK


def cond_into(out: np.ndarray, ref_pitch: int, tick: int, chord: int, next_chord: int) -> None:
    """Write one conditioning vector into `out` [COND_WIDTH] (the live hot path: no allocation).

    `tick` is the absolute grid tick where the next token starts (bar lines at multiples of
    TICKS_PER_BAR); `chord`/`next_chord` are masks, 0 when no chord is known.
    """
    out.fill(0.0)
    if chord:
        rel = relative_mask(chord, ref_pitch)
        rel_next = relative_mask(next_chord or chord, ref_pitch)
        for k in range(12):
            if rel >> k & 1:
                out[CHORD + k] = 1.0
            if rel_next >> k & 1:
                out[NEXT_CHORD + k] = 1.0
    else:
        out[NO_CHORD] = 1.0
    pos = int(tick) % TICKS_PER_BAR
    out[BEAT + pos // TICKS_PER_BEAT] = 1.0
    out[TICK + pos % TICKS_PER_BEAT] = 1.0


def cond_vector(ref_pitch: int, tick: int, chord: int, next_chord: int) -> np.ndarray:
    """One conditioning vector [COND_WIDTH] (allocates; for tests and offline use)."""
    out = np.zeros(COND_WIDTH, np.float32)
    cond_into(out, ref_pitch, tick, chord, next_chord)
    return out


def cond_matrix(chord: np.ndarray, next_chord: np.ndarray, ref_pc: np.ndarray,
                pos: np.ndarray) -> np.ndarray:
    """Vectorised expansion of per-token records, any leading shape -> [..., COND_WIDTH].

    The training graph does the same arithmetic in TensorFlow (export/dataset.py); a test
    checks that the two agree.
    """
    chord = np.asarray(chord, np.int64)
    next_chord = np.asarray(next_chord, np.int64)
    next_chord = np.where(next_chord == 0, chord, next_chord)
    r = np.asarray(ref_pc, np.int64) % 12
    k = np.arange(12)
    rel = ((chord >> r) | (chord << (12 - r))) & FULL_MASK
    rel_next = ((next_chord >> r) | (next_chord << (12 - r))) & FULL_MASK
    pos = np.asarray(pos, np.int64) % TICKS_PER_BAR
    out = np.concatenate([
        (rel[..., None] >> k) & 1,  # [..., 12]
        (rel_next[..., None] >> k) & 1,
        (pos[..., None] // TICKS_PER_BEAT) == np.arange(BEATS_PER_BAR),  # [..., 4]
        (pos[..., None] % TICKS_PER_BEAT) == np.arange(TICKS_PER_BEAT),  # [..., 12]
        (chord == 0)[..., None],  # [..., 1]
    ], axis=-1)
    return out.astype(np.float32)  # [..., COND_WIDTH]
