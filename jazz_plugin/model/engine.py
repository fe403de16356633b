"""The LSTM step on onnxruntime, with the state (h, c) carried in Python.

One single-threaded, sequential session: for a graph this small, thread hand-offs cost
more than the arithmetic. Buffers are allocated once; a step allocates only the copy of
the probabilities it returns.

A conditioned model steps on (token, cond): the caller writes the conditioning of the
coming step into `engine.cond` in place (`conditioning.cond_into`) before each `step`. A
model of the previous release has no cond input; it loads as unconditioned
(`has_cond` False) and `engine.cond` is then simply not read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources

import numpy as np
import onnxruntime as ort

from jazz_plugin.errors import ModelError
from jazz_plugin.model.conditioning import COND_WIDTH, cond_into
from jazz_plugin.model.critic import Critic
from jazz_plugin.model.modelinfo import INPUTS, LEGACY_INPUTS, OUTPUTS, ModelInfo
from jazz_plugin.music.codec import Codec

START = -1  # the token of the all-zero start input in step_batch (step takes None too)


def default_model_path() -> str:
    """The model shipped inside the package."""
    return str(resources.files("jazz_plugin") / "models" / "default.onnx")


def _session_options() -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: the daemon's terminal is the musician's
    return so


def open_session(path: str) -> tuple[ort.InferenceSession, ModelInfo]:
    """Load and check a model file; every failure is one ModelError line."""
    if not os.path.isfile(path):
        raise ModelError(f"model file {path!r} does not exist")
    try:
        session = ort.InferenceSession(path, _session_options(), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
        first = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise ModelError(f"{path!r} is not a loadable ONNX model ({first})") from None
    info = ModelInfo.from_metadata(session.get_modelmeta().custom_metadata_map, path)
    widths = {"n_values": info.n_values, "n_a": info.n_a, "cond_width": COND_WIDTH}
    batch = "batch" if info.has_cond else 1
    _check_io(path, "inputs", session.get_inputs(),
              INPUTS if info.has_cond else LEGACY_INPUTS, widths, batch)
    _check_io(path, "outputs", session.get_outputs(), OUTPUTS, widths, batch)
    return session, info


def _check_io(path: str, what: str, args, expected: dict[str, str], widths: dict,
              batch: int | str) -> None:
    """Names and widths must match; the batch dimension may be 1 or symbolic (dynamic)."""
    got = {a.name: [d if isinstance(d, int) else "batch" for d in a.shape] for a in args}
    want = {name: [batch, widths[w]] for name, w in expected.items()}
    if ({k: v[1:] for k, v in got.items()} != {k: v[1:] for k, v in want.items()}
            or any(v[0] not in (1, "batch") for v in got.values())):
        raise ModelError(f"{path!r} has {what} {_fmt(got)}; expected {_fmt(want)}")


def _fmt(io: dict) -> str:
    return ", ".join(f"{k}{v}" for k, v in io.items())


class Engine:
    """Single-step LSTM with its state: reset, prime a phrase, step token by token, and
    step a batch of candidates at once.

    The session runs on I/O bindings over preallocated buffers: x and cond are written in
    place, and (h, c) ping-pong between two buffer pairs, so a step skips onnxruntime's
    per-call input/output conversion (13.7 vs 19.6 µs median here).
    """

    def __init__(self, path: str | None = None, critic: bool = True) -> None:
        self.path = path or default_model_path()
        self.session, self.info = open_session(self.path)
        self.codec = Codec(self.info.vocabulary)
        self.n_values, self.n_a = self.info.n_values, self.info.n_a
        self.has_cond = self.info.has_cond
        # the critic beside the model (None: it has none, or `critic` is False)
        self.critic = Critic.beside(self.path, self.info.critic) if critic else None
        self.batched = all(not isinstance(a.shape[0], int) for a in self.session.get_inputs())
        self._x = np.zeros((1, self.n_values), np.float32)  # [1, n_values], one-hot input
        self._cond = np.zeros((1, COND_WIDTH), np.float32)  # [1, COND_WIDTH]
        self.cond = self._cond[0]  # [COND_WIDTH] view: fill in place before each step
        cond_into(self.cond, 0, 0, 0, 0)  # until told otherwise: no chord, on the downbeat
        self._probs = np.zeros((1, self.n_values), np.float32)  # [1, n_values]
        self._h = [np.zeros((1, self.n_a), np.float32) for _ in range(2)]  # [1, n_a] x 2
        self._c = [np.zeros((1, self.n_a), np.float32) for _ in range(2)]
        self._bindings = [self._bind(k) for k in range(2)]
        self._k = 0  # which (h, c) pair holds the current state
        self.steps = 0
        self._probe()

    def _bind(self, k: int):
        """Binding k reads state pair k and writes pair 1 - k."""
        b = self.session.io_binding()
        b.bind_cpu_input("x", self._x)
        if self.has_cond:
            b.bind_cpu_input("cond", self._cond)
        b.bind_cpu_input("h", self._h[k])
        b.bind_cpu_input("c", self._c[k])
        for name, buf in (("probs", self._probs), ("h_out", self._h[1 - k]),
                          ("c_out", self._c[1 - k])):
            b.bind_output(name, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        return b

    def _probe(self) -> None:
        """One step at load: weights holding NaN or inf would otherwise play nonsense."""
        probs = self.step(None)
        if not np.isfinite(probs).all() or not np.isfinite(self.h).all():
            raise ModelError(f"{self.path!r} gives non-finite probabilities on a probe step "
                             f"(NaN or inf in its weights?); expected a trained model, "
                             f"re-export it")
        self.reset()
        self.steps = 0

    @property
    def h(self) -> np.ndarray:
        return self._h[self._k]

    @property
    def c(self) -> np.ndarray:
        return self._c[self._k]

    def reset(self) -> None:
        """Back to the zero state, as at the start of every training window."""
        for buf in self._h + self._c:
            buf.fill(0.0)

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the current (h, c), each [1, n_a]."""
        return self.h.copy(), self.c.copy()

    def set_state(self, h: np.ndarray, c: np.ndarray) -> None:
        """Continue from a saved state ([n_a] or [1, n_a] each), e.g. a chosen candidate's."""
        self.h[...] = np.reshape(h, (1, self.n_a))
        self.c[...] = np.reshape(c, (1, self.n_a))

    def step(self, token: int | None) -> np.ndarray:
        """Feed one token (None or START = the all-zero start input) under `self.cond`;
        returns probs [n_values]."""
        x = self._x
        on = token is not None and token >= 0
        if on:
            x[0, token] = 1.0
        self.session.run_with_iobinding(self._bindings[self._k])
        self._k = 1 - self._k
        if on:
            x[0, token] = 0.0
        self.steps += 1
        return self._probs[0].copy()

    def prime(self, tokens: Sequence[int], conds: np.ndarray | None = None) -> np.ndarray:
        """Run a phrase through the model; returns the prediction after its last token.

        `conds` [n, COND_WIDTH] gives each token's step its conditioning (copied into
        `self.cond`); None leaves `self.cond` as it is for every step. An empty phrase gives
        the prediction from the start input.
        """
        if conds is not None and len(conds) != len(tokens):
            raise ValueError(f"prime got {len(tokens)} tokens but {len(conds)} conditionings")
        probs = None
        for i, t in enumerate(tokens):
            if conds is not None:
                self.cond[:] = conds[i]
            probs = self.step(t)
        return self.step(None) if probs is None else probs

    def step_batch(self, tokens: np.ndarray, cond: np.ndarray, h: np.ndarray,
                   c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step for B candidates at once: tokens [B] (START = the start input),
        cond [B, COND_WIDTH], h and c [B, n_a] -> (probs [B, n_values], h [B, n_a], c).

        One onnxruntime run on a batched model; a model whose batch is fixed at 1 (the
        previous release) is run row by row. The engine's own state is left untouched.
        """
        tokens = np.asarray(tokens, np.int64)
        x = np.zeros((len(tokens), self.n_values), np.float32)  # [B, n_values]
        rows = np.flatnonzero(tokens >= 0)
        x[rows, tokens[rows]] = 1.0
        feeds = {"x": x, "h": np.ascontiguousarray(h, np.float32),
                 "c": np.ascontiguousarray(c, np.float32)}
        if self.has_cond:
            feeds["cond"] = np.ascontiguousarray(cond, np.float32)
        names = list(OUTPUTS)
        if self.batched or len(tokens) == 1:
            probs, h_out, c_out = self.session.run(names, feeds)
            return probs, h_out, c_out
        outs = [self.session.run(names, {k: v[i:i + 1] for k, v in feeds.items()})
                for i in range(len(tokens))]
        probs, h_out, c_out = (np.concatenate(parts) for parts in zip(*outs, strict=True))
        return probs, h_out, c_out
