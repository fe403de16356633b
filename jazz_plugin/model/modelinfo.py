"""What our ONNX step model says about itself, in its `metadata_props`.

Like nanoGPT's `model_args` inside a checkpoint: the file alone is enough to run it. The
export side writes this; the runtime reads nothing else.

A conditioned model names its conditioning layout, version and width (see
jazz_plugin.model.conditioning); a model of the previous release names none and is run without
conditioning.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from jazz_plugin.errors import ModelError
from jazz_plugin.model.conditioning import COND_LAYOUT, COND_VERSION, COND_WIDTH
from jazz_plugin.music.codec import (
    CODEC_NAME,
    CODEC_VERSION,
    CODEC_VERSIONS_READ,
    TICKS_PER_QUARTER,
    Codec,
    default_vocabulary,
)

REQUIRED_KEYS = ("codec", "codec_version", "vocabulary", "n_values", "n_a", "tx",
                 "ticks_per_quarter")
COND_KEYS = ("cond_layout", "cond_version", "cond_width")
INPUTS = {"x": "n_values", "cond": "cond_width", "h": "n_a", "c": "n_a"}  # each [batch, width]
LEGACY_INPUTS = {"x": "n_values", "h": "n_a", "c": "n_a"}  # the previous release, [1, width]
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
    cond_layout: str | None = COND_LAYOUT  # None: a model without conditioning
    cond_version: int | None = COND_VERSION
    cond_width: int | None = COND_WIDTH
    license: str = ""  # the training corpus's licence line
    hyperparameters: dict = field(default_factory=dict)  # how it was trained
    feel: dict = field(default_factory=dict)  # corpus figures by tempo band (corpus/feel.py)
    critic: dict = field(default_factory=dict)  # the critic beside it (model/critic.py)

    @property
    def n_values(self) -> int:
        return len(self.vocabulary)

    @property
    def has_cond(self) -> bool:
        return self.cond_layout is not None

    def to_metadata(self) -> dict[str, str]:
        """String key/value pairs for ONNX metadata_props."""
        meta = {
            "codec": self.codec,
            "codec_version": str(self.codec_version),
            "vocabulary": json.dumps(self.vocabulary),
            "n_values": str(self.n_values),
            "n_a": str(self.n_a),
            "tx": str(self.tx),
            "ticks_per_quarter": str(self.ticks_per_quarter),
            "corpus": self.corpus,
            "quality": json.dumps(self.quality),
            "license": self.license,
            "hyperparameters": json.dumps(self.hyperparameters),
            "producer": "jazz-plugin export",
        }
        if self.feel:
            meta["feel"] = json.dumps(self.feel)
        if self.critic:
            meta["critic"] = json.dumps(self.critic)
        if self.has_cond:
            meta.update(cond_layout=str(self.cond_layout), cond_version=str(self.cond_version),
                        cond_width=str(self.cond_width))
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: str) -> ModelInfo:
        """Parse and check metadata; any gap is a one-line ModelError naming what was expected."""
        missing = [k for k in REQUIRED_KEYS if k not in meta]
        if missing:
            raise ModelError(f"{path!r} is an ONNX model but not a jazz-plugin one: metadata lacks "
                             f"{', '.join(missing)} (expected a file from 'jazz-plugin export')")
        read = [str(v) for v in CODEC_VERSIONS_READ]
        if meta["codec"] != CODEC_NAME or meta["codec_version"] not in read:
            raise ModelError(f"{path!r} uses codec {meta['codec']!r} v{meta['codec_version']}; "
                             f"this jazz-plugin reads {CODEC_NAME!r} v"
                             f"{', v'.join(read)} (re-export the model)")
        try:
            vocabulary = json.loads(meta["vocabulary"])
            Codec(vocabulary)
            n_values, n_a, tx = int(meta["n_values"]), int(meta["n_a"]), int(meta["tx"])
            tpq = int(meta["ticks_per_quarter"])
            quality = json.loads(meta.get("quality") or "{}")
            hyper = json.loads(meta.get("hyperparameters") or "{}")
            feel = json.loads(meta.get("feel") or "{}")
            critic = json.loads(meta.get("critic") or "{}")
        except (ValueError, TypeError) as e:
            raise ModelError(f"{path!r} has unreadable jazz-plugin metadata ({e})") from None
        if n_values != len(vocabulary):
            raise ModelError(f"{path!r} says n_values={n_values} but its vocabulary has "
                             f"{len(vocabulary)} tokens")
        _check_vocabulary(vocabulary, path)
        if tpq != TICKS_PER_QUARTER:
            raise ModelError(f"{path!r} uses {tpq} ticks per quarter; expected {TICKS_PER_QUARTER}")
        cond = _read_cond(meta, path)
        return cls(vocabulary, n_a, tx, meta.get("corpus", ""), quality, ticks_per_quarter=tpq,
                   codec_version=int(meta["codec_version"]),
                   cond_layout=cond[0], cond_version=cond[1], cond_width=cond[2],
                   license=meta.get("license", ""), hyperparameters=hyper, feel=feel,
                   critic=critic)


def _check_vocabulary(vocabulary: list[str], path: str) -> None:
    """Every entry must be a token of our codec, once: otherwise a line decodes or encodes
    into a token the model does not have, and the first answer crashes."""
    known = set(default_vocabulary())
    unknown = [name for name in vocabulary if name not in known]
    if unknown:
        raise ModelError(f"{path!r} has {len(unknown)} vocabulary entr"
                         f"{'y' if len(unknown) == 1 else 'ies'} that codec {CODEC_NAME!r} "
                         f"v{CODEC_VERSION} does not know (first: {unknown[0]!r}); expected "
                         f"names like 'n+2/6' or 'r/12' with durations and intervals of the codec")
    twice = [name for name, n in Counter(vocabulary).items() if n > 1]
    if twice:
        raise ModelError(f"{path!r} lists vocabulary entry {twice[0]!r} more than once; "
                         f"expected each token once")


def _read_cond(meta: dict[str, str], path: str) -> tuple[str | None, int | None, int | None]:
    """(layout, version, width) of a conditioned model, or Nones for a previous-release one."""
    if not any(k in meta for k in COND_KEYS):
        return None, None, None
    got = (meta.get("cond_layout"), meta.get("cond_version"), meta.get("cond_width"))
    if got != (COND_LAYOUT, str(COND_VERSION), str(COND_WIDTH)):
        raise ModelError(f"{path!r} uses conditioning layout {got[0]!r} v{got[1]} width {got[2]}; "
                         f"this jazz-plugin reads {COND_LAYOUT!r} v{COND_VERSION} width "
                         f"{COND_WIDTH} (re-export the model, or upgrade jazz-plugin)")
    return COND_LAYOUT, COND_VERSION, COND_WIDTH
