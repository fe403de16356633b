"""One model step, 50-token generation and the arithmetic floor: ONNX vs the seed's Keras;
the conditioned step next to the previous release's graph at several n_a; and a batched
16-candidate step next to single steps.

Every path runs the same weights. The onnxruntime rows include what the daemon does per
step: sampling and carrying (h, c) in Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from jazz_plugin.model.conditioning import COND_WIDTH, cond_into, pcs_mask
from jazz_plugin.model.engine import START, Engine, _session_options
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.codec import Codec

from .table import Row, stats

CHORD, NEXT = pcs_mask([2, 5, 9, 0]), pcs_mask([7, 11, 2, 5])  # Dm7 -> G7, for the cond rows

CONFIGS = [("shipped", 416, 64), ("seed", 90, 64)]  # (label, n_values, n_a)
STATE_SIZES = (64, 96, 128)  # n_a tried for the conditioned model
CANDIDATES = 16  # answers searched at once (issue "Play with the band")
ANSWER_TOKENS = 32  # about 2 bars of eighths


def _onnx_model(LSTM_cell, densor, n_values: int, n_a: int, path: str,
                conditioned: bool = True):
    """Export the layers like `jazz-plugin export` does; returns (plain session, Engine).

    `conditioned=False` writes the previous release's graph (x, h, c) for a token-only cell.
    """
    import onnxruntime as ort
    from jazz_export.onnx_export import save_onnx, to_onnx

    from jazz_plugin.model.modelinfo import ModelInfo

    vocab = Codec().names[:n_values]  # timing only: which tokens they are does not matter
    info = ModelInfo(vocabulary=vocab, n_a=n_a, tx=30)
    if not conditioned:
        info.cond_layout = info.cond_version = info.cond_width = None
    save_onnx(to_onnx(LSTM_cell, densor, info, conditioned), path)
    session = ort.InferenceSession(path, _session_options(), providers=["CPUExecutionProvider"])
    return session, Engine(path)


def engine_loop(engine: Engine, steps: int, sampler) -> list[float]:
    """Per-step times of the daemon's own path: Engine.step (I/O binding) and sampling."""
    times = []
    probs = engine.prime([])
    for _ in range(steps):
        t = time.perf_counter()
        probs = engine.step(sampler(probs))
        times.append(time.perf_counter() - t)
    return times


def conditioned_loop(engine: Engine, steps: int, sampler) -> list[float]:
    """Per-step times of the conditioned daemon path: cond_into, Engine.step, sampling."""
    times = []
    probs = engine.prime([])
    tick, pitch = 0, 60
    for _ in range(steps):
        t = time.perf_counter()
        cond_into(engine.cond, pitch, tick, CHORD, NEXT)
        token = sampler(probs)
        probs = engine.step(token)
        times.append(time.perf_counter() - t)
        tick += 6
    return times


def onnx_loop(session, n_values: int, n_a: int, steps: int, sampler) -> list[float]:
    """Per-step times of the daemon's loop: run, sample, feed back, carry the state."""
    x = np.zeros((1, n_values), np.float32)
    h = np.zeros((1, n_a), np.float32)
    c = np.zeros((1, n_a), np.float32)
    feeds = {"x": x, "h": h, "c": c}
    if any(i.name == "cond" for i in session.get_inputs()):
        feeds["cond"] = np.zeros((1, COND_WIDTH), np.float32)
    names = ["probs", "h_out", "c_out"]
    token, times = 0, []
    for _ in range(steps):
        t = time.perf_counter()
        x[0, token] = 1.0
        feeds.update(h=h, c=c)
        probs, h, c = session.run(names, feeds)
        x[0, token] = 0.0
        token = sampler(probs[0])
        times.append(time.perf_counter() - t)
    return times


