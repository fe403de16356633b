"""`jazz-plugin export`: corpus -> windows -> training -> quality -> model.onnx + weights."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from jazz_plugin.codec import Codec
from jazz_plugin.errors import ConfigError
from jazz_plugin.modelinfo import ModelInfo

from .corpus import builtin_corpus, load_midi_corpus
from .dataset import make_dataset
from .quality import baseline_scores, lstm_score, quality_table

if TYPE_CHECKING:
    from .train import TrainResult


def check_writable(out: str) -> bool:
    """Fail before training, not after, when --out cannot take our files.

    Returns whether the folder was created here (so a failed run can remove it again).
    """
    created = not os.path.isdir(out)
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
    except OSError as e:
        raise ConfigError(f"--out {out!r} is not writable ({e.strerror})") from None
    return created


def run_export(args: argparse.Namespace) -> int:
    """Train and write DIR/model.onnx and DIR/model.weights.h5; prints the quality table."""
    created = check_writable(args.out)
    try:
        return _export(args)
    except BaseException:
        if created and not os.listdir(args.out):
            os.rmdir(args.out)
        raise


def _export(args: argparse.Namespace) -> int:
    codec = Codec()
    if args.midi:
        corpus = load_midi_corpus(args.midi, codec, args.track)
    else:
        corpus = builtin_corpus(codec, seed=args.seed)
    print(f"corpus: {corpus.summary}", file=sys.stderr)
    ds = make_dataset(corpus.pieces, codec.n_values, args.tx, seed=args.seed)
    print(f"windows: {len(ds.X)} train, {len(ds.X_val)} validation, Tx={args.tx}, "
          f"n_values={codec.n_values}, n_a={args.n_a}", file=sys.stderr)
    from .onnx_export import save_onnx, to_onnx  # TensorFlow loads only once input is good
    from .train import predict_windows, train

    result = train(ds, codec.n_values, args.n_a, epochs=args.epochs, unrolled=args.unrolled,
                   seed=args.seed)
    print(f"trained ({'unrolled djmodel' if args.unrolled else 'fused'}): first epoch "
          f"{result.first_epoch_s:.1f} s, all {args.epochs} epochs {result.total_s:.1f} s, "
          f"final loss/token {result.final_loss:.4f}; kept epoch {result.best_epoch} "
          f"(validation loss/token {result.best_val_loss:.4f})", file=sys.stderr)
    scores = [lstm_score(predict_windows(result.LSTM_cell, result.densor, ds.X_val), ds.Y_val)]
    scores += baseline_scores(ds.train_tokens, ds.X_val, ds.Y_val, codec.n_values)
    table = quality_table(scores)
    print(table)
    info = ModelInfo(
        vocabulary=codec.names, n_a=args.n_a, tx=args.tx, corpus=corpus.summary,
        quality={s.name: {"nll": round(s.nll, 4), "accuracy": round(s.accuracy, 4)}
                 for s in scores},
    )
    model_path = os.path.join(args.out, "model.onnx")
    save_onnx(to_onnx(result.LSTM_cell, result.densor, info), model_path)
    weights_path = os.path.join(args.out, "model.weights.h5")
    save_weights(result, weights_path)
    print(f"wrote {model_path} and {weights_path}", file=sys.stderr)
    return 0


def save_weights(result: TrainResult, path: str) -> None:
    """The Keras weights of LSTM_cell and densor (Keras's own format), atomically.

    Load them back with `export.model.load_layers(path, n_values, n_a)`.
    """
    from .model import step_model

    tmp = f"{path}.partial.weights.h5"  # Keras insists on the .weights.h5 ending
    try:
        step_model(result.LSTM_cell, result.densor, result.reshaper).save_weights(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
