"""The Keras side: index windows and the tf.data pipeline, shared layers, fused vs unrolled
training, ONNX export and parity with the same conditioning."""

import json
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import jazz, melody_messages, one_error_line, write_midi
from jazz_export.corpus import builtin_corpus
from jazz_export.dataset import (
    KEY_CHORD_RATE,
    NO_CHORD_RATE,
    SoloRecords,
    make_dataset,
    steps_per_epoch,
    tf_cond,
    tf_dataset,
    train_batches,
)
from jazz_export.model import (
    djmodel,
    fused_model,
    generate_music,
    music_inference_model,
    predict_and_sample,
    step_model,
)
from jazz_export.onnx_export import to_onnx
from jazz_export.quality import baseline_scores, lstm_score, ngram_score, sample_note
from jazz_export.train import score_windows, train

from jazz_plugin.model.conditioning import COND_LAYOUT, COND_WIDTH, NO_CHORD, cond_matrix, pcs_mask
from jazz_plugin.model.engine import START, Engine
from jazz_plugin.model.modelinfo import ModelInfo
from jazz_plugin.music.codec import Codec
from jazz_plugin.music.distributions import FEATURES_WIDTH, Phrase

codec = Codec()
N_A, TX = 16, 10


def random_solos(n: int, length: int, seed: int = 0) -> list[SoloRecords]:
    """Solos of random tokens whose records change at every token (chords, positions...)."""
    rng = np.random.default_rng(seed)
    solos = []
    for i in range(n):
        solos.append(SoloRecords(
            tokens=rng.integers(0, codec.n_values, length).astype(np.int16),
            chord=rng.choice([0, pcs_mask([2, 5, 9, 0]), pcs_mask([7, 11, 2, 5])], length
                             ).astype(np.uint16),
            next_chord=rng.integers(0, 4096, length).astype(np.uint16),
            ref_pc=rng.integers(0, 12, length).astype(np.uint8),
            pos=rng.integers(0, 48, length).astype(np.uint8),
            key_chord=pcs_mask([i, i + 4, i + 7]), name=f"solo {i}", performer=f"player {i % 3}"))
    return solos


@pytest.fixture(scope="module")
def small():
    """A real corpus and a model trained on it for a few epochs (n_a=16, Tx=10)."""
    corpus = builtin_corpus(codec, seed=1, pieces_per_key=2, choruses=1)
    ds = make_dataset(corpus.solos, codec.n_values, tx=TX, seed=1)
    result = train(ds, codec.n_values, n_a=N_A, epochs=2, seed=1, verbose=False, lr=0.01)
    return ds, result


def _val_arrays(ds):
    """The validation windows as numpy arrays, in order: X, COND, Y [m, Tx]."""
    parts = [(x.numpy(), cond.numpy(), y.numpy())
             for (x, cond, _, _), y in tf_dataset(ds, ds.val_starts, 64, N_A)]
    return tuple(np.concatenate(p) for p in zip(*parts))


def test_tf_conditioning_expansion_equals_cond_matrix_exactly():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    shape = (6, 48)
    chord = rng.integers(0, 4096, shape)
    chord[0] = 0  # no chord
    next_chord = rng.integers(0, 4096, shape)
    next_chord[1] = 0  # no next change: the chord itself
    ref_pc = rng.integers(0, 12, shape)
    pos = np.tile(np.arange(48), (6, 1))  # every tick of the bar
    ours = tf_cond(*(tf.constant(a, tf.int32) for a in (chord, next_chord, ref_pc, pos)))
    np.testing.assert_array_equal(ours.numpy(), cond_matrix(chord, next_chord, ref_pc, pos))


