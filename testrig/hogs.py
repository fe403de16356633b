"""Busy processes that take the cores, as a DAW and its plugins do on a stage computer."""

from __future__ import annotations

import shutil
import subprocess
import sys

HOG = "while True: pass"  # a busy process: one core's worth of pure spinning


class CpuHogs:
    """`n` busy processes for the block (the cores a stage computer shares with a DAW and
    plugins), started here and stopped by their PIDs; they die with us if we are killed."""

    def __init__(self, n: int = 2) -> None:
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> CpuHogs:
        setpriv = shutil.which("setpriv")
        wrap = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
        self.procs = [subprocess.Popen([*wrap, sys.executable, "-c", HOG],
                                       stdin=subprocess.DEVNULL) for _ in range(self.n)]
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()  # by its PID
            p.wait()
        self.procs = []
