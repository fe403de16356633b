"""Playing with the band, measured: trading on a DAW's clock over real JACK ports, and the
candidate search that picks each answer.

The trading rows come from `testrig.trade.trade_session` (shared with
tests/test_trade_e2e.py): a peer sends MIDI clock and plays calls in the musician's turns,
over a chart or over chords comped live. The figures that matter are the onset error of
each answer's first note against its bar line and the share of chord tones on beats 1
and 3.
"""

from __future__ import annotations

import time

import numpy as np

from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import parse_chart
from testrig.trade import CALL, CHART, trade_session

from .table import Row, stats


def candidate_search_times(n: int, reps: int, bars: int = 2) -> list[float]:
    """Seconds to search `n` candidate answers of `bars` bars after a primed call."""
    engine = Engine()
    voice = Voice(engine, Sampler(seed=0), 48, 84, parse_chart(CHART))
    call = [Note(6 * i, p, 6) for i, p in enumerate(CALL)]
    times = []
    for _ in range(reps):
        voice.begin(call[-1].pitch, 48, call)
        t = time.perf_counter()
        voice.candidates(n, 48 + bars * 48)
        times.append(time.perf_counter() - t)
    return times


def run(quick: bool) -> list[Row]:
    rows = []
    reps = 20 if quick else 100
    base = None
    for n in (1, 16):
        med, p99 = stats(candidate_search_times(n, reps), 1e3)
        base = base or med
        rows.append(Row("answer search", f"{n} candidate(s) x 2 bars, shipped model", med,
                        p99, "ms", med / base, f"{reps} searches; batched onnxruntime steps"))
    for bpm in (120, 240):
        res = trade_session(bpm, bars=2, rounds=2 if quick else 4)
        errs = np.abs(res.first_errors_ms)
        med = float(np.median(errs)) if len(errs) else float("nan")
        rows.append(Row(f"trade {bpm} BPM", "|first answer note - its bar line|", med,
                        float(np.max(errs)) if len(errs) else float("nan"), "ms", float("nan"),
                        f"p99 column = max; {res.answers} answers, external clock, 2-bar "
                        f"turns; {res.overlaps} notes in the musician's turns"))
    return rows
