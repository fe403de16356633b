"""Training on a few of the user's own solos: `export --from`, the base model read back from
ONNX, the time split of a small corpus, early stopping and the warning of a weak model.

Small bases (n_a 8) are built here; only one test reads the shipped model."""

import json
import random

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import jazz, one_error_line
from jazz_export.base import SMALL_CORPUS_TOKENS, load_base, onnx_weights
from jazz_export.corpus import builtin_changes, builtin_corpus, builtin_piece
from jazz_export.dataset import (
    TIME_SPLIT_SOLOS,
    VALIDATION_FRACTION,
    SoloRecords,
    make_dataset,
    train_batches,
)
from jazz_export.finetune import choose_base, weak_model_warning
from jazz_export.model import fused_model, make_layers, step_model
from jazz_export.onnx_export import save_onnx, to_onnx
from jazz_export.quality import Score
from jazz_export.train import token_nll, train

from jazz_plugin.corpus.midifile import write_line
from jazz_plugin.errors import ConfigError
from jazz_plugin.model.modelinfo import ModelInfo
from jazz_plugin.music.codec import TICKS_PER_QUARTER, Codec, quantize

codec = Codec()
N_A, TX = 8, 10
DURATIONS = np.array([t.dur for t in codec.tokens], np.int64)


def small_base(path, n_a: int = N_A, seed: int = 3, bias: float = 2.0,
               **meta) -> tuple[str, list[np.ndarray]]:
    """A small model.onnx with random weights, as `jazz-plugin export` writes it, whose
    densor bias (spread `bias`) makes it far from uniform; `meta` overrides metadata
    entries. Returns its path and its Keras weights."""
    import keras

    keras.utils.set_random_seed(seed)
    cell, densor, _ = make_layers(codec.n_values, n_a)
    kernel, _ = densor.get_weights()
    spread = np.random.default_rng(seed).normal(0, bias, codec.n_values) if bias else 0
    densor.set_weights([kernel, np.zeros(codec.n_values, np.float32) + spread])
    weights = cell.get_weights() + densor.get_weights()
    model = to_onnx(cell, densor, ModelInfo(vocabulary=codec.names, n_a=n_a, tx=TX,
                                            license="Trained on test lines, CC0."))
    for prop in model.metadata_props:
        if prop.key in meta:
            prop.value = meta[prop.key]
    save_onnx(model, str(path))
    return str(path), weights


@pytest.mark.parametrize("bias", [2.0, 0.0])  # tf2onnx drops the Add of a zero bias
def test_the_base_weights_read_back_from_onnx_are_exactly_the_keras_ones(tmp_path, bias):
    path, weights = small_base(tmp_path / "base.onnx", bias=bias)
    base = load_base(path, codec)
    assert base.info.n_a == N_A
    assert len(base.weights) == len(weights) == 5
    for got, want in zip(base.weights, weights, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want)  # bit for bit, not close


def test_the_shipped_model_loads_as_a_base_that_steps_like_its_onnx_graph():
    """The one test that reads the shipped model (it changes when it is retrained)."""
    base = load_base("default", codec)
    auto, why = choose_base(None, codec, None, SMALL_CORPUS_TOKENS - 1)  # a small corpus
    assert auto is not None and auto.label == "the shipped model" and "is small" in why
    cell, densor, reshaper = make_layers(codec.n_values, base.info.n_a)
    cell.set_weights(base.lstm_weights)
    densor.set_weights(base.densor_weights)
    rng = np.random.default_rng(0)
    n_a, width = base.info.n_a, base.info.cond_width
    feeds = {"x": np.eye(codec.n_values, dtype=np.float32)[rng.integers(0, codec.n_values, 4)],
             "cond": rng.integers(0, 2, (4, width)).astype(np.float32),
             "h": rng.standard_normal((4, n_a)).astype(np.float32),
             "c": rng.standard_normal((4, n_a)).astype(np.float32)}
    onnx_out = ort.InferenceSession(base.path).run(None, feeds)
    keras_out = step_model(cell, densor, reshaper)([feeds[k] for k in ("x", "cond", "h", "c")])
    for a, b in zip(onnx_out, keras_out, strict=True):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-6)


