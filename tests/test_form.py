"""Learning the form from chords played live: the blues and AABA after one pass, a
departure drops it within a bar, a Song Position Pointer jump keeps it aligned."""

import threading

import pytest
from test_improviser import SEC_PER_TICK, Rig

from jazz_plugin.live.controls import Controls
from jazz_plugin.live.form import FormLearner, similar
from jazz_plugin.live.osc import parse
from jazz_plugin.live.surface import Surface
from jazz_plugin.music.harmony import parse_chord
from jazz_plugin.options import RunOptions
from testrig.jackrig import wait_for
from testrig.liverig import OscInbox, OscSender

BLUES = ["F7", "Bb7", "F7", "F7", "Bb7", "Bb7", "F7", "D7", "Gm7", "C7", "F7", "C7"]
A = ["Cmaj7", "Am7", "Dm7", "G7", "Cmaj7", "Am7", "Dm7", "G7"]
B = ["E7", "E7", "A7", "A7", "D7", "D7", "G7", "G7"]
AABA = A[:6] + ["Dm7", "Cmaj7"] + A[:6] + ["Dm7", "Cmaj7"] + B + A[:6] + ["Dm7", "Cmaj7"]
BAR = 48 * SEC_PER_TICK
EIGHTH = 6 * SEC_PER_TICK


def voicing(name: str, octave: int = 48) -> list[int]:
    mask = parse_chord(name).mask
    return [octave + pc for pc in range(12) if mask >> pc & 1]


