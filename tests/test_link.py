"""`--clock link` against our own Ableton Link peer, on real JACK ports.

Never on the real network: each session runs in a private network namespace with only
loopback (`testrig.liverig.in_private_network`, `unshare -n`; we are root, and so is CI). The
JACK server stays outside; its clients reach it through its Unix socket in /dev/shm. No
`unshare` is an error, not a skip.
"""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, jazz, one_error_line

from jazz_plugin import options
from jazz_plugin.live.midispec import ALL_NOTES_OFF
from testrig.liverig import beat_at, grid_errors_ms, in_private_network

pytestmark = pytest.mark.usefixtures("jack_server")
QUANTUM = 4
EARLY_MS = 3.0  # Link's clock agreement between two peers on one machine is well under this
LATE_MS = 6.0  # median lateness a busy machine may add
JACK_DELIVERY = 0.05  # s: a note-on sent just before the stop may still be on its way


def session(*args: str) -> dict:
    """One Link session (`python -m testrig.liverig link ARGS`) in a private network."""
    proc = in_private_network([sys.executable, "-m", "testrig.liverig", "link", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    return json.loads(out)


def first_notes_of_answers(out: dict, gap: float) -> list[float]:
    """Onset times of notes that follow a silence of at least `gap` seconds."""
    firsts, last = [], -1.0
    for t, _ch, _pitch in out["ons"]:
        if t - last >= gap:
            firsts.append(t)
        last = t
    return firsts


def sounding_at(out: dict, t: float) -> set[tuple[int, int]]:
    """(channel, pitch) the peer had heard start and not end by time `t`, as a synth hears
    it: a note-off ends a note, and so does CC 123 (all notes off) for its channel."""
    sounding: set[tuple[int, int]] = set()
    events = sorted([(s, 2, ch, p) for s, ch, p in out["ons"]]
                    + [(s, 1, ch, p) for s, ch, p in out["offs"]]
                    + [(s, 0, m[0] & 0x0F, None) for s, m in out["controls"]
                       if m[1] == ALL_NOTES_OFF])
    for s, kind, ch, p in events:
        if s > t:
            break
        if kind == 2:
            sounding.add((ch, p))
        elif kind == 1:
            sounding.discard((ch, p))
        else:
            sounding = {(c, q) for c, q in sounding if c != ch}
    return sounding


def on_the_grid(errors_ms, least: int = 6) -> bool:
    """Onsets on the peer's grid of 1/12 beats (31 ms at 160 BPM, 42 ms at 120): hardly
    ever early (no MIDI system delivers early: only a wrong mapping, or a note so late that
    it looks early for the next step, can do that), and late by a few ms at most, which a
    loaded machine can add. A wrong phase or tempo scatters them over the whole step
    (median a quarter of it: 8-10 ms)."""
    e = np.asarray(errors_ms)
    return (len(e) >= least and np.mean(e < -EARLY_MS) <= 0.1
            and np.median(np.abs(e)) < LATE_MS)


def test_trading_follows_the_session_tempo_phase_and_bars():
    # the daemon starts at 100 BPM; the peer's session is at 160, then 120
    out = session("--bpm", "160", "--new-bpm", "120", "--seconds", "9", "--mode", "trade",
                  "--daemon-arg=--trade-bars", "--daemon-arg=1", "--daemon-arg=--density",
                  "--daemon-arg=1", "--daemon-arg=--swing", "--daemon-arg=0")  # on the grid
    assert out["exit"] == 0, out["stderr"]
    ev = out["events"]
    before = grid_errors_ms(out, ev["measure"], ev["tempo"])
    after = grid_errors_ms(out, ev["tempo"] + 60 / 120)  # from a beat after the change on
    assert on_the_grid(before), (before, out["stderr"])
    assert on_the_grid(after), (after, out["stderr"])
    # each answer starts on a bar line of the session (beat phase 0 of the quantum)
    firsts = first_notes_of_answers(out, gap=1.2)  # a turn of silence: at least 1.5 s
    phases = [beat_at(out["line"], t) % QUANTUM for t in firsts if t > ev["measure"]]
    assert len(phases) >= 3, out["stderr"]
    assert all(min(p, QUANTUM - p) < 0.05 for p in phases), phases


def test_start_stop_sync_stops_and_restarts_with_the_session():
    out = session("--bpm", "120", "--seconds", "1.5", "--start-stop")
    assert out["exit"] == 0, out["stderr"]
    ev = out["events"]
    assert "clock stopped: all notes closed" in out["stderr"]
    assert "clock started" in out["stderr"]
    # when the daemon says (state out) that it stopped, and started again
    stopped = next(t for t, state in out["states"] if state == "stopped" and t > ev["stop"])
    started = next(t for t, state in out["states"] if state == "playing" and t > stopped)
    assert started > ev["start"]  # only the session's start starts it
    # what sounded when the session stopped was closed with it, and nothing new began
    assert sounding_at(out, ev["start"]) == set(), out["stderr"]
    assert out["hanging"] == [], out["stderr"]
    playing = [t for t, *_ in out["ons"] if ev["measure"] <= t < ev["stop"]]
    silent = [t for t, *_ in out["ons"] if stopped + JACK_DELIVERY <= t < ev["start"]]
    again = [t for t, *_ in out["ons"] if t >= ev["start"]]
    assert playing and not silent and again, (playing, silent, again)
    errors = grid_errors_ms(out, ev["start"])
    assert on_the_grid(errors, least=3), errors  # back on the session's grid


def test_without_aalink_link_is_one_line_saying_how_to_install_it(jack_server):
    code = ("import sys; sys.modules['aalink'] = None; from jazz_plugin.cli import main; "
            "sys.exit(main(['run', '--api', 'jack', '--clock', 'link']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert "pip install 'jazz-plugin[link]'" in one_error_line(proc)
    assert proc.returncode == 2


def test_a_quantum_that_does_not_fit_our_bar_is_refused_before_anything_starts():
    line = one_error_line(jazz("run", "--clock", "link", "--quantum", "3", timeout=60))
    assert "quantum 3 does not fit our 4-beat bar" in line
    for quantum in ("1", "2", "4", "8", "16"):  # these do (checked without joining Link)
        assert options.resolve(argparse.Namespace(quantum=quantum, clock="link")).quantum == (
            int(quantum))
