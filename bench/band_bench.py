"""Playing with the band, measured: trading on a DAW's clock over real JACK ports, and the
candidate search that picks each answer.

The trading rows come from `testrig.trade.trade_session` (shared with
tests/test_trade_e2e.py): a peer sends MIDI clock and plays calls in the musician's turns,
over a chart or over chords comped live. The figures that matter are the onset error of
each answer's first note against its bar line and the share of chord tones on beats 1
and 3.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import numpy as np

from jazz_plugin.corpus.midifile import read_solo_parts
from jazz_plugin.live.clock import InternalClock
from jazz_plugin.live.improviser import Improviser
from jazz_plugin.live.output import Output
from jazz_plugin.live.replan import REPLAN_BUDGET
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import parse_chart
from jazz_plugin.options import RunOptions
from testrig.trade import (
    CALL,
    CHART,
    CHORD_CHANNEL,
    call_events,
    comp_events,
    trade_session,
)

from .table import Row, stats


def candidate_search_times(n: int, reps: int, bars: int = 2, scored: bool = False) -> list[float]:
    """Seconds to search `n` candidate answers of `bars` bars after a primed call (`scored`:
    and to choose among them as the daemon does: develop, likelihood, the critic's batch)."""
    engine = Engine()
    chart = parse_chart(CHART)
    voice = Voice(engine, Sampler(seed=0), 48, 84, chart)
    planner = AnswerPlanner(voice, chart)
    rules = AnswerRules("beat", 0, 1, 1, n, 0.5, critic=1.0)
    call = [Note(6 * i, p, 6) for i, p in enumerate(CALL)]
    times = []
    for _ in range(reps):
        voice.begin(call[-1].pitch, 48, call)
        t = time.perf_counter()
        if scored:
            planner.extend(48 + bars * 48, call, rules)
        else:
            voice.candidates(n, 48 + bars * 48)
        times.append(time.perf_counter() - t)
    return times


def replan_rows(reps: int) -> list[Row]:
    """A replan of the rest of a 2-bar answer (1 bar or 2 bars still to come) next to the
    full search of that answer, 16 candidates, the shipped model."""
    harmony = parse_chart(CHART)
    planner = AnswerPlanner(Voice(Engine(), Sampler(seed=0), 48, 84, harmony), _Keyless(harmony))
    rules = AnswerRules.of(RunOptions())
    call = [Note(6 * i, p, 6) for i, p in enumerate(CALL)]
    times: dict[str, list[float]] = {"full": [], "2": [], "1": []}
    for _ in range(reps):
        t = time.perf_counter()
        plan = planner.search(call, 48, 2, rules)
        times["full"].append(time.perf_counter() - t)
        for left in (2, 1):
            t = time.perf_counter()
            planner.replan(plan, plan.end - left * 48, rules)
            times[str(left)].append(time.perf_counter() - t)
    rows, (base, _p99) = [], stats(times["full"], 1e3)
    for key, what in (("full", "full search, 2-bar answer"), ("2", "replan, 2 bars to go"),
                      ("1", "replan, 1 bar to go")):
        med, p99 = stats(times[key], 1e3)
        rows.append(Row("replan", what, med, p99, "ms", med / base,
                        f"{reps} each; 16 candidates, batched; budget "
                        f"{REPLAN_BUDGET * 1e3:.0f} ms kept clear"))
    return rows


class _Keyless:
    """A chart as the planner's harmony (a chart assumes no key)."""

    def __init__(self, chart) -> None:
        self.chart = chart

    def at(self, tick: float) -> tuple[int, int]:
        return self.chart.at(int(tick))

    def assume(self, notes) -> None:
        pass


def replan_effect_rows(seeds: int) -> list[Row]:
    """The first trade of the probe, before any form can be learned, on a fake clock with
    the shipped model: the chart given as `--changes`, then the chords comped live (planned
    over G7; Cmaj7 and A7 an eighth early under the answer) without replanning, then with
    it; chord tones on beats 1 and 3 of the answers, over `seeds` seeds."""
    rows, base = [], None
    for how in ("chart (--changes)", "live chords, no replan", "live chords, replanned"):
        strong = tones = 0
        for seed in range(seeds):
            s, t = _first_trade(seed, how)
            strong, tones = strong + s, tones + t
        share = tones / strong if strong else float("nan")
        base = base or share
        rows.append(Row("harmony, first trade", how, share, float("nan"), "share",
                        share / base, f"{tones}/{strong} notes on beats 1 and 3, {seeds} "
                        "seeds, fake clock, no form learned yet"))
    return rows


def _first_trade(seed: int, how: str) -> tuple[int, int]:
    """(answer notes on beats 1 and 3, chord tones among them) of one first trade."""
    clock = InternalClock(120, 0.0)
    played: list[tuple[float, int]] = []
    output = Output(lambda _m: None, 0)
    chart = how.startswith("chart")
    options = (RunOptions(mode="trade", trade_bars=2, changes=CHART) if chart else
               RunOptions(mode="trade", trade_bars=2, chord_channel=CHORD_CHANNEL))
    imp = Improviser(Engine(), Sampler(seed=seed), options, clock, output,
                     chart=parse_chart(CHART) if chart else None)
    if how.endswith("no replan"):  # the baseline: the plan is never followed, so never replanned
        imp.replanner.follow = lambda _plan: None
    now = [0.0]
    output.listener = lambda pitch, vel: vel and played.append((clock.tick_at(now[0]), pitch))
    changes = parse_chart(CHART)
    events = call_events(0.0, 0.5, 2, 1) + ([] if chart else comp_events(changes, 0.0, 0.5, 4))
    for t, msg in sorted(events, key=lambda e: e[0]) + [(8.5, None)]:
        while (wake := imp.next_wakeup(now[0])) is not None and wake <= t:
            now[0] = max(now[0], wake)
            imp.poll(now[0])
        now[0] = t
        if msg is not None:
            imp.on_midi(t, msg)
        imp.poll(t)
    strong = [(round(k), p) for k, p in played if round(k) % 24 == 0]
    return len(strong), sum(bool(changes.at(k)[0] >> (p % 12) & 1) for k, p in strong)


def chord_tone_rows(rounds: int, bpm: float = 120) -> list[Row]:
    """The trade probe of issue 17: the same trades over the chart given as `--changes`,
    then comped live on channel 2 an eighth early; chord tones on beats 1 and 3 of the
    answers, side by side (random pitches score about 0.33). Read from each session's
    recording (`--record`), on the daemon's own grid, so the peer's timing under load does
    not decide which notes count."""
    rows, base = [], None
    for comp in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "probe.mid")
            res = trade_session(bpm, bars=2, rounds=rounds, comp=comp, args=("--record", path))
            strong, tones = strong_chord_tones(path, parse_chart(CHART))
        share = tones / strong if strong else float("nan")
        base = base or share
        what = "live chords, comped an eighth early" if comp else "chart (--changes)"
        rows.append(Row("harmony", what, share, float("nan"), "share", share / base,
                        f"chord tones on beats 1 and 3: {tones}/{strong} answer notes, "
                        f"{res.answers} trades, {bpm:.0f} BPM external clock, "
                        f"{replans(res.stderr)} replans"))
    return rows


