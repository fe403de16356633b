"""JACK's side of the ports: the one line for a missing server, libjack kept quiet, and
a watch on the server's socket that notices a restart without joining the graph."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator

JACK_START = "jackd{named} -d dummy -r 48000 -p 64 &"  # the next step when no server runs


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null for the block, and comes back after it.

    libjack prints "Cannot connect to server socket ..." and four more lines there when no
    server runs; our one error line says it better.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def jack_quietly() -> Iterator[None]:
    """No server started behind our back (JACK_NO_START_SERVER) and no libjack noise."""
    old = os.environ.get("JACK_NO_START_SERVER")
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        with quiet_stderr():
            yield
    finally:
        if old is None:
            del os.environ["JACK_NO_START_SERVER"]
        else:
            os.environ["JACK_NO_START_SERVER"] = old


def no_jack_server() -> str:
    """The one line for a missing JACK server, with the exact command that starts one."""
    server = os.environ.get("JACK_DEFAULT_SERVER", "default")
    named = "" if server == "default" else f" -n {server}"
    what = f"no JACK server named {server!r} is running" if named else "no JACK server is running"
    start = JACK_START.format(named=named)
    if shutil.which("jackd") is None:
        step = f"install JACK (Debian/Ubuntu: sudo apt install jackd2), start it with '{start}'"
    else:
        step = f"start one with '{start}'"
    alsa = " (or use --api alsa)" if os.path.exists("/dev/snd/seq") else ""
    return f"{what}: {step}{alsa}, then run this again"


class JackServerWatch:
    """Notices a JACK server that died or restarted, without talking to it.

    jackd2 keeps a socket at /dev/shm/jack_<server>_<uid>_0, where <server> is
    JACK_DEFAULT_SERVER (or 'default'); a new server makes a new one. Looking at the file
    costs nothing and changes nothing in the JACK graph (a probe client would make every
    other JACK program re-sort its graph).
    """

    def __init__(self) -> None:
        server = os.environ.get("JACK_DEFAULT_SERVER", "default")
        self.path = f"/dev/shm/jack_{server}_{os.getuid()}_0"
        self.identity = self._identity()
        self.enabled = self.identity is not None

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def check(self) -> str | None:
        """'gone' when the server disappeared, 'back' when a (new) server is there."""
        if not self.enabled:
            return None
        now = self._identity()
        if now == self.identity:
            return None
        if now is None:
            self.identity = None
            return "gone"
        was = self.identity
        self.identity = now
        return "back" if was is None else "restarted"
