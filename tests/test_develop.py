"""Scoring candidate answers: chord tones on strong beats, echo of the call, variety."""

from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music import develop
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import parse_chart

C7 = parse_chart("| C7 |")


def line(pitches, step=6, start=0):
    return [Note(start + i * step, p, step) for i, p in enumerate(pitches)]


def test_chord_tones_on_beats_one_and_three():
    on_tones = line([60, 62, 64, 65, 67, 69, 70, 72])  # C, E... on beats 1 and 3: C and G
    off_tones = line([61, 62, 63, 65, 66, 69, 71, 72])
    assert develop.chord_tone_share(on_tones, C7) == 1.0
    assert develop.chord_tone_share(off_tones, C7) == 0.0
    assert develop.chord_tone_share(on_tones, None) is None


def test_echo_counts_transposed_motifs_and_displaced_rhythm():
    call = line([60, 62, 64, 60, 67])
    assert develop.echo(call, call) == 1.0
    up_a_step = line([62, 64, 66, 62, 69], start=48)  # same intervals, same rhythm
    assert develop.echo(up_a_step, call) == 1.0
    unrelated = [Note(0, 60, 12), Note(12, 71, 4), Note(16, 58, 4), Note(20, 66, 28)]
    assert develop.echo(unrelated, call) < 0.3


def test_variety_penalises_exact_self_repetition():
    loop = line([60, 62, 64, 60] * 4)
    fresh = line([60, 62, 64, 67, 65, 64, 62, 60, 59, 57, 59, 60, 64, 67, 72, 71])
    assert develop.variety(loop) < 0.5 < develop.variety(fresh) == 1.0


def test_the_develop_knob_moves_the_choice_between_a_copy_and_a_new_line():
    call = line([60, 62, 64, 60, 67, 64])
    copy = line([60, 62, 64, 60, 67, 64], start=48)
    new = [Note(48 + k * 8, p, 8) for k, p in enumerate([67, 70, 64, 72, 60, 65])]
    harmony = None
    assert develop.best([copy, new], call, harmony, develop=1.0) == 0
    assert develop.best([copy, new], call, harmony, develop=0.0) == 1
    assert pcs_mask([0, 4, 7, 10]) == C7.at(0)[0]


def test_the_loop_guard_bans_the_token_that_would_close_an_exact_loop():
    import numpy as np

    from jazz_plugin.model.voice import LoopGuard
    from jazz_plugin.music.musicality import exact_loop

    guard = LoopGuard()
    stuck = np.array([0.1, 0.5, 0.0, 1.0, 0.2])  # a "model" that always wants token 3
    tokens = []
    for _ in range(64):
        token = int(np.argmax(guard.apply(stuck)))
        guard.feed(token)
        tokens.append(token)
    assert exact_loop(tokens) is None and tokens.count(3) > 48
    cycle = LoopGuard()
    for t in [4, 2, 0] * 5:  # 15 tokens of a period-3 cycle: the 16th would close a loop
        cycle.feed(t)
    assert 4 in cycle.banned()
