"""The tell-apart test: can the model's phrases be told from the soloists' own?

Over held-out solos the model hears 2 bars of the solo and plays 8 over the solo's own
changes, from several points of each solo; the soloist's same 8 bars are the reference.
Both are cut into 4-bar phrases. Reported:

- each distribution of music/distributions.py (onset position, IOI, duration, rests,
  notes per bar, intervals, chord tones by beat, register span), model against human,
  with its total variation distance (TVD), and the key shares (onsets on ticks 5 and 11,
  chord tones on beats 1 and 3);
- a logistic-regression classifier of 4-bar phrases, model against human, on all
  features, rhythm only and pitch only, with its AUC cross-validated by solo (0.5 = can't
  tell), beside the null: the same classifier on human against human (two halves of the
  solos), which says how far from 0.5 chance alone goes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.corpus.solo import Solo
from jazz_plugin.model.conditioning import TICKS_PER_BAR
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music import develop
from jazz_plugin.music.develop import search_targets
from jazz_plugin.music.distributions import (
    DISTRIBUTIONS,
    Phrase,
    chord_tones_on_1_and_3,
    counts,
    feature_matrix,
    share_on_ticks,
    tvd,
)
from jazz_plugin.offline import tables
from jazz_plugin.offline.classify import grouped_auc
from jazz_plugin.offline.generate import improvise

opening_bars = 2  # bars heard before each continuation
played_bars = 8  # bars played (and compared) after them
phrase_bars = 4  # the classifier's phrase
segments = 3  # continuations per solo, every SEGMENT_STEP bars from the opening
SEGMENT_STEP = 10  # bars between the starts of a solo's continuations
LOW, HIGH = 36, 96  # the model's register: wide, so folding keeps the pitch classes
MIN_HEARD = 2  # an opening needs an interval to go on
EDGE_TICKS = (5, 11)  # one tick before an eighth or a beat: what the old codec gave away
FEATURE_SETS = (("all features", ("rhythm", "pitch")), ("rhythm only", ("rhythm",)),
                ("pitch only", ("pitch",)))


@dataclass
class Phrases:
    """4-bar phrases of the model and of the soloists, with the solo each came from."""

    model: list[Phrase] = field(default_factory=list)
    human: list[Phrase] = field(default_factory=list)
    model_solo: list[str] = field(default_factory=list)
    human_solo: list[str] = field(default_factory=list)


def _cut(notes: Sequence, start: int, bars: int, harmony) -> list[Phrase]:
    """The notes of `bars` bars from `start` as phrases of phrase_bars bars (or fewer)."""
    size = min(phrase_bars, bars)
    out = []
    for k in range(bars // size):
        a = start + k * size * TICKS_PER_BAR
        b = a + size * TICKS_PER_BAR
        out.append(Phrase([n for n in notes if a <= n.start < b], a, size, harmony))
    return out


def collect(engine: Engine, sampler: Sampler, solos: Sequence[Solo], candidates: int,
            develop_amount: float = develop.develop, critic: float = develop.critic,
            tempi: dict[str, float] | None = None, progress: bool = True,
            opening: int = opening_bars, played: int = played_bars) -> Phrases:
    """The model's and the soloists' phrases over the same bars of each solo; the search
    aims at the model's `feel` for each solo's tempo (`tempi`, when known)."""
    from tqdm import tqdm

    out = Phrases()
    bar = tqdm(solos, desc="tell-apart", unit="solo", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty())
    for solo in bar:
        notes = solo.notes
        end = notes[-1].start + notes[-1].dur
        targets = search_targets(engine.info.feel, (tempi or {}).get(solo.name))
        for k in range(segments):
            heard_from = k * SEGMENT_STEP * TICKS_PER_BAR
            start = heard_from + opening * TICKS_PER_BAR
            until = start + played * TICKS_PER_BAR
            heard = [n for n in notes if heard_from <= n.start < start]
            if until > end or len(heard) < MIN_HEARD:
                break
            line = improvise(engine, sampler, 0, heard, LOW, HIGH, solo.changes, until=until,
                               start=start, candidates=candidates,
                               develop_amount=develop_amount, critic=critic, targets=targets)
            for mine, theirs in zip(_cut(line, start, played, solo.changes),
                                    _cut(notes, start, played, solo.changes)):
                out.model.append(mine)
                out.human.append(theirs)
                out.model_solo.append(solo.name)
                out.human_solo.append(solo.name)
    return out


def classifier_auc(a: Sequence[Phrase], b: Sequence[Phrase], groups_a: Sequence[str],
                   groups_b: Sequence[str], kinds: Sequence[str]) -> float:
    """Grouped cross-validated AUC of telling phrases `a` (label 1) from `b` (label 0)."""
    x = np.vstack([feature_matrix(a, kinds), feature_matrix(b, kinds)])
    y = np.concatenate([np.ones(len(a)), np.zeros(len(b))])
    groups = np.array(list(groups_a) + list(groups_b))
    return grouped_auc(x, y, groups)


def null_auc(phrases: Phrases, kinds: Sequence[str]) -> float:
    """Human against human: the solos split in two halves (alternate names), told apart."""
    names = sorted(set(phrases.human_solo))
    half = {n: i % 2 for i, n in enumerate(names)}
    a = [(p, s) for p, s in zip(phrases.human, phrases.human_solo) if half[s] == 0]
    b = [(p, s) for p, s in zip(phrases.human, phrases.human_solo) if half[s] == 1]
    return classifier_auc([p for p, _ in a], [p for p, _ in b], [s for _, s in a],
                          [s for _, s in b], kinds)


@dataclass
class TellApart:
    """The test's figures (see `table`)."""

    phrases: int
    solos: int
    opening: int
    played: int
    bars: int  # of a phrase
    tvd: dict[str, float]
    shares: dict[str, tuple[float, float]]  # name -> (model, human)
    auc: dict[str, float]
    null: dict[str, float]