def test_a_batch_holds_exactly_its_windows_tokens_and_conditioning():
    solos = random_solos(8, 60)
    ds = make_dataset(solos, codec.n_values, tx=TX, seed=0)
    flat = {k: np.concatenate([getattr(s, k) for s in solos]).astype(np.int64)
            for k in ("tokens", "chord", "next_chord", "ref_pc", "pos")}
    key = np.repeat([s.key_chord for s in solos], [len(s.tokens) for s in solos])
    for chords in ("real", "key", "none"):
        chord, next_chord = {"real": (flat["chord"], flat["next_chord"]), "key": (key, key),
                             "none": (0 * key, 0 * key)}[chords]
        seen = 0
        for (X, COND, a0, c0), Y in tf_dataset(ds, ds.val_starts, 7, N_A, chords=chords):
            assert X.shape[1:] == (TX, codec.n_values) and COND.shape[1:] == (TX, COND_WIDTH)
            assert a0.shape == c0.shape == (len(X), N_A) and not np.asarray(a0).any()
            for i in range(len(X)):
                s = int(ds.val_starts[seen + i])
                steps = slice(s, s + TX)
                np.testing.assert_array_equal(np.asarray(X[i]).argmax(-1), flat["tokens"][steps])
                assert np.asarray(X[i]).sum() == TX  # one-hot
                np.testing.assert_array_equal(np.asarray(Y[i]), flat["tokens"][s + 1:s + TX + 1])
                np.testing.assert_array_equal(np.asarray(COND[i]), cond_matrix(
                    chord[steps], next_chord[steps], flat["ref_pc"][steps], flat["pos"][steps]))
            seen += len(X)
        assert seen == len(ds.val_starts)


def test_training_batches_drop_chords_per_window_to_none_or_the_key_chord():
    dm7, g7 = pcs_mask([2, 5, 9, 0]), pcs_mask([7, 11, 2, 5])
    solos = random_solos(6, 400)
    for s in solos:
        s.chord[:], s.next_chord[:] = dm7, g7  # one change throughout: a dropped window shows
    ds = make_dataset(solos, codec.n_values, tx=TX, seed=0, stride=1)
    rec = ds.records
    start_of = {tuple(rec["tokens"][s:s + TX]): s for s in ds.train_starts}
    modes, seen = Counter(), []
    steps = steps_per_epoch(ds, 256)
    for (X, COND, _, _), _ in train_batches(ds, 256, N_A, seed=5, first_epoch=0, epochs=1):
        for x, cond in zip(np.asarray(X).argmax(-1), np.asarray(COND)):
            s = start_of[tuple(x)]  # a real training window
            seen.append(s)
            ref, pos = rec["ref_pc"][s:s + TX], rec["pos"][s:s + TX]
            key = np.full(TX, rec["key_chord"][s])
            variants = {"kept": cond_matrix(np.full(TX, dm7), np.full(TX, g7), ref, pos),
                        "key": cond_matrix(key, key, ref, pos),
                        "none": cond_matrix(np.zeros(TX, int), np.zeros(TX, int), ref, pos)}
            mode = [m for m, v in variants.items() if np.array_equal(cond, v)]
            assert len(mode) == 1
            modes[mode[0]] += 1
    assert len(seen) == len(set(seen)) == steps * 256  # each window at most once an epoch
    assert len(ds.train_starts) - len(seen) < 256  # only the last partial batch dropped
    assert set(seen) <= set(ds.train_starts.tolist()) and seen != sorted(seen)  # shuffled
    total = len(seen)
    assert abs(modes["none"] / total - NO_CHORD_RATE) < 0.03
    assert abs(modes["key"] / total - KEY_CHORD_RATE) < 0.03
    assert cond_matrix(0, 0, 0, 0)[NO_CHORD] == 1.0  # "none" is the no-chord flag


def test_windows_stay_inside_solos_and_validation_is_whole_solos_by_performer():
    solos = random_solos(20, 50)
    ds = make_dataset(solos, codec.n_values, tx=TX, seed=3)
    val_names = {s.name for s in ds.val}
    assert len(ds.val) == 3 and not val_names & {s.name for s in ds.train}
    for spans, starts in ((ds.train, ds.train_starts), (ds.val, ds.val_starts)):
        for s in starts:
            assert any(sp.start <= s and s + TX + 1 <= sp.stop for sp in spans)
    by_name = {s.name: s for s in solos}
    assert len(ds.val_window_performer) == len(ds.val_starts)
    assert set(ds.val_window_performer) == {by_name[n].performer for n in val_names}
    x_ids, y_ids = ds.window_ids(ds.val_starts)
    np.testing.assert_array_equal(x_ids[:, 1:], y_ids[:, :-1])


def test_the_dataset_holds_index_arrays_only_never_vocabulary_times_windows():
    solos = random_solos(30, 400)
    ds = make_dataset(solos, codec.n_values, tx=TX, seed=0, stride=1)
    n_tokens = 30 * 400
    arrays = list(ds.records.values()) + [ds.train_starts, ds.val_starts]
    assert all(a.ndim == 1 and a.dtype.itemsize <= 8 for a in arrays)
    assert sum(a.nbytes for a in arrays) <= 8 * 8 * n_tokens  # a few ints per token
    one_hot_bytes = len(ds.train_starts) * TX * codec.n_values * 4
    assert sum(a.nbytes for a in arrays) * 100 < one_hot_bytes


