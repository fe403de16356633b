"""The basic figures of a line, one definition each: the answer search (`develop.py`) and
`evaluate`'s musical figures (`musicality.py`) count with the same ones.

Pure functions over codec Notes; a harmony is anything with at(tick) -> (chord mask, next
chord mask), e.g. `harmony.Changes` or the daemon's `chordsource.Harmony`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_BEAT

STRONG_BEAT = 2 * TICKS_PER_BEAT  # beats 1 and 3 of a 4/4 bar
PITCH_CLASSES = 12


@dataclass(frozen=True)
class Share:
    """`hits` of `total`; adds up over lines. `value` is None when nothing was counted."""

    hits: int = 0
    total: int = 0

    def __add__(self, other: Share) -> Share:
        return Share(self.hits + other.hits, self.total + other.total)

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


def intervals(notes: Sequence[Note]) -> list[int]:
    return [b.pitch - a.pitch for a, b in zip(notes, notes[1:])]


def grams(seq: Sequence, n: int) -> list[tuple]:
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def rhythm_cells(notes: Sequence[Note]) -> list[tuple[int, ...]]:
    """Onset positions within each beat that has notes, as a tuple per beat."""
    beats: dict[int, list[int]] = {}
    for n in notes:
        beats.setdefault(n.start // TICKS_PER_BEAT, []).append(n.start % TICKS_PER_BEAT)
    return [tuple(v) for _, v in sorted(beats.items())]


def chord_tones_on_1_and_3(notes: Sequence[Note], harmony) -> Share:
    """Notes starting on beat 1 or 3 that are tones of the chord there (no chord: not counted)."""
    hits = total = 0
    for n in notes:
        if n.start % STRONG_BEAT:
            continue
        chord, _next = harmony.at(n.start) if harmony is not None else (0, 0)
        if chord:
            total += 1
            hits += chord >> (n.pitch % PITCH_CLASSES) & 1
    return Share(hits, total)
