"""What tells a line from a player's: distributions of its rhythm and pitch, and distances.

Each distribution maps a phrase (its notes, its first tick, its length in bars and the
harmony under it) to bin indices; counted over many phrases they give a histogram, and
two histograms are compared by their total variation distance (TVD: half the summed
absolute difference of the shares; 0 = the same, 1 = nothing in common). The same bins,
normalised per phrase, are the features of the tell-apart classifier (offline/tellapart.py)
and of the critic that scores the search's candidates (model/critic.py), so the test and
the search look at the same things.

Pure functions over codec Notes; the harmony is anything with at(tick) -> (mask, next).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jazz_plugin.music.codec import DURATIONS, MAX_INTERVAL, Note, fold_pitch, nearest_duration

TICKS_PER_BEAT = 12
BEATS_PER_BAR = 4
TICKS_PER_BAR = TICKS_PER_BEAT * BEATS_PER_BAR
LONGEST = DURATIONS[-1]
REST_EDGES = (1, 3, 6, 12, 24, 48)  # rest bins: none, 1-2, 3-5, 6-11, 12-23, 24-47, 48+ ticks
MAX_PER_BAR = 16  # notes per bar: 0..15, then "16 or more"
SPAN_STEP, SPAN_BINS = 3, 13  # register span in minor thirds: 0-2, 3-5, .. 36+ semitones
FEATURES_NAME = "phrase-histograms"
FEATURES_VERSION = 1


@dataclass(frozen=True)
class Phrase:
    """Notes starting in [start, start + bars bars) over a harmony (None: no chords)."""

    notes: Sequence[Note]
    start: int
    bars: int
    harmony: object = None


def _onset(p: Phrase) -> list[int]:
    return [n.start % TICKS_PER_BEAT for n in p.notes]


def _class(ticks: int) -> int:
    return DURATIONS.index(nearest_duration(ticks)) if ticks <= LONGEST else len(DURATIONS)


def _ioi(p: Phrase) -> list[int]:
    return [_class(b.start - a.start) for a, b in zip(p.notes, p.notes[1:])]


def _duration(p: Phrase) -> list[int]:
    return [_class(n.dur) for n in p.notes]


def _interval(p: Phrase) -> list[int]:
    return [fold_pitch(b.pitch, a.pitch) - a.pitch + MAX_INTERVAL
            for a, b in zip(p.notes, p.notes[1:])]


def _chord_tones(p: Phrase) -> list[int]:
    """beat * 2 + (1 if a chord tone) for notes with a chord known at their onset."""
    out = []
    for n in p.notes:
        chord, _next = p.harmony.at(n.start) if p.harmony is not None else (0, 0)
        if chord:
            beat = n.start // TICKS_PER_BEAT % BEATS_PER_BAR
            out.append(2 * beat + (chord >> (n.pitch % 12) & 1))
    return out


def _rests(p: Phrase) -> list[int]:
    gaps = [b.start - (a.start + a.dur) for a, b in zip(p.notes, p.notes[1:])]
    return [int(np.searchsorted(REST_EDGES, max(g, 0), side="right")) for g in gaps]


def _per_bar(p: Phrase) -> list[int]:
    counts = np.bincount([(n.start - p.start) // TICKS_PER_BAR for n in p.notes
                          if 0 <= n.start - p.start < p.bars * TICKS_PER_BAR],
                         minlength=p.bars)[:p.bars]
    return [min(int(c), MAX_PER_BAR) for c in counts]


def _span(p: Phrase) -> list[int]:
    if not p.notes:
        return []
    span = max(n.pitch for n in p.notes) - min(n.pitch for n in p.notes)
    return [min(span // SPAN_STEP, SPAN_BINS - 1)]


@dataclass(frozen=True)
class Distribution:
    name: str
    bins: int
    of: Callable[[Phrase], list[int]]
    kind: str  # "rhythm" or "pitch": which tell-apart feature group it belongs to


DISTRIBUTIONS = (
    Distribution("onset position in the beat", TICKS_PER_BEAT, _onset, "rhythm"),
    Distribution("inter-onset interval", len(DURATIONS) + 1, _ioi, "rhythm"),
    Distribution("duration class", len(DURATIONS) + 1, _duration, "rhythm"),
    Distribution("rest between notes", len(REST_EDGES) + 1, _rests, "rhythm"),
    Distribution("notes per bar", MAX_PER_BAR + 1, _per_bar, "rhythm"),
    Distribution("interval", 2 * MAX_INTERVAL + 1, _interval, "pitch"),
    Distribution("chord tone by beat", 2 * BEATS_PER_BAR, _chord_tones, "pitch"),
    Distribution("register span", SPAN_BINS, _span, "pitch"),
)
FEATURES_WIDTH = sum(d.bins for d in DISTRIBUTIONS)


def counts(phrases: Sequence[Phrase], dist: Distribution) -> np.ndarray:
    """The histogram of `dist` over all `phrases` (int64 [bins])."""
    out = np.zeros(dist.bins, np.int64)
    for p in phrases:
        out += np.bincount(dist.of(p), minlength=dist.bins)
    return out


def tvd(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance of two histograms (nan when either is empty)."""
    sa, sb = a.sum(), b.sum()
    if not sa or not sb:
        return float("nan")
    return 0.5 * float(np.abs(a / sa - b / sb).sum())


def features(phrase: Phrase, kinds: Sequence[str] = ("rhythm", "pitch")) -> np.ndarray:
    """One phrase as its normalised histograms, side by side (float32 [width]); the critic's
    and the tell-apart classifier's input (`FEATURES_NAME` v`FEATURES_VERSION`)."""
    parts = []
    for d in DISTRIBUTIONS:
        if d.kind in kinds:
            h = np.bincount(d.of(phrase), minlength=d.bins).astype(np.float32)
            parts.append(h / max(h.sum(), 1.0))
    return np.concatenate(parts)


def feature_matrix(phrases: Sequence[Phrase],
                   kinds: Sequence[str] = ("rhythm", "pitch")) -> np.ndarray:
    """`features` of each phrase (float32 [n, width])."""
    width = sum(d.bins for d in DISTRIBUTIONS if d.kind in kinds)
    if not phrases:
        return np.zeros((0, width), np.float32)
    return np.stack([features(p, kinds) for p in phrases])


def share_on_ticks(phrases: Sequence[Phrase], ticks: Sequence[int]) -> float:
    """Share of onsets that fall on these ticks of the beat (e.g. 5 and 11)."""
    c = counts(phrases, DISTRIBUTIONS[0])
    return float(c[list(ticks)].sum() / c.sum()) if c.sum() else float("nan")


def chord_tones_on_1_and_3(phrases: Sequence[Phrase]) -> float:
    """Share of notes on beats 1 and 3 (with a chord known) that are chord tones."""
    c = counts(phrases, DISTRIBUTIONS[6])  # beat * 2 + tone
    hits, total = c[1] + c[5], c[0] + c[1] + c[4] + c[5]
    return float(hits / total) if total else float("nan")
