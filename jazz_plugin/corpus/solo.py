"""The record a corpus is made of: one solo's line, its changes, and per-token conditioning.

Token i is followed by token i+1; what the model needs to predict token i+1 is known at the
end of token i: the chord there, the next change, the last note played and the bar
position. `encode_solo` stores exactly these per token as small integers, so that
`conditioning.cond_matrix(chord, next_chord, ref_pc, pos)[i]` is the conditioning for
predicting token i+1 (the training graph expands the same four arrays).

A Solo holds only numpy arrays and a few strings, so a corpus of 100,000 files stays a few
bytes per token and crosses process boundaries cheaply: the line is an int32 array
(`notes` builds the Note list on access) and the changes are `PackedChanges` (`changes`
builds the Changes timeline on first access and keeps it, since `at` is called per token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.grid import TICKS_PER_BAR
from jazz_plugin.music.harmony import Changes, Chord, estimate_key

NONE_PC = -1  # roots/basses arrays: no root (NC) or no slash bass


@dataclass(eq=False)
class PackedChanges:
    """A Changes timeline as arrays: one row per chord segment, symbols stored once."""

    starts: np.ndarray  # int32 [k] segment start ticks
    masks: np.ndarray  # uint16 [k] pitch-class masks
    roots: np.ndarray  # int8 [k] root pitch class, NONE_PC for NC
    basses: np.ndarray  # int8 [k] slash bass pitch class, NONE_PC when the root is the bass
    symbol_ids: np.ndarray  # uint16 [k] index into `symbols`
    symbols: tuple[str, ...]  # distinct chord symbols, in order of first use
    end: int
    loop_ticks: int | None = None

    @classmethod
    def pack(cls, changes: Changes) -> PackedChanges:
        symbols: dict[str, int] = {}
        ids = [symbols.setdefault(c.symbol, len(symbols)) for _s, c in changes.segments]
        segments = changes.segments
        return cls(
            starts=np.array([s for s, _c in segments], np.int32),
            masks=np.array([c.mask for _s, c in segments], np.uint16),
            roots=np.array([NONE_PC if c.root is None else c.root for _s, c in segments],
                           np.int8),
            basses=np.array([NONE_PC if c.bass is None else c.bass for _s, c in segments],
                            np.int8),
            symbol_ids=np.array(ids, np.uint16),
            symbols=tuple(symbols),
            end=int(changes.end),
            loop_ticks=changes.loop_ticks,
        )

    def unpack(self) -> Changes:
        """The Changes this was packed from (equal segments, end and loop)."""
        chords = {}
        segments = []
        for start, mask, root, bass, sid in zip(self.starts.tolist(), self.masks.tolist(),
                                                self.roots.tolist(), self.basses.tolist(),
                                                self.symbol_ids.tolist()):
            key = (sid, mask, root, bass)
            if key not in chords:  # one Chord object per distinct chord of the solo
                chords[key] = Chord(self.symbols[sid], None if root == NONE_PC else root,
                                    mask, None if bass == NONE_PC else bass)
            segments.append((start, chords[key]))
        return Changes(segments, end=self.end, loop_ticks=self.loop_ticks)

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(eq=False)
class Solo:
    """One solo: a quantized line over its changes, with its tokens and conditioning."""

    name: str
    performer: str  # "" when unknown
    note_array: np.ndarray  # int32 [n_notes, 3]: start, pitch, dur of the quantized line
    packed_changes: PackedChanges  # may have no segments (no chords known)
    tokens: np.ndarray  # int16 [n] codec indices (codec.encode(notes))
    chord: np.ndarray  # uint16 [n] chord mask sounding where token i+1 starts; 0 none
    next_chord: np.ndarray  # uint16 [n] the next different chord after that point; 0 none
    ref_pc: np.ndarray  # uint8 [n] pitch class of the last note played up to token i
    pos: np.ndarray  # uint8 [n] (end tick of token i) % 48: where token i+1 starts in the bar
    key_chord: int  # Key.tonic_chord_mask of estimate_key(notes)
    _changes: Changes | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def notes(self) -> list[Note]:
        """The quantized line (codec.quantize), bar lines at multiples of 48 from tick 0.
        Built on each access: keep it in a local when you index it often."""
        return [Note(s, p, d) for s, p, d in self.note_array.tolist()]

    @property
    def changes(self) -> Changes:
        """The chord timeline (built on first access, then kept)."""
        if self._changes is None:
            self._changes = self.packed_changes.unpack()
        return self._changes

    @property
    def has_chords(self) -> bool:
        return len(self.packed_changes) > 0

    def __getstate__(self) -> dict:
        """Pickled (to and from import workers) without the unpacked Changes."""
        return {**self.__dict__, "_changes": None}


def note_array(notes: Sequence[Note]) -> np.ndarray:
    """Notes -> int32 [n, 3] (start, pitch, dur)."""
    return np.array([(n.start, n.pitch, n.dur) for n in notes], np.int32).reshape(-1, 3)


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
        note_array=note_array(notes),
        packed_changes=PackedChanges.pack(changes),
        tokens=np.asarray(ids, np.int16),
        chord=chord,
        next_chord=next_chord,
        ref_pc=ref_pc,
        pos=(ends % TICKS_PER_BAR).astype(np.uint8),
        key_chord=estimate_key(notes).tonic_chord_mask,
    )