def matmul_gflops() -> float:
    """Single-core float32 matmul rate, measured in a child with one BLAS thread."""
    code = ("import numpy as np, time; a = np.random.rand(512, 512).astype(np.float32); "
            "b = a.copy(); [a @ b for _ in range(5)]; t = time.perf_counter(); n = 40\n"
            "for _ in range(n): a @ b\n"
            "print(2 * 512**3 * n / (time.perf_counter() - t) / 1e9)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(out.stdout.strip())


def run(quick: bool) -> list[Row]:
    import keras
    import tensorflow as tf
    from jazz_export.model import make_layers, music_inference_model, predict_and_sample
    from jazz_export.onnx_export import step_function

    rows: list[Row] = []
    n_onnx = 500 if quick else 5000
    n_tf = 100 if quick else 1000
    n_predict = 3 if quick else 15
    gflops = matmul_gflops()
    tmp = tempfile.mkdtemp(prefix="jazz-bench-")
    for label, n_values, n_a in CONFIGS:
        sec = f"step {label} ({n_values}, {n_a})"
        keras.utils.set_random_seed(0)
        LSTM_cell, densor, _ = make_layers(n_values, n_a)
        session, engine = _onnx_model(LSTM_cell, densor, n_values, n_a,
                                      os.path.join(tmp, f"{label}.onnx"))
        sampler = Sampler(seed=0)
        engine_loop(engine, 300, sampler)  # warm-up
        base, base99 = stats(engine_loop(engine, n_onnx, sampler))
        rows.append(Row(sec, "ONNX Engine.step + sampling", base, base99, ratio=1.0,
                        note=f"{n_onnx} steps; the daemon's path; the baseline"))
        med, p99 = stats(engine_loop(engine, n_onnx, Sampler(argmax=True)))
        argmax_step = med
        rows.append(Row(sec, "ONNX Engine.step, argmax", med, p99, ratio=med / base,
                        note="the step without drawing a sample"))
        onnx_loop(session, n_values, n_a, 300, sampler)
        med, p99 = stats(onnx_loop(session, n_values, n_a, n_onnx, sampler))
        rows.append(Row(sec, "ONNX session.run + sampling", med, p99, ratio=med / base,
                        note="plain run(), no I/O binding"))
        step = step_function(LSTM_cell, densor)
        x = tf.constant(np.eye(n_values, dtype=np.float32)[[0]])
        cond = tf.zeros((1, COND_WIDTH))
        h = tf.zeros((1, n_a))
        c = tf.zeros((1, n_a))
        step(x, cond, h, c)  # trace once
        times = []
        for _ in range(n_tf):
            t = time.perf_counter()
            out = step(x, cond, h, c)
            token = sampler(out["probs"].numpy()[0])
            x = tf.constant(np.eye(n_values, dtype=np.float32)[[token]])
            h, c = out["h_out"], out["c_out"]
            times.append(time.perf_counter() - t)
        med, p99 = stats(times)
        rows.append(Row(sec, "tf.function step + sampling", med, p99, ratio=med / base,
                        note=f"{n_tf} steps"))
        t = time.perf_counter()
        inference = music_inference_model(LSTM_cell, densor, Ty=50)
        build = time.perf_counter() - t
        x0 = np.zeros((1, 1, n_values), np.float32)
        a0 = np.zeros((1, n_a), np.float32)
        t = time.perf_counter()
        predict_and_sample(inference, x0, a0, a0)
        first = time.perf_counter() - t
        runs = []
        for _ in range(n_predict):
            t = time.perf_counter()
            predict_and_sample(inference, x0, a0, a0)
            runs.append(time.perf_counter() - t)
        med, p99 = stats(np.array(runs) / 50)
        rows.append(Row(sec, "music_inference_model predict / 50", med, p99, ratio=med / base,
                        note=f"{n_predict} calls; first call {first * 1e3:.0f} ms "
                             f"(+{build:.1f} s to build)"))
        # 50-token generation, argmax, same initializer
        greedy = Sampler(argmax=True)
        gen_onnx = []
        for _ in range(20):
            engine.reset()
            gen_onnx.append(sum(engine_loop(engine, 50, greedy)))
        onnx_med, onnx99 = stats(gen_onnx, 1e3)
        keras_med, keras99 = stats(runs, 1e3)
        gsec = f"50 tokens {label}"
        rows.append(Row(gsec, "ONNX Engine loop (argmax)", onnx_med, onnx99, "ms", 1.0))
        rows.append(Row(gsec, "predict_and_sample (Keras)", keras_med, keras99, "ms",
                        keras_med / onnx_med))
        macs = 4 * n_a * (n_values + n_a) + n_a * n_values
        floor_us = 2 * macs / (gflops * 1e9) * 1e6
        rows.append(Row(f"floor {label}", f"{macs:,} MACs at {gflops:.0f} GFLOP/s (1 core)",
                        floor_us, ratio=argmax_step / floor_us,
                        note="ratio: ONNX Engine.step (argmax) median / floor"))
    rows += conditioned_rows(tmp, n_onnx)
    rows += candidate_rows(tmp, n_onnx // 10)
    return rows


def conditioned_rows(tmp: str, n: int) -> list[Row]:
    """The conditioned step next to the previous release's (x, h, c) graph, per n_a."""
    import keras
    from jazz_export.model import make_layers

    rows, n_values = [], Codec().n_values
    for n_a in STATE_SIZES:
        sec = f"step conditioned vs old ({n_values}, {n_a})"
        keras.utils.set_random_seed(0)
        old_cell, old_densor, _ = make_layers(n_values, n_a, cond_width=0)
        _, old = _onnx_model(old_cell, old_densor, n_values, n_a,
                             os.path.join(tmp, f"old{n_a}.onnx"), conditioned=False)
        cell, densor, _ = make_layers(n_values, n_a)
        _, new = _onnx_model(cell, densor, n_values, n_a, os.path.join(tmp, f"cond{n_a}.onnx"))
        greedy, sampler = Sampler(argmax=True), Sampler(seed=0)
        for engine in (old, new):
            engine_loop(engine, 300, greedy)  # warm-up
        base, base99 = stats(engine_loop(old, n, greedy))
        rows.append(Row(sec, "old graph (x, h, c): Engine.step, argmax", base, base99, ratio=1.0,
                        note=f"{n} steps; the previous release's step"))
        med, p99 = stats(engine_loop(new, n, greedy))
        rows.append(Row(sec, "conditioned (x, cond, h, c): Engine.step, argmax", med, p99,
                        ratio=med / base, note="target: median <= 25 µs"))
        med, p99 = stats(conditioned_loop(new, n, sampler))
        rows.append(Row(sec, "conditioned: cond_into + sampling + Engine.step", med, p99,
                        ratio=med / base, note="the daemon's whole per-token path"))
    return rows


def candidate_rows(tmp: str, n: int) -> list[Row]:
    """A batched step of CANDIDATES answers next to single steps, and a whole search of
    CANDIDATES x ANSWER_TOKENS with argmax picks."""
    import keras
    from jazz_export.model import make_layers

    rows, n_values = [], Codec().n_values
    for n_a in STATE_SIZES:
        sec = f"candidates {CANDIDATES} ({n_values}, {n_a})"
        keras.utils.set_random_seed(0)
        cell, densor, _ = make_layers(n_values, n_a)
        _, engine = _onnx_model(cell, densor, n_values, n_a,
                                os.path.join(tmp, f"batch{n_a}.onnx"))
        engine_loop(engine, 300, Sampler(argmax=True))
        single, single99 = stats(engine_loop(engine, n * 10, Sampler(argmax=True)))
        rows.append(Row(sec, "1 x Engine.step (argmax)", single, single99, ratio=1.0))
        tokens = np.full(CANDIDATES, START)
        cond = np.zeros((CANDIDATES, COND_WIDTH), np.float32)
        cond[:] = engine.cond
        h = np.zeros((CANDIDATES, n_a), np.float32)
        c = np.zeros((CANDIDATES, n_a), np.float32)
        times = []
        for _ in range(n + 30):
            t = time.perf_counter()
            probs, h, c = engine.step_batch(tokens, cond, h, c)
            tokens = probs.argmax(-1)
            times.append(time.perf_counter() - t)
        med, p99 = stats(times[30:])
        rows.append(Row(sec, f"Engine.step_batch, B={CANDIDATES} (+ argmax)", med, p99,
                        ratio=med / single,
                        note=f"vs {CANDIDATES} single steps: {med / (CANDIDATES * single):.2f}x"))
        search = []
        for _ in range(max(5, n // 20)):
            t = time.perf_counter()
            tokens[:] = START
            h.fill(0.0)
            c.fill(0.0)
            for _ in range(ANSWER_TOKENS):
                probs, h, c = engine.step_batch(tokens, cond, h, c)
                tokens = probs.argmax(-1)
            search.append(time.perf_counter() - t)
        med, p99 = stats(search, 1e3)
        rows.append(Row(sec, f"search {CANDIDATES} x {ANSWER_TOKENS} tokens (step_batch)", med,
                        p99, "ms", note="the model's share of a candidate search"))
    return rows
