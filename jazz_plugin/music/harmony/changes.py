"""The chord timeline (`Changes`) on the codec grid, and chord charts (`parse_chart`).

`Changes` has bar lines at multiples of 48 ticks from tick 0 (4/4); its `at(tick)` is on
the daemon's hot path."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from jazz_plugin.errors import ConfigError
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony.chords import (
    MAX_CHORDS_PER_BAR,
    Chord,
    ChordSymbolError,
    parse_chord,
)


class Segment(NamedTuple):
    """One chord on the timeline, from `start` up to (not including) `end`, in grid ticks."""

    start: int
    end: int
    chord: Chord


class Changes:
    """Chords on the codec grid (12 ticks per beat, bar lines every 48 ticks from tick 0).

    A chart loops (`loop_ticks` = its length) so the next chord after the last bar is the
    first bar's; a solo's changes do not loop and know no chord at or after `end`.
    Consecutive segments with the same chord merge. `at(tick)` is O(log n) and returns a
    tuple made once here, so the daemon can call it for every token.
    """

    def __init__(self, segments: Iterable[tuple[int, Chord]] = (), end: int | None = None,
                 loop_ticks: int | None = None) -> None:
        merged: list[tuple[int, Chord]] = []
        for start, chord in sorted(segments, key=lambda s: s[0]):
            if merged and merged[-1][0] == start:
                merged.pop()  # two chords at one tick: the later one wins
            if merged and merged[-1][1] == chord:
                continue
            merged.append((int(start), chord))
        self.segments: tuple[tuple[int, Chord], ...] = tuple(merged)
        self.loop_ticks = loop_ticks
        last = merged[-1][0] if merged else 0
        if loop_ticks is not None:
            self.end = loop_ticks
        elif end is not None:
            self.end = max(int(end), last + 1) if merged else int(end)
        else:
            self.end = (last // TICKS_PER_BAR + 1) * TICKS_PER_BAR if merged else 0
        self._starts = [s for s, _ in merged]
        self._chords = [c for _, c in merged]
        masks = [c.mask for c in self._chords]
        self._pairs = [(m, nxt) for m, nxt in zip(masks, _next_different(masks, loop_ticks))]
        if not merged:
            self._before: tuple[int, int] = (0, 0)
        elif loop_ticks is not None:
            self._before = self._pairs[-1]  # before the first start: the last chord, wrapped
        else:
            self._before = (0, masks[0])  # no chord yet; the first one is coming

    def at(self, tick: int) -> tuple[int, int]:
        """(current chord mask, next different chord's mask) at `tick`; 0 = none known."""
        if self.loop_ticks:
            tick %= self.loop_ticks
        elif tick >= self.end:
            return NO_PAIR
        i = bisect_right(self._starts, tick) - 1
        return self._before if i < 0 else self._pairs[i]

    def chord_at(self, tick: int) -> Chord | None:
        """The Chord sounding at `tick`, None when none is known."""
        if not self._starts:
            return None
        if self.loop_ticks:
            tick %= self.loop_ticks
        elif tick >= self.end:
            return None
        i = bisect_right(self._starts, tick) - 1
        if i < 0:
            return self._chords[-1] if self.loop_ticks else None
        return self._chords[i]

    def symbol_at(self, tick: int) -> str:
        """The chord symbol at `tick`, "" when none is known."""
        chord = self.chord_at(tick)
        return "" if chord is None else chord.symbol

    @property
    def bars(self) -> int:
        return -(-self.end // TICKS_PER_BAR)

    def __iter__(self) -> Iterator[Segment]:
        """Segments with their end ticks, for plotting and writing a chord track."""
        for i, (start, chord) in enumerate(self.segments):
            end = self._starts[i + 1] if i + 1 < len(self._starts) else self.end
            yield Segment(start, end, chord)

    def __len__(self) -> int:
        return len(self.segments)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Changes) and self.segments == other.segments
                and self.end == other.end and self.loop_ticks == other.loop_ticks)

    def __repr__(self) -> str:
        chords = " ".join(f"{s}:{c.symbol}" for s, c in self.segments[:8])
        more = " ..." if len(self.segments) > 8 else ""
        return f"Changes({chords}{more}, end={self.end}, loop_ticks={self.loop_ticks})"


NO_PAIR = (0, 0)


def _next_different(masks: Sequence[int], loop: int | None) -> list[int]:
    """For each segment, the mask of the next segment whose mask differs (0 if none)."""
    n = len(masks)
    span = list(masks) * 2 if loop else list(masks)
    out = [0] * len(span)
    for i in range(len(span) - 2, -1, -1):
        out[i] = span[i + 1] if span[i + 1] != span[i] else out[i + 1]
    return out[:n]


# --- Charts -------------------------------------------------------------------------------

BEAT_SPLITS = {1: (4,), 2: (2, 2), 3: (2, 1, 1), 4: (1, 1, 1, 1)}  # chords in a bar -> beats
CONTINUE = ("/", ".", "-")  # a chart token that holds the previous chord for one more beat


def parse_chart(text: str) -> Changes:
    """A chord chart -> looping Changes.

    `| Dm7 G7 | Cmaj7 | % |`: bar lines `|` (newlines also end a bar), chord symbols, `%`
    repeats the previous bar. In 4/4 one chord fills the bar, two split it 2+2, three
    2+1+1, four are one beat each; `/` holds the previous chord for a beat (`C / / G7`).
    """
    bars: list[list[tuple[int, Chord]]] = []
    for raw in re.split(r"[|\n]+", text.replace("[", "|").replace("]", "|")):
        tokens = raw.replace(":", " ").split()
        if not tokens:
            continue
        n = len(bars) + 1
        if tokens == ["%"]:
            if not bars:
                raise ChordSymbolError("chart bar 1: '%' repeats the previous bar, but there "
                                       "is none")
            bars.append(bars[-1])
            continue
        if len(tokens) > MAX_CHORDS_PER_BAR:
            raise ChordSymbolError(f"chart bar {n}: {len(tokens)} chords {' '.join(tokens)!r}; "
                                   f"at most {MAX_CHORDS_PER_BAR} fit a 4/4 bar")
        bar: list[tuple[int, Chord]] = []
        beat = 0
        for token, beats in zip(tokens, BEAT_SPLITS[len(tokens)]):
            if token in CONTINUE:
                if not bar and not bars:
                    raise ChordSymbolError(f"chart bar {n}: {token!r} holds a chord, but "
                                           "none came before it")
            else:
                try:
                    bar.append((beat * TICKS_PER_BEAT, parse_chord(token)))
                except ChordSymbolError:
                    raise ChordSymbolError(f"chart bar {n}: cannot read chord symbol "
                                           f"{token!r}") from None
            beat += beats
        bars.append(bar)
    if not bars:
        raise ChordSymbolError("the chart has no chords; write e.g. '| Dm7 G7 | Cmaj7 |'")
    segments = [(i * TICKS_PER_BAR + t, c) for i, bar in enumerate(bars) for t, c in bar]
    return Changes(segments, loop_ticks=len(bars) * TICKS_PER_BAR)


def read_chart_file(path: str) -> Changes:
    """A chart from a text file (see parse_chart); ConfigError if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read the chart file {path!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the chart file {path!r} is not UTF-8 text") from None
    try:
        return parse_chart(text)
    except ChordSymbolError as e:
        raise ChordSymbolError(f"{path}: {e}") from None
