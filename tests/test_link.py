"""`--clock link` against our own Ableton Link peer, on real JACK ports.

Never on the real network: each session runs in a private network namespace with only
loopback (`bench.liverig.in_private_network`, `unshare -n`; we are root, and so is CI). The
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

from bench.liverig import beat_at, grid_errors_ms, in_private_network
from jazz_plugin import options

pytestmark = pytest.mark.usefixtures("jack_server")
QUANTUM = 4


def session(*args: str) -> dict:
    """One Link session (`python -m bench.liverig link ARGS`) in a private network."""
    proc = in_private_network([sys.executable, "-m", "bench.liverig", "link", *args],
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


def test_trading_follows_the_session_tempo_phase_and_bars():
    # the daemon starts at 100 BPM; the peer's session is at 240, then 180
    out = session("--bpm", "240", "--new-bpm", "180", "--seconds", "6", "--mode", "trade",
                  "--daemon-arg=--trade-bars", "--daemon-arg=1")
    assert out["exit"] == 0 and out["hanging"] == [], out["stderr"]
    ev = out["events"]
    before = np.abs(grid_errors_ms(out, ev["measure"], ev["tempo"]))
    after = np.abs(grid_errors_ms(out, ev["tempo"] + 60 / 180))  # within a beat of the change
    assert len(before) >= 6 and len(after) >= 6, out["stderr"]
    # on the peer's grid (1/12 beat: 20.8 ms at 240 BPM, so a wrong mapping is ~10 ms off)
    for errors in (before, after):
        assert np.median(errors) < 4.0 and np.percentile(errors, 90) < 8.0, errors
    # each answer starts on a bar line of the session (beat phase 0 of the quantum)
    firsts = first_notes_of_answers(out, gap=0.5)
    phases = [beat_at(out["line"], t) % QUANTUM for t in firsts if t > ev["measure"]]
    assert len(phases) >= 3, out["stderr"]
    assert all(min(p, QUANTUM - p) < 0.05 for p in phases), phases


def test_start_stop_sync_stops_and_restarts_with_the_session():
    out = session("--bpm", "120", "--seconds", "1.5", "--start-stop")
    assert out["exit"] == 0 and out["hanging"] == [], out["stderr"]
    ev = out["events"]
    assert "clock stopped: all notes closed" in out["stderr"]
    assert "clock started" in out["stderr"]
    playing = [t for t, *_ in out["ons"] if ev["measure"] <= t < ev["stop"]]
    stopped = [t for t, *_ in out["ons"] if ev["stop"] + 0.2 <= t < ev["start"]]
    again = [t for t, *_ in out["ons"] if t >= ev["start"]]
    assert playing and not stopped and again, (playing, stopped, again)
    errors = np.abs(grid_errors_ms(out, ev["start"]))
    assert np.median(errors) < 4.0, errors  # back on the session's grid


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
