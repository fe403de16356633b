"""Shared fixtures: a real JACK server, a tiny real model, MIDI file makers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import mido
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_onnx(path: str, inputs: list[tuple[str, int]], outputs: list[tuple[str, int]],
              meta: dict | None = None) -> str:
    """A real ONNX file with [1, width] inputs/outputs (Identity nodes) and optional metadata."""
    import onnx
    from onnx import TensorProto, helper

    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, w]) for n, w in inputs]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, w]) for n, w in outputs]
    nodes = [helper.make_node("Identity", [inputs[i % len(inputs)][0]], [o[0]])
             for i, o in enumerate(outputs)]
    model = helper.make_model(helper.make_graph(nodes, "g", ins, outs),
                              opset_imports=[helper.make_opsetid("", 17)])
    if meta is not None:
        helper.set_model_props(model, meta)
    onnx.save(model, path)
    return path


def jazz_meta(vocab_len: int = 312, n_a: int = 4) -> dict:
    """Our metadata for a 312-value model whose vocabulary has `vocab_len` names."""
    import json

    from jazz_plugin.codec import Codec

    return {"codec": "interval-duration", "codec_version": "1", "n_values": "312",
            "n_a": str(n_a), "tx": "8", "ticks_per_quarter": "12",
            "vocabulary": json.dumps(Codec().names[:vocab_len])}


def jazz(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the real `jazz-plugin` command line in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "jazz_plugin.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=kw.pop("cwd", ROOT), **kw)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """Assert the command failed with exactly one clear error line and no traceback."""
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("jazz-plugin: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def write_midi(path: str, tracks: list[list[mido.Message]], ticks_per_beat: int = 480,
               names: list[str] | None = None, file_type: int = 1) -> str:
    """Write a MIDI file from lists of messages with delta times."""
    mid = mido.MidiFile(type=file_type, ticks_per_beat=ticks_per_beat)
    for i, msgs in enumerate(tracks):
        track = mido.MidiTrack()
        if names:
            track.append(mido.MetaMessage("track_name", name=names[i]))
        track.extend(msgs)
        mid.tracks.append(track)
    mid.save(path)
    return path


def melody_messages(pitches: list[int], beat: int = 240, channel: int = 0) -> list[mido.Message]:
    """A legato line of eighth notes (at 480 ticks per beat)."""
    msgs = []
    for p in pitches:
        msgs.append(mido.Message("note_on", note=p, velocity=90, channel=channel, time=0))
        msgs.append(mido.Message("note_off", note=p, velocity=0, channel=channel, time=beat))
    return msgs


def _jack_running() -> bool:
    import rtmidi

    try:
        probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="pytest-probe")
        probe.open_virtual_port("probe")
        probe.delete()
        return True
    except Exception:
        return False


class JackServer:
    """The JACK server the tests use (dummy driver, 64-frame periods); can be restarted."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        if not _jack_running():
            self.start()

    def start(self) -> None:
        jackd = shutil.which("jackd")
        assert jackd, "jackd is not installed: apt-get install jackd2 (see .ci/run)"
        self.proc = subprocess.Popen([jackd, "--no-realtime", "-d", "dummy", "-r", "48000",
                                      "-p", "64"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _jack_running():
            assert time.monotonic() < deadline, "jackd did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        """Kill the running server, whoever started it."""
        subprocess.run(["pkill", "-x", "jackd"], check=False)
        if self.proc:
            self.proc.wait(5)
            self.proc = None
        deadline = time.monotonic() + 5
        while subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "jackd did not stop"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture(scope="session")
def jack_server():
    """A running JACK server: the one CI started, or our own."""
    server = JackServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A small model trained for real by `jazz-plugin export` (n_a=16, Tx=12)."""
    out = tmp_path_factory.mktemp("tiny")
    proc = jazz("export", "--builtin", "--epochs", "3", "--tx", "12", "--n-a", "16",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return str(out / "model.onnx")
