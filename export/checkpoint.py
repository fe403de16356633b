"""Per-epoch training checkpoints: everything a run needs to go on exactly where it stopped.

One `.npz` per epoch: the model's variables, the optimizer's (Adam's moments and step
count), the best epoch's weights so far, and the run's history and settings as JSON. The
last KEEP epochs stay, so a worker killed while writing still shares an epoch with the
others. Files are written to a temporary name and renamed: a checkpoint is whole or absent.
An unreadable newest file falls back to the one before.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.atomic import replacing
from jazz_plugin.errors import ConfigError

KEEP = 2  # epochs kept on disk
NAME = re.compile(r"^epoch-(\d{5})\.npz$")


@dataclass
class Saved:
    """One checkpoint: arrays by group ("model", "optimizer", "best") and the JSON state."""

    epoch: int  # epochs completed
    arrays: dict[str, list[np.ndarray]]
    state: dict = field(default_factory=dict)


class Checkpoints:
    """The checkpoint folder of one worker."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def path(self, epoch: int) -> str:
        return os.path.join(self.folder, f"epoch-{epoch:05d}.npz")

    def epochs(self) -> list[int]:
        """The epochs on disk, oldest first."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        return sorted(int(m.group(1)) for m in map(NAME.match, names) if m)

    def save(self, saved: Saved) -> None:
        """Write one epoch atomically and drop all but the last KEEP."""
        os.makedirs(self.folder, exist_ok=True)
        contents = {f"{group}/{i}": a for group, arrays in saved.arrays.items()
                    for i, a in enumerate(arrays)}
        contents["state"] = np.array(json.dumps(dict(saved.state, epoch=saved.epoch)))
        final = self.path(saved.epoch)
        with replacing(final) as tmp, open(tmp, "wb") as f:  # no half file, whatever happens
            np.savez(f, **contents)
        for old in self.epochs()[:-KEEP]:
            os.remove(self.path(old))

    def clear(self) -> None:
        """Remove this folder's checkpoints (a fresh run must not resume an old one)."""
        for epoch in self.epochs():
            os.remove(self.path(epoch))

    def load(self, epoch: int) -> Saved:
        """Read one epoch; ConfigError (one line) if it is missing or unreadable."""
        path = self.path(epoch)
        try:
            with np.load(path, allow_pickle=False) as z:
                state = json.loads(str(z["state"]))
                groups: dict[str, list[tuple[int, np.ndarray]]] = {}
                for key in z.files:
                    if key != "state":
                        group, i = key.split("/")
                        groups.setdefault(group, []).append((int(i), z[key]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise ConfigError(f"checkpoint {path} cannot be read ({e})") from None
        arrays = {g: [a for _, a in sorted(items, key=lambda t: t[0])]
                  for g, items in groups.items()}
        return Saved(int(state.pop("epoch")), arrays, state)

    def readable_epochs(self) -> list[int]:
        """The epochs whose files read back whole, newest first."""
        good = []
        for epoch in reversed(self.epochs()):
            try:
                self.load(epoch)
            except ConfigError:
                continue
            good.append(epoch)
        return good


def check_settings(saved: Saved, settings: dict, folder: str) -> None:
    """Refuse to resume a checkpoint made with other settings or other data, in one line."""
    theirs = saved.state.get("settings", {})
    for key, value in settings.items():
        if theirs.get(key) != value:
            what = "the corpus or --tx differ" if key == "data" else (
                f"it has {key} {theirs.get(key)!r}, this run asks for {value!r}")
            raise ConfigError(f"--resume: the checkpoint in {folder} is from another run "
                              f"({what}); use the same options, or drop --resume to start "
                              f"afresh")