@pytest.mark.parametrize("case, meta, n_a, expected", [
    ("vocabulary", "swap", None, f"expected this codec's {codec.n_values} tokens"),
    ("codec version", {"codec_version": "99"}, None, "this jazz-plugin reads"),
    ("conditioning", {"cond_version": "99"}, None, "this jazz-plugin reads"),
    ("n_a", {}, 16, "has n_a 8, and --n-a asks for 16"),
])
def test_a_base_that_does_not_fit_is_refused_saying_what_was_expected(tmp_path, case, meta,
                                                                      n_a, expected):
    if meta == "swap":  # the same tokens in another order: the one-hot rows mean others
        names = list(codec.names)
        names[0], names[1] = names[1], names[0]
        meta = {"vocabulary": json.dumps(names)}
    path, _ = small_base(tmp_path / "base.onnx", **meta)
    with pytest.raises(ConfigError) as e:
        load_base(path, codec, n_a)
    message = str(e.value)
    assert message.startswith(f"--from {path}:") and expected in message, message
    assert "\n" not in message


def test_a_graph_that_is_not_our_step_model_is_refused(tmp_path):
    path, _ = small_base(tmp_path / "base.onnx")
    model = onnx.load(path)
    gather = next(n for n in model.graph.node if n.op_type == "Gather")
    model.graph.node.remove(gather)
    with pytest.raises(ConfigError, match="gathers no token rows"):
        onnx_weights(model)


def test_auto_trains_from_scratch_above_the_threshold_or_when_the_base_cannot_be_used():
    base, why = choose_base(None, codec, None, SMALL_CORPUS_TOKENS)
    assert base is None and "the corpus is large" in why
    base, why = choose_base(None, codec, N_A, 100)  # another --n-a: the shipped one cannot be
    assert base is None and why.startswith("from scratch: the shipped model cannot be the base")
    assert choose_base("none", codec, None, 100)[0] is None


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    """The first step's loss is the base model's loss on that very batch."""
    import tensorflow as tf

    _, weights = small_base(tmp_path / "base.onnx")
    corpus = builtin_corpus(codec, seed=2, pieces_per_key=1, choruses=1)
    ds = make_dataset(corpus.solos, codec.n_values, TX, seed=0)
    batch = len(ds.train_starts)  # one step per epoch: epoch 1's loss is step 1's
    result = train(ds, codec.n_values, N_A, epochs=1, seed=5, verbose=False, lr=0.01,
                   batch_size=batch, dropout=0.0, init=weights)
    cell, densor, _ = make_layers(codec.n_values, N_A, dropout=0.0)
    cell.set_weights(weights[:3])
    densor.set_weights(weights[3:])
    model, _ = fused_model(TX, cell, densor)
    inputs, y = next(iter(train_batches(ds, batch, N_A, 5, 0, 1)))  # the same chord draws
    base_loss = float(tf.reduce_mean(token_nll(model, inputs, y, training=False)))
    assert result.losses[0] == pytest.approx(base_loss, rel=1e-5)
    scratch = train(ds, codec.n_values, N_A, epochs=1, seed=5, verbose=False, lr=0.01,
                    batch_size=batch, dropout=0.0)
    assert abs(scratch.losses[0] - base_loss) > 0.5  # it is the base that set the loss


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience():
    corpus = builtin_corpus(codec, seed=2, pieces_per_key=1, choruses=1)
    ds = make_dataset(corpus.solos, codec.n_values, TX, seed=0)
    result = train(ds, codec.n_values, N_A, epochs=10, verbose=False, lr=0.0, dropout=0.0,
                   patience=2)  # weights that never change never improve
    assert (result.best_epoch, result.last_epoch) == (1, 3)
    assert result.hyperparameters["patience"] == 2


def test_a_fine_tuning_run_that_never_beats_its_base_keeps_the_base_exactly(tmp_path):
    _, weights = small_base(tmp_path / "base.onnx")
    corpus = builtin_corpus(codec, seed=2, pieces_per_key=1, choruses=1)
    ds = make_dataset(corpus.solos, codec.n_values, TX, seed=0)
    result = train(ds, codec.n_values, N_A, epochs=10, verbose=False, lr=0.0, dropout=0.0,
                   patience=2, init=weights)
    assert (result.best_epoch, result.last_epoch) == (0, 2)  # the base is epoch 0
    kept = result.LSTM_cell.get_weights() + result.densor.get_weights()
    for got, want in zip(kept, weights, strict=True):
        assert np.array_equal(got, want)


def _token_starts(tokens: np.ndarray) -> np.ndarray:
    return np.cumsum(DURATIONS[tokens]) - DURATIONS[tokens]