def test_fused_and_unrolled_give_the_same_loss_on_the_same_weights(small):
    ds, r = small
    X, COND, Y = _val_arrays(ds)
    a0 = np.zeros((len(X), N_A), np.float32)
    unrolled = djmodel(TX, r.LSTM_cell, r.densor, r.reshaper)
    fused, _ = fused_model(TX, r.LSTM_cell, r.densor)
    p_unrolled = np.stack(unrolled.predict([X, COND, a0, a0], verbose=0), axis=1)
    p_fused = fused.predict([X, COND, a0, a0], verbose=0)
    assert p_unrolled.shape == p_fused.shape == X.shape
    np.testing.assert_allclose(p_unrolled, p_fused, atol=1e-5)
    unrolled.compile(loss="sparse_categorical_crossentropy")
    fused.compile(loss="sparse_categorical_crossentropy")
    keras_unrolled = unrolled.evaluate([X, COND, a0, a0], list(Y.T), verbose=0)
    keras_fused = fused.evaluate([X, COND, a0, a0], Y, verbose=0)
    total = keras_unrolled[0] if isinstance(keras_unrolled, list) else keras_unrolled
    assert abs(total / TX - keras_fused) < 1e-5
    nll, hits = score_windows(r.LSTM_cell, r.densor, ds, ds.val_starts)  # batch by batch
    assert abs(float(nll.mean()) - keras_fused) < 1e-4
    assert abs(r.best_val_loss - keras_fused) < 1e-4  # the kept epoch is the scored one


def test_unrolled_training_path_trains_the_shared_layers(small):
    ds, _ = small
    r = train(ds, codec.n_values, n_a=8, epochs=1, unrolled=True, seed=2, verbose=False)
    again = train(ds, codec.n_values, n_a=8, epochs=1, unrolled=True, seed=2, verbose=False)
    assert np.isfinite(r.final_loss) and r.best_epoch == 1
    np.testing.assert_allclose(r.LSTM_cell.get_weights()[0], again.LSTM_cell.get_weights()[0],
                               atol=1e-6)  # same seed, same result
    assert r.hyperparameters["unrolled"] and r.hyperparameters["dropout"] > 0


def _onnx_path(r, tmp_path) -> str:
    path = str(tmp_path / "m.onnx")
    onnx.save(to_onnx(r.LSTM_cell, r.densor, ModelInfo(vocabulary=codec.names, n_a=N_A, tx=TX)),
              path)
    return path


def test_onnx_step_matches_the_keras_step_with_the_same_conditioning(small, tmp_path):
    _, r = small
    session = ort.InferenceSession(_onnx_path(r, tmp_path), providers=["CPUExecutionProvider"])
    keras_step = step_model(r.LSTM_cell, r.densor, r.reshaper)
    rng = np.random.default_rng(0)
    b = 6
    x = np.eye(codec.n_values, dtype=np.float32)[rng.integers(codec.n_values, size=b)]
    x[0] = 0.0  # the start input
    cond = cond_matrix(rng.integers(0, 4096, b), rng.integers(0, 4096, b),
                       rng.integers(0, 12, b), rng.integers(0, 48, b))
    h = rng.normal(size=(b, N_A)).astype(np.float32)
    c = rng.normal(size=(b, N_A)).astype(np.float32)
    ours = session.run(["probs", "h_out", "c_out"], {"x": x, "cond": cond, "h": h, "c": c})
    theirs = keras_step.predict([x, cond, h, c], verbose=0)
    for a, k in zip(ours, theirs):
        np.testing.assert_allclose(a, k, atol=1e-5)