def strong_chord_tones(path: str, changes) -> tuple[int, int]:
    """(answer notes on beats 1 and 3, those that are tones of the chart's chord there),
    from a recording's Solo track."""
    solo, _changes, _info = read_solo_parts(path)
    strong = tones = 0
    for pitch, start, _end in solo:
        tick = start * 12
        if abs(tick - round(tick)) <= 0.25 and round(tick) % 24 == 0:
            strong += 1
            tones += bool(changes.at(round(tick))[0] >> (pitch % 12) & 1)
    return strong, tones


def replans(stderr: str) -> int:
    """The replans the daemon counted (its closing stats line), 0 when it says none."""
    found = re.search(r"replans (\d+)", stderr)
    return int(found.group(1)) if found else 0


def run(quick: bool) -> list[Row]:
    rows = []
    reps = 20 if quick else 100
    base = None
    for n in (1, 16):
        med, p99 = stats(candidate_search_times(n, reps), 1e3)
        base = base or med
        rows.append(Row("answer search", f"{n} candidate(s) x 2 bars, shipped model", med,
                        p99, "ms", med / base, f"{reps} searches; batched onnxruntime steps"))
    med, p99 = stats(candidate_search_times(16, reps, scored=True), 1e3)
    critic = "with the critic" if Engine().critic else "the model has no critic"
    rows.append(Row("answer search", "16 candidates x 2 bars, scored and chosen", med, p99, "ms",
                    med / base, f"{reps} searches; likelihood, develop, {critic}; target "
                    f"<= 25 ms"))
    for bpm in (120, 240):
        res = trade_session(bpm, bars=2, rounds=2 if quick else 4)
        errs = np.abs(res.first_errors_ms)
        med = float(np.median(errs)) if len(errs) else float("nan")
        rows.append(Row(f"trade {bpm} BPM", "|first answer note - its bar line|", med,
                        float(np.max(errs)) if len(errs) else float("nan"), "ms", float("nan"),
                        f"p99 column = max; {res.answers} answers, external clock, 2-bar "
                        f"turns; {res.overlaps} notes in the musician's turns"))
    rows += replan_rows(reps)
    rows += replan_effect_rows(10 if quick else 40)
    rows += chord_tone_rows(4 if quick else 8)
    return rows
