"""The Keras side: shared layers, fused vs unrolled training, ONNX export and parity."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import jazz, melody_messages, one_error_line, write_midi

from export.corpus import builtin_corpus
from export.dataset import make_dataset
from export.model import (
    djmodel,
    fused_model,
    generate_music,
    music_inference_model,
    predict_and_sample,
)
from export.onnx_export import to_onnx
from export.quality import baseline_scores, lstm_score
from export.train import predict_windows, train
from jazz_plugin.codec import Codec
from jazz_plugin.engine import Engine
from jazz_plugin.modelinfo import ModelInfo

codec = Codec()


@pytest.fixture(scope="module")
def small():
    """A real corpus and a model trained on it for a few epochs (n_a=16, Tx=10)."""
    corpus = builtin_corpus(codec, seed=1, pieces_per_key=2, choruses=1)
    ds = make_dataset(corpus.pieces, codec.n_values, tx=10, seed=1)
    result = train(ds, codec.n_values, n_a=16, epochs=2, seed=1, verbose=False)
    return ds, result


def _mean_ce(probs: np.ndarray, Y: np.ndarray) -> float:
    return float(-(Y * np.log(probs)).sum(-1).mean())


def test_fused_and_unrolled_give_the_same_loss_on_the_same_weights(small):
    ds, r = small
    a0 = np.zeros((len(ds.X_val), 16), np.float32)
    unrolled = djmodel(10, r.LSTM_cell, r.densor, r.reshaper)
    fused, _ = fused_model(10, r.LSTM_cell, r.densor)
    p_unrolled = np.stack(unrolled.predict([ds.X_val, a0, a0], verbose=0), axis=1)
    p_fused = fused.predict([ds.X_val, a0, a0], verbose=0)
    assert p_unrolled.shape == p_fused.shape == ds.Y_val.shape
    assert abs(_mean_ce(p_unrolled, ds.Y_val) - _mean_ce(p_fused, ds.Y_val)) < 1e-5
    unrolled.compile(loss="categorical_crossentropy")
    fused.compile(loss="categorical_crossentropy")
    keras_unrolled = unrolled.evaluate([ds.X_val, a0, a0], list(np.swapaxes(ds.Y_val, 0, 1)),
                                       verbose=0)
    keras_fused = fused.evaluate([ds.X_val, a0, a0], ds.Y_val, verbose=0)
    total = keras_unrolled[0] if isinstance(keras_unrolled, list) else keras_unrolled
    assert abs(total / 10 - keras_fused) < 1e-5


def test_unrolled_training_path_trains_the_shared_layers(small):
    ds, _ = small
    r = train(ds, codec.n_values, n_a=8, epochs=1, unrolled=True, seed=2, verbose=False)
    before = train(ds, codec.n_values, n_a=8, epochs=1, unrolled=True, seed=2, verbose=False)
    assert np.isfinite(r.final_loss) and r.best_epoch == 1
    np.testing.assert_allclose(r.LSTM_cell.get_weights()[0], before.LSTM_cell.get_weights()[0],
                               atol=1e-6)  # same seed, same result


def _onnx_session(r, tmp_path) -> ort.InferenceSession:
    info = ModelInfo(vocabulary=codec.names, n_a=16, tx=10)
    model = to_onnx(r.LSTM_cell, r.densor, info)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_onnx_step_matches_the_keras_step(small, tmp_path):
    _, r = small
    session = _onnx_session(r, tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = np.eye(codec.n_values, dtype=np.float32)[[rng.integers(codec.n_values)]]
        h = rng.normal(size=(1, 16)).astype(np.float32)
        c = rng.normal(size=(1, 16)).astype(np.float32)
        probs, h_out, c_out = session.run(["probs", "h_out", "c_out"], {"x": x, "h": h, "c": c})
        _, kh, kc = r.LSTM_cell(x[:, None, :], initial_state=[h, c])
        kprobs = r.densor(kh)
        np.testing.assert_allclose(probs, np.asarray(kprobs), atol=1e-5)
        np.testing.assert_allclose(h_out, np.asarray(kh), atol=1e-5)
        np.testing.assert_allclose(c_out, np.asarray(kc), atol=1e-5)


def test_parity_inference_model_and_onnx_loop_pick_the_same_50_tokens(small, tmp_path):
    _, r = small
    session = _onnx_session(r, tmp_path)
    inference = music_inference_model(r.LSTM_cell, r.densor, Ty=50)
    x0 = np.zeros((1, 1, codec.n_values), np.float32)
    x0[0, 0, codec.index[codec.tokens[150]]] = 1.0
    a0 = np.full((1, 16), 0.1, np.float32)
    c0 = np.full((1, 16), -0.1, np.float32)
    results, indices = predict_and_sample(inference, x0, a0, c0)
    assert results.shape == (50, codec.n_values) and indices.shape == (50, 1)
    assert (results.argmax(-1) == indices[:, 0]).all()
    x, h, c, onnx_indices = x0[0], a0, c0, []
    for _ in range(50):
        probs, h, c = session.run(["probs", "h_out", "c_out"], {"x": x, "h": h, "c": c})
        token = int(probs.argmax())
        onnx_indices.append(token)
        x = np.eye(codec.n_values, dtype=np.float32)[[token]]
    assert onnx_indices == indices[:, 0].tolist()


def test_lstm_beats_the_bigram_baseline_on_the_builtin_corpus():
    corpus = builtin_corpus(codec, seed=0, pieces_per_key=6, choruses=2)
    ds = make_dataset(corpus.pieces, codec.n_values, tx=20, seed=0)
    r = train(ds, codec.n_values, n_a=32, epochs=12, seed=0, verbose=False)
    lstm = lstm_score(predict_windows(r.LSTM_cell, r.densor, ds.X_val), ds.Y_val)
    unigram, bigram, trigram = baseline_scores(ds.train_tokens, ds.X_val, ds.Y_val,
                                               codec.n_values)
    assert lstm.nll < bigram.nll < unigram.nll
    assert lstm.accuracy > unigram.accuracy


def test_export_command_writes_a_self_describing_checked_model(tiny_model):
    model = onnx.load(tiny_model)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in model.graph.input] == ["x", "h", "c"]
    assert [o.name for o in model.graph.output] == ["probs", "h_out", "c_out"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["vocabulary"]) == codec.names
    assert (meta["n_values"], meta["n_a"], meta["tx"]) == (str(codec.n_values), "16", "12")
    assert "builtin" in meta["corpus"]
    quality = json.loads(meta["quality"])
    assert {"LSTM", "unigram", "bigram", "trigram"} <= {k.split(" ")[0] for k in quality}
    engine = Engine(tiny_model)  # the runtime needs nothing but the file
    assert engine.n_a == 16 and engine.prime([1, 2, 3]).shape == (codec.n_values,)


def test_export_from_a_midi_folder_skips_and_reports_bad_files(tmp_path):
    folder = tmp_path / "solos"
    folder.mkdir()
    for i in range(3):
        write_midi(str(folder / f"solo{i}.mid"),
                   [melody_messages([60 + (k * 7 + i) % 14 for k in range(60)])])
    (folder / "corrupt.mid").write_bytes(b"MThd garbage")
    write_midi(str(folder / "drums.mid"), [melody_messages([36, 38] * 8, channel=9)])
    proc = jazz("export", "--midi", str(folder), "--epochs", "1", "--tx", "8", "--n-a", "8",
                "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "3 files used, 2 skipped" in proc.stderr
    assert proc.stderr.count("warning: skipped") == 2
    assert (tmp_path / "out" / "model.onnx").exists()
    assert (tmp_path / "out" / "model.weights.h5").exists()
    assert "bigram" in proc.stdout  # the quality table


@pytest.mark.parametrize("case", ["missing", "empty_dir", "corrupt", "track", "tx", "out"])
def test_export_bad_input_is_one_clear_line(tmp_path, case):
    good = write_midi(str(tmp_path / "good.mid"), [melody_messages(list(range(60, 72)) * 3)])
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.mid").write_bytes(b"\x00" * 40)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should go")
    args, expect = {
        "missing": (["--midi", str(tmp_path / "nope")], "does not exist"),
        "empty_dir": (["--midi", str(tmp_path / "empty")], "no MIDI files"),
        "corrupt": (["--midi", str(tmp_path / "bad.mid")], "no usable MIDI file"),
        "track": (["--midi", good, "--track", "piano"], "no track 'piano'"),
        "tx": (["--midi", good, "--tx", "500"], "--tx 500 needs"),
        "out": (["--builtin", "--out", str(blocker / "sub")], "not writable"),
    }[case]
    out = ["--out", str(tmp_path / "o")] if case != "out" else []
    proc = jazz("export", *args, *out)
    assert expect in one_error_line(proc)
    assert not (tmp_path / "o").exists()  # nothing left behind


def test_generate_music_writes_a_solo(small, tmp_path):
    import mido

    _, r = small
    inference = music_inference_model(r.LSTM_cell, r.densor, Ty=50)
    path = str(tmp_path / "solo.mid")
    tokens = generate_music(inference, codec, path)
    assert len(tokens) == 50
    notes = [m for m in mido.MidiFile(path).tracks[0] if m.type == "note_on"]
    assert len(notes) == sum(not codec.tokens[t].is_rest for t in tokens)


def test_saved_keras_weights_load_back_into_the_seeds_models(tiny_model):
    import os

    from export.model import load_layers

    weights = os.path.join(os.path.dirname(tiny_model), "model.weights.h5")
    LSTM_cell, densor, _ = load_layers(weights, codec.n_values, 16)
    engine = Engine(tiny_model)
    x = np.zeros((1, 1, codec.n_values), np.float32)
    x[0, 0, 7] = 1.0
    a0 = np.zeros((1, 16), np.float32)
    _, indices = predict_and_sample(music_inference_model(LSTM_cell, densor, Ty=20), x, a0, a0)
    probs, onnx_indices = engine.step(7), []
    for _ in range(20):
        onnx_indices.append(int(probs.argmax()))
        probs = engine.step(onnx_indices[-1])
    assert onnx_indices == indices[:, 0].tolist()
