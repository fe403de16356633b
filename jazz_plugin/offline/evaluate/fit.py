"""Fit: teacher-forced NLL/token and next-token accuracy of a model on solos.

Each solo runs with its own conditioning (`cond_matrix` of its records: row i conditions the
step whose input is token i and which predicts token i+1), in non-overlapping windows of the
model's Tx input tokens, each from a zero state as in training (or, with `context="solo"`,
the whole solo from one zero state). Token 0 is never predicted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jazz_plugin.corpus.solo import Solo
from jazz_plugin.model.conditioning import cond_matrix
from jazz_plugin.model.engine import START, Engine

SCORE_BATCH = 256  # sequences stepped together when scoring (one onnxruntime run per step)


@dataclass
class Fit:
    """Teacher-forced figures of one solo: summed NLL (nats), argmax hits, targets."""

    nll: float = 0.0
    hits: int = 0
    tokens: int = 0

    def __add__(self, other: Fit) -> Fit:
        return Fit(self.nll + other.nll, self.hits + other.hits, self.tokens + other.tokens)

    @property
    def nll_per_token(self) -> float:
        return self.nll / self.tokens if self.tokens else math.nan

    @property
    def accuracy(self) -> float:
        return self.hits / self.tokens if self.tokens else math.nan


def fit_sequences(solos: Sequence[Solo], window: int | None,
                  conditioned: bool) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(solo index, tokens [L + 1], cond [L, COND_WIDTH]) per window (None: whole solos).

    Window k of a solo holds inputs w*k .. w*k + w - 1 and predicts the tokens one later."""
    seqs = []
    for k, solo in enumerate(solos):
        n = len(solo)
        if n < 2:
            continue
        cond = (cond_matrix(solo.chord, solo.next_chord, solo.ref_pc, solo.pos) if conditioned
                else np.zeros((n, 0), np.float32))  # [n, COND_WIDTH]
        tokens = np.asarray(solo.tokens, np.int64)
        step = window or n - 1
        for s in range(0, n - 1, step):
            e = min(s + step, n - 1)
            seqs.append((k, tokens[s:e + 1], cond[s:e]))
    return seqs


def fit(engine: Engine, solos: Sequence[Solo], window: int | None) -> list[Fit]:
    """Teacher-forced Fit of each solo, each sequence from a zero state.

    Sequences run SCORE_BATCH at a time, longest first, one batched step per position; a
    row stops stepping once its sequence ends.
    """
    seqs = fit_sequences(solos, window, engine.has_cond)
    fits = [Fit() for _ in solos]
    seqs.sort(key=lambda s: -len(s[1]))
    n_a = engine.n_a
    for b in range(0, len(seqs), SCORE_BATCH):
        chunk = seqs[b:b + SCORE_BATCH]
        lengths = np.array([len(t) - 1 for _, t, _ in chunk])  # targets per row, descending
        rows, steps = len(chunk), int(lengths[0])
        tokens = np.full((rows, steps + 1), START, np.int64)  # [B, L + 1]
        cond = np.zeros((rows, steps, chunk[0][2].shape[1]), np.float32)  # [B, L, COND_WIDTH]
        for i, (_k, t, c) in enumerate(chunk):
            tokens[i, :len(t)] = t
            cond[i, :len(c)] = c
        h = np.zeros((rows, n_a), np.float32)  # [B, n_a]
        c_state = np.zeros((rows, n_a), np.float32)
        nll = np.zeros(rows)
        hits = np.zeros(rows, np.int64)
        for t in range(steps):
            active = int(np.sum(lengths > t))  # rows are longest first
            probs, h_new, c_new = engine.step_batch(tokens[:active, t], cond[:active, t],
                                                    h[:active], c_state[:active])
            h[:active], c_state[:active] = h_new, c_new
            target = tokens[:active, t + 1]
            p = probs[np.arange(active), target]  # [active]
            nll[:active] -= np.log(np.clip(p, 1e-12, 1.0))
            hits[:active] += probs.argmax(axis=1) == target
        for i, (k, _t, _c) in enumerate(chunk):
            fits[k] += Fit(float(nll[i]), int(hits[i]), int(lengths[i]))
    return fits
