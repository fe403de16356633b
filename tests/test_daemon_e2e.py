"""The real `jazz-plugin run` process on real JACK MIDI ports, played by a real peer."""

import time

import pytest
from conftest import jazz, one_error_line

from jazz_plugin.live.controls import DEFAULT_CC
from jazz_plugin.live.output import ALL_NOTES_OFF, SUSTAIN_PEDAL
from testrig.jackrig import (
    CC,
    ClockSender,
    Daemon,
    Peer,
    every_note_closed,
    grid_origin_from,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("jack_server")
BPM = 240  # quick bars keep the tests short: a beat is 0.25 s, a bar 1 s


@pytest.fixture
def rig(request):
    args = getattr(request, "param", ())
    daemon = Daemon("--bpm", str(BPM), "--channel", "5", "--low", "55", "--high", "79",
                    "--seed", "1", *args)
    daemon.wait_ready()
    peer = Peer(daemon.client)
    yield daemon, peer
    daemon.stop()
    peer.close()


def test_a_phrase_gets_an_answer_after_the_phrase_end(rig):
    daemon, peer = rig
    last_off = peer.phrase([60, 62, 64, 67, 69, 67])
    assert wait_for(lambda: peer.notes()[0], timeout=5), daemon.stderr
    ons, _ = peer.notes()
    assert ons[0][0] - last_off >= 4 * 60 / BPM * 0.95  # not before a bar of silence
    assert "call of 6 notes; answering 1 bar(s)" in daemon.stderr
    time.sleep(1.5)  # the rest of the one-bar answer
    ons, offs = peer.notes()
    assert {ch for _t, ch, _p in ons} == {4}  # --channel 5
    assert all(55 <= p <= 79 for _t, _ch, p in ons)
    assert len(offs) >= len(ons) - 1  # the answer's notes end as it goes (one may still ring)
    assert daemon.stop() == 0
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account: every note-on
    # got its note-off


# one chord all along: the harmony is the same for both calls (no key estimate that
# grows with every call heard), so the answer depends on the call alone
@pytest.mark.parametrize("rig", [("--argmax", "--answer-on", "bar", "--changes", "| Cmaj7 |")],
                         indirect=True)
def test_argmax_gives_the_same_answer_to_the_same_phrase(rig):
    daemon, peer = rig
    tick, bar = 60 / BPM / 12, 4 * 60 / BPM
    origin = daemon.grid_origin  # tick 0, a bar line
    if origin is None:  # not printed: the first answer opens on a bar line of the grid
        peer.phrase([60, 64, 67])
        assert wait_for(lambda: len(peer.notes()[0]) >= 3, 6), daemon.stderr
        onsets = [t for t, _ch, _p in peer.notes()[0]]
        phase = grid_origin_from(onsets, tick)
        origin = phase + round((onsets[0] - phase) / tick) * tick
        time.sleep(2.0)  # the rest of that answer
    answers: list[list[int]] = []
    for _ in range(2):
        start = time.monotonic()
        # the same place in the bar (the model hears it), aimed a quarter tick early: onsets
        # round to the nearest tick, and sending and timestamping only ever add lateness
        t0 = origin + (int((start + 0.05 - origin) / bar) + 1) * bar - 0.25 * tick
        peer.phrase([62, 65, 69, 72, 71], step=6 * tick, length=4 / 6, t0=t0)
        assert wait_for(lambda s=start: len(peer.notes(s)[0]) > 0, 5), daemon.stderr
        time.sleep(2.5)  # let the one-bar answer finish
        answers.append([p for _t, _ch, p in peer.notes(start)[0]])
    assert answers[0] == answers[1] and len(answers[0]) >= 2, (answers, daemon.stderr)


@pytest.mark.parametrize("rig", [("--clock", "external", "--min-bars", "2", "--swing", "0")],
                         indirect=True)  # straight eighths: every onset on the grid
def test_external_clock_answer_onsets_fall_on_the_clock_grid(rig):
    daemon, peer = rig
    clock = ClockSender(daemon.client, 100)
    clock.start()
    try:
        time.sleep(1.0)
        start = time.monotonic()
        peer.phrase([60, 63, 67, 70, 72, 70, 67, 63], step=0.15)
        assert wait_for(lambda: len(peer.notes(start)[0]) >= 1, 8), daemon.stderr
        time.sleep(5.0)  # the rest of the two-bar answer (2.4 s a bar at 100 BPM)
    finally:
        clock.halt.set()
        clock.join()
    grid = 60 / 100 / 12  # one tick of the 12-per-quarter grid: 50 ms
    first_pulse = clock.pulses[0]
    assert "answering 2 bar(s)" in daemon.stderr
    assert len(peer.notes(start)[0]) >= 2
    for t, _ch, _p in peer.notes(start)[0]:
        k = (t - first_pulse) / grid
        assert abs(k - round(k)) * grid < 0.010, f"onset {t - first_pulse:.4f} s is off the grid"


def test_sigterm_mid_answer_leaves_no_note_hanging(rig):
    daemon, peer = rig
    peer.phrase([60, 62, 64, 65, 67, 69, 71, 72] * 2, step=0.1)
    assert wait_for(lambda: len(peer.notes()[0]) >= 2, 6), daemon.stderr
    assert daemon.stop(15) == 0
    time.sleep(0.1)
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account
    assert [0xB4, SUSTAIN_PEDAL, 0] in peer.controls()
    assert [0xB4, ALL_NOTES_OFF, 0] in peer.controls()
    assert "Traceback" not in daemon.stderr


def test_mute_silences_and_panic_closes_everything(rig):
    daemon, peer = rig
    peer.send(CC, DEFAULT_CC["mute"], 127)
    start = time.monotonic()
    peer.phrase([60, 64, 67])
    time.sleep(2.5)
    assert "call of 3 notes" in daemon.stderr
    assert peer.notes(start)[0] == []  # muted: the answer made no sound
    peer.send(CC, DEFAULT_CC["mute"], 0)
    start = time.monotonic()
    peer.phrase([60, 62, 64, 65, 67, 69, 71, 72] * 2, step=0.1)
    assert wait_for(lambda: len(peer.notes(start)[0]) >= 1, 6), daemon.stderr
    peer.send(CC, DEFAULT_CC["panic"], 127)
    assert wait_for(lambda: [0xB4, ALL_NOTES_OFF, 0] in peer.controls(), 2), daemon.stderr
    assert peer.hanging() == set()
    count = len(peer.notes()[0])
    time.sleep(1.0)
    assert len(peer.notes()[0]) == count  # the answer was dropped, not resumed


def test_unknown_in_port_is_one_clear_error(jack_server):
    proc = jazz("run", "--api", "jack", "--in-port", "no-such-port-anywhere", timeout=30)
    assert "no MIDI input port matches 'no-such-port-anywhere'" in one_error_line(proc)


def test_a_terminal_gets_one_live_status_line(jack_server):
    import os
    import pty
    import select
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "jazz_plugin.cli", "run", "--api", "jack",
                             "--client-name", "jp-tty", "--bpm", "100"], stderr=slave,
                            stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and b"out -" not in out.split(b"\r\x1b[K")[-1]:
        if select.select([master], [], [], 0.1)[0]:  # never block: the line is drawn on change
            out += os.read(master, 4096)
    proc.terminate()
    assert proc.wait(10) == 0
    os.close(master)
    text = out.decode(errors="replace")
    assert "jazz-plugin: ready: in=jp-tty-in:jazz-in out=jp-tty-out:jazz-out" in text, text
    status = text.split("\r\x1b[K")[-1]
    for part in ("jp-tty-in:jazz-in", "100 BPM internal", "call-response", "listening",
                 "in -", "out -"):
        assert part in status, status


def test_verbose_logs_each_answer(jack_server):
    daemon = Daemon("--bpm", str(BPM), "--seed", "5", "-v")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    peer.phrase([60, 64, 67, 72])
    assert wait_for(lambda: "answer: " in daemon.stderr, 6), daemon.stderr
    logged = [int(p) for p in daemon.stderr.split("answer: ")[1].splitlines()[0].split()]
    wait_for(lambda: len(peer.notes()[0]) >= len(logged), 3)  # logged one step ahead
    daemon.stop()
    peer.close()
    heard = [p for _t, _ch, p in peer.notes()[0]]
    assert len(logged) >= 2 and heard == logged, (logged, heard)  # the log is what was played


def test_api_auto_falls_back_to_jack_without_an_alsa_sequencer(jack_server):
    import os

    if os.path.exists("/dev/snd/seq"):
        pytest.skip("this machine has an ALSA sequencer; auto picks ALSA here")
    proc = jazz("ports", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "API: Jack" in proc.stdout or "API: JACK" in proc.stdout, proc.stdout
