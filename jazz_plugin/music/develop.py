"""Answers that develop the call: score candidate answers, play the best.

A soloist answers by quoting and varying: the same rhythm with new notes, the motif moved
up a step, the last idea displaced by a beat. A candidate answer is scored on

- likelihood: the model's own mean log-probability per token of the candidate, below the
  candidates' median, as a cost: the search never buys a target with a line the players
  would not play (rewarding likelier lines outright picks busy, predictable ones; see the
  tell-apart figures in docs/model.md);
- the critic's verdict (model/critic.py): how much the phrase sounds like the soloists,
  as log sigmoid of its logit, weighted by `--critic`;
- echo: how much of the call it reuses, as shared interval 3-grams (transposed motifs count)
  and shared rhythm cells (onset patterns within a beat, displaced ones count). The target
  at `develop` 0.5 is the soloists' own echo at this tempo (measured on the corpus, in the
  model's metadata: `Targets`); 0 = unrelated to the call, 1 = leans hard on it; too close
  to the target's far side (a copy) scores as badly as too far;
- variety: no exact repetition of itself (distinct interval 4-grams);
- harmony, only when `Targets.chord_tones` is given: the share of notes on beats 1 and 3
  that are chord tones, near the soloists' measured share. Off by default: likelihood and
  the critic keep the line on the changes as the players do (docs/model.md has the figures).

All pure functions over codec Notes; the harmony is anything with at(tick) -> (mask, next).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from jazz_plugin.music.codec import Note
from jazz_plugin.music.figures import chord_tones_on_1_and_3, grams, intervals, rhythm_cells

develop = 0.5  # 0 = ignore the call .. 1 = stay close to it; 0.5 = as the soloists do
critic = 1.0  # weight of the critic's verdict: 0 = off .. 1 = full
ECHO_LOW, ECHO_HIGH = 0.05, 0.7  # echo targets at develop 0 and 1
ECHO_BAND = 0.15  # distance from the target that costs nothing
HARMONY_BAND = 0.10  # chord tones within this of the soloists' share cost nothing
# likelihood 0.3: at 1 the search still leaned to busy, predictable lines (tell-apart AUC
# 0.70 against 0.61 at 0.3, on held-out solos; docs/model.md)
WEIGHTS = {"harmony": 1.0, "echo": 1.0, "variety": 0.5, "likelihood": 0.3, "critic": 1.0}


@dataclass(frozen=True)
class Targets:
    """What the soloists do at this tempo (corpus/feel.py, from the model's metadata):
    their echo of the 2 bars before (None: the middle of the knob's range), and their
    chord-tone share on beats 1 and 3 (None: no harmony term)."""

    echo: float | None = None
    chord_tones: float | None = None

    def echo_at(self, amount: float) -> float:
        """The echo aimed at: the soloists' own at develop 0.5, ECHO_LOW/HIGH at 0 and 1."""
        mid = self.echo if self.echo is not None else (ECHO_LOW + ECHO_HIGH) / 2
        if amount <= 0.5:
            return ECHO_LOW + (mid - ECHO_LOW) * amount * 2
        return mid + (ECHO_HIGH - mid) * (amount - 0.5) * 2


def band_of(bpm: float, edges: Sequence[float]) -> int:
    """Index of the tempo band `bpm` falls in (0 .. len(edges)): the bands of `feel`."""
    return sum(bpm >= e for e in edges)


def at_tempo(feel: dict, key: str, bpm: float | None) -> float | None:
    """A figure of the model's `feel` metadata (corpus/feel.py) for the band `bpm` falls in
    (None: the middle band); None when the model has no such figure."""
    values = feel.get(key) if feel else None
    if not values:
        return None
    band = len(values) // 2 if bpm is None else band_of(bpm, feel.get("edges", ()))
    return values[min(band, len(values) - 1)]


def search_targets(feel: dict, bpm: float | None, chord_tones: bool = False) -> Targets:
    """The search's targets from the model's measured `feel` at a tempo."""
    return Targets(echo=at_tempo(feel, "echo", bpm),
                   chord_tones=at_tempo(feel, "chord_tones_1_3", bpm) if chord_tones else None)


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
          develop: float = develop, targets: Targets | None = None) -> float:
    """Higher is better (without likelihood and critic: `best` adds those)."""
    if not candidate:
        return -10.0
    targets = targets or Targets()
    miss = max(0.0, abs(echo(candidate, call) - targets.echo_at(develop)) - ECHO_BAND)
    off = 0.0
    if targets.chord_tones is not None:
        tones = chord_tone_share(candidate, harmony)
        off = 0.0 if tones is None else max(0.0, abs(tones - targets.chord_tones) - HARMONY_BAND)
    return (-WEIGHTS["harmony"] * off
            - WEIGHTS["echo"] * miss * (1.0 if call else 0.0)
            + WEIGHTS["variety"] * variety(candidate))


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x > -30 else x


def best(candidates: Sequence[Sequence[Note]], call: Sequence[Note], harmony,
         develop: float = develop, loglik: Sequence[float] | None = None,
         verdicts: Sequence[float] | None = None, critic: float = critic,
         targets: Targets | None = None) -> int:
    """Index of the best-scoring candidate (the first on ties). `loglik`: the model's mean
    log-probability per token of each; `verdicts`: the critic's logit of each."""
    scores = [score(c, call, harmony, develop, targets) for c in candidates]
    if loglik is not None and len(loglik):
        typical = sorted(loglik)[len(loglik) // 2]  # no reward for a merely predictable line
        scores = [s + WEIGHTS["likelihood"] * min(0.0, v - typical) for s, v in zip(scores, loglik)]
    if verdicts is not None and critic > 0:
        scores = [s + WEIGHTS["critic"] * critic * log_sigmoid(float(v))
                  for s, v in zip(scores, verdicts)]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
