"""Export the trained LSTM_cell and densor as ONE single-step ONNX graph.

`(x [1, n_values], h [1, n_a], c [1, n_a]) -> (probs [1, n_values], h_out, c_out)`, with the
model's description in metadata_props. The daemon loops this graph, carrying (h, c).
"""

from __future__ import annotations

import os

import onnx
import tensorflow as tf
import tf2onnx
from keras import layers

from jazz_plugin.modelinfo import OUTPUTS, ModelInfo

OPSET = 17  # lowest opset we promise; checked by onnx.checker


def step_function(LSTM_cell: layers.LSTM, densor: layers.Dense) -> tf.types.experimental.Function:
    """One step of the shared cell and densor as a tf.function with named inputs."""
    n_values, n_a = densor.units, LSTM_cell.units
    spec = [tf.TensorSpec([1, n_values], tf.float32, name="x"),
            tf.TensorSpec([1, n_a], tf.float32, name="h"),
            tf.TensorSpec([1, n_a], tf.float32, name="c")]

    @tf.function(input_signature=spec)
    def step(x, h, c):
        h_out, (_, c_out) = LSTM_cell.cell(x, [h, c])  # the same weights as LSTM_cell
        return {"probs": densor(h_out), "h_out": h_out, "c_out": c_out}

    return step


def to_onnx(LSTM_cell: layers.LSTM, densor: layers.Dense, info: ModelInfo) -> onnx.ModelProto:
    """Convert with tf2onnx, order the outputs, attach metadata and check the result."""
    step = step_function(LSTM_cell, densor)
    model, _ = tf2onnx.convert.from_function(step, input_signature=step.input_signature,
                                             opset=OPSET)
    by_name = {o.name: o for o in model.graph.output}
    ordered = [onnx.ValueInfoProto.FromString(by_name[n].SerializeToString()) for n in OUTPUTS]
    del model.graph.output[:]
    model.graph.output.extend(ordered)
    onnx.helper.set_model_props(model, info.to_metadata())
    model.doc_string = "jazz-plugin single-step LSTM: (x, h, c) -> (probs, h_out, c_out)"
    onnx.checker.check_model(model)
    return model


def save_onnx(model: onnx.ModelProto, path: str) -> None:
    """Write atomically: a half-written model file never replaces a good one."""
    tmp = f"{path}.partial"
    try:
        onnx.save(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