def test_parity_inference_model_and_onnx_loop_pick_the_same_50_tokens(small, tmp_path):
    ds, r = small
    engine = Engine(_onnx_path(r, tmp_path))
    inference = music_inference_model(r.LSTM_cell, r.densor, Ty=50)
    rec = {k: v[:50] for k, v in ds.records.items()}  # a real solo's changes and bar positions
    cond = cond_matrix(rec["chord"], rec["next_chord"], rec["ref_pc"], rec["pos"])[None]
    assert cond[0, :, :24].any()  # chords are heard
    x0 = np.zeros((1, 1, codec.n_values), np.float32)
    x0[0, 0, 150] = 1.0
    a0 = np.full((1, N_A), 0.1, np.float32)
    c0 = np.full((1, N_A), -0.1, np.float32)
    results, indices = predict_and_sample(inference, x0, a0, c0, cond)
    assert results.shape == (50, codec.n_values) and indices.shape == (50, 1)
    assert (results.argmax(-1) == indices[:, 0]).all()
    engine.set_state(a0, c0)
    token, onnx_indices = 150, []
    for t in range(50):
        engine.cond[:] = cond[0, t]
        token = int(engine.step(token).argmax())
        onnx_indices.append(token)
    assert onnx_indices == indices[:, 0].tolist()
    _, no_chords = predict_and_sample(inference, x0, a0, c0)  # default: no chord, eighths
    assert no_chords.shape == (50, 1)


def test_batched_onnx_steps_equal_single_steps_of_the_trained_model(small, tmp_path):
    _, r = small
    engine = Engine(_onnx_path(r, tmp_path))
    rng = np.random.default_rng(4)
    tokens = np.array([START, 7, 150, 311])
    cond = cond_matrix(np.array([0, 145, 2193, 145]), np.zeros(4, int), rng.integers(0, 12, 4),
                       rng.integers(0, 48, 4))
    h = rng.normal(size=(4, N_A)).astype(np.float32)
    c = rng.normal(size=(4, N_A)).astype(np.float32)
    probs, h_out, c_out = engine.step_batch(tokens, cond, h, c)
    for i in range(4):
        engine.set_state(h[i], c[i])
        engine.cond[:] = cond[i]
        np.testing.assert_allclose(probs[i], engine.step(int(tokens[i])), atol=1e-6)
        np.testing.assert_allclose(h_out[i], engine.h[0], atol=1e-6)
        np.testing.assert_allclose(c_out[i], engine.c[0], atol=1e-6)


def test_lstm_beats_the_bigram_baseline_on_the_builtin_corpus():
    corpus = builtin_corpus(codec, seed=0, pieces_per_key=6, choruses=2)
    ds = make_dataset(corpus.solos, codec.n_values, tx=20, seed=0)
    r = train(ds, codec.n_values, n_a=32, epochs=12, seed=0, verbose=False, lr=0.01,
              batch_size=32, dropout=0.0)
    nll, hits = score_windows(r.LSTM_cell, r.densor, ds, ds.val_starts)
    lstm = lstm_score(nll, hits)
    x_ids, y_ids = ds.window_ids(ds.val_starts)
    unigram, bigram, trigram, interpolated = baseline_scores(ds.train_tokens, x_ids, y_ids,
                                                             codec.n_values)
    assert lstm.nll < bigram.nll < unigram.nll
    assert interpolated.nll < min(bigram.nll, trigram.nll)
    assert lstm.accuracy > unigram.accuracy


def test_ngram_baselines_on_a_line_they_can_learn_exactly():
    train_ = [[0, 1, 2] * 30, [5, 6] * 10]
    x_ids = np.array([[0, 1, 2, 0], [5, 6, 5, 6]])
    y_ids = np.array([[1, 2, 0, 1], [6, 5, 6, 9]])  # 9 after (5, 6) and 6 was never seen
    scores = baseline_scores(train_, x_ids, y_ids, n_values=12)
    assert [s.name.split(" ")[0] for s in scores] == ["unigram", "bigram", "trigram", "trigram"]
    assert all(np.isfinite(s.nll) for s in scores)
    assert scores[2].accuracy == scores[3].accuracy == 7 / 8  # all but the unseen 9
    assert scores[3].nll < scores[0].nll and scores[1].nll < scores[0].nll


