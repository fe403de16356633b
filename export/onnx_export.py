"""Export the trained LSTM_cell and densor as ONE single-step ONNX graph.

`(x [batch, n_values], cond [batch, COND_WIDTH], h [batch, n_a], c [batch, n_a])
 -> (probs [batch, n_values], h_out, c_out)`, with a symbolic "batch" dimension (1 for the
daemon's step, N for a batched candidate search) and the model's description in
metadata_props. The daemon loops this graph, carrying (h, c).
"""

from __future__ import annotations

from .model import import_tensorflow_quietly

import_tensorflow_quietly()

import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from keras import layers  # noqa: E402

from jazz_plugin.atomic import replacing  # noqa: E402
from jazz_plugin.model.conditioning import COND_WIDTH  # noqa: E402
from jazz_plugin.model.modelinfo import OUTPUTS, ModelInfo  # noqa: E402

OPSET = 17  # lowest opset we promise; checked by onnx.checker
BATCH = "batch"  # the symbolic name of the dynamic batch dimension


def step_function(LSTM_cell: layers.LSTM, densor: layers.Dense,
                  conditioned: bool = True) -> tf.types.experimental.Function:
    """One step of the shared cell and densor as a tf.function with named inputs.

    The conditioned step reads x as a one-hot row (or the all-zero start input), so it
    gathers that token's row of the input kernel instead of multiplying the whole
    [n_values, 4 n_a] block: the step is memory-bound, and this halves it at n_a = 128.
    The arithmetic is otherwise the Keras LSTMCell's (gates i, f, c, o), on its weights.

    `conditioned=False` gives the previous release's graph, (x, h, c) with [1, ...] shapes,
    for a cell built on the token alone: the bench and the compatibility tests use it.
    """
    n_values, n_a = densor.units, LSTM_cell.units
    cell = LSTM_cell.cell
    if not conditioned:
        spec = [tf.TensorSpec([1, n_values], tf.float32, name="x"),
                tf.TensorSpec([1, n_a], tf.float32, name="h"),
                tf.TensorSpec([1, n_a], tf.float32, name="c")]

        @tf.function(input_signature=spec)
        def legacy_step(x, h, c):
            h_out, (_, c_out) = cell(x, [h, c])  # [1, n_a]
            return {"probs": densor(h_out), "h_out": h_out, "c_out": c_out}

        return legacy_step

    spec = [tf.TensorSpec([None, n_values], tf.float32, name="x"),
            tf.TensorSpec([None, COND_WIDTH], tf.float32, name="cond"),
            tf.TensorSpec([None, n_a], tf.float32, name="h"),
            tf.TensorSpec([None, n_a], tf.float32, name="c")]

    @tf.function(input_signature=spec)
    def step(x, cond, h, c):
        kernel = cell.kernel.value  # [n_values + COND_WIDTH, 4 n_a]
        token_rows = tf.gather(kernel[:n_values], tf.argmax(x, axis=-1))  # [batch, 4 n_a]
        z = (token_rows * tf.reduce_max(x, axis=-1, keepdims=True)  # 0 for the start input
             + tf.matmul(cond, kernel[n_values:]) + tf.matmul(h, cell.recurrent_kernel.value)
             + cell.bias.value)  # [batch, 4 n_a]
        i, f, g, o = tf.split(z, 4, axis=-1)  # [batch, n_a] each
        c_out = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
        h_out = cell.recurrent_activation(o) * cell.activation(c_out)
        return {"probs": densor(h_out), "h_out": h_out, "c_out": c_out}  # [batch, n_values]

    return step


def _name_batch_dims(graph: onnx.GraphProto) -> None:
    """tf2onnx calls an unknown dimension `unk__N`; ours is the batch, so say so."""
    for value in list(graph.input) + list(graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if not dim.HasField("dim_value"):
            dim.dim_param = BATCH


def to_onnx(LSTM_cell: layers.LSTM, densor: layers.Dense, info: ModelInfo,
            conditioned: bool = True) -> onnx.ModelProto:
    """Convert with tf2onnx, order the outputs, attach metadata and check the result."""
    step = step_function(LSTM_cell, densor, conditioned)
    model, _ = tf2onnx.convert.from_function(step, input_signature=step.input_signature,
                                             opset=OPSET)
    by_name = {o.name: o for o in model.graph.output}
    ordered = [onnx.ValueInfoProto.FromString(by_name[n].SerializeToString()) for n in OUTPUTS]
    del model.graph.output[:]
    model.graph.output.extend(ordered)
    _name_batch_dims(model.graph)
    onnx.helper.set_model_props(model, info.to_metadata())
    inputs = "x, cond, h, c" if conditioned else "x, h, c"
    model.doc_string = f"jazz-plugin single-step LSTM: ({inputs}) -> (probs, h_out, c_out)"
    onnx.checker.check_model(model)
    return model


def save_onnx(model: onnx.ModelProto, path: str) -> None:
    """Write atomically: a half-written model file never replaces a good one."""
    with replacing(path) as tmp:
        onnx.save(model, tmp)
