"""The terminal closing, Ctrl-\\, SIGUSR1, Ctrl-Z and the thru channels, on real JACK ports:
nothing is left sounding, bent or held down."""

import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from jazz_plugin.corpus.midifile import read_solo_parts
from jazz_plugin.live.midispec import ALL_NOTES_OFF, PITCH_BEND, SUSTAIN_PEDAL
from testrig.jackrig import Daemon, Peer, every_note_closed, wait_for

CC = 0xB0


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGINT])
def test_hup_quit_usr1_and_ctrl_c_silence_save_the_recording_and_exit_like_term(
        jack_server, sig, tmp_path):
    take = tmp_path / "take.mid"
    daemon = Daemon("--mode", "solo", "--bpm", "240", "--seed", "2", "--record", str(take))
    daemon.wait_ready()
    peer = Peer(daemon.client)
    assert wait_for(lambda: peer.notes()[0], 5), "it was playing"
    assert daemon.stop(sig) == 0, daemon.stderr
    time.sleep(0.1)
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account
    assert [CC, ALL_NOTES_OFF, 0] in peer.controls()
    assert f"stopping ({signal.Signals(sig).name})" in daemon.stderr
    ons = int(re.search(r"note-ons (\d+)", daemon.stderr).group(1))
    solo, _changes, _info = read_solo_parts(str(take))  # written whole, on this way out too
    assert len(solo) == ons
    peer.close()


def test_ctrl_z_silences_then_stops_and_fg_listens_again(jack_server):
    daemon = Daemon("--mode", "solo", "--bpm", "240", "--seed", "2")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    assert wait_for(lambda: peer.notes()[0], 5)
    daemon.proc.send_signal(signal.SIGTSTP)

    def stopped() -> bool:
        with open(f"/proc/{daemon.proc.pid}/stat") as f:
            return f.read().split(")")[1].split()[0] == "T"

    assert wait_for(stopped, 5), "the process did not stop"
    time.sleep(0.1)
    assert peer.hanging() == set(), "notes left sounding while suspended"
    assert [CC, ALL_NOTES_OFF, 0] in peer.controls()
    daemon.proc.send_signal(signal.SIGCONT)
    assert wait_for(lambda: "resumed: listening" in daemon.stderr, 5), daemon.stderr
    assert daemon.stop() == 0
    peer.close()


def test_thru_channels_get_pedal_up_bend_centre_and_all_notes_off_on_stop(jack_server):
    daemon = Daemon("--thru", "--channel", "3")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    peer.send(CC | 4, SUSTAIN_PEDAL, 127)  # channel 5: pedal down
    peer.send(PITCH_BEND | 0, 0x00, 0x70)  # channel 1: bent up
    assert wait_for(lambda: [CC | 4, SUSTAIN_PEDAL, 127] in peer.controls(), 5)
    assert daemon.stop() == 0, daemon.stderr
    time.sleep(0.1)
    got = [m for _t, m in peer.received]
    for ch in (0, 2, 4):  # the two thru channels and our own
        assert [CC | ch, SUSTAIN_PEDAL, 0] in got
        assert [PITCH_BEND | ch, 0x00, 0x40] in got
        assert [CC | ch, ALL_NOTES_OFF, 0] in got
    peer.close()


def test_the_status_line_fits_an_80_column_terminal_and_does_not_pile_up(jack_server):
    assert shutil.which("tmux"), "tmux is needed: see .ci/run"
    session = f"jp-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ)
    cmd = (f"cd {os.getcwd()} && python3 -m jazz_plugin.cli run --api jack --client-name "
           f"{session} --mode solo --bpm 200 --changes '| Dm7 G7 | Cmaj7 |'")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd],
                   check=True, env=env)
    try:
        time.sleep(5)
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=False)
        time.sleep(1)
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    lines = [ln for ln in screen.splitlines() if ln.strip()]
    assert any(ln.startswith("jazz-plugin: ready:") for ln in lines), screen
    status = [ln for ln in lines if " BPM " in ln and " | " in ln]
    assert len(status) == 1, screen  # one line, redrawn in place, never wrapped or stacked
    assert len(status[0]) <= 80 and "grid-origin" not in screen
    assert any(sym in status[0] for sym in ("Dm7", "G7", "Cmaj7")), status[0]