def test_export_command_writes_a_self_describing_checked_model(tiny_model):
    model = onnx.load(tiny_model)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(model.graph.input) + list(model.graph.output)}
    assert [i.name for i in model.graph.input] == ["x", "cond", "h", "c"]
    assert [o.name for o in model.graph.output] == ["probs", "h_out", "c_out"]
    assert shapes == {"x": ["batch", codec.n_values], "cond": ["batch", COND_WIDTH],
                      "h": ["batch", 16], "c": ["batch", 16], "probs": ["batch", codec.n_values],
                      "h_out": ["batch", 16], "c_out": ["batch", 16]}
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["vocabulary"]) == codec.names
    assert (meta["n_values"], meta["n_a"], meta["tx"]) == (str(codec.n_values), "16", "12")
    assert (meta["cond_layout"], meta["cond_version"], meta["cond_width"]) == (
        COND_LAYOUT, "1", str(COND_WIDTH))
    assert "builtin" in meta["corpus"] and meta["license"]
    hyper = json.loads(meta["hyperparameters"])
    assert {"lr", "batch_size", "dropout", "no_chord_rate", "key_chord_rate"} <= set(hyper)
    assert hyper["validation_solos"] and all(n.startswith("builtin") for n in
                                             hyper["validation_solos"])
    quality = json.loads(meta["quality"])
    assert {"LSTM", "unigram", "bigram", "trigram"} <= {k.split(" ")[0] for k in quality}
    feel = json.loads(meta["feel"])  # measured on the training solos (one band: no tempi)
    assert feel["bands"] == ["0+"] and feel["solos"][0] > 0 and "swing" not in feel
    assert 0 < feel["notes_per_bar"][0] < 48 and 0 <= feel["echo"][0] <= 1
    critic = json.loads(meta["critic"])  # trained against the model's own phrases
    assert critic["file"] == "model.critic.onnx" and critic["width"] == FEATURES_WIDTH
    assert 0 <= critic["held_out_auc"] <= 1
    engine = Engine(tiny_model)  # the runtime needs nothing but the file (and its critic)
    assert engine.n_a == 16 and engine.has_cond
    assert engine.prime([1, 2, 3]).shape == (codec.n_values,)
    assert engine.critic is not None and engine.critic.logits([Phrase([], 0, 2)]).shape == (1,)


