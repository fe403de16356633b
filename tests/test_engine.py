"""The runtime side: loading and refusing models, stepping, sampling, offline generation."""

import json
import subprocess
import sys

import mido
import numpy as np
import onnx
import pytest
from conftest import jazz, jazz_meta, make_onnx, melody_messages, one_error_line, write_midi

from jazz_plugin.errors import ModelError
from jazz_plugin.model.conditioning import COND_WIDTH, cond_into, cond_vector, pcs_mask
from jazz_plugin.model.engine import START, Engine, default_model_path
from jazz_plugin.model.modelinfo import ModelInfo
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.codec import Codec

codec = Codec()
N_A = 8
DM7, G7 = pcs_mask([2, 5, 9, 0]), pcs_mask([7, 11, 2, 5])
OLD_RELEASE_KEYS = {"codec", "codec_version", "vocabulary", "n_values", "n_a", "tx",
                    "ticks_per_quarter", "corpus", "quality", "producer"}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """Two real models with random weights, written by the export code: a conditioned one,
    and one exactly as the previous release wrote them ((x, h, c), [1, ...], its metadata)."""
    import keras
    from jazz_export.model import make_layers
    from jazz_export.onnx_export import save_onnx, to_onnx

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(3)
    cell, densor, _ = make_layers(codec.n_values, N_A)
    save_onnx(to_onnx(cell, densor, ModelInfo(codec.names, N_A, 10)), str(folder / "cond.onnx"))
    old_cell, old_densor, _ = make_layers(codec.n_values, N_A, cond_width=0)
    info = ModelInfo(codec.names, N_A, 10, cond_layout=None, cond_version=None, cond_width=None)
    old = to_onnx(old_cell, old_densor, info, conditioned=False)
    props = [p for p in old.metadata_props if p.key in OLD_RELEASE_KEYS]
    del old.metadata_props[:]
    old.metadata_props.extend(props)
    save_onnx(old, str(folder / "old.onnx"))
    return {"cond": str(folder / "cond.onnx"), "old": str(folder / "old.onnx")}


def _edited(src: str, dst: str, meta: dict | None = None, nan: bool = False) -> str:
    """A copy of model `src` with some metadata replaced, or its first weight set to NaN."""
    model = onnx.load(src)
    if meta:
        for p in model.metadata_props:
            if p.key in meta:
                p.value = meta[p.key]
    if nan:
        weights = next(t for t in model.graph.initializer
                       if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 100)
        array = onnx.numpy_helper.to_array(weights).copy()
        array.flat[0] = np.nan
        weights.CopyFrom(onnx.numpy_helper.from_array(array, weights.name))
    onnx.save(model, dst)
    return dst


def _random_batch(rng, b: int, n_a: int):
    tokens = rng.integers(0, codec.n_values, b)
    tokens[0] = START
    cond = np.stack([cond_vector(int(rng.integers(40, 80)), int(rng.integers(0, 96)),
                                 int(rng.choice([0, DM7, G7])), G7) for _ in range(b)])
    h = rng.normal(size=(b, n_a)).astype(np.float32)
    c = rng.normal(size=(b, n_a)).astype(np.float32)
    return tokens, cond, h, c


def test_conditioned_model_steps_on_the_cond_the_caller_fills_in_place(models):
    engine = Engine(models["cond"])
    assert engine.has_cond and engine.batched
    assert engine.cond.shape == (COND_WIDTH,) and engine.cond.dtype == np.float32
    outs = []
    for chord in (DM7, G7, 0):
        engine.reset()
        cond_into(engine.cond, 62, 12, chord, G7)  # the caller's hot path: no allocation
        outs.append(engine.step(5))
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[0], outs[2])
    engine.reset()
    engine.cond[:] = cond_vector(62, 12, DM7, G7)
    np.testing.assert_array_equal(engine.step(5), outs[0])


def test_prime_with_conditioning_equals_stepping_and_state_round_trips(models):
    engine = Engine(models["cond"])
    tokens = [10, 150, 200, 300]
    conds = np.stack([cond_vector(60 + k, 6 * k, DM7, G7) for k in range(4)])
    primed = engine.prime(tokens, conds)
    h, c = engine.state()
    assert h.shape == c.shape == (1, N_A)
    engine.reset()
    for t, cond in zip(tokens, conds):
        engine.cond[:] = cond
        stepped = engine.step(t)
    np.testing.assert_array_equal(primed, stepped)
    after = engine.step(7)
    engine.set_state(h[0], c[0])  # [n_a] or [1, n_a]
    np.testing.assert_array_equal(engine.step(7), after)
    with pytest.raises(ValueError, match="4 tokens but 3 conditionings"):
        engine.prime(tokens, conds[:3])


@pytest.mark.parametrize("kind", ["cond", "old"])
def test_a_batch_of_4_equals_4_single_steps(models, kind):
    engine = Engine(models[kind])
    tokens, cond, h, c = _random_batch(np.random.default_rng(1), 4, N_A)
    probs, h_out, c_out = engine.step_batch(tokens, cond, h, c)
    assert probs.shape == (4, codec.n_values) and h_out.shape == c_out.shape == (4, N_A)
    for i in range(4):
        engine.set_state(h[i], c[i])
        engine.cond[:] = cond[i]
        single = engine.step(None if tokens[i] == START else int(tokens[i]))
        np.testing.assert_allclose(probs[i], single, atol=1e-6)
        np.testing.assert_allclose(h_out[i], engine.h[0], atol=1e-6)
        np.testing.assert_allclose(c_out[i], engine.c[0], atol=1e-6)


