"""Trading fours (here twos) on a DAW's clock, over real JACK ports: a peer sends MIDI clock
with Start, plays a call in each of its turns, and listens."""

from bench.band_bench import trade_session


def test_trade_answers_land_on_the_bar_line_over_the_chart_and_stay_in_their_turn(
        jack_server):
    res = trade_session(120, bars=2, rounds=2)
    assert res.exit_code == 0, res.stderr
    assert res.answers == 2, res.stderr
    quarter_beat_ms = 60 / 120 / 4 * 1000  # on the bar line, not a beat or a grid step off
    for err in res.first_errors_ms:  # (the bench measures how close: python -m bench)
        assert abs(err) < quarter_beat_ms, res.first_errors_ms
    assert res.overlaps == 0  # nothing sounds in the musician's turns
    assert res.strong >= 3 and res.strong_tones / res.strong >= 0.5, (res.strong_tones,
                                                                       res.strong)
    assert res.hanging == set() and res.closed, res.stderr
