"""After training: measure the corpus's feel and train the critic, into the model's metadata.

Both are measured on the training solos only (the model's metadata lists the held-out
ones), so `evaluate --held-out-only` stays honest. `export` runs this on the model it
wrote; `export --critic-for MODEL` runs it on a model trained before.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import onnx

from jazz_plugin.corpus import feel
from jazz_plugin.corpus.solo import Solo


def split(solos: Sequence[Solo], model_path: str) -> tuple[list[Solo], list[Solo]]:
    """(training, held-out) solos by the model's `validation_solos` metadata (none listed, as
    after a split by time: all solos train, none is held out)."""
    meta = {p.key: p.value for p in onnx.load(model_path, load_external_data=False)
            .metadata_props}
    hyper = json.loads(meta.get("hyperparameters") or "{}")
    names = set(json.loads(meta.get("validation_solos") or "null")
                or hyper.get("validation_solos") or [])
    return [s for s in solos if s.name not in names], [s for s in solos if s.name in names]


def stamp(model_path: str, solos: Sequence[Solo], wjazzd: str | None, critic: bool = True,
          seed: int = 0, progress: bool = True) -> dict:
    """Measure `feel` on the training solos (by tempo band for a WJazzD folder), train the
    critic, and rewrite the model's metadata; returns the new metadata entries."""
    train, held_out = split(solos, model_path)
    names = [s.name for s in train]
    tempi = feel.solo_tempi(wjazzd, names) if wjazzd else None
    swing = feel.swing_by_band(wjazzd, names) if wjazzd else None
    entries = {"feel": feel.measure(train, tempi, swing)}
    print(f"feel of the {len(train)} training solos: {json.dumps(entries['feel'])}",
          file=sys.stderr)
    if critic:
        from .critic import train_critic

        made = train_critic(model_path, train, held_out, seed, progress)
        if made:
            entries["critic"] = made
        print(f"critic: {json.dumps(made) if made else 'none (too few phrases to learn from)'}",
              file=sys.stderr)
    model = onnx.load(model_path)
    props = {p.key: p.value for p in model.metadata_props}
    props.update({k: json.dumps(v) for k, v in entries.items()})
    onnx.helper.set_model_props(model, props)
    tmp = f"{model_path}.partial"
    onnx.save(model, tmp)
    import os

    os.replace(tmp, model_path)
    return entries
