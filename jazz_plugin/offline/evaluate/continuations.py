"""Continuations: each solo's opening bars prime the voice, which continues over the
solo's own changes; the musical figures of the model's bars sit beside the human's same
bars. The in-key share uses the key Krumhansl-Schmuckler estimates from the opening."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jazz_plugin import options
from jazz_plugin.corpus.solo import Solo, token_end_ticks
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.grid import TICKS_PER_BAR
from jazz_plugin.music.harmony import Key, estimate_key
from jazz_plugin.music.musicality import Figures
from jazz_plugin.offline.generate import improvise

EVAL_LOW, EVAL_HIGH = 36, 96  # continuations' register: wide; folding keeps pitch classes
MIN_OPENING_NOTES = 2  # an opening needs an interval to go on
CANDIDATES = options.RunOptions().candidates  # continuations pick phrases as the daemon does


@dataclass
class Continuation:
    """One solo continued: the model's figures and the human's over the same bars."""

    solo: Solo
    key: Key
    model: Figures
    human: Figures


def token_starts(tokens: Sequence[int], notes: Sequence[Note], codec: Codec) -> np.ndarray:
    """Absolute start tick of each token [n] of a line encoded from `notes`."""
    ends = token_end_ticks(notes, codec, tokens)
    durs = np.array([codec.tokens[t].dur for t in tokens], np.int64)
    return ends - durs


def continue_solo(engine: Engine, sampler: Sampler, solo: Solo, opening: int,
                  bars: int, candidates: int = CANDIDATES) -> Continuation | None:
    """The model continues the solo's first `opening` bars for `bars` bars over its changes
    (None when the solo has no such opening or ends before those bars do). With
    `candidates` > 1 it picks phrase by phrase as `generate` and the daemon do."""
    codec = engine.codec
    start, until = opening * TICKS_PER_BAR, (opening + bars) * TICKS_PER_BAR
    notes = solo.notes  # built on each access: once here
    heard = [n for n in notes if n.start < start]
    if len(heard) < MIN_OPENING_NOTES or notes[-1].start + notes[-1].dur < until:
        return None
    key = estimate_key(heard)
    tokens: list[int] = []
    played = improvise(engine, sampler, 0, heard, EVAL_LOW, EVAL_HIGH, solo.changes,
                       until=until, start=start, candidates=candidates, tokens=tokens)
    model, human = Figures(), Figures()
    model.add(played, tokens, codec, key, solo.changes)
    starts = token_starts(solo.tokens, notes, codec)
    human_tokens = [int(t) for t, s in zip(solo.tokens, starts) if start <= s < until]
    human_notes = [n for n in notes if start <= n.start < until]
    human.add(human_notes, human_tokens, codec, key, solo.changes)
    return Continuation(solo, key, model, human)




def continue_solos(engine: Engine, sampler: Sampler, solos: Sequence[Solo], opening: int,
                   bars: int, progress: bool = True) -> list[Continuation]:
    """`continue_solo` for each solo (those too short are left out), in corpus order."""
    from tqdm import tqdm

    bar = tqdm(solos, desc="continuations", unit="solo", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty())
    return [c for c in (continue_solo(engine, sampler, s, opening, bars) for s in bar)
            if c is not None]
