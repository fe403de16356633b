"""The critic: a small discriminator that says how much a phrase sounds like the soloists.

`jazz-plugin export` trains it on the corpus's 2-bar phrases against the model's own sampled
phrases over the same changes, and ships it as a second ONNX file beside the step model
(`<model>.critic.onnx`), described in the step model's metadata (key `critic`: file,
features, width, phrase bars, AUC on held-out solos). Its input is the phrase histograms
of music/distributions.py; its output one logit per phrase (higher = more like the
soloists). The answer search scores all its candidates in one batched run, weighted by
`--critic`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from jazz_plugin.errors import ModelError
from jazz_plugin.music.distributions import (
    FEATURES_NAME,
    FEATURES_VERSION,
    FEATURES_WIDTH,
    Phrase,
    feature_matrix,
)

INPUT, OUTPUT = "features", "logit"  # [batch, FEATURES_WIDTH] -> [batch, 1]


class Critic:
    """One critic session; `logits` scores phrases in one run."""

    def __init__(self, path: str, meta: dict) -> None:
        expected = (FEATURES_NAME, FEATURES_VERSION, FEATURES_WIDTH)
        got = (meta.get("features"), meta.get("features_version"), meta.get("width"))
        if got != expected:
            raise ModelError(f"critic {path!r} reads features {got[0]!r} v{got[1]} width "
                             f"{got[2]}; this jazz-plugin makes {expected[0]!r} v{expected[1]} "
                             f"width {expected[2]} (re-export the model)")
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self.session = ort.InferenceSession(path, options,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a bad file
            raise ModelError(f"critic {path!r} cannot be loaded ({str(e).splitlines()[0]}); "
                             f"expected the .critic.onnx that 'jazz-plugin export' wrote beside "
                             f"the model") from None
        self.path = path
        self.meta = meta
        self.phrase_bars = int(meta.get("phrase_bars", 2))

    @classmethod
    def beside(cls, model_path: str, meta: dict) -> Critic | None:
        """The critic a model's metadata names (None if it names none). A model copied
        without it still plays, without the critic, after one warning line."""
        if not meta:
            return None
        path = os.path.join(os.path.dirname(os.path.abspath(model_path)), meta.get("file", ""))
        if not meta.get("file") or not os.path.exists(path):
            print(f"warning: {model_path!r} names a critic {meta.get('file')!r} that is not "
                  f"beside it; the search runs without it (copy both files)", file=sys.stderr)
            return None
        return cls(path, meta)

    def logits(self, phrases: Sequence[Phrase]) -> np.ndarray:
        """One logit per phrase [n], in one onnxruntime run."""
        if not phrases:
            return np.zeros(0, np.float32)
        x = feature_matrix(phrases)  # [n, FEATURES_WIDTH]
        return self.session.run([OUTPUT], {INPUT: x})[0][:, 0]
