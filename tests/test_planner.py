"""The answer planner on the shipped model: windows, per-token states, replanning."""

import numpy as np
import pytest

from jazz_plugin.live.chordsource import Harmony
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_BAR
from jazz_plugin.options import RunOptions

ENGINE = Engine()
CALL = [Note(0, 60, 6), Note(6, 62, 6), Note(12, 64, 12), Note(24, 67, 24)]


def planner(seed=0, argmax=False):
    harmony = Harmony()
    voice = Voice(ENGINE, Sampler(seed=seed, argmax=argmax), 48, 84, harmony)
    return AnswerPlanner(voice, harmony)


def test_the_window_starts_on_the_next_beat_at_least_the_margin_after_the_call():
    rules = AnswerRules.of(RunOptions())
    start, bars = AnswerPlanner.window(58, CALL, rules, bpm=120)
    assert (start, bars) == (60, 1)  # 2 ticks = 83 ms later: the next beat
    start, _ = AnswerPlanner.window(59.99, CALL, rules, bpm=120)
    assert start == 72  # 0.4 ms is under START_MARGIN: the beat after
    start, _ = AnswerPlanner.window(58, CALL, AnswerRules.of(RunOptions(answer_on="bar")), 120)
    assert start == 2 * TICKS_PER_BAR  # the next bar line after tick 58
    long_call = [Note(0, 60, 12), Note(5 * TICKS_PER_BAR, 62, 12)]
    _, bars = AnswerPlanner.window(6 * TICKS_PER_BAR, long_call, rules, bpm=120)
    assert bars == 6  # as long as the call, within min_bars..max_bars
    _, bars = AnswerPlanner.window(6 * TICKS_PER_BAR, long_call,
                                   AnswerRules.of(RunOptions(max_bars=3)), bpm=120)
    assert bars == 3


def test_a_plan_keeps_the_state_after_each_token():
    p = planner()
    rules = AnswerRules.of(RunOptions(candidates=4))
    plan = p.search(CALL, 60, 2, rules)
    line = plan.line
    assert line.tokens and len(line.states) == len(line.tokens)
    assert plan.notes and all(60 <= n.start < plan.end for n in plan.notes)
    # the same tokens stepped one at a time from the same primed voice give the same states
    again = planner()
    again.prime(CALL, 60)
    voice = again.voice
    for k, token in enumerate(line.tokens):
        voice.line.decoder.feed(token)
        probs = voice._feed(token)
        kept_probs, h, c = line.states[k]
        assert np.allclose(h, ENGINE.h, atol=1e-5) and np.allclose(c, ENGINE.c, atol=1e-5)
        assert np.allclose(kept_probs, probs, atol=1e-5)


def test_replanning_from_a_tick_keeps_what_came_before_and_ends_where_the_plan_ends():
    p = planner(seed=3)
    rules = AnswerRules.of(RunOptions(candidates=8))
    plan = p.search(CALL, 60, 2, rules)
    tick = plan.start + TICKS_PER_BAR
    k = plan.tokens_before(tick)
    again = p.replan(plan, tick, rules)
    assert again.line.tokens[:k] == plan.line.tokens[:k]
    assert [n for n in again.notes if n.start < tick] == [n for n in plan.notes if n.start < tick]
    assert len(again.line.states) == len(again.line.tokens)
    durs = [ENGINE.codec.tokens[t].dur for t in plan.line.tokens]
    assert p.voice.tick == plan.start + sum(durs[:k]) >= tick  # it went on from token k
    ticks = plan.start + sum(ENGINE.codec.tokens[t].dur for t in again.line.tokens)
    assert ticks >= plan.end and ticks - ENGINE.codec.tokens[again.line.tokens[-1]].dur < plan.end


@pytest.mark.parametrize("seed", [0, 1])
def test_a_single_step_is_a_batch_of_one(seed):
    """`next` and a batch of one candidate choose the same tokens from the same state."""
    streamed, batched = planner(seed), planner(seed)
    for p in (streamed, batched):
        p.prime(CALL, 60)
    line = batched.voice.candidates(1, 60 + TICKS_PER_BAR)[0]
    tokens = [streamed.voice.next()[1] for _ in line.tokens]
    assert tokens == line.tokens