def test_the_time_split_leaks_no_window():
    rng = np.random.default_rng(1)
    solos = [SoloRecords.from_tokens(rng.integers(0, codec.n_values, n), codec, name=f"s{i}")
             for i, n in enumerate((120, 300, 45))]
    ds = make_dataset(solos, codec.n_values, TX, durations=DURATIONS, stride=3)
    assert ds.split == "time"
    tokens = ds.records["tokens"].astype(np.int64)
    train_used = {int(s) + k for s in ds.train_starts for k in range(TX + 1)}
    val_used = {int(s) + k for s in ds.val_starts for k in range(TX + 1)}
    assert not train_used & val_used  # not one token (input or target) is shared
    for tr, va in zip(ds.train, ds.val, strict=True):
        assert tr.stop == va.start  # the cut, inside one solo
        starts = _token_starts(tokens[tr.start:va.stop])
        total = starts[-1] + DURATIONS[tokens[va.stop - 1]]
        cut = (1 - VALIDATION_FRACTION) * total
        assert (starts[:tr.stop - tr.start] < cut).all()  # training: before 85% of the time
        assert (starts[tr.stop - tr.start:] >= cut).all()  # validation: the last 15%
        assert all(tr.start <= s and s + TX < tr.stop for s in ds.train_starts
                   if tr.start <= s < va.stop)
        assert all(va.start <= s and s + TX < va.stop for s in ds.val_starts
                   if tr.start <= s < va.stop)
    assert len(ds.val_starts) > 0 and len(ds.train_starts) > 0
    many = [SoloRecords.from_tokens(rng.integers(0, codec.n_values, 40), codec)
            for _ in range(TIME_SPLIT_SOLOS)]
    assert make_dataset(many, codec.n_values, TX, durations=DURATIONS).split == "solo"


def _scores(lstm: float) -> list[Score]:
    return [Score("LSTM", lstm, 0.1), Score("unigram (k=1)", 4.0, 0.1),
            Score("bigram (k=0.1)", 3.5, 0.1), Score("trigram (k=0.1)", 2.0, 0.1)]


def test_the_warning_names_the_baseline_the_cause_and_the_next_step():
    line = weak_model_warning(_scores(4.2), None, 100, 43)
    assert line.startswith("warning: the LSTM (validation NLL/token 4.200) does not beat the "
                           "bigram (3.500)")
    assert "43 training windows, 100 steps" in line and "--from default" in line
    assert "--from default" not in weak_model_warning(_scores(3.7), object(), 100, 43)
    assert weak_model_warning(_scores(3.4), None, 100, 43) is None  # beats both (not trigram)


def solo_file(path, choruses: int = 6) -> str:
    """A real two-track MIDI file (Solo, Chords): a built-in blues line over its changes."""
    notes = quantize(builtin_piece(random.Random(4), 5, "blues", choruses), TICKS_PER_QUARTER)
    write_line(notes, str(path), bpm=160, changes=builtin_changes(5, "blues", choruses))
    return str(path)


def test_export_warns_when_the_model_does_not_beat_the_unigram_and_still_writes_it(tmp_path):
    mid = solo_file(tmp_path / "solo.mid")
    out = tmp_path / "out"
    proc = jazz("export", "--midi", mid, "--from", "none", "--epochs", "1", "--lr", "1e-9",
                "--tx", "8", "--n-a", "8", "--out", str(out), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "split by time: the last 15% of each solo is validation" in proc.stderr
    assert "starting point: from scratch (--from none)" in proc.stderr
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: the LSTM")]
    assert len(warning) == 1, proc.stderr
    assert "does not beat the unigram" in warning[0] or "does not beat the bigram" in warning[0]
    lstm = float(next(ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("LSTM ")))
    unigram = float(next(ln.split()[2] for ln in proc.stdout.splitlines()
                         if ln.startswith("unigram")))
    assert lstm > unigram  # what the warning says is so
    assert (out / "model.onnx").is_file()


def test_export_from_a_base_file_fine_tunes_it_and_refuses_a_misfit_in_one_line(tmp_path):
    mid = solo_file(tmp_path / "solo.mid")
    path, _ = small_base(tmp_path / "base.onnx")
    out = tmp_path / "out"
    proc = jazz("export", "--midi", mid, "--from", path, "--epochs", "2", "--tx", "8",
                "--out", str(out), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert f"starting point: fine-tuning '{path}' (--from {path})" in proc.stderr
    assert "base model, not fine-tuned" in proc.stdout
    meta = {p.key: p.value for p in onnx.load(str(out / "model.onnx")).metadata_props}
    assert meta["n_a"] == str(N_A)  # taken from the base
    assert json.loads(meta["hyperparameters"])["base"] == "base.onnx"
    assert meta["license"] == ("trained on the user's own MIDI files; their licences apply; "
                               "fine-tuned from a model trained on test lines, CC0.")
    misfit = jazz("export", "--midi", mid, "--from", path, "--n-a", "16", "--tx", "8",
                  "--out", str(tmp_path / "o2"), "--no-cache")
    assert "has n_a 8, and --n-a asks for 16" in one_error_line(misfit)
    assert "corpus:" not in misfit.stderr  # refused before the corpus is read
