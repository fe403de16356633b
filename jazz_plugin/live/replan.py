"""Replan an answer when a live chord changes under it.

An answer is planned ahead (in the last beat of a trading turn, or just before a phrase
ends) over the chords known then. Chords played live (the chord channel, the split, OSC
`/jazz/chord`) change while it plays: a pianist pushes the next chord an eighth early. When
the harmony at a token still to come is not the chord the plan assumed there, the rest of
the answer is searched again from the model's state at that token (the plan keeps them),
with the same batched candidate search, scoring only what is still to come
(`AnswerPlanner.replan`). The note sounding is not cut; the new line starts at the first
token after it, with a note that fits the new chord where a candidate has one.

A replan never delays a scheduled note: it runs only when nothing is due within
REPLAN_BUDGET (else right after what is due), and the new line starts no sooner than that.
"""

from __future__ import annotations

from collections.abc import Callable

from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.live.timebase import Clock
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules, Plan
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT

REPLAN_BUDGET = 0.100  # seconds kept clear for a replan: above its p99 over 2 bars (bench)
SETTLE_TICKS = 1.0  # a chord struck is left this long for all its keys to arrive
SHOWN = 2.0  # seconds the status line shows the last replan
LIVE = ("played", "form", "chart")  # harmony sources that can change under a plan (not the key)


class Replanner:
    """Follows the plan being played; `poll` replans it when the harmony moved under it."""

    def __init__(self, planner: AnswerPlanner, harmony, clock: Clock, sched: Scheduler,
                 schedule: Callable, log: Callable[[str], None]) -> None:
        self.planner, self.harmony, self.clock, self.sched = planner, harmony, clock, sched
        self.schedule = schedule  # a note to the scheduler, as the player does it
        self.log = log
        self.plan: Plan | None = None
        self.last_plan: Plan | None = None  # the one that played to its end
        self.count = 0  # replans made (the closing stats)
        self.last_time = -float("inf")  # when the last one was made
        self.last_bar = 0
        self.last_tick = 0  # where the last replan's new line starts

    def follow(self, plan: Plan | None) -> None:
        """The plan now playing (None: nothing planned plays)."""
        self.plan = plan

    def text(self, now: float) -> str:
        """For the status line, a while after a replan."""
        if now - self.last_time > SHOWN:
            return ""
        return f"replanned at bar {self.last_bar} ({self.count})"

    def next_time(self, now: float) -> float | None:
        """When a chord struck under the plan will have settled (None: nothing to wait
        for)."""
        struck = self._struck()
        if self.plan is None or struck is None or not self.clock.running:
            return None
        at = self.clock.time_of(struck + SETTLE_TICKS)
        return at if at > now else None

    def _struck(self) -> float | None:
        history = self.harmony.played.history
        return history[-1][0] if history else None

    def poll(self, now: float, rules: AnswerRules) -> None:
        """Replan the rest of the plan if the harmony under it is not what it assumed."""
        plan = self.plan
        if plan is None or not self.clock.running:
            return
        tick = self.clock.tick_at(now)
        if tick >= plan.end:
            self.last_plan, self.plan = plan, None
            return
        struck = self._struck()
        if struck is not None and tick - struck < SETTLE_TICKS - 1e-6:
            return  # the keys of a chord are still arriving
        if self.harmony.source(tick) not in LIVE:
            return
        ticks = plan.token_ticks()
        earliest = self.clock.tick_at(now + REPLAN_BUDGET)
        k = next((i for i, t in enumerate(ticks) if t >= earliest), len(ticks))
        if all(self.harmony.at(t)[0] == c for t, c in zip(ticks[k:], plan.chords[k:])):
            return
        due = self.sched.next_time()
        if due is not None and due - now < REPLAN_BUDGET:
            return  # after what is due (the loop wakes for it and polls again)
        self._replan(plan, ticks[k], rules, now)

    def _replan(self, plan: Plan, tick: int, rules: AnswerRules, now: float) -> None:
        new = self.planner.replan(plan, tick, rules)
        self.sched.drop_from(tick)
        for note in new.notes:
            if note.start >= tick:
                self.schedule(note)
        self.plan = new
        self.count += 1
        self.last_time = now
        self.last_bar = int(tick // TICKS_PER_BAR) + 1
        self.last_tick = tick
        self.log(f"replanned from bar {self.last_bar} beat "
                 f"{int(tick % TICKS_PER_BAR) // TICKS_PER_BEAT + 1}: the chord changed")