def test_previous_release_model_loads_as_unconditioned_and_ignores_the_cond(models):
    import onnxruntime as ort

    engine = Engine(models["old"])
    assert not engine.has_cond and not engine.batched and not engine.info.has_cond
    cond_into(engine.cond, 60, 0, DM7, G7)
    with_chord = engine.prime([3, 40, 41])
    engine.reset()
    cond_into(engine.cond, 60, 0, 0, 0)
    np.testing.assert_array_equal(engine.prime([3, 40, 41]), with_chord)
    session = ort.InferenceSession(models["old"], providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "h", "c"]
    x = np.zeros((1, codec.n_values), np.float32)
    h = c = np.zeros((1, N_A), np.float32)
    for t in (3, 40, 41):
        x[:] = 0.0
        x[0, t] = 1.0
        probs, h, c = session.run(["probs", "h_out", "c_out"], {"x": x, "h": h, "c": c})
    np.testing.assert_allclose(with_chord, probs[0], atol=1e-6)


@pytest.mark.parametrize("case", ["layout", "version", "width", "partial"])
def test_a_conditioning_layout_we_do_not_know_is_refused_in_one_line(models, tmp_path, case):
    meta = {"layout": {"cond_layout": "chordtones7-beat3"}, "version": {"cond_version": "2"},
            "width": {"cond_width": "40"}, "partial": {"cond_layout": ""}}[case]
    path = _edited(models["cond"], str(tmp_path / "m.onnx"), meta)
    with pytest.raises(ModelError, match="uses conditioning layout .* this jazz-plugin reads "
                                         "'relchord12-nextchord12-beat4-tick12-nochord1' v1 "
                                         "width 41"):
        Engine(path)
    line = one_error_line(jazz("generate", "--model", path, "-o", str(tmp_path / "s.mid")))
    assert "conditioning layout" in line


def test_a_vocabulary_entry_the_codec_does_not_know_is_refused_at_load(models, tmp_path):
    vocab = list(codec.names)
    vocab[5] = "n+13/6"  # right size, one token no codec v1 line can hold
    path = _edited(models["cond"], str(tmp_path / "v.onnx"), {"vocabulary": json.dumps(vocab)})
    with pytest.raises(ModelError, match="1 vocabulary entry that codec .* does not know "
                                         "\\(first: 'n\\+13/6'\\)"):
        Engine(path)
    assert "does not know" in one_error_line(jazz("generate", "--model", path, "-o",
                                                  str(tmp_path / "s.mid")))
    vocab[5] = vocab[6]
    path = _edited(models["cond"], str(tmp_path / "d.onnx"), {"vocabulary": json.dumps(vocab)})
    with pytest.raises(ModelError, match="more than once"):
        Engine(path)


@pytest.mark.parametrize("kind", ["cond", "old"])
def test_nan_weights_are_refused_by_the_probe_step(models, tmp_path, kind):
    path = _edited(models[kind], str(tmp_path / "nan.onnx"), nan=True)
    with pytest.raises(ModelError, match="non-finite probabilities on a probe step"):
        Engine(path)
    line = one_error_line(jazz("generate", "--model", path, "-o", str(tmp_path / "s.mid")))
    assert "non-finite" in line
    assert not (tmp_path / "s.mid").exists()


def test_default_model_loads_and_describes_itself():
    engine = Engine()
    assert engine.path == default_model_path()
    assert engine.codec.names == Codec().names
    info = engine.info
    assert engine.n_a == info.n_a > 0 and info.tx > 0 and info.corpus
    ngrams = [v["nll"] for k, v in info.quality.items() if k.split(" ")[0] in
              ("unigram", "bigram", "trigram")]
    assert ngrams and info.quality["LSTM"]["nll"] < min(ngrams)  # beats every baseline
    if engine.has_cond:  # this release's models say how they were made and under what licence
        assert info.license and info.hyperparameters["n_a"] == info.n_a


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
    h = np.zeros((1, engine.n_a), np.float32)
    c = np.zeros((1, engine.n_a), np.float32)
    for i, token in enumerate([None, 3, 150, 150, 311, 0, 42]):
        x = np.zeros((1, engine.n_values), np.float32)
        if token is not None:
            x[0, token] = 1.0
        feeds = {"x": x, "h": h, "c": c}
        if engine.has_cond:
            feeds["cond"] = cond_vector(60 + i, 6 * i, DM7 if i % 2 else 0, G7)[None]
            engine.cond[:] = feeds["cond"][0]
        probs, h, c = session.run(["probs", "h_out", "c_out"], feeds)
        np.testing.assert_allclose(engine.step(token), probs[0], atol=1e-6)
        np.testing.assert_allclose(engine.h, h, atol=1e-6)
        np.testing.assert_allclose(engine.c, c, atol=1e-6)
