"""Shared fixtures: our own JACK server, a tiny real model, MIDI file makers; markers."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import mido
import pytest

from testrig.hogs import CpuHogs
from testrig.jackrig import JackServer, unique_server_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every JACK client in this session, ours and our children's, looks for this server and no
# other, even in a test that never starts one: a musician's running JACK is never touched.
JACK_SERVER_NAME = unique_server_name("jazz-test")
os.environ["JACK_DEFAULT_SERVER"] = JACK_SERVER_NAME
os.environ["JACK_NO_START_SERVER"] = "1"  # and libjack never starts one by itself
# The corpus cache of the tests (and of the commands they run) is theirs alone, never the
# user's ~/.cache/jazz-plugin.
os.environ["XDG_CACHE_HOME"] = os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"jazz-plugin-test-cache-{JACK_SERVER_NAME}")

# `slow` (over ~3 s each, all of a file, or a fixture that trains or imports TensorFlow):
# left out of the inner loop `pytest -m "not slow"`
SLOW_FILES = {"test_ardour.py", "test_soak.py", "test_bench.py", "test_faults.py", "test_export.py",
              "test_trade_e2e.py", "test_hear.py", "test_signals.py", "test_link.py",
              "test_distributed.py", "test_finetune.py"}
# of those, the ones on the JACK server
JACK_FILES = {"test_soak.py", "test_faults.py", "test_trade_e2e.py", "test_hear.py",
              "test_signals.py", "test_link.py"}
SLOW_FIXTURES = {"tiny_model", "models"}  # `jazz-plugin export`; Keras-written test models
SLOW_TESTS = {
    "test_daemon_e2e.py::test_a_phrase_gets_an_answer_after_the_phrase_end",
    "test_daemon_e2e.py::test_argmax_gives_the_same_answer_to_the_same_phrase",
    "test_daemon_e2e.py::test_external_clock_answer_onsets_fall_on_the_clock_grid",
    "test_daemon_e2e.py::test_sigterm_mid_answer_leaves_no_note_hanging",
    "test_daemon_e2e.py::test_mute_silences_and_panic_closes_everything",
    "test_daemon_e2e.py::test_verbose_logs_each_answer",
    "test_bad_input.py::test_overlapping_and_duplicate_notes_train_fine",
    "test_evaluate.py::test_cli_with_the_shipped_model_and_a_midi_file_with_chords",
    "test_link.py::test_trading_follows_the_session_tempo_phase_and_bars",
    "test_link.py::test_start_stop_sync_stops_and_restarts_with_the_session",
    "test_osc.py::test_bad_osc_and_a_flood_are_counted_logged_once_and_never_stop_the_music",
}


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

    from jazz_plugin.music.codec import Codec

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


def write_csv(path, header: list[str], rows: list[list]) -> str:
    """A small CSV fixture (folders made as needed); returns its path."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def melody_messages(pitches: list[int], beat: int = 240, channel: int = 0) -> list[mido.Message]:
    """A legato line of eighth notes (at 480 ticks per beat)."""
    msgs = []
    for p in pitches:
        msgs.append(mido.Message("note_on", note=p, velocity=90, channel=channel, time=0))
        msgs.append(mido.Message("note_off", note=p, velocity=0, channel=channel, time=beat))
    return msgs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hog", type=int, default=0, metavar="N",
                     help="N busy processes take the cores while the JACK server runs (the "
                     "real-port tests under load); started and stopped by their PIDs")


@pytest.fixture(scope="session")
def jack_server(request: pytest.FixtureRequest) -> JackServer:
    """Our own JACK server under this session's unique name; only it is ever restarted or
    stopped (by its PID). With --hog N, N busy processes run beside it."""
    server = JackServer(JACK_SERVER_NAME)
    server.start()
    with CpuHogs(request.config.getoption("--hog")):
        yield server
    server.stop()


@pytest.fixture
def hogs() -> CpuHogs:
    """Two busy processes take both cores for the test (a stage computer running a DAW and
    plugins); they are stopped by their PIDs after it."""
    with CpuHogs(2) as h:
        yield h


def _marked_slow(path: str, name: str) -> bool:
    base = os.path.basename(path)
    return base in SLOW_FILES or f"{base}::{name.split('[')[0]}" in SLOW_TESTS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`jack` on every test that uses the JACK server; `slow` on the ones listed above."""
    for item in items:
        if "jack_server" in item.fixturenames:
            item.add_marker(pytest.mark.jack)
        if "hogs" in item.fixturenames:
            item.add_marker(pytest.mark.hogged)
        if SLOW_FIXTURES & set(item.fixturenames) or _marked_slow(str(item.path), item.name):
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"`, do not even import a file whose tests are all slow (importing
    TensorFlow alone takes seconds)."""
    if collection_path.name not in SLOW_FILES or not config.option.markexpr:
        return None
    try:
        from _pytest.mark.expression import Expression

        marks = {"slow", "jack"} if collection_path.name in JACK_FILES else {"slow"}
        selected = Expression.compile(config.option.markexpr).evaluate(
            lambda name, **_kw: name in marks)
    except Exception:  # an unknown pytest: collect as usual
        return None
    return True if not selected else None


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A small model trained for real by `jazz-plugin export` (n_a=16, Tx=12)."""
    out = tmp_path_factory.mktemp("tiny")
    proc = jazz("export", "--builtin", "--epochs", "3", "--tx", "12", "--n-a", "16",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return str(out / "model.onnx")
