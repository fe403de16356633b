"""Training on a few of the user's own solos: which model to start from, what the
validation split is, and a plain warning when the result learnt less than counting would.

The export command prints what these return; none of them imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jazz_plugin.errors import ConfigError
from jazz_plugin.music.codec import Codec

from .base import AUTO, NONE, SMALL_CORPUS_TOKENS, Base, load_base
from .dataset import VALIDATION_FRACTION, Dataset
from .quality import Score

# Defaults of a fine-tuning run (docs/training.md). The rate: on one 1,631-note WJazzD solo
# lr 0.0003 / 0.001 gave validation NLL 3.4564 / 3.4583 (base 3.4616), and on 4,489 tokens
# of the built-in corpus (a style far from the base's) 3.10 / 2.79, where scratch gave
# 2.85: 0.001 beats training from scratch on both. The base itself counts as epoch 0, so
# a run that never improves on it keeps it.
FINETUNE_LR = 0.001  # Adam step size from a base: higher forgets the base sooner
PATIENCE = 8  # epochs without a better validation loss before a fine-tuning run stops
# Under this many validation tokens a table's gaps may be chance: the note says how much.
MEANINGFUL_VALIDATION_TOKENS = 2000


def choose_base(choice: str | None, codec: Codec, n_a: int | None,
                train_tokens: int) -> tuple[Base | None, str]:
    """The base model of this run (None: from scratch) and the line that says why.

    `choice` is --from (None: auto): `default`, `none` or a file. Auto fine-tunes the shipped
    model when the corpus has under SMALL_CORPUS_TOKENS training tokens and the shipped model
    fits this run (same codec, vocabulary, conditioning; --n-a unset or equal).
    """
    if choice == NONE:
        return None, "from scratch (--from none)"
    if choice is not None:
        base = load_base(choice, codec, n_a)
        return base, f"fine-tuning {base.label} (--from {choice})"
    if train_tokens >= SMALL_CORPUS_TOKENS:
        return None, (f"from scratch: the corpus is large ({train_tokens:,} training tokens, "
                      f"at least {SMALL_CORPUS_TOKENS:,}); --from default fine-tunes the "
                      f"shipped model instead")
    try:
        base = load_base(AUTO, codec, n_a)
    except ConfigError as e:
        return None, f"from scratch: the shipped model cannot be the base ({e})"
    return base, (f"fine-tuning the shipped model: the corpus is small ({train_tokens:,} "
                  f"training tokens, under {SMALL_CORPUS_TOKENS:,}); --from none trains from "
                  f"scratch")


def split_note(ds: Dataset, durations: np.ndarray) -> str:
    """How the data was split, in one line (the time split names the bar it starts at)."""
    tokens = ds.records["tokens"].astype(np.int64)
    n_train = sum(s.stop - s.start for s in ds.train)
    n_val = sum(s.stop - s.start for s in ds.val)
    sizes = (f"training {n_train:,} tokens in {len(ds.train_starts)} windows, validation "
             f"{n_val:,} tokens in {len(ds.val_starts)} windows")
    if ds.split != "time":
        return f"split: whole solos held out ({len(ds.val)} of {len(ds.val) + len(ds.train)}); " \
               f"{sizes}"
    bars = []
    for train, val in zip(ds.train, ds.val):
        ticks = durations[tokens[train.start:val.stop]]
        at, total = ticks[:val.start - train.start].sum(), ticks.sum()
        bars.append(f"bar {at // 48 + 1} of {math.ceil(total / 48)}")
    where = bars[0] if len(bars) == 1 else f"{bars[0]}, ..."
    return (f"split by time: the last {VALIDATION_FRACTION:.0%} of each solo is validation "
            f"(from {where}); no training window reaches into it; {sizes}")


def small_validation_note(ds: Dataset, nll: np.ndarray) -> str | None:
    """For a validation set too small to mean much: one line with its standard error.

    `nll` is the LSTM's per-token NLL on the validation windows [m, Tx].
    """
    n_val = int(sum(s.stop - s.start for s in ds.val))
    if n_val >= MEANINGFUL_VALIDATION_TOKENS or nll.size == 0:
        return None
    se = float(np.std(nll)) / math.sqrt(max(n_val, 1))
    return (f"note: validation holds only {n_val:,} tokens, too few to mean much: each "
            f"NLL/token is within about ±{se:.2f} (one standard error), so gaps under "
            f"{2 * se:.2f} may be chance; more solos give a firmer figure")


def weak_model_warning(scores: Sequence[Score], base: Base | None, steps: int,
                       windows: int) -> str | None:
    """One line when the LSTM does not beat the unigram or bigram on validation: the likely
    cause and the next step. None when it beats both."""
    lstm = scores[0]
    beaten = [s for s in scores if s.name.startswith(("unigram", "bigram")) and
              s.nll <= lstm.nll]
    if not beaten:
        return None
    worst = min(beaten, key=lambda s: s.nll)
    what = worst.name.split(" ")[0]
    if base is None:
        cause = f"too little data or too few steps from random weights ({windows} training " \
                f"windows, {steps} steps)"
        fix = "fine-tune instead with --from default, add more files, or train more --epochs"
    else:
        cause = f"too little data ({windows} training windows, {steps} steps)"
        fix = "add more files, or try more --epochs or a higher --lr"
    return (f"warning: the LSTM (validation NLL/token {lstm.nll:.3f}) does not beat the "
            f"{what} ({worst.nll:.3f}): {cause}; next: {fix}. The model is written anyway")
