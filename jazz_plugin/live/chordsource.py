"""Where the daemon's harmony comes from: a chart, chords played live, or the call's key.

Every source answers `at(tick) -> (chord mask, next chord mask)` (0 = none known) for the
voice's conditioning, and `text(tick)` for the status line. `Harmony` picks, in order: a
chart (`--changes`), chords played on the chord channel or below the split when they are
fresh, else the key estimated from what the musician played (Krumhansl-Schmuckler), else
nothing. A chord channel that goes quiet therefore falls back to the key, never sticks.
"""

from __future__ import annotations

from collections import deque

from jazz_plugin.model.conditioning import TICKS_PER_BEAT, pcs_mask
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony import (
    Changes,
    chord_from_mask,
    estimate_key,
    parse_chart,
    read_chart_file,
)

CHORD_WINDOW_BEATS = 2.0  # notes released this recently still count (arpeggiated comping)
CHORD_STALE_BARS = 2  # played chords older than this give way to the key estimate
KEY_MEMORY_NOTES = 64  # the key is estimated over this many recent input notes


class PlayedChords:
    """Pitch classes held on the chord channel (or below the split), with the sustain pedal.

    A note counts while held, while the pedal holds it, and for CHORD_WINDOW_BEATS after it
    ends, so a broken chord is heard whole.
    """

    def __init__(self) -> None:
        self.held: dict[int, float] = {}  # pitch -> start tick
        self.released: dict[int, float] = {}  # pitch -> release tick
        self.pedal = False
        self.sustained: set[int] = set()
        self.last_change: float | None = None
        self._mask = 0

    def note_on(self, tick: float, pitch: int) -> None:
        # a key struck after a pause of a beat or more starts a new chord: forget the old
        if self.last_change is None or tick - self.last_change >= TICKS_PER_BEAT:
            self.released.clear()
        self.held[pitch] = tick
        self.released.pop(pitch, None)
        self._touch(tick)

    def note_off(self, tick: float, pitch: int) -> None:
        if self.held.pop(pitch, None) is None:
            return
        if self.pedal:
            self.sustained.add(pitch)
        else:
            self.released[pitch] = tick
        self._touch(tick)

    def sustain(self, tick: float, down: bool) -> None:
        self.pedal = down
        if not down:
            for pitch in self.sustained:
                self.released[pitch] = tick
            self.sustained.clear()
            self._touch(tick)

    def release_all(self, tick: float) -> None:
        for pitch in list(self.held) + list(self.sustained):
            self.released[pitch] = tick
        self.held.clear()
        self.sustained.clear()
        self.pedal = False

    def _touch(self, tick: float) -> None:
        self.last_change = tick
        window = CHORD_WINDOW_BEATS * TICKS_PER_BEAT
        recent = [p for p, t in self.released.items() if tick - t <= window]
        pitches = list(self.held) + list(self.sustained) + recent
        if len(set(p % 12 for p in pitches)) >= 2:  # a single note is not a chord
            self._mask = pcs_mask(pitches)

    def mask(self, tick: float) -> int:
        """The chord now (0 when none was played within CHORD_STALE_BARS)."""
        if self.last_change is None:
            return 0
        fresh = self.held or self.sustained or (
            tick - self.last_change <= CHORD_STALE_BARS * 4 * TICKS_PER_BEAT)
        return self._mask if fresh else 0


class Harmony:
    """The one harmony the voice hears: chart > played chords > key of the call > none."""

    def __init__(self, chart: Changes | None = None) -> None:
        self.chart = chart if chart is not None and len(chart) else None
        self.played = PlayedChords()
        self.recent: deque[Note] = deque(maxlen=KEY_MEMORY_NOTES)
        self.key_mask = 0
        self.key_name = ""

    def heard(self, notes: list[Note]) -> None:
        """The musician's call: remembered for the key estimate."""
        self.recent.extend(notes)
        self.assume([])

    def assume(self, notes: list[Note]) -> None:
        """Estimate the key from what was heard plus `notes` (a call not yet answered)."""
        pool = list(self.recent) + list(notes)
        if pool:
            key = estimate_key(pool[-KEY_MEMORY_NOTES:])
            self.key_mask, self.key_name = key.tonic_chord_mask, key.name

    def source(self, tick: float) -> str:
        if self.chart is not None:
            return "chart"
        if self.played.mask(tick):
            return "played"
        return "key" if self.key_mask else "none"

    def at(self, tick: float) -> tuple[int, int]:
        """(chord, next chord) masks for conditioning at `tick`."""
        if self.chart is not None:
            return self.chart.at(int(tick))
        mask = self.played.mask(tick)
        if mask:
            return mask, mask
        return self.key_mask, self.key_mask

    def text(self, tick: float) -> str:
        """What the status line shows: the chord now, or the key it assumes."""
        source = self.source(tick)
        if source == "chart":
            return self.chart.symbol_at(int(tick))
        if source == "played":
            return chord_from_mask(self.played.mask(tick)).symbol
        if source == "key":
            return f"key {self.key_name}"
        return ""


def chart_from_options(text: str | None, path: str | None) -> Changes | None:
    """The chart of `--changes TEXT` or `--changes-file PATH` (one line naming a bad symbol)."""
    if text is not None:
        return parse_chart(text)
    if path is not None:
        return read_chart_file(path)
    return None
