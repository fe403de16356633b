"""Faults under a real daemon on real JACK ports: lost ports, a restarted server, slow model
steps, and signals at any moment. Nothing may be left sounding."""

import os
import random
import re
import signal
import time
import uuid

import numpy as np
import onnx
import pytest
import rtmidi
from onnx import helper, numpy_helper

from jazz_plugin.live.output import ALL_NOTES_OFF, SUSTAIN_PEDAL
from jazz_plugin.model.engine import default_model_path
from testrig.jackrig import (
    Daemon,
    JackServer,
    Peer,
    every_note_closed,
    unique_server_name,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("jack_server")


class Source:
    """An outside program's MIDI output port (a DAW's), that can quit and come back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open()

    def open(self) -> None:
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=self.name)
        self.out.open_virtual_port("out")

    def close(self) -> None:
        self.out.delete()

    def phrase(self, pitches, step=0.1) -> None:
        for p in pitches:
            self.out.send_message([0x90, p, 100])
            time.sleep(step * 0.8)
            self.out.send_message([0x80, p, 0])
            time.sleep(step * 0.2)


def test_a_named_input_port_that_goes_away_and_comes_back_is_reconnected():
    source = Source(f"daw-{uuid.uuid4().hex[:6]}")
    daemon = Daemon("--in-port", source.name, "--bpm", "240", "--seed", "2")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    try:
        source.phrase([60, 62, 64, 65])
        assert wait_for(lambda: peer.notes()[0], 5), daemon.stderr
        source.close()  # the DAW quits
        assert wait_for(lambda: "input port went away" in daemon.stderr, 5), daemon.stderr
        source.open()  # and comes back
        assert wait_for(lambda: "input port is back: reconnected" in daemon.stderr, 5)
        start = time.monotonic()
        source.phrase([67, 65, 64, 62])
        assert wait_for(lambda: peer.notes(start)[0], 5), daemon.stderr
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0
        peer.close()
        source.close()
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account


def test_the_daemon_survives_a_jack_server_restart(jack_server):
    # a musician's own JACK server runs on the same machine: the restart must not touch it
    bystander = JackServer(unique_server_name("bystander"))
    bystander.start(make_default=False)
    try:
        daemon = Daemon("--bpm", "240", "--seed", "3")
        daemon.wait_ready()
        peer = Peer(daemon.client)
        peer.phrase([60, 64, 67, 72] * 2, step=0.1)
        assert wait_for(lambda: peer.notes()[0], 5), daemon.stderr
        peer.close()
        jack_server.kill()
        assert wait_for(lambda: "JACK server went away" in daemon.stderr, 5), daemon.stderr
        jack_server.start()
        assert wait_for(lambda: "ports reopened" in daemon.stderr, 10), daemon.stderr
        peer = Peer(daemon.client)
        start = time.monotonic()
        peer.phrase([60, 62, 64, 65, 67], step=0.1)
        assert wait_for(lambda: peer.notes(start)[0], 5), daemon.stderr
        assert daemon.stop() == 0
        peer.close()
        assert peer.hanging() == set()
        assert every_note_closed(daemon.stderr), daemon.stderr  # our own account
        assert "Traceback" not in daemon.stderr
        assert bystander.proc.poll() is None and os.path.exists(bystander.socket_path)
    finally:
        bystander.stop()


def slow_model(path: str, matmuls: int = 6) -> str:
    """The shipped model plus a heavy computation that changes nothing: a slow real step."""
    model = onnx.load(default_model_path())
    graph = model.graph
    softmax = next(n for n in graph.node if "probs" in n.output)
    softmax.output[0] = "probs_fast"
    rng = np.random.default_rng(0)
    x = next(i for i in graph.input if i.name == "x")
    width = x.type.tensor_type.shape.dim[1].dim_value  # the model's vocabulary size
    graph.initializer.extend([
        numpy_helper.from_array((rng.standard_normal((width, 1200)) * 0.01).astype(np.float32),
                                "slow_w1"),
        numpy_helper.from_array((rng.standard_normal((1200, 1200)) * 0.01).astype(np.float32),
                                "slow_w2"),
        numpy_helper.from_array(np.array([800, 1], np.int64), "slow_reps"),
        numpy_helper.from_array(np.array(0.0, np.float32), "slow_zero")])
    nodes = [helper.make_node("Tile", ["x", "slow_reps"], ["slow_t"]),
             helper.make_node("MatMul", ["slow_t", "slow_w1"], ["slow_a0"])]
    for k in range(matmuls):
        nodes.append(helper.make_node("MatMul", [f"slow_a{k}", "slow_w2"], [f"slow_a{k + 1}"]))
    nodes += [helper.make_node("ReduceSum", [f"slow_a{matmuls}"], ["slow_s"], keepdims=0),
              helper.make_node("Mul", ["slow_s", "slow_zero"], ["slow_z"]),
              helper.make_node("Add", ["probs_fast", "slow_z"], ["probs"])]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _step_seconds(path: str) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {i.name: np.zeros([1 if isinstance(d, str) else d for d in i.shape], np.float32)
            for i in session.get_inputs()}  # [1, width] each: x, cond, h, c
    session.run(None, feed)
    t = time.perf_counter()
    session.run(None, feed)
    return time.perf_counter() - t


def test_slow_model_steps_are_skipped_and_counted_never_played_in_a_burst(tmp_path):
    bpm = 240
    tick = 60 / bpm / 12
    matmuls = 6
    path = slow_model(str(tmp_path / "slow.onnx"), matmuls)
    while _step_seconds(path) < 4 * tick and matmuls < 96:  # slow enough on any machine
        matmuls *= 2
        path = slow_model(str(tmp_path / "slow.onnx"), matmuls)
    assert _step_seconds(path) > 3 * tick
    daemon = Daemon("--model", path, "--mode", "solo", "--bpm", str(bpm), "--seed", "4")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    time.sleep(6)
    assert daemon.stop() == 0
    peer.close()
    missed = int(re.findall(r"missed deadlines (\d+)", daemon.stderr)[-1])
    assert missed > 0, daemon.stderr
    ons = [t for t, _ch, _p in peer.notes()[0]]
    gaps = np.diff(ons)
    assert len(gaps) == 0 or gaps.min() > tick / 2, "late notes were played in a burst"
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_moment_closes_every_note(sig):
    rng = random.Random(int(sig))
    for _ in range(3):
        daemon = Daemon("--mode", "solo", "--bpm", "300", "--seed", str(rng.randint(0, 99)))
        daemon.wait_ready()
        peer = Peer(daemon.client)
        time.sleep(rng.uniform(0.3, 2.0))  # wherever it is in its line
        assert daemon.stop(sig) == 0, daemon.stderr
        time.sleep(0.1)
        assert peer.notes()[0], "it was playing"
        assert peer.hanging() == set()
        assert every_note_closed(daemon.stderr), daemon.stderr  # our own account
        controls = peer.controls()
        assert [0xB0, SUSTAIN_PEDAL, 0] in controls and [0xB0, ALL_NOTES_OFF, 0] in controls
        last_on = max(i for i, (_t, m) in enumerate(peer.received) if m[0] & 0xF0 == 0x90)
        first_cc = min(i for i, (_t, m) in enumerate(peer.received) if m[0] & 0xF0 == 0xB0)
        assert first_cc > last_on  # nothing sounded after the silencing
        assert "Traceback" not in daemon.stderr
        peer.close()
