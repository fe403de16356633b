"""Hear it: jazz-plugin -> FluidSynth (a General MIDI soundfont) -> audio frames.

The README's "hear the answer" recipe, run for real on our own JACK server: the daemon
plays, FluidSynth renders what arrives on its JACK MIDI port, and the audio it writes is
not silence. CI installs fluidsynth and the TimGM6mb soundfont (see .ci/run).
"""

import os
import shutil
import subprocess
import time
import wave

import numpy as np

from testrig.jackrig import Daemon, wait_for

SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def jack_ports() -> list[str]:
    return subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split("\n")


def test_the_answer_is_heard_through_fluidsynth(jack_server, tmp_path):
    assert shutil.which("fluidsynth") and os.path.exists(SOUNDFONT), (
        "fluidsynth and timgm6mb-soundfont are needed: see .ci/run")
    wav = str(tmp_path / "heard.wav")
    daemon = Daemon("--mode", "solo", "--bpm", "160", "--seed", "1")
    daemon.wait_ready()
    synth = subprocess.Popen(
        ["fluidsynth", "-a", "file", "-o", f"audio.file.name={wav}", "-m", "jack",
         "-o", "midi.jack.id=hear", "-r", "48000", "-g", "1.0", SOUNDFONT],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: any(p.startswith("hear:") for p in jack_ports()), 10)
        synth_in = next(p for p in jack_ports() if p.startswith("hear:"))
        subprocess.run(["jack_connect", daemon.ports["out"], synth_in], check=True)
        time.sleep(4)
    finally:
        synth.stdin.close()  # its shell ends on end of input and finishes the file
        try:
            synth.wait(10)
        except subprocess.TimeoutExpired:
            synth.kill()
        assert daemon.stop() == 0, daemon.stderr
    with wave.open(wav) as f:
        frames = np.frombuffer(f.readframes(f.getnframes()), np.int16)
    assert len(frames) > 48000  # more than a second of audio came out
    assert np.abs(frames).max() > 300, "the synth rendered silence"