def test_export_from_a_midi_folder_skips_and_reports_bad_files(tmp_path):
    folder = tmp_path / "solos"
    folder.mkdir()
    for i in range(3):
        write_midi(str(folder / f"solo{i}.mid"),
                   [melody_messages([60 + (k * 7 + i) % 14 for k in range(60)])])
    (folder / "corrupt.mid").write_bytes(b"MThd garbage")
    write_midi(str(folder / "drums.mid"), [melody_messages([36, 38] * 8, channel=9)])
    test_set = write_midi(str(tmp_path / "test.mid"),
                          [melody_messages([62 + (k * 5) % 12 for k in range(90)])])
    proc = jazz("export", "--midi", str(folder), "--epochs", "1", "--tx", "8", "--n-a", "8",
                "--test", test_set, "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "3 files used" in proc.stderr and "2 skipped" in proc.stderr
    assert proc.stderr.count("warning: skipped") == 2
    external = proc.stdout.split("external test set (1 solos, not trained on); n-grams "
                                 "trained on the training split")[1].splitlines()
    assert [ln.split()[0] for ln in external[2:7]] == ["LSTM", "unigram", "bigram", "trigram",
                                                       "trigram"]
    assert "external test set, not trained on" in proc.stdout  # evaluate's continuations
    assert "chord tones on beats 1 and 3" in proc.stdout
    assert (tmp_path / "out" / "model.onnx").exists()
    assert (tmp_path / "out" / "model.weights.h5").exists()
    # 3 solos: each one's last 15% by time is validation
    assert "validation: the last 15% of each solo by time; n-grams trained on the training " \
        "part; NLL/token: lower is better" in proc.stdout
    assert "bigram" in proc.stdout  # the quality table
    epochs = [ln for ln in proc.stderr.splitlines() if ln.startswith("epoch")]
    assert len(epochs) == 1 and "val" in epochs[0] and "ETA" in epochs[0]
    assert "peak RSS" in proc.stderr
    assert "I0000" not in proc.stderr and "absl" not in proc.stderr  # TensorFlow kept quiet


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

    from jazz_export.model import default_cond, load_layers

    weights = os.path.join(os.path.dirname(tiny_model), "model.weights.h5")
    LSTM_cell, densor, _ = load_layers(weights, codec.n_values, 16)
    engine = Engine(tiny_model)
    x = np.zeros((1, 1, codec.n_values), np.float32)
    x[0, 0, 7] = 1.0
    a0 = np.zeros((1, 16), np.float32)
    cond = default_cond(20)
    _, indices = predict_and_sample(music_inference_model(LSTM_cell, densor, Ty=20), x, a0, a0,
                                    cond)
    token, onnx_indices = 7, []
    for t in range(20):
        engine.cond[:] = cond[0, t]
        token = int(engine.step(token).argmax())
        onnx_indices.append(token)
    assert onnx_indices == indices[:, 0].tolist()


def test_ngram_baselines_past_the_limit_score_an_even_sample_of_the_windows():
    rng = np.random.default_rng(0)
    train_ = [rng.integers(0, 12, 400).tolist()]
    x_ids = rng.integers(0, 12, (50, 8))
    y_ids = rng.integers(0, 12, (50, 8))
    sampled = baseline_scores(train_, x_ids, y_ids, n_values=12, limit=10)
    keep = np.linspace(0, 49, 10).round().astype(int)
    assert sampled == baseline_scores(train_, x_ids[keep], y_ids[keep], n_values=12)
    assert sampled != baseline_scores(train_, x_ids, y_ids, n_values=12)
    assert sample_note(50, 10) == "; n-grams on an even sample of 10 of the 50 windows"
    assert sample_note(50, 100) == ""


def _reference_ngram(train_, x_ids, y_ids, order, n_values, k):
    """The n-gram score counted the plain way (tuples and dicts), as an oracle."""
    grams, contexts = Counter(), Counter()
    for piece in train_:
        seq = [-1] * (order - 1) + piece
        for i in range(order - 1, len(seq)):
            grams[tuple(seq[i - order + 1:i + 1])] += 1
            contexts[tuple(seq[i - order + 1:i])] += 1
    nll, hits = [], []
    for xs, ys in zip(x_ids.tolist(), y_ids.tolist()):
        history = [-1] * (order - 1) + xs
        for t, y in enumerate(ys):
            ctx = tuple(history[t + 1:t + order]) if order > 1 else ()
            nll.append(-np.log((grams[ctx + (y,)] + k) / (contexts[ctx] + k * n_values)))
            hits.append(max(range(n_values), key=lambda v: (grams[ctx + (v,)], -v)) == y)
    return float(np.mean(nll)), float(np.mean(hits))


def test_ngram_tables_count_exactly_what_a_plain_count_gives():
    rng = np.random.default_rng(1)
    n_values = 9
    train_ = [rng.integers(0, n_values, n).tolist() for n in (40, 1, 0, 25)]
    x_ids = rng.integers(0, n_values, (30, 6))  # unseen contexts, ties, window starts
    y_ids = rng.integers(0, n_values, (30, 6))
    for order in (1, 2, 3):
        ours = ngram_score(train_, x_ids, y_ids, order, n_values)
        k = float(ours.name.split("k=")[1].rstrip(")"))
        nll, acc = _reference_ngram(train_, x_ids, y_ids, order, n_values, k)
        assert abs(ours.nll - nll) < 1e-9 and ours.accuracy == acc, (order, ours, nll, acc)


def test_interpolated_trigram_mixes_exactly_what_a_plain_count_gives():
    from jazz_export.quality import INTERPOLATION, interpolated_score

    rng = np.random.default_rng(2)
    n_values = 7
    train_ = [rng.integers(0, n_values, n).tolist() for n in (50, 3, 30)]
    x_ids = rng.integers(0, n_values, (20, 5))
    y_ids = rng.integers(0, n_values, (20, 5))
    follow = {2: {}, 3: {}}
    for order in (2, 3):
        for piece in train_:
            seq = [-1] * (order - 1) + piece
            for i in range(order - 1, len(seq)):
                follow[order].setdefault(tuple(seq[i - order + 1:i]), Counter())[seq[i]] += 1
    uni = np.bincount(np.concatenate(train_), minlength=n_values) + 1.0
    uni /= uni.sum()

    def dist(order, ctx):
        c = follow[order].get(ctx)
        return None if c is None else np.array([c[v] for v in range(n_values)]) / sum(c.values())

    best = None
    for weights in INTERPOLATION:
        nll, hits = [], []
        for xs, ys in zip(x_ids.tolist(), y_ids.tolist()):
            history = [-1, -1] + xs
            for t, y in enumerate(ys):
                parts = [(w, p) for w, p in zip(weights, (dist(3, tuple(history[t + 1:t + 3])),
                                                          dist(2, (history[t + 2],)), uni))
                         if p is not None]
                mix = sum(w * p for w, p in parts) / sum(w for w, _ in parts)
                nll.append(-np.log(mix[y]))
                hits.append(mix.argmax() == y)
        if best is None or np.mean(nll) < best[0]:
            best = (float(np.mean(nll)), float(np.mean(hits)))
    ours = interpolated_score(train_, x_ids, y_ids, n_values)
    assert abs(ours.nll - best[0]) < 1e-9 and ours.accuracy == best[1]
