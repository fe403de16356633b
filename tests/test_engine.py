"""The runtime side: loading and refusing models, stepping, sampling, offline generation."""

import subprocess
import sys

import mido
import numpy as np
import pytest
from conftest import jazz, jazz_meta, make_onnx, melody_messages, one_error_line, write_midi

from jazz_plugin.codec import Codec
from jazz_plugin.engine import Engine, default_model_path
from jazz_plugin.errors import ModelError
from jazz_plugin.sampling import Sampler


def test_default_model_loads_and_describes_itself():
    engine = Engine()
    assert engine.path == default_model_path()
    assert engine.codec.names == Codec().names
    assert engine.info.n_a == 64 and engine.info.tx == 30
    assert engine.info.quality["LSTM"]["nll"] < min(
        v["nll"] for k, v in engine.info.quality.items() if k.startswith("bigram"))


def test_step_carries_state_and_reset_restores_it():
    engine = Engine()
    first = engine.prime([10, 20, 30])
    assert first.shape == (engine.n_values,) and abs(float(first.sum()) - 1) < 1e-4
    again = engine.prime([10, 20, 30])  # state carried on: a different prediction
    assert not np.allclose(first, again)
    engine.reset()
    np.testing.assert_allclose(engine.prime([10, 20, 30]), first, atol=1e-6)


def test_samplers():
    probs = np.array([0.05, 0.5, 0.3, 0.15], np.float32)
    assert Sampler(argmax=True)(probs) == 1
    top1 = Sampler(top_k=1, top_p=1.0, seed=0)
    assert {top1(probs) for _ in range(50)} == {1}
    top2 = Sampler(top_k=2, top_p=1.0, temperature=1.0, seed=0)
    assert {top2(probs) for _ in range(200)} == {1, 2}
    nucleus = Sampler(top_p=0.6, temperature=1.0, seed=0)  # 0.5 + 0.3 crosses 0.6
    assert {nucleus(probs) for _ in range(200)} == {1, 2}
    a = [Sampler(seed=7, top_p=1.0)(probs) for _ in range(1)]
    s1, s2 = Sampler(seed=7, top_p=1.0), Sampler(seed=7, top_p=1.0)
    assert [s1(probs) for _ in range(30)] == [s2(probs) for _ in range(30)] and a
    cold = Sampler(temperature=0.05, top_p=1.0, seed=1)
    assert sum(cold(probs) == 1 for _ in range(100)) > 95


def test_models_that_are_not_ours_are_refused_with_what_was_expected(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        Engine(str(tmp_path / "nope.onnx"))
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Engine(str(tmp_path / "text.onnx"))
    io = ([("x", 312), ("h", 4), ("c", 4)], [("probs", 312), ("h_out", 4), ("c_out", 4)])
    with pytest.raises(ModelError, match="metadata lacks codec.*expected a file from"):
        Engine(make_onnx(str(tmp_path / "nometa.onnx"), *io))
    with pytest.raises(ModelError, match="inputs input.*expected x\\[1, 312\\]"):
        Engine(make_onnx(str(tmp_path / "io.onnx"), [("input", 312)], [("probs", 312)],
                         jazz_meta()))
    with pytest.raises(ModelError, match="n_values=312 but its vocabulary has 300"):
        Engine(make_onnx(str(tmp_path / "vocab.onnx"), *io, jazz_meta(vocab_len=300)))
    good = Engine(make_onnx(str(tmp_path / "ok.onnx"), *io, jazz_meta()))  # same shape: fine
    assert good.n_a == 4


def test_generate_writes_a_solo_without_tensorflow(tmp_path):
    out = tmp_path / "solo.mid"
    code = ("import sys; from jazz_plugin.cli import main; "
            f"rc = main(['generate', '--steps', '40', '--seed', '3', '-o', {str(out)!r}]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    notes = [m for m in mido.MidiFile(str(out)).tracks[0] if m.type == "note_on"]
    assert 10 <= len(notes) <= 40
    assert all(48 <= m.note <= 84 for m in notes)


def test_generate_argmax_is_deterministic_and_continues_a_seed(tmp_path):
    seed = write_midi(str(tmp_path / "seed.mid"), [melody_messages([60, 62, 64, 67, 69, 67])])
    outs = []
    for i in range(2):
        path = tmp_path / f"a{i}.mid"
        proc = jazz("generate", "--argmax", "--seed-midi", seed, "--steps", "30", "-o",
                    str(path))
        assert proc.returncode == 0, proc.stderr
        outs.append([(m.type, m.note, m.time) for m in mido.MidiFile(str(path)).tracks[0]
                     if m.type.startswith("note")])
    assert outs[0] == outs[1] and outs[0]


def test_generate_plot_draws_a_png(tmp_path):
    proc = jazz("generate", "--steps", "20", "-o", str(tmp_path / "s.mid"), "--plot",
                str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("case", ["model", "not_onnx", "seed", "out"])
def test_generate_bad_input_is_one_clear_line(tmp_path, case):
    (tmp_path / "x.onnx").write_bytes(b"\x08\x01garbage")
    (tmp_path / "bad.mid").write_bytes(b"RIFF")
    args, expect = {
        "model": (["--model", str(tmp_path / "none.onnx")], "does not exist"),
        "not_onnx": (["--model", str(tmp_path / "x.onnx")], "not a loadable ONNX model"),
        "seed": (["--seed-midi", str(tmp_path / "bad.mid")], "not a readable MIDI file"),
        "out": (["-o", str(tmp_path / "no" / "dir" / "s.mid")], "cannot write"),
    }[case]
    out = [] if case == "out" else ["-o", str(tmp_path / "s.mid")]
    assert expect in one_error_line(jazz("generate", *args, *out))
    assert not (tmp_path / "s.mid").exists()


def test_bound_steps_equal_plain_onnxruntime_runs():
    import onnxruntime as ort

    engine = Engine()
    session = ort.InferenceSession(default_model_path(), providers=["CPUExecutionProvider"])
    h = np.zeros((1, 64), np.float32)
    c = np.zeros((1, 64), np.float32)
    for token in [None, 3, 150, 150, 311, 0, 42]:
        x = np.zeros((1, engine.n_values), np.float32)
        if token is not None:
            x[0, token] = 1.0
        probs, h, c = session.run(["probs", "h_out", "c_out"], {"x": x, "h": h, "c": c})
        np.testing.assert_allclose(engine.step(token), probs[0], atol=1e-6)
        np.testing.assert_allclose(engine.h, h, atol=1e-6)
        np.testing.assert_allclose(engine.c, c, atol=1e-6)
