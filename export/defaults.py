"""Training defaults, once, without TensorFlow: the command line, the fine-tuning choice and
the seed's Keras models all read them here (importing export/model.py loads TensorFlow)."""

n_a = 128  # LSTM state size (export --n-a): larger remembers more, trains and steps slower
Tx = 64  # training window length in tokens (export --tx): longer windows, longer memory
