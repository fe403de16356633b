"""Replanning an answer when a live chord changes under it (fake clock, real model)."""

import io

import numpy as np
import pytest
from test_improviser import SEC_PER_TICK, Rig

from jazz_plugin.live import status as status_module
from jazz_plugin.live.clock import InternalClock
from jazz_plugin.live.replan import REPLAN_BUDGET
from jazz_plugin.live.scheduler import Scheduler
from jazz_plugin.live.status import StatusLine
from jazz_plugin.music.harmony import Changes, parse_chord

CHORDS = ["Dm7", "G7", "Cmaj7", "A7"]
BAR = 48 * SEC_PER_TICK
EIGHTH = 6 * SEC_PER_TICK


def voicing(name: str) -> list[int]:
    mask = parse_chord(name).mask
    return [48 + pc for pc in range(12) if mask >> pc & 1]


def trade(rig: Rig, bars: int = 4, early: float = EIGHTH) -> list[tuple[float, int]]:
    """Chords on channel 2 an eighth early, a call in bars 1-2; returns where each replan
    started (the time it was made, its tick)."""
    replans = []

    def log(text: str) -> None:
        if text.startswith("replanned"):
            replans.append((rig.now, rig.imp.replanner.last_tick))

    rig.imp.log = log
    events, held = [], []
    for k in range(bars):
        t = max(k * BAR - early, 0.0)
        events += [(t, (0x81, p, 0)) for p in held]
        held = voicing(CHORDS[k % 4])
        events += [(t + 0.001 * i, (0x91, p, 70)) for i, p in enumerate(held)]
    for i, p in enumerate([62, 65, 69, 72, 71, 67, 65, 62]):
        events += [(0.01 + i * 0.5, (0x90, p, 90)), (0.3 + i * 0.5, (0x80, p, 0))]
    for t, msg in sorted(events, key=lambda e: e[0]):
        rig.midi(t, *msg)
    rig.advance(bars * BAR + 0.5)
    return replans


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_chord_comped_under_the_answer_replans_the_rest_over_it(seed):
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2, argmax=False)
    rig.imp.sampler.rng = np.random.default_rng(seed)
    replans = trade(rig)
    # planned in bar 2's last beat over G7; Cmaj7 (bar 3) and A7 (bar 4) came an eighth early
    # (a replan starts at the first token after its budget: up to an eighth before the bar)
    assert [(tick + 6) // 48 for _made, tick in replans] == [2, 3]
    assert rig.imp.replanner.count == 2
    ons, offs = rig.notes()
    assert ons and all(2 * BAR - 1e-9 <= t < 4 * BAR for t, _p in ons)
    for (made, tick), name in zip(replans, ["Cmaj7", "A7"]):
        assert tick * SEC_PER_TICK >= made + REPLAN_BUDGET - 1e-9  # never in the past
        first = [(t, p) for t, p in ons if t >= tick * SEC_PER_TICK - 1e-9][0]
        assert parse_chord(name).mask >> (first[1] % 12) & 1, (name, first)  # it fits
    # what sounded is the last plan, note for note: the notes before each replan kept
    # their ends (none cut), and nothing of the lines given up was left behind
    plan = rig.imp.replanner.plan or rig.imp.replanner.last_plan
    end = plan.end
    played = [(n.start * SEC_PER_TICK, n.pitch, min(n.start + n.dur, end) * SEC_PER_TICK)
              for n in plan.notes]
    assert [(t, p) for t, p, _e in played] == pytest.approx(ons)
    assert sorted((e, p) for _t, p, e in played) == pytest.approx(sorted(offs))
    assert rig.imp.sched.missed == 0 and rig.output.sounding == set()


def test_no_replan_once_the_form_gives_the_coming_chords():
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2)
    replans = trade(rig, bars=16)
    assert rig.imp.harmony.form.bars == 4 and rig.imp.status.answers == 4
    assert replans and all(tick < 6 * 48 for _made, tick in replans)  # the first trades only


def test_nothing_replans_over_a_chart():
    rig = Rig(mode="trade", trade_bars=2, changes="| Dm7 | G7 | Cmaj7 | A7 |")
    for i, p in enumerate([62, 65, 69, 72, 71, 67, 65, 62]):
        rig.midi(0.01 + i * 0.5, 0x90, p, 90)
        rig.midi(0.3 + i * 0.5, 0x80, p, 0)
    rig.advance(4 * BAR + 0.5)
    assert rig.imp.status.answers == 1 and rig.imp.replanner.count == 0


def test_the_scheduler_drops_later_notes_and_keeps_the_end_of_one_sounding():
    clock = InternalClock(120, 0.0)
    sched = Scheduler(clock)
    sched.add_note(0, 10, 60, 80)  # sounding across the replan at tick 6
    sched.add_note(6, 12, 62, 80)
    sched.add_note(12, 18, 64, 80)
    assert [e.pitch for e in sched.due(0.0)] == [60]
    sched.drop_from(6)
    assert [(e.tick, e.is_on, e.pitch) for e in sched.heap] == [(10, False, 60)]


def test_a_chord_sent_over_osc_under_the_answer_replans_it():
    rig = Rig(mode="trade", trade_bars=2, argmax=False)  # candidates that differ
    rig.imp.set_chart(Changes([(0, parse_chord("G7"))], loop_ticks=48))  # /jazz/chord G7
    for i, p in enumerate([62, 65, 69, 72, 71, 67, 65, 62]):
        rig.midi(0.01 + i * 0.5, 0x90, p, 90)
        rig.midi(0.3 + i * 0.5, 0x80, p, 0)
    rig.advance(2 * BAR + 0.3)
    assert rig.imp.status.answers == 1 and rig.imp.replanner.count == 0
    rig.imp.set_chart(Changes([(0, parse_chord("Cmaj7"))], loop_ticks=48))  # /jazz/chord
    rig.midi(2 * BAR + 0.31, 0xFE)  # (active sensing: any input wakes the loop, as OSC does)
    rig.advance(4 * BAR)
    assert rig.imp.replanner.count == 1
    tick = rig.imp.replanner.last_tick
    first = [p for t, p in rig.notes()[0] if t >= tick * SEC_PER_TICK - 1e-9][0]
    assert parse_chord("Cmaj7").mask >> (first % 12) & 1


class Terminal(io.StringIO):
    """What the status line writes to, as a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_status_line_shows_the_replan_and_the_learned_form(monkeypatch):
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2)
    trade(rig, bars=8)
    assert rig.imp.harmony.form.bars == 4
    screen = Terminal()
    monkeypatch.setattr(status_module.time, "monotonic",
                        lambda: rig.imp.replanner.last_time + 0.5)
    StatusLine(stream=screen).show(rig.imp, "in=a out=b", 0, 0)
    line = screen.getvalue()
    r = rig.imp.replanner
    assert r.count >= 2 and f"replanned at bar {r.last_bar} ({r.count})" in line
    assert "form 4 bars (learned)" in line
