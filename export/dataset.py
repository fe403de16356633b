"""Training windows as index arrays, expanded batch by batch inside a tf.data pipeline.

A corpus becomes a few flat per-token arrays, every solo end to end: the tokens and the
conditioning records of `jazz_plugin.model.conditioning` (chord, next chord, reference pitch
class, bar position), plus each solo's key chord. A window is just its start offset. Each
batch gathers its windows from those arrays and makes the one-hots and the conditioning
vectors inside the TensorFlow graph, so nothing of size vocabulary x windows is ever built.

Window `s` holds input tokens `s .. s+Tx-1`, targets `s+1 .. s+Tx` and the conditioning of
steps `s .. s+Tx-1` (each describing where its target starts). Windows never cross a solo.
The validation split never shares a token with training: whole solos go to validation, or,
in a small corpus (fewer than TIME_SPLIT_SOLOS solos), the last 15% of each solo by time
does, and the training windows end before it.

Chord dropout (training windows only, one draw per window) teaches the model the two ways
the runtime conditions when nobody gives it chords:
- NO_CHORD_RATE of the windows see no chord at all (the "no chord known" flag);
- KEY_CHORD_RATE see the solo's key chord as both chord and next chord, as the runtime does
  when it estimates the key from the musician's call.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jazz_plugin.errors import CorpusError
from jazz_plugin.model.conditioning import (
    BEATS_PER_BAR,
    FULL_MASK,
    TICKS_PER_BAR,
    TICKS_PER_BEAT,
)
from jazz_plugin.music.codec import Codec

VALIDATION_FRACTION = 0.15  # share of solos (or of a small corpus's time) held out
TIME_SPLIT_SOLOS = 10  # fewer solos than this: validate on the end of each, by time
NO_CHORD_RATE = 0.10  # training windows with the chords removed: more = better without chords
KEY_CHORD_RATE = 0.20  # training windows with the key chord for every chord (runtime w/o chords)
RECORD_FIELDS = ("tokens", "chord", "next_chord", "ref_pc", "pos")
# 10 bytes a token, as jazz_plugin.corpus.solo stores them: vocabulary < 2**15, chord masks 12 bits,
# pitch classes and bar ticks < 256. Widened to int32 in the graph, after the gather.
RECORD_DTYPES = {"tokens": np.int16, "chord": np.uint16, "next_chord": np.uint16,
                 "ref_pc": np.uint8, "pos": np.uint8, "key_chord": np.uint16}


@dataclass
class SoloRecords:
    """The per-token arrays `Dataset` reads from a solo (jazz_plugin.corpus.solo.Solo has them too).

    `chord`, `next_chord`, `ref_pc` and `pos` at i describe where token i+1 starts.
    """

    tokens: np.ndarray  # [n] codec indices
    chord: np.ndarray  # [n] chord mask, 0 = none
    next_chord: np.ndarray  # [n] next different chord mask, 0 = none
    ref_pc: np.ndarray  # [n] pitch class of the last note up to token i
    pos: np.ndarray  # [n] tick in the bar where token i+1 starts
    key_chord: int = 0  # tonic-chord mask of the solo's key
    name: str = ""
    performer: str = ""

    @classmethod
    def from_tokens(cls, tokens: Sequence[int], codec: Codec, name: str = "",
                    performer: str = "", chord: int = 0, key_chord: int = 0) -> SoloRecords:
        """Records of a bare token line starting on a downbeat, under one fixed chord
        (0 = none): bar positions from the token lengths, reference pitch from the intervals."""
        toks = np.asarray(tokens, np.int64)
        durs = np.array([codec.tokens[t].dur for t in toks], np.int64)
        steps = np.array([0 if codec.tokens[t].is_rest else codec.tokens[t].interval
                          for t in toks], np.int64)
        n = len(toks)
        return cls(tokens=toks.astype(np.int16), chord=np.full(n, chord, np.uint16),
                   next_chord=np.full(n, chord, np.uint16),
                   ref_pc=(np.cumsum(steps) % 12).astype(np.uint8),
                   pos=(np.cumsum(durs) % TICKS_PER_BAR).astype(np.uint8),
                   key_chord=key_chord, name=name, performer=performer)


@dataclass
class Span:
    """One solo (or stretch of one) inside the flat arrays: [start, stop)."""

    name: str
    performer: str
    start: int
    stop: int


@dataclass
class Dataset:
    """Flat per-token arrays and the windows' start offsets into them."""

    records: dict[str, np.ndarray]  # RECORD_FIELDS + "key_chord" [N], RECORD_DTYPES
    tx: int
    n_values: int
    train: list[Span]
    val: list[Span]
    train_starts: np.ndarray  # int32 [m]
    val_starts: np.ndarray  # int32 [m_val]
    val_window_performer: list[str] = field(default_factory=list)  # [m_val]
    split: str = "solo"  # "solo": whole solos held out; "time": the end of each solo
    _tf_records: dict | None = field(default=None, repr=False, compare=False)

    def tf_records(self) -> dict:
        """The records as TensorFlow constants, made once and shared by every pipeline
        (training, validation, scoring): one copy in TensorFlow's memory, not one each."""
        if self._tf_records is None:
            import tensorflow as tf

            self._tf_records = {k: tf.constant(v) for k, v in self.records.items()}
        return self._tf_records

    @property
    def train_tokens(self) -> list[np.ndarray]:
        """The training solos' tokens (views into the records, for the n-gram baselines)."""
        t = self.records["tokens"]
        return [t[s.start:s.stop] for s in self.train]

    def window_ids(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Input and target token indices of the windows: two int arrays [m, Tx]."""
        idx = np.asarray(starts)[:, None] + np.arange(self.tx + 1)  # [m, Tx + 1]
        tokens = self.records["tokens"][idx]
        return tokens[:, :-1], tokens[:, 1:]


def split_pieces(pieces: Sequence[Any], seed: int) -> tuple[list[Any], list[Any]]:
    """Whole pieces (solos) to validation, in corpus order on both sides."""
    order = list(range(len(pieces)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(pieces) * VALIDATION_FRACTION))
    return [pieces[i] for i in sorted(order[n_val:])], [pieces[i] for i in sorted(order[:n_val])]


def window_starts(spans: Sequence[Span], tx: int, stride: int) -> np.ndarray:
    """Start offsets of every window of tx + 1 tokens, `stride` apart, inside each span."""
    parts = [np.arange(s.start, s.stop - tx, stride, dtype=np.int64) for s in spans]
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)


def _flatten(solos: Sequence[Any]) -> tuple[dict[str, np.ndarray], list[Span]]:
    """Concatenate the solos' per-token arrays; duck-typed on the SoloRecords fields."""
    lengths = [len(s.tokens) for s in solos]
    records = {k: np.concatenate([np.asarray(getattr(s, k), RECORD_DTYPES[k]) for s in solos])
               if solos else np.zeros(0, RECORD_DTYPES[k]) for k in RECORD_FIELDS}
    records["key_chord"] = np.repeat(
        np.array([int(getattr(s, "key_chord", 0)) for s in solos], RECORD_DTYPES["key_chord"]),
        lengths)
    spans, at = [], 0
    for s, n in zip(solos, lengths, strict=True):
        spans.append(Span(str(getattr(s, "name", "")), str(getattr(s, "performer", "")),
                          at, at + n))
        at += n
    return records, spans


def time_cut(tokens: np.ndarray, durations: np.ndarray,
             fraction: float = VALIDATION_FRACTION) -> int:
    """Index of the first token that starts in the last `fraction` of a solo's time, the
    time being the tokens' own durations (`durations`: ticks of each vocabulary entry)."""
    ends = np.cumsum(durations[np.asarray(tokens, np.int64)])  # [n] end tick of each token
    starts = ends - durations[np.asarray(tokens, np.int64)]
    return int(np.searchsorted(starts, ends[-1] * (1 - fraction), side="left")) if len(
        ends) else 0


def split_by_time(spans: Sequence[Span], tokens: np.ndarray,
                  durations: np.ndarray) -> tuple[list[Span], list[Span]]:
    """Each solo cut in two at 85% of its time: training before, validation after.
    The lists are aligned, one span each per solo (some may be too short for a window)."""
    train, val = [], []
    for s in spans:
        cut = s.start + time_cut(tokens[s.start:s.stop], durations)
        train.append(Span(s.name, s.performer, s.start, cut))
        val.append(Span(s.name, s.performer, cut, s.stop))
    return train, val


def make_dataset(solos: Sequence[Any], n_values: int, tx: int, seed: int = 0,
                 stride: int | None = None, durations: np.ndarray | None = None) -> Dataset:
    """Index the solos' windows and split them; refuses a Tx no solo can hold.

    With `durations` (ticks of each vocabulary entry), a corpus of fewer than
    TIME_SPLIT_SOLOS solos is split by time (`split_by_time`); otherwise whole solos are
    held out, or, with a single solo and no durations, its last 15% of tokens.
    """
    records, spans = _flatten(solos)
    longest = max((s.stop - s.start for s in spans), default=0)
    by_time = durations is not None and len(spans) < TIME_SPLIT_SOLOS
    single = len(spans) == 1 or by_time
    minimum = 2 * (tx + 1) if single else tx + 1
    if longest < minimum:
        need = "a single solo of at least" if len(spans) == 1 else "a solo of at least"
        raise CorpusError(f"--tx {tx} needs {need} {minimum} tokens; the longest has {longest}")
    if by_time:
        train, val = split_by_time(spans, records["tokens"], np.asarray(durations, np.int64))
    elif single:
        s = spans[0]
        cut = s.start + int((s.stop - s.start) * (1 - VALIDATION_FRACTION))
        train = [Span(s.name, s.performer, s.start, cut)]
        val = [Span(s.name, s.performer, cut, s.stop)]
    else:
        train, val = split_pieces(spans, seed)
    stride = stride or max(1, tx // 2)
    train_starts, val_starts = window_starts(train, tx, stride), window_starts(val, tx, stride)
    if len(train_starts) == 0 or len(val_starts) == 0:
        which = "training" if len(train_starts) == 0 else "validation"
        raise CorpusError(f"--tx {tx} leaves no {which} window; use a smaller --tx or a "
                          f"larger corpus")
    return Dataset(records, tx, n_values, train, val, train_starts, val_starts,
                   _performers(val, tx, stride), "time" if by_time else "solo")


def make_eval_set(solos: Sequence[Any], n_values: int, tx: int,
                  stride: int | None = None) -> Dataset:
    """Every window of the solos as held-out windows (an external test set; no training)."""
    records, spans = _flatten(solos)
    stride = stride or max(1, tx // 2)
    starts = window_starts(spans, tx, stride)
    if len(starts) == 0:
        raise CorpusError(f"the test set has no solo longer than --tx {tx} tokens")
    return Dataset(records, tx, n_values, [], spans, np.zeros(0, np.int32), starts,
                   _performers(spans, tx, stride))


def _performers(spans: Sequence[Span], tx: int, stride: int) -> list[str]:
    """The performer of each window that window_starts(spans, ...) gives, in order."""
    return [s.performer for s in spans for _ in range(len(window_starts([s], tx, stride)))]


# --- The TensorFlow side: the same arithmetic as jazz_plugin.model.conditioning.cond_matrix -----

def tf_cond(chord, next_chord, ref_pc, pos):
    """int32 records of any shape [...] -> float32 conditioning [..., COND_WIDTH], in-graph."""
    import tensorflow as tf

    bits = tf.range(12, dtype=tf.int32)
    next_chord = tf.where(next_chord == 0, chord, next_chord)
    r = tf.math.floormod(ref_pc, 12)[..., None]  # [..., 1]

    def relative_bits(mask):  # rotate so bit k is pitch class ref + k, then unpack 12 bits
        m = mask[..., None]
        rel = tf.bitwise.bitwise_and(tf.bitwise.bitwise_or(
            tf.bitwise.right_shift(m, r), tf.bitwise.left_shift(m, 12 - r)), FULL_MASK)
        return tf.bitwise.bitwise_and(tf.bitwise.right_shift(rel, bits), 1)  # [..., 12]

    pos = tf.math.floormod(pos, TICKS_PER_BAR)
    parts = [
        tf.cast(relative_bits(chord), tf.float32),  # [..., 12]
        tf.cast(relative_bits(next_chord), tf.float32),
        tf.one_hot(pos // TICKS_PER_BEAT, BEATS_PER_BAR),  # [..., 4]
        tf.one_hot(pos % TICKS_PER_BEAT, TICKS_PER_BEAT),  # [..., 12]
        tf.cast(chord == 0, tf.float32)[..., None],  # [..., 1]
    ]
    return tf.concat(parts, axis=-1)  # [..., COND_WIDTH]


def _expander(ds: Dataset, n_a: int):
    """The in-graph function: window starts [B] and chord draws [B] -> ((X, COND, a0, c0), Y).

    X [B, Tx, n_values] one-hot, COND [B, Tx, COND_WIDTH], a0 = c0 = zeros [B, n_a],
    Y int targets [B, Tx]. A draw below NO_CHORD_RATE removes the chords; the next
    KEY_CHORD_RATE of draws give the solo's key chord throughout; the rest the real chords.
    """
    import tensorflow as tf

    tx, n_values = ds.tx, ds.n_values
    rec = ds.tf_records()  # [N] each
    offsets = tf.range(tx + 1, dtype=tf.int32)

    def take(name, idx):  # the records at idx, as int32
        return tf.cast(tf.gather(rec[name], idx), tf.int32)

    def expand(start, draw):
        idx = start[:, None] + offsets  # [B, Tx + 1]
        tokens = take("tokens", idx)  # [B, Tx + 1]
        step = idx[:, :-1]  # [B, Tx]
        key = take("key_chord", step)
        none = (draw < NO_CHORD_RATE)[:, None]  # [B, 1]
        keyed = ((draw >= NO_CHORD_RATE) & (draw < NO_CHORD_RATE + KEY_CHORD_RATE))[:, None]
        chord = tf.where(none, 0, tf.where(keyed, key, take("chord", step)))
        next_chord = tf.where(none, 0, tf.where(keyed, key, take("next_chord", step)))
        cond = tf_cond(chord, next_chord, take("ref_pc", step),
                       take("pos", step))  # [B, Tx, COND_WIDTH]
        X = tf.one_hot(tokens[:, :-1], n_values)  # [B, Tx, n_values]
        zeros = tf.zeros([tf.shape(start)[0], n_a])  # [B, n_a]
        return (X, cond, zeros, zeros), tokens[:, 1:]

    return expand


def tf_dataset(ds: Dataset, starts: np.ndarray, batch_size: int, n_a: int,
               chords: str = "real"):
    """Batches ((X, COND, a0, c0), Y) of the windows at `starts`, in order, for scoring.

    Every window hears `chords`: "real", "key" (the solo's key chord throughout) or "none".
    """
    import tensorflow as tf

    fixed = {"real": 1.0, "key": NO_CHORD_RATE, "none": 0.0}[chords]
    windows = tf.data.Dataset.from_tensor_slices(tf.constant(starts, tf.int32))
    draws = tf.data.Dataset.from_tensors(tf.constant(fixed, tf.float32)).repeat()
    batches = tf.data.Dataset.zip((windows, draws)).batch(batch_size)
    return batches.map(_expander(ds, n_a), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)


def steps_per_epoch(ds: Dataset, batch_size: int) -> int:
    """Global batches in one epoch; the last partial one is dropped (see train_batches)."""
    steps = len(ds.train_starts) // batch_size
    if steps == 0:
        raise CorpusError(f"--batch-size {batch_size} is more than the "
                          f"{len(ds.train_starts)} training windows; use a smaller one")
    return steps


def train_batches(ds: Dataset, batch_size: int, n_a: int, seed: int, first_epoch: int,
                  epochs: int, context=None):
    """Training batches of epochs first_epoch .. epochs-1 for one input pipeline.

    Each epoch's window order and chord draws are a pure function of (seed, epoch), so a
    resumed run sees exactly what an uninterrupted one would have, and every worker
    computes the same order without talking to the others. Global batch b of an epoch is
    windows b*G .. (b+1)*G-1 of that order (G = `batch_size`); the pipeline of worker w
    of W takes its G/W slice of it, cut into per-replica batches for its local replicas in
    turn. So one worker or many, the gradient of step b is the mean over the same G
    windows. `context` is the tf.distribute.InputContext (None: one pipeline, one replica).
    """
    import tensorflow as tf

    n_pipes = context.num_input_pipelines if context else 1
    pipe = context.input_pipeline_id if context else 0
    replicas = context.num_replicas_in_sync if context else 1
    if batch_size % replicas:
        raise CorpusError(f"--batch-size {batch_size} does not split evenly over "
                          f"{replicas} replicas; use a multiple of {replicas}")
    per_replica = batch_size // replicas
    per_pipe = batch_size // n_pipes
    steps = steps_per_epoch(ds, batch_size)
    n = len(ds.train_starts)
    starts = tf.constant(ds.train_starts, tf.int32)

    def epoch(e):  # e: int64 scalar
        seeds = tf.stack([tf.constant(seed, tf.int64), e])
        order = tf.argsort(tf.random.stateless_uniform([n], seed=seeds))
        draws = tf.random.stateless_uniform([n], seed=seeds + [1, 0])

        def mine(values):  # [n] in epoch order -> [steps * local replicas, per_replica]
            grid = tf.reshape(values[:steps * batch_size], [steps, batch_size])
            return tf.reshape(grid[:, pipe * per_pipe:(pipe + 1) * per_pipe], [-1, per_replica])

        return tf.data.Dataset.from_tensor_slices((mine(tf.gather(starts, order)),
                                                   mine(draws)))

    batches = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch)
    return batches.map(_expander(ds, n_a), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)
