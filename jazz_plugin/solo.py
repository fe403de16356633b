"""The record a corpus is made of: one solo's line, its changes, and per-token conditioning.

Token i is followed by token i+1; what the model needs to predict token i+1 is known at the
end of token i: the chord there, the next change, the last note played and the bar
position. `encode_solo` stores exactly these per token as small integers, so that
`conditioning.cond_matrix(chord, next_chord, ref_pc, pos)[i]` is the conditioning for
predicting token i+1 (the training graph expands the same four arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .codec import Codec, Note
from .conditioning import TICKS_PER_BAR
from .harmony import Changes, estimate_key


@dataclass
class Solo:
    """One solo: a quantized line over its changes, with its tokens and conditioning."""

    name: str
    performer: str  # "" when unknown
    notes: list[Note]  # quantized line (codec.quantize), bar lines at multiples of 48 from tick 0
    changes: Changes  # may have no segments (no chords known)
    tokens: np.ndarray  # int16 [n] codec indices (codec.encode(notes))
    chord: np.ndarray  # uint16 [n] chord mask sounding where token i+1 starts; 0 none
    next_chord: np.ndarray  # uint16 [n] the next different chord after that point; 0 none
    ref_pc: np.ndarray  # uint8 [n] pitch class of the last note played up to token i
    pos: np.ndarray  # uint8 [n] (end tick of token i) % 48: where token i+1 starts in the bar
    key_chord: int  # Key.tonic_chord_mask of estimate_key(notes)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def has_chords(self) -> bool:
        return len(self.changes) > 0


def token_end_ticks(notes: Sequence[Note], codec: Codec, tokens: Sequence[int]) -> np.ndarray:
    """Absolute end tick of each token [n]: a note token ends at its note's end, rests add
    their durations after it (exactly codec.encode's walk, anchored at each note)."""
    ends = np.zeros(len(tokens), np.int64)
    note_iter = iter(notes)
    tick = 0
    for i, index in enumerate(tokens):
        token = codec.tokens[index]
        if token.is_rest:
            tick += token.dur
        else:
            note = next(note_iter)
            tick = note.start + token.dur
        ends[i] = tick
    return ends


def encode_solo(name: str, performer: str, notes: Sequence[Note], changes: Changes,
                codec: Codec) -> Solo:
    """A quantized line over its changes -> a Solo with its tokens and conditioning arrays."""
    notes = list(notes)
    ids = codec.encode(notes)
    ends = token_end_ticks(notes, codec, ids)
    n = len(ids)
    chord = np.zeros(n, np.uint16)
    next_chord = np.zeros(n, np.uint16)
    ref_pc = np.zeros(n, np.uint8)
    note_iter = iter(notes)
    pc = 0
    for i, index in enumerate(ids):
        if not codec.tokens[index].is_rest:
            pc = next(note_iter).pitch % 12
        ref_pc[i] = pc
        chord[i], next_chord[i] = changes.at(int(ends[i]))
    return Solo(
        name=name,
        performer=performer,
        notes=notes,
        changes=changes,
        tokens=np.asarray(ids, np.int16),
        chord=chord,
        next_chord=next_chord,
        ref_pc=ref_pc,
        pos=(ends % TICKS_PER_BAR).astype(np.uint8),
        key_chord=estimate_key(notes).tonic_chord_mask,
    )
