"""The model a training run starts from (`export --from default|none|FILE`).

Fine-tuning needs the Keras weights of the base model. They are read back from the ONNX
file's own initializers: the exported step graph keeps the trained arrays unchanged (the
LSTM kernel as its token rows and its conditioning rows, the recurrent kernel, the bias, the
densor's kernel and bias), so no second weights file ships beside default.onnx to drift
from it. `tests/test_finetune.py` checks that the round trip is exact.

A base must fit this jazz-plugin: the same vocabulary (in the same order), codec version,
conditioning and n_a. A mismatch is refused in one line that says what was expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from jazz_plugin.errors import ConfigError, ModelError
from jazz_plugin.model.conditioning import COND_LAYOUT, COND_VERSION, COND_WIDTH
from jazz_plugin.model.engine import default_model_path
from jazz_plugin.model.modelinfo import ModelInfo
from jazz_plugin.music.codec import CODEC_NAME, CODEC_VERSION, Codec

DEFAULT, NONE, AUTO = "default", "none", "auto"  # the --from choices besides a file
# --from auto: fine-tune the shipped model below this many training tokens, train from
# scratch above (docs/training.md). Fine-tuning won on one WJazzD solo (1,929 tokens: 3.457
# against 4.365) and on 60 (32,846 tokens: 3.461 against 3.628); on the built-in corpus, a
# style far from the base's, it won at 4,489 tokens (2.79 against 2.85) and lost at 13,939
# (2.59 against 2.56). Lower: scratch sooner; higher: fine-tune bigger corpora.
SMALL_CORPUS_TOKENS = 10_000


@dataclass
class Base:
    """A base model: where it came from, what it describes, and its Keras weights."""

    label: str  # "the shipped model" or the file's path
    path: str
    info: ModelInfo
    weights: list[np.ndarray]  # LSTM kernel, recurrent kernel, bias; densor kernel, bias

    @property
    def lstm_weights(self) -> list[np.ndarray]:
        return self.weights[:3]

    @property
    def densor_weights(self) -> list[np.ndarray]:
        return self.weights[3:]


def base_path(choice: str) -> str:
    """The file a --from value names (`default`: the model shipped in the package)."""
    return default_model_path() if choice in (DEFAULT, AUTO) else choice


def load_base(choice: str, codec: Codec, n_a: int | None = None) -> Base:
    """Read and check a base model; ConfigError (one line) if it cannot start this run.

    `n_a` is the LSTM size the user asked for (None: take the base's).
    """
    path = base_path(choice)
    label = "the shipped model" if choice in (DEFAULT, AUTO) else repr(path)
    flag = f"--from {choice if choice != AUTO else DEFAULT}"
    import onnx

    if not os.path.isfile(path):
        raise ConfigError(f"{flag}: {path!r} does not exist; expected a model.onnx written by "
                          f"'jazz-plugin export', or 'default' or 'none'")
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        raise ConfigError(f"{flag}: {path!r} is not an ONNX model ({type(e).__name__}); "
                          f"expected a model.onnx written by 'jazz-plugin export'") from None
    try:
        info = ModelInfo.from_metadata({p.key: p.value for p in model.metadata_props}, path)
    except ModelError as e:
        raise ConfigError(f"{flag}: {e}") from None
    check_fits(info, codec, n_a, flag, label)
    return Base(label, path, info, onnx_weights(model, flag))


def check_fits(info: ModelInfo, codec: Codec, n_a: int | None, flag: str, label: str) -> None:
    """Refuse a base whose vocabulary, codec, conditioning or n_a differ from this run's."""
    if info.codec != CODEC_NAME or info.codec_version != CODEC_VERSION:
        raise ConfigError(f"{flag}: {label} uses codec {info.codec!r} v{info.codec_version}; "
                          f"expected {CODEC_NAME!r} v{CODEC_VERSION} (train with --from none)")
    if info.vocabulary != codec.names:
        at = next((i for i, (a, b) in enumerate(zip(info.vocabulary, codec.names)) if a != b),
                  min(len(info.vocabulary), len(codec.names)))
        raise ConfigError(f"{flag}: {label} has another vocabulary ({len(info.vocabulary)} "
                          f"tokens, differing at index {at}); expected this codec's "
                          f"{len(codec.names)} tokens (train with --from none)")
    if not info.has_cond:
        raise ConfigError(f"{flag}: {label} hears no conditioning (a previous release's "
                          f"model); expected {COND_LAYOUT!r} v{COND_VERSION} width {COND_WIDTH}")
    if n_a is not None and n_a != info.n_a:
        raise ConfigError(f"{flag}: {label} has n_a {info.n_a}, and --n-a asks for {n_a}; "
                          f"drop --n-a to fine-tune, or use --from none")


def onnx_weights(model, flag: str = "--from") -> list[np.ndarray]:
    """The Keras weights of the step graph `jazz_export.onnx_export.step_function` wrote,
    found by their place in the graph (not by tf2onnx's names):

    - Gather(token rows, ArgMax(x)) and MatMul(cond, cond rows): the LSTM kernel, split;
    - MatMul(h, recurrent kernel), then Add(..., bias);
    - MatMul(h_out, densor kernel), then Add(..., densor bias) (no Add: a zero bias).
    """
    from onnx import numpy_helper

    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    by_input: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            by_input.setdefault(name, []).append(node)

    def weight_of(op: str, graph_input: str) -> tuple[np.ndarray, str]:
        """The initializer beside `graph_input` in its `op` node, and that node's output."""
        for node in by_input.get(graph_input, []):
            if node.op_type == op:
                other = [n for n in node.input if n != graph_input and n in init]
                if len(other) == 1:
                    return init[other[0]], node.output[0]
        raise ConfigError(f"{flag}: the ONNX graph has no {op} of {graph_input!r} with a "
                          f"weight; expected a step model written by 'jazz-plugin export'")

    def bias_after(output: str, width: int) -> np.ndarray:
        """The bias added to `output`; tf2onnx drops the Add of an all-zero bias."""
        for node in by_input.get(output, []):
            if node.op_type == "Add":
                other = [init[n] for n in node.input if n in init]
                if len(other) == 1:
                    return other[0]
        return np.zeros(width, np.float32)

    argmax = [n for n in by_input.get("x", []) if n.op_type == "ArgMax"]
    if not argmax:
        raise ConfigError(f"{flag}: the ONNX graph does not read x as a one-hot row; expected "
                          f"a conditioned step model written by 'jazz-plugin export'")
    gather = [n for n in by_input.get(argmax[0].output[0], []) if n.op_type == "Gather"]
    token_rows = init.get(gather[0].input[0]) if gather else None
    if token_rows is None:
        raise ConfigError(f"{flag}: the ONNX graph gathers no token rows of a kernel; expected "
                          f"a step model written by 'jazz-plugin export'")
    cond_rows, _ = weight_of("MatMul", "cond")
    recurrent, h_proj = weight_of("MatMul", "h")
    bias = bias_after(h_proj, recurrent.shape[1])
    dense_kernel, logits = weight_of("MatMul", "h_out")
    dense_bias = bias_after(logits, dense_kernel.shape[1])
    kernel = np.concatenate([token_rows, cond_rows], axis=0)  # [n_values + COND_WIDTH, 4 n_a]
    return [kernel, recurrent, bias, dense_kernel, dense_bias]
