"""What the musician sees: one live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time

REFRESH = 0.25  # seconds between status line redraws on a terminal


class StatusLine:
    """Writes to stderr; the status line only on a TTY and never more than 4 times a second."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet, self.verbose = quiet, verbose
        self._next = 0.0
        self._drawn = False

    def _write(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def ready(self, text: str) -> None:
        """The one line that says the ports are open (always printed unless -q)."""
        if not self.quiet:
            self._write(f"jazz-plugin: {text}")

    def log(self, text: str) -> None:
        if not self.quiet:
            self._write(f"{time.strftime('%H:%M:%S')} {text}")

    def error(self, text: str) -> None:
        self._write(f"jazz-plugin: error: {text}")

    def due(self, now: float) -> bool:
        return self.tty and not self.quiet and now >= self._next

    def next_time(self) -> float | None:
        return self._next if self.tty and not self.quiet else None

    def show(self, imp, ports_text: str, dropped: int, missed: int) -> None:
        """Redraw: ports, tempo and source, mode, state, last notes in and out, drops."""
        self._next = time.monotonic() + REFRESH
        st = imp.status
        line = (f"{ports_text} | {imp.clock.bpm:5.1f} BPM {imp.clock.source} | "
                f"{imp.settings.mode} | {st.state:<9} | in {_notes(st.last_in)} | "
                f"out {_notes(st.last_out)}")
        if st.last_latency_ms == st.last_latency_ms:  # not NaN: an answer has started
            line += f" | answer after {st.last_latency_ms:.0f} ms"
        if imp.output.muted:
            line += " | MUTED"
        if dropped or missed:
            line += f" | dropped {dropped} missed {missed}"
        self.stream.write("\r\x1b[K" + line[:200])
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _notes(pitches) -> str:
    return " ".join(f"{NAMES[p % 12]}{p // 12 - 1}" for p in pitches) or "-"
