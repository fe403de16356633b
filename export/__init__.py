"""The TensorFlow half: corpus, windows, the seed's Keras models, training, ONNX export."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TF's start-up chatter off the terminal