def measure(phrases: Phrases, opening: int = opening_bars, played: int = played_bars
            ) -> TellApart:
    """All the figures of collected phrases."""
    m, h = phrases.model, phrases.human
    tvds = {d.name: tvd(counts(m, d), counts(h, d)) for d in DISTRIBUTIONS}
    shares = {"onsets on ticks 5 and 11": (share_on_ticks(m, EDGE_TICKS),
                                           share_on_ticks(h, EDGE_TICKS)),
              "chord tones on beats 1 and 3": (chord_tones_on_1_and_3(m),
                                               chord_tones_on_1_and_3(h)),
              "notes per bar, mean": (_per_bar(m), _per_bar(h))}
    auc = {label: classifier_auc(m, h, phrases.model_solo, phrases.human_solo, kinds)
           for label, kinds in FEATURE_SETS}
    null = {label: null_auc(phrases, kinds) for label, kinds in FEATURE_SETS}
    bars = m[0].bars if m else phrase_bars
    return TellApart(len(m), len(set(phrases.human_solo)), opening, played, bars, tvds, shares,
                     auc, null)


def _per_bar(phrases: Sequence[Phrase]) -> float:
    bars = sum(p.bars for p in phrases)
    return sum(len(p.notes) for p in phrases) / bars if bars else float("nan")


def table(result: TellApart, label: str) -> str:
    """The test as text: distributions with TVD, key shares, classifier AUCs and the null."""
    lines = [f"tell-apart: {result.phrases} phrases of {result.bars} bars from each side, "
             f"{result.solos} solos, {label}; the model heard {result.opening} bars and played "
             f"{result.played} over the solo's changes"]
    lines += tables.table(["distribution", "TVD model vs human"],
                   [[name, f"{v:.3f}"] for name, v in result.tvd.items()], markdown=True)
    lines += [""] + tables.table(["figure", "model", "human"],
                          [[name, f"{a:.3f}", f"{b:.3f}"] for name, (a, b)
                           in result.shares.items()], markdown=True)
    lines += [""] + tables.table(["classifier of phrases (AUC by solo; 0.5 = can't tell)",
                           "model vs human", "human vs human"],
                          [[name, f"{result.auc[name]:.2f}", f"{result.null[name]:.2f}"]
                           for name in result.auc], markdown=True)
    return "\n".join(lines)


def report(engine: Engine, sampler: Sampler, solos: Sequence[Solo], corpora: Sequence[str],
           candidates: int, critic: float, label: str, how: str,
           opening: int = opening_bars, played: int = played_bars) -> str:
    """The test on `solos` as `evaluate --tell-apart` prints it; WJazzD folders among
    `corpora` give each solo's tempo (the search's targets are by tempo band)."""
    import os

    from jazz_plugin.corpus.feel import solo_tempi

    tempi: dict[str, float] = {}
    for path in corpora:
        if os.path.isdir(os.path.join(path, "melody")):
            tempi.update(solo_tempi(path, [s.name for s in solos]))
    phrases = collect(engine, sampler, solos, candidates, critic=critic, tempi=tempi,
                      opening=opening, played=played)
    if not phrases.model:
        return (f"tell-apart: no solo is {opening + played} bars long with "
                f"{MIN_HEARD} notes in its opening")
    search = f"(search: {candidates} candidates, critic {critic:g}; {how})"
    return table(measure(phrases, opening, played), label) + "\n" + search

