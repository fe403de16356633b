"""What our ONNX step model says about itself, in its `metadata_props`.

Like nanoGPT's `model_args` inside a checkpoint: the file alone is enough to run it. The
export side writes this; the runtime reads nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .codec import CODEC_NAME, CODEC_VERSION, TICKS_PER_QUARTER, Codec
from .errors import ModelError

REQUIRED_KEYS = ("codec", "codec_version", "vocabulary", "n_values", "n_a", "tx",
                 "ticks_per_quarter")
INPUTS = {"x": "n_values", "h": "n_a", "c": "n_a"}  # name -> width, each [1, width]
OUTPUTS = {"probs": "n_values", "h_out": "n_a", "c_out": "n_a"}


@dataclass
class ModelInfo:
    """The facts the runtime needs, checked on load."""

    vocabulary: list[str]
    n_a: int
    tx: int
    corpus: str = ""
    quality: dict = field(default_factory=dict)
    codec: str = CODEC_NAME
    codec_version: int = CODEC_VERSION
    ticks_per_quarter: int = TICKS_PER_QUARTER

    @property
    def n_values(self) -> int:
        return len(self.vocabulary)

    def to_metadata(self) -> dict[str, str]:
        """String key/value pairs for ONNX metadata_props."""
        return {
            "codec": self.codec,
            "codec_version": str(self.codec_version),
            "vocabulary": json.dumps(self.vocabulary),
            "n_values": str(self.n_values),
            "n_a": str(self.n_a),
            "tx": str(self.tx),
            "ticks_per_quarter": str(self.ticks_per_quarter),
            "corpus": self.corpus,
            "quality": json.dumps(self.quality),
            "producer": "jazz-plugin export",
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: str) -> ModelInfo:
        """Parse and check metadata; any gap is a one-line ModelError naming what was expected."""
        missing = [k for k in REQUIRED_KEYS if k not in meta]
        if missing:
            raise ModelError(f"{path!r} is an ONNX model but not a jazz-plugin one: metadata lacks "
                             f"{', '.join(missing)} (expected a file from 'jazz-plugin export')")
        if meta["codec"] != CODEC_NAME or meta["codec_version"] != str(CODEC_VERSION):
            raise ModelError(f"{path!r} uses codec {meta['codec']!r} v{meta['codec_version']}; "
                             f"this jazz-plugin reads {CODEC_NAME!r} v{CODEC_VERSION}")
        try:
            vocabulary = json.loads(meta["vocabulary"])
            Codec(vocabulary)
            n_values, n_a, tx = int(meta["n_values"]), int(meta["n_a"]), int(meta["tx"])
            tpq = int(meta["ticks_per_quarter"])
            quality = json.loads(meta.get("quality") or "{}")
        except (ValueError, TypeError) as e:
            raise ModelError(f"{path!r} has unreadable jazz-plugin metadata ({e})") from None
        if n_values != len(vocabulary):
            raise ModelError(f"{path!r} says n_values={n_values} but its vocabulary has "
                             f"{len(vocabulary)} tokens")
        if tpq != TICKS_PER_QUARTER:
            raise ModelError(f"{path!r} uses {tpq} ticks per quarter; expected {TICKS_PER_QUARTER}")
        return cls(vocabulary, n_a, tx, meta.get("corpus", ""), quality, ticks_per_quarter=tpq)
