"""What the musician sees: one live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import shutil
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
        self._shown = ""

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
        """Redraw, only when something changed, within the terminal's width.

        Fields go from most to least important; the least important drop first when the
        terminal is narrow, so the line never wraps (a wrapped line leaves a row behind at
        every redraw).
        """
        self._next = time.monotonic() + REFRESH
        st = imp.status
        fields = [st.state.value,
                  f"{imp.clock.bpm:.0f} BPM {imp.clock.source}", imp.settings.mode]
        chord = imp.chord_text(time.monotonic())
        if chord:
            fields.insert(1, chord)
        form = imp.harmony.form.text()
        if form:
            fields.insert(2, form)
        replanned = imp.replanner.text(time.monotonic())
        if replanned:
            fields.insert(2, replanned)
        if imp.output.muted:
            fields.insert(0, "MUTED")
        if st.last_latency_ms == st.last_latency_ms:  # not NaN: an answer has started
            fields.append(f"answer after {st.last_latency_ms:.0f} ms")
        fields += [f"in {_notes(st.last_in)}", f"out {_notes(st.last_out)}"]
        problems = [f"{n} {what}" for n, what in ((dropped, "dropped"), (missed, "late"),
                                                   (st.stuck_input, "stuck"),
                                                   (imp.output.send_errors, "send errors"))
                    if n]
        if problems:
            fields.insert(1, "!" + ", ".join(problems))
        fields.append(ports_text)
        line = fit(fields, terminal_width() - 1)
        if line == self._shown and self._drawn:
            return
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self._drawn = True
        self._shown = line

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _notes(pitches) -> str:
    return " ".join(f"{NAMES[p % 12]}{p // 12 - 1}" for p in pitches) or "-"


def terminal_width() -> int:
    return shutil.get_terminal_size((80, 24)).columns


def fit(fields: list[str], width: int) -> str:
    """Join fields with ' | ', dropping from the end until the line fits `width`."""
    while fields:
        line = " | ".join(fields)
        if len(line) <= width:
            return line
        if len(fields) == 1:
            return line[:width]
        fields = fields[:-1]
    return ""
