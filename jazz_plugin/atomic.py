"""Files written whole or not at all: the one write-to-a-temporary-name-then-rename.

Every file we write for the user or for a later run (a solo, a recording, a config, a cache
entry, a model, its weights, a checkpoint) goes through `replacing`, so a full disk, a crash
or Ctrl-C half-way never leaves half a file where a good one was.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def replacing(path: str, suffix: str = "") -> Iterator[str]:
    """A temporary name next to `path` to write to (ending in `suffix`, for writers that
    insist on one). When the block ends it is flushed to disk and renamed over `path`,
    keeping that file's permissions; when the block raises it is removed."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.partial{suffix}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if os.path.exists(path):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)
