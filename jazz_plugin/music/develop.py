"""Answers that develop the call: score candidate answers, play the best.

A soloist answers by quoting and varying: the same rhythm with new notes, the motif moved
up a step, the last idea displaced by a beat. A candidate answer is scored on

- harmony: the share of its notes on beats 1 and 3 that are chord tones of the chord that
  will be playing there, near a human-like target (always 1.0 sounds like an exercise);
- echo: how much of the call it reuses, as shared interval 3-grams (transposed motifs count)
  and shared rhythm cells (onset patterns within a beat, displaced ones count). The `develop`
  knob sets the target: 0 = unrelated to the call, 1 = leans hard on it; too close to the
  target's far side (a copy) scores as badly as too far;
- variety: no exact repetition of itself (distinct interval 4-grams).

All pure functions over codec Notes; the harmony is anything with at(tick) -> (mask, next).
"""

from __future__ import annotations

from collections.abc import Sequence

from jazz_plugin.music.codec import Note
from jazz_plugin.music.figures import chord_tones_on_1_and_3, grams, intervals, rhythm_cells

develop = 0.5  # 0 = ignore the call .. 1 = stay close to it
ECHO_LOW, ECHO_HIGH = 0.05, 0.7  # echo targets at develop 0 and 1
ECHO_BAND = 0.15  # distance from the target that costs nothing
# Chord tones on beats 1 and 3: soloists land on them often, not always (0.59 over the
# Weimar Jazz Database); aiming a little above that keeps lines clear without sounding
# like arpeggio exercises. Inside the band nothing is gained or lost.
HARMONY_TARGET, HARMONY_BAND = 0.65, 0.10
WEIGHTS = {"harmony": 1.0, "echo": 1.0, "variety": 0.5}


def chord_tone_share(notes: Sequence[Note], harmony) -> float | None:
    """Share of notes starting on beats 1 and 3 that are chord tones (None: no such note or
    no harmony known there): the figure `evaluate` reports, as a number."""
    return chord_tones_on_1_and_3(notes, harmony).value


def echo(candidate: Sequence[Note], call: Sequence[Note]) -> float:
    """0..1: how much of the call's material the candidate reuses (motifs and rhythm)."""
    if not call or not candidate:
        return 0.0
    call_grams = set(grams(intervals(call), 3))
    cand_grams = grams(intervals(candidate), 3)
    motif = sum(g in call_grams for g in cand_grams) / len(cand_grams) if cand_grams else 0.0
    call_cells = set(rhythm_cells(call))
    cells = rhythm_cells(candidate)
    rhythm = sum(c in call_cells for c in cells) / len(cells) if cells else 0.0
    return 0.5 * motif + 0.5 * rhythm


def variety(notes: Sequence[Note]) -> float:
    """Distinct interval 4-grams over all of them (1 = never repeats itself exactly)."""
    g = grams(intervals(notes), 4)
    return len(set(g)) / len(g) if g else 1.0


def score(candidate: Sequence[Note], call: Sequence[Note], harmony,
          develop: float = develop) -> float:
    """Higher is better."""
    if not candidate:
        return -10.0
    target = ECHO_LOW + (ECHO_HIGH - ECHO_LOW) * develop
    miss = max(0.0, abs(echo(candidate, call) - target) - ECHO_BAND)
    tones = chord_tone_share(candidate, harmony)
    off = 0.0 if tones is None else max(0.0, abs(tones - HARMONY_TARGET) - HARMONY_BAND)
    return (-WEIGHTS["harmony"] * off
            - WEIGHTS["echo"] * miss * (1.0 if call else 0.0)
            + WEIGHTS["variety"] * variety(candidate))


def best(candidates: Sequence[Sequence[Note]], call: Sequence[Note], harmony,
         develop: float = develop) -> int:
    """Index of the best-scoring candidate (the first on ties)."""
    scores = [score(c, call, harmony, develop) for c in candidates]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
