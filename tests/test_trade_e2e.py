"""Trading fours (here twos) on a DAW's clock, over real JACK ports: a peer sends MIDI clock
with Start, plays a call in each of its turns, and listens."""

import re

import mido
import pytest

from jazz_plugin.corpus.midifile import read_solo_parts
from jazz_plugin.live.midispec import NOTE_ON
from jazz_plugin.music.harmony import parse_chart
from testrig.trade import CHART, trade_session


def test_trade_answers_land_on_the_bar_line_over_the_chart_and_stay_in_their_turn(
        jack_server):
    res = trade_session(120, bars=2, rounds=2)
    assert res.exit_code == 0, res.stderr
    assert res.answers == 2, res.stderr
    quarter_beat_ms = 60 / 120 / 4 * 1000  # on the bar line, not a beat or a grid step off
    for err in res.first_errors_ms:  # (the bench measures how close: python -m bench)
        assert abs(err) < quarter_beat_ms, res.first_errors_ms
    assert res.overlaps == 0  # nothing sounds in the musician's turns
    # How many of the answers' notes on beats 1 and 3 are chord tones is measured, not
    # asserted, here: two 2-bar answers give 2 to 8 such notes, too few for a share (the
    # model aims at the soloists' ~0.55, not 0.65 as the old search did). python -m bench
    # --only band measures it over many trades.
    assert res.strong >= 2, res.stderr
    assert res.hanging == set() and res.closed, res.stderr


def test_a_recorded_session_reimports_with_the_same_notes_chords_and_bar_lines_after_sigterm(
        jack_server, tmp_path):
    path = tmp_path / "session.mid"
    res = trade_session(120, bars=2, rounds=2, comp=True, args=("--record", str(path)),
                        stop_in_answer=1)  # SIGTERM in the middle of the second answer
    assert res.exit_code == 0, res.stderr
    assert res.hanging == set() and res.closed, res.stderr
    assert f"recorded {path}" in res.stderr
    # the first answer was planned over G7; Cmaj7 and A7 came under it: replanned
    assert int(re.search(r"replans (\d+)", res.stderr).group(1)) >= 1, res.stderr
    tick = 60 / 120 / 12
    t0 = res.pulses[0]  # the DAW's bar 1

    def same_notes(some, notes) -> bool:
        """Each (onset, pitch) of `some` is a note of `notes`, in order (JACK through rtmidi
        may lose an event on the way: README, Limits), at the same place once the latency
        between the two (their median difference, under a beat) is taken out."""
        it, pairs = iter(notes), []
        for t, p in some:
            match = next((s for q, s, _e in it if q == p), None)
            if match is None:
                return False
            pairs.append(t - match)
        lag = sorted(pairs)[len(pairs) // 2]
        return abs(lag) < 1 and all(abs(d - lag) < 0.25 for d in pairs)

    def grid(t):
        return (t - t0) / tick / 12  # quarter notes from the DAW's bar 1

    solo, changes, info = read_solo_parts(str(path))
    solo.sort(key=lambda n: n[1])
    assert info.melody == ["2 'Solo'"] and info.chords == ["3 'Chords'"]
    stats = re.search(r"notes in (\d+), out \d+.*note-ons (\d+)", res.stderr)
    assert len(solo) == int(stats.group(2))  # every note we sent (our own account) ...
    heard = [(grid(t), p) for t, _ch, p in res.ons]
    assert heard and same_notes(heard, solo)  # ... where the peer heard it, on the grid
    assert abs(solo[0][1] - 8.0) < 1 / 48  # the first answer opens our turn: bar 3 of the
    # DAW (as sent: a millisecond or so after its deadline)
    call, _c, _i = read_solo_parts(str(path), "Call")
    call.sort(key=lambda n: n[1])
    assert len(call) == int(stats.group(1))  # every note the daemon heard ...
    played = [(grid(t), m[1]) for t, m in res.sent if m[0] == NOTE_ON]
    assert same_notes([(s, p) for p, s, _e in call], [(p, s, s) for s, p in played])  # as played
    chart = parse_chart(CHART)
    first_bar = 0  # the file starts on the DAW's bar 1: the chords were heard from there
    bars = int(max(e for _p, _s, e in solo) // 4)
    for b in range(first_bar, bars):
        for beat in range(4):
            assert changes.at(b * 48 + beat * 12)[0] == chart.at(b * 48 + beat * 12)[0], (b, beat)
    mid = mido.MidiFile(str(path))
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers == [f"bar {k + 1}" for k in range(len(markers))] and len(markers) >= bars


@pytest.mark.parametrize("bpm", [120, 240])
def test_trading_under_load_never_plays_in_the_musicians_turn_and_opens_on_the_bar_line(
        jack_server, hogs, bpm):
    # two busy processes take both cores for the whole session (the `hogs` fixture)
    res = trade_session(bpm, bars=2, rounds=2)
    assert res.exit_code == 0 and res.answers == 2, res.stderr
    assert res.overlaps == 0, res.stderr  # nothing sounds in the musician's turns
    assert all(abs(err) <= 6.0 for err in res.first_errors_ms), res.first_errors_ms
    assert res.hanging == set() and res.closed, res.stderr
