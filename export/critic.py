"""Train the critic (jazz_plugin/model/critic.py) for an exported step model, and ship it.

Positives are the training solos' 2-bar phrases; negatives are the model's own phrases
sampled over the same changes after hearing the 2 bars before, as the answer search samples
its candidates. The discriminator is a one-hidden-layer perceptron over the phrase
histograms (music/distributions.py), trained here with numpy (full-batch Adam, L2), written
as a plain ONNX graph, and scored on held-out solos (AUC: how well it still tells the two
apart on solos it never saw; 0.5 = it cannot).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from jazz_plugin.corpus.solo import Solo
from jazz_plugin.model.critic import INPUT, OUTPUT
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.distributions import (
    FEATURES_NAME,
    FEATURES_VERSION,
    FEATURES_WIDTH,
    Phrase,
    feature_matrix,
)
from jazz_plugin.offline.classify import auc
from jazz_plugin.offline.generate import improvise

PHRASE_BARS = 2  # what the search scores: its candidates run 2 bars
TICKS_PER_BAR = 48
hidden = 8  # hidden units: a small critic (more overfits: held-out AUC 0.81 at 32, 0.82 at 8)
epochs = 300  # full-batch Adam steps
lr = 0.01
l2 = 0.01  # weight decay: 0.001 fits the training phrases perfectly and generalises worse
per_solo = 6  # phrases sampled per solo (every STEP_BARS bars)
STEP_BARS = 6
LOW, HIGH = 36, 96
MIN_PHRASES = 20  # fewer corpus phrases than this: no critic (it would learn noise)


def phrases(engine: Engine, solos: Sequence[Solo], seed: int = 0,
            progress: bool = True) -> tuple[list[Phrase], list[Phrase], list[str]]:
    """(human, model, solo name) phrases: the solo's own 2 bars and the model's 2 bars after
    hearing the 2 before, at up to `per_solo` points of each solo."""
    sampler = Sampler(seed=seed)  # the daemon's defaults: what its candidates are
    human, model, names = [], [], []
    for i, solo in enumerate(solos):
        notes = solo.notes
        end = notes[-1].start + notes[-1].dur
        for k in range(per_solo):
            heard_from = k * STEP_BARS * TICKS_PER_BAR
            start = heard_from + PHRASE_BARS * TICKS_PER_BAR
            until = start + PHRASE_BARS * TICKS_PER_BAR
            heard = [n for n in notes if heard_from <= n.start < start]
            if until > end or len(heard) < 2:
                break
            played = improvise(engine, sampler, 0, heard, LOW, HIGH, solo.changes,
                               until=until, start=start)
            human.append(Phrase([n for n in notes if start <= n.start < until], start,
                                PHRASE_BARS, solo.changes))
            model.append(Phrase(played, start, PHRASE_BARS, solo.changes))
            names.append(solo.name)
        if progress and i % 50 == 49:
            print(f"critic: sampled phrases over {i + 1}/{len(solos)} solos", file=sys.stderr)
    return human, model, names


class Perceptron:
    """features -> standardise -> dense(hidden, relu) -> dense(1): a logit."""

    def __init__(self, width: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.mean, self.std = np.zeros(width), np.ones(width)
        self.w1 = rng.normal(0, 1 / np.sqrt(width), (width, hidden))  # [width, hidden]
        self.b1 = np.zeros(hidden)
        self.w2 = rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1))  # [hidden, 1]
        self.b2 = np.zeros(1)

    def logits(self, x: np.ndarray) -> np.ndarray:
        a = np.maximum(((x - self.mean) / self.std) @ self.w1 + self.b1, 0)  # [n, hidden]
        return (a @ self.w2 + self.b2)[:, 0]

    def fit(self, x: np.ndarray, y: np.ndarray) -> Perceptron:
        """Full-batch Adam on the mean logistic loss plus L2."""
        self.mean, self.std = x.mean(0), x.std(0) + 1e-3
        z = (x - self.mean) / self.std
        params = [self.w1, self.b1, self.w2, self.b2]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        for t in range(1, epochs + 1):
            pre = z @ self.w1 + self.b1  # [n, hidden]
            a = np.maximum(pre, 0)
            p = 1 / (1 + np.exp(-(a @ self.w2 + self.b2)[:, 0]))
            d = ((p - y) / len(y))[:, None]  # [n, 1]
            da = (d @ self.w2.T) * (pre > 0)
            grads = [z.T @ da + l2 * self.w1, da.sum(0), a.T @ d + l2 * self.w2, d.sum(0)]
            for k, (param, g) in enumerate(zip(params, grads)):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                param -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
        return self

    def to_onnx(self) -> onnx.ModelProto:
        """The perceptron as one ONNX graph, standardisation folded into the first layer."""
        w1 = (self.w1 / self.std[:, None]).astype(np.float32)
        b1 = (self.b1 - (self.mean / self.std) @ self.w1).astype(np.float32)
        inits = [numpy_helper.from_array(a, n) for a, n in
                 ((w1, "w1"), (b1, "b1"), (self.w2.astype(np.float32), "w2"),
                  (self.b2.astype(np.float32), "b2"))]
        nodes = [helper.make_node("MatMul", [INPUT, "w1"], ["h1"]),
                 helper.make_node("Add", ["h1", "b1"], ["h2"]),
                 helper.make_node("Relu", ["h2"], ["h3"]),
                 helper.make_node("MatMul", ["h3", "w2"], ["h4"]),
                 helper.make_node("Add", ["h4", "b2"], [OUTPUT])]
        graph = helper.make_graph(
            nodes, "critic",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", FEATURES_WIDTH])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", 1])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def train_critic(model_path: str, train: Sequence[Solo], held_out: Sequence[Solo],
                 seed: int = 0, progress: bool = True) -> dict:
    """Train, write `<model>.critic.onnx` beside the model; returns the `critic` metadata
    ({} with fewer than MIN_PHRASES phrases to learn from: no critic)."""
    engine = Engine(model_path, critic=False)  # a critic it names is the one being replaced
    human, model, _ = phrases(engine, train, seed, progress)
    if len(human) < MIN_PHRASES:
        return {}
    x = np.vstack([feature_matrix(human), feature_matrix(model)])
    y = np.concatenate([np.ones(len(human)), np.zeros(len(model))])
    net = Perceptron(FEATURES_WIDTH, seed).fit(x, y)
    meta = {"file": os.path.basename(model_path)[:-len(".onnx")] + ".critic.onnx",
            "features": FEATURES_NAME, "features_version": FEATURES_VERSION,
            "width": FEATURES_WIDTH, "phrase_bars": PHRASE_BARS, "hidden": hidden,
            "trained_on": f"{len(human)} corpus phrases against {len(model)} of the model's",
            "train_auc": round(auc(net.logits(x), y), 3)}
    if held_out:
        h, m, _ = phrases(engine, held_out, seed + 1, progress)
        xv = np.vstack([feature_matrix(h), feature_matrix(m)])
        yv = np.concatenate([np.ones(len(h)), np.zeros(len(m))])
        meta["held_out_auc"] = round(auc(net.logits(xv), yv), 3)
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), meta["file"])
    onnx.save(net.to_onnx(), path)
    return meta