def played(bars: list[str]):
    """A learner's view of chords held bar by bar, each struck an eighth early or late."""
    def mask_at(tick: float) -> int:
        bar = int((tick + 6 * (-1) ** int(tick // 48)) // 48)  # early, late, early, ...
        return parse_chord(bars[bar % len(bars)]).mask if bar >= 0 else 0
    return mask_at


def run(learner: FormLearner, mask_at, bars: float, start: float = 0.0) -> None:
    tick = start
    while tick <= start + bars * 48:
        learner.advance(tick, mask_at)
        tick += 6


@pytest.mark.parametrize("form, bars", [(BLUES, 12), (AABA, 32), (A[:4], 4),
                                        (A[:4] + B[:4], 8)])
def test_the_form_is_learned_after_one_pass_and_a_bar_of_the_next(form, bars):
    learner = FormLearner()
    run(learner, played(form), len(form) + 0.5)
    assert learner.chart is None  # one pass alone proves nothing
    run(learner, played(form), 0.75, start=(len(form) + 0.5) * 48)
    assert learner.bars == bars and learner.text() == f"form {bars} bars (learned)"
    for k, name in enumerate(form * 2):  # a chart: lookahead into the next chorus
        assert learner.chart.at(k * 48 + 30)[0] == parse_chord(name).mask
    assert learner.chart.at(11 * 48 + 30)[1] == parse_chord(form[(12) % len(form)]).mask


def test_a_revoiced_chord_is_the_same_chord_and_a_new_one_is_a_departure():
    learner = FormLearner()
    chords = list(BLUES)
    run(learner, played(chords), 13.2)
    assert learner.bars == 12
    revoiced = BLUES[:3] + ["F9"] + BLUES[4:]  # F9 for F7 in bar 4
    assert similar(parse_chord("F7").mask, parse_chord("F9").mask)
    run(learner, played(revoiced), 3.0, start=13.25 * 48)
    assert learner.bars == 12
    departed = BLUES[:4] + ["Ebmaj7"] + BLUES[5:]  # bar 17 = bar 5 of the chorus
    run(learner, played(departed), 1.0, start=16.25 * 48)
    assert learner.chart is None  # within one bar of the departure
    assert learner.events[-1].startswith("dropped: bar 17")


def test_a_jump_keeps_the_learned_form_aligned_to_the_song_position():
    learner = FormLearner()
    run(learner, played(BLUES), 13.5)
    assert learner.bars == 12
    run(learner, played(BLUES), 2.0, start=3 * 48)  # the DAW loops back to bar 4
    assert learner.bars == 12
    assert learner.chart.at(4 * 48 + 30)[0] == parse_chord(BLUES[4]).mask


def comp(rig: Rig, form: list[str], choruses: float, t0: float = 0.0, call=True) -> None:
    """Chords on channel 2, each struck an eighth early and held, and a call in every
    musician's turn of a 2-bar trade."""
    events = []
    held: list[int] = []
    for k in range(int(len(form) * choruses)):
        t = max(t0 + k * BAR - EIGHTH, 0.0)
        events += [(t, (0x81, p, 0)) for p in held]
        held = voicing(form[k % len(form)])
        events += [(t + 0.001 * i, (0x91, p, 70)) for i, p in enumerate(held)]
        if call and (k // 2) % 2 == 0:
            for i, p in enumerate([65, 69, 72, 70]):
                start = t0 + k * BAR + 0.01 + i * 0.5
                events += [(start, (0x90, p, 90)), (start + 0.3, (0x80, p, 0))]
    for t, msg in sorted(events, key=lambda e: e[0]):
        rig.midi(t, *msg)


@pytest.mark.parametrize("form", [BLUES, AABA])
def test_after_one_pass_the_next_choruses_answers_are_planned_over_the_coming_chords(form):
    seen = []
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2)

    def log(text: str) -> None:
        if text.startswith("trade:"):  # the answer is planned now, for the next two bars
            tick = rig.clock.tick_at(rig.now)
            start = (int(tick) // 96 + 1) * 96
            seen.append((start // 48, rig.imp.harmony.source(tick),
                         [rig.imp.harmony.at(start + 48 * b + 30)[0] for b in range(2)]))
        logged.append(text)

    logged = []
    rig.imp.log = log
    comp(rig, form, 2.0)
    learned = [text for text in logged if text.startswith("form learned")]
    # AABA: its A's first bars repeat (a 4-bar loop?), then the A (8 bars?); each guess is
    # dropped at the bar that departs from it, and 32 bars are learned after one pass
    assert learned[-1] == f"form learned: {len(form)} bars", logged
    n = len(form)
    after = [(bar, source, masks) for bar, source, masks in seen if bar >= n + 2]
    assert after and all(source == "form" for _bar, source, _m in after)
    for bar, _source, masks in after:  # the chords of bars not yet played, known ahead
        assert masks == [parse_chord(form[(bar + b) % n]).mask for b in range(2)], bar
    if form is BLUES:  # nothing repeats within a chorus: it followed the played chords
        assert "form" not in [source for bar, source, _m in seen if bar < n]


def test_a_departure_drops_the_form_within_a_bar_and_the_live_chord_is_followed():
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2)
    logged: list[str] = []
    rig.imp.log = logged.append
    comp(rig, BLUES, 1.25, call=False)
    rig.advance(15 * BAR)
    assert rig.imp.harmony.form.bars == 12
    t = 15 * BAR - EIGHTH
    for p in voicing(BLUES[3]):  # bar 16 (4 of the chorus): F7 ...
        rig.midi(t, 0x81, p, 0)
    for p in voicing("Ebmaj7"):  # ... but the band plays Ebmaj7
        rig.midi(t, 0x91, p, 70)
    rig.advance(t + 0.1)  # dropped as soon as it is struck, before its bar begins
    assert rig.imp.harmony.form.chart is None
    assert rig.imp.harmony.source(rig.clock.tick_at(t + 0.1)) == "played"
    assert "form dropped: bar 16 departs from it" in logged
    rig.advance(16 * BAR)
    assert rig.imp.harmony.form.chart is None and rig.imp.harmony.source(16 * 48) == "played"
    assert rig.imp.harmony.at(16 * 48)[0] == parse_chord("Ebmaj7").mask


def test_osc_asks_for_the_form_and_forgets_it():
    """Over a real UDP socket on loopback, through the daemon's own OSC surface."""
    assert parse("/jazz/form", [], "") == ("form", None)
    rig = Rig(mode="trade", trade_bars=2, chord_channel=2)
    inbox = OscInbox()
    log: list[str] = []
    rig.imp.log = log.append
    surface = Surface(RunOptions(osc=0, osc_reply=f"127.0.0.1:{inbox.port}"), Controls(),
                      None, threading.Event(), log.append)
    sender = OscSender(surface.osc.port)
    try:
        surface.attach(rig.imp, rig.output)
        comp(rig, BLUES, 1.25, call=False)
        rig.advance(14 * BAR)

        def ask(address: str) -> None:
            since = sender.send(address)
            assert wait_for(lambda: surface.osc.queue, 2)
            surface.before_poll(rig.imp, rig.now)
            rig.imp.poll(rig.now)
            surface.after_poll(rig.imp, rig.now)
            return since

        since = ask("/jazz/form")
        assert "form: 12 bars (learned)" in log
        assert wait_for(lambda: inbox.first("form", "12 bars (learned)", since), 2)
        since = ask("/jazz/form/forget")
        assert rig.imp.harmony.form.chart is None
        assert "form forgotten (OSC): following the played chords" in log
        assert wait_for(lambda: inbox.first("form", "none", since), 2), inbox.values("form")
    finally:
        surface.close()
        sender.close()
        inbox.close()
