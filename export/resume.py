"""Where a training run starts, agreed by every worker before the first step.

Workers that disagree would not fail: they would average two different runs' gradients, or
wait for each other until a timeout. So before the first step every worker shares (one
collective) a hash of its data and settings and the epochs it has saved. A fresh run only
checks the hash. A resumed run also picks the newest epoch that every worker has saved,
loads it and checks it was made with these settings; one worker's failure there stops all
of them with a line that names it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import TYPE_CHECKING

from jazz_plugin.errors import ConfigError

from .checkpoint import KEEP, Checkpoints, Saved, check_settings
from .cluster import agree

if TYPE_CHECKING:
    import tensorflow as tf


def settings_code(settings: dict) -> int:
    """A 28-bit hash of the settings (data fingerprint included), for the collective."""
    text = json.dumps(settings, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)


def agreed_start(strategy: tf.distribute.Strategy, checkpoints: Checkpoints | None,
                 settings: dict, epochs: int, resume: bool, label: str = "") -> Saved | None:
    """The checkpoint to go on from (None: a fresh start), the same on every worker.

    `settings` are what a checkpoint must match; `epochs` must match between workers too
    (or one would wait for the others' last steps), but a resumed run may ask for more.
    """
    if resume and checkpoints is None:
        raise ConfigError("--resume needs a checkpoint folder")
    mine = checkpoints.readable_epochs() if resume else []
    row = [settings_code(dict(settings, epochs=epochs))] + (mine + [0] * KEEP)[:KEEP]
    rows = agree(strategy, row)
    if len({r[0] for r in rows}) > 1:
        raise ConfigError("the workers were started with different data or options (corpus, "
                          "--tx, --seed, --n-a, --lr, --batch-size, --dropout or --epochs); "
                          "start every worker with the same ones")
    if not resume:
        if checkpoints is not None and checkpoints.epochs():
            print(f"{label}starting afresh: the {len(checkpoints.epochs())} checkpoints of an "
                  f"earlier run in {checkpoints.folder} are removed (--resume goes on from "
                  f"them)", file=sys.stderr, flush=True)
            checkpoints.clear()
        return None
    saved_by_each = [{e for e in r[1:] if e} for r in rows]
    common = set.intersection(*saved_by_each)
    if not common:
        where = f"in {checkpoints.folder}" if not mine else "that every worker has"
        raise ConfigError(f"--resume: no checkpoint {where} to resume from; drop --resume to "
                          f"start afresh" + ("" if not mine else ", or copy the chief's "
                                             "checkpoints to the workers that lack them"))
    epoch = max(common)
    problem = ""
    try:
        saved = checkpoints.load(epoch)
        check_settings(saved, settings, checkpoints.folder)
    except ConfigError as e:
        problem = str(e)
    oks = [r[0] for r in agree(strategy, [0 if problem else 1])]
    if problem:
        raise ConfigError(problem)
    if not all(oks):
        failed = ", ".join(str(i) for i, ok in enumerate(oks) if not ok)
        raise ConfigError(f"--resume: replica {failed} could not load its checkpoint of "
                          f"epoch {epoch} (its worker's log says why)")
    return saved
