"""Where the daemon's harmony comes from: a chart, chords played live, or the call's key.

Every source answers `at(tick) -> (chord mask, next chord mask)` (0 = none known) for the
voice's conditioning, and `text(tick)` for the status line. `Harmony` picks, in order: a
chart (`--changes`), the form learned from the played chords (form.py: a chart with
lookahead), chords played on the chord channel or below the split when they are fresh,
else the key estimated from what the musician played (Krumhansl-Schmuckler), else nothing.
A chord channel that goes quiet therefore falls back to the key, never sticks.
"""

from __future__ import annotations

from collections import deque

from jazz_plugin.live.form import FormLearner
from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import BEATS_PER_BAR, TICKS_PER_BEAT
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
STRIKE_TICKS = 1.0  # keys struck within this many ticks of each other form one block chord
HISTORY_CHANGES = 512  # chord changes remembered (for the form and the recording)
STALE_TICKS = CHORD_STALE_BARS * BEATS_PER_BAR * TICKS_PER_BEAT


def is_chord_input(chord_channel: int | None, split: int | None, ch: int, pitch: int) -> bool:
    """Chord-channel notes (1-based channel), or notes below the split, are harmony."""
    if chord_channel is not None and ch == chord_channel - 1:
        return True
    return split is not None and pitch < split


class PlayedChords:
    """Pitch classes held on the chord channel (or below the split), with the sustain pedal.

    A note counts while held, while the pedal holds it, and for CHORD_WINDOW_BEATS after it
    ends, so a broken chord is heard whole. A block (two or more keys struck together) is a
    new chord: what was struck before it no longer counts, even when a pianist's legato or
    the pedal lets it ring into the new one. Every change is kept in `history`, so the chord
    heard at a past tick can be asked for (`mask_at`).
    """

    def __init__(self) -> None:
        self.held: dict[int, float] = {}  # pitch -> start tick
        self.released: dict[int, float] = {}  # pitch -> release tick
        self.struck: dict[int, float] = {}  # pitch -> when it was last struck
        self.pedal = False
        self.sustained: set[int] = set()
        self.last_change: float | None = None
        self.last_on = -float("inf")
        self.group: list[int] = []  # keys struck together with the last one
        self.block_start = -float("inf")  # the last block chord's onset
        self._mask = 0
        self.history: deque[tuple[float, int]] = deque(maxlen=HISTORY_CHANGES)

    def note_on(self, tick: float, pitch: int) -> None:
        # a key struck after a pause of a beat or more starts a new chord: forget the old
        if self.last_change is None or tick - self.last_change >= TICKS_PER_BEAT:
            self.released.clear()
        if tick - self.last_on > STRIKE_TICKS:
            self.group = []
        self.group.append(pitch)
        self.last_on = tick
        self.held[pitch] = tick
        self.struck[pitch] = tick
        if len(self.group) >= 2:  # (min: a clock that just started may step back a little)
            self.block_start = min(self.struck[p] for p in self.group)
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
        pitches = [p for p in list(self.held) + list(self.sustained) + recent
                   if self.struck.get(p, tick) >= self.block_start]
        if len(set(p % 12 for p in pitches)) >= 2:  # a single note is not a chord
            mask = pcs_mask(pitches)
            if mask != self._mask:
                if self.history and self.history[-1][0] == tick:
                    self.history.pop()  # the keys of one block, struck one by one
                self.history.append((tick, mask))
            self._mask = mask

    def mask(self, tick: float) -> int:
        """The chord now (0 when none was played within CHORD_STALE_BARS)."""
        if self.last_change is None:
            return 0
        fresh = self.held or self.sustained or tick - self.last_change <= STALE_TICKS
        return self._mask if fresh else 0

    def mask_at(self, tick: float) -> int:
        """The chord heard at `tick` (past or now), from the history of changes."""
        for back, (start, mask) in enumerate(reversed(self.history)):
            if start <= tick:
                if back == 0:  # the chord now: fresh while held, else for STALE_TICKS
                    return self.mask(tick)
                return mask if tick - start <= STALE_TICKS else 0
        return 0


class Harmony:
    """The one harmony the voice hears: chart > learned form > played chords > key of the
    call > none."""

    def __init__(self, chart: Changes | None = None) -> None:
        self.chart = chart if chart is not None and len(chart) else None
        self.played = PlayedChords()
        self.form = FormLearner()
        self.now = float("inf")  # the daemon's tick (`advance`); until then, any tick is now
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

    def _played(self, tick: float) -> int:
        """The played chord at `tick`; a later tick hears the chord as it is now (played
        chords have no lookahead, and they go stale only as time passes)."""
        return self.played.mask(min(tick, self.now))

    def advance(self, tick: float) -> list[str]:
        """Time is at `tick` (the daemon's poll): the form learner reads the bars passed.
        Returns what happened to the form, for the log ("learned: 12 bars", "dropped...")."""
        self.now = tick
        if self.chart is None:
            history = self.played.history
            self.form.advance(tick, self.played.mask_at, history[-1] if history else None)
        events, self.form.events = self.form.events, []
        return events

    def next_tick(self) -> float | None:
        """When `advance` has something to do without new input (a chord to compare with
        the learned form once its keys are all down)."""
        if self.chart is not None:
            return None
        history = self.played.history
        return self.form.due(history[-1] if history else None)

    def source(self, tick: float) -> str:
        if self.chart is not None:
            return "chart"
        if self.form.chart is not None:
            return "form"
        if self._played(tick):
            return "played"
        return "key" if self.key_mask else "none"

    def heard_at(self, tick: float) -> int:
        """The chord read from the chart or heard on the chord input at `tick` (0: none):
        what a recording's Chords track holds."""
        if self.chart is not None:
            return self.chart.at(int(tick))[0]
        return self.played.mask_at(tick)

    def at(self, tick: float) -> tuple[int, int]:
        """(chord, next chord) masks for conditioning at `tick`."""
        if self.chart is not None:
            return self.chart.at(int(tick))
        if self.form.chart is not None:
            return self.form.chart.at(int(tick))
        mask = self._played(tick)
        if mask:
            return mask, mask
        return self.key_mask, self.key_mask

    def text(self, tick: float) -> str:
        """What the status line shows: the chord now, or the key it assumes."""
        source = self.source(tick)
        if source == "chart":
            return self.chart.symbol_at(int(tick))
        if source == "form":
            return self.form.chart.symbol_at(int(tick))
        if source == "played":
            return chord_from_mask(self._played(tick)).symbol
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
