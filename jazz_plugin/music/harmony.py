"""Harmony: chord symbols -> pitch-class masks, chord charts on the bar grid, and the key.

Everything the model hears about harmony is a 12-bit pitch-class mask (bit p = pitch class
p, C = 0; see `conditioning.pcs_mask`). This module turns the ways harmony reaches us into
masks: chord symbols (`parse_chord`, read by the pychord library where it can, with the
jazz spellings it lacks added here), the Weimar Jazz Database's own syntax
(`parse_jazzomat`), chord charts (`parse_chart`), and, when no chords are given, the key
estimated from the notes (`estimate_key`, Krumhansl-Schmuckler).

`Changes` is the chord timeline on the codec grid: 12 ticks per beat, bar lines at
multiples of 48 from tick 0 (4/4). Its `at(tick)` is on the daemon's hot path.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from pychord import Chord as PyChord

from jazz_plugin.errors import ConfigError, JazzError
from jazz_plugin.model.conditioning import mask_pcs, pcs_mask
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT

PC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # key/chord names
NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAX_CHORDS_PER_BAR = 4  # a chart bar holds at most one chord per beat (4/4)
NO_CHORD = ("NC", "N.C.", "N.C", "N/C")  # spellings of "no chord"


class ChordSymbolError(JazzError):
    """A chord symbol or chart that cannot be read; the message names the symbol."""


# --- Chords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chord:
    """A parsed chord symbol: its root, its pitch classes as a mask, and its bass note.

    `root` is None only for NC (no chord), whose mask is 0. A slash bass (`C7/E`) is a
    sounding pitch, so it is part of the mask too.
    """

    symbol: str
    root: int | None  # 0..11, None for NC
    mask: int  # 12-bit pitch-class mask, bit p = pitch class p
    bass: int | None = None  # slash bass pitch class, None when the root is the bass

    @property
    def is_nc(self) -> bool:
        return self.mask == 0

    @property
    def pcs(self) -> list[int]:
        return mask_pcs(self.mask)


NC = Chord("NC", None, 0, None)

ROOT_RE = re.compile(r"([A-G])([#b]*)")
# Intervals above the root that tension names add; a fifth alteration replaces the fifth.
TENSIONS = {"b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6, "b13": 8, "13": 9,
            "b5": 6, "#5": 8, "2": 2, "4": 5, "b2": 1, "6": 9}
TENSION_RE = re.compile(r"(?:add)?([b#+-]?)(13|11|9|6|5|4|2)$")
TENSION_ITEM_RE = re.compile(r"(?:add)?([b#+-]?)(13|11|9|6|5|4|2)")
# Qualities pychord does not know (intervals above the root).
EXTRA_QUALITIES = {
    "7alt": (0, 4, 10, 1, 3, 8),  # altered dominant: 7(b9,#9,b13)
    "alt": (0, 4, 10, 1, 3, 8),
    "aug7": (0, 4, 8, 10),
    "maj7#5": (0, 4, 8, 11),
    "7sus2": (0, 2, 7, 10),
    "maj7sus4": (0, 5, 7, 11),
    "mM7": (0, 3, 7, 11),
    "m7b5": (0, 3, 6, 10),
    "dim": (0, 3, 6),
    "sus": (0, 5, 7),
    "m": (0, 3, 7),
    "": (0, 4, 7),
}
# Spellings normalised before pychord sees them: (pattern on the quality, replacement).
QUALITY_ALIASES = [
    (r"^(?:Δ|∆|\^)7?", "maj7"), (r"^ø7?", "m7b5"), (r"^°7", "dim7"), (r"^°", "dim"),
    (r"^o7", "dim7"), (r"^o(?![a-z])", "dim"), (r"^-(?=$|[^0-9])", "m"), (r"^-(?=[679])", "m"),
    (r"^min", "m"), (r"^mi(?!n)", "m"), (r"^(?:ma|j)(?=7|9|13|$)", "maj"),
    (r"^maj(?=$)", ""), (r"^\+7", "aug7"), (r"^\+(?=$)", "aug"), (r"^\+(?=[^0-9])", "aug"),
    (r"^m\(maj7\)|^m\(M7\)|^mmaj7|^m\^7|^mΔ7?", "mM7"), (r"^7alt|^alt", "7alt"),
]


def pc_name(pc: int) -> str:
    """Pitch class -> name (flats except F#), as in key and chord names."""
    return PC_NAMES[pc % 12]


def note_pc(name: str) -> int:
    """`C`, `F#`, `Bb`, `Cb`, ... -> pitch class; raises ValueError for anything else."""
    m = ROOT_RE.fullmatch(name.strip().replace("♭", "b").replace("♯", "#"))
    if not m:
        raise ValueError(f"not a note name: {name!r}")
    return (NATURALS[m.group(1)] + m.group(2).count("#") - m.group(2).count("b")) % 12


def _pychord_intervals(quality: str) -> list[int] | None:
    """Intervals above the root for a quality pychord knows, else None."""
    try:
        semis = PyChord("C" + quality).components(visible=False)
    except Exception:  # pychord raises ValueError for an unknown quality
        return None
    intervals = [s % 12 for s in semis]
    if "13" in quality and "11" not in quality and 4 in intervals and 5 in intervals:
        intervals.remove(5)  # pychord's 13 chords stack the 11; jazz leaves it out over a 3rd
    return intervals


def _quality_intervals(quality: str) -> list[int] | None:
    """Intervals for a normalised quality: pychord, our extras, or a base plus tensions."""
    for table_hit in (_pychord_intervals(quality), EXTRA_QUALITIES.get(quality)):
        if table_hit is not None:
            return list(table_hit)
    m = TENSION_RE.search(quality)
    if not m or m.start() == 0 and quality[:1].isdigit() and not quality.startswith("add"):
        return None  # a bare "9", "13" is a whole quality, not base + tension
    base = _quality_intervals(quality[:m.start()])
    if base is None:
        return None
    accidental, number = m.group(1), m.group(2)
    if (not accidental and not m.group(0).startswith("add") and number in ("9", "11", "13")
            and not {9, 10, 11} & set(base)):
        base = base + [10] + ([2] if number != "9" else [])  # Cm13: an extension implies the 7th
    return _add_tension(base, accidental, number)


def _add_tension(intervals: list[int], accidental: str, number: str) -> list[int] | None:
    name = {"-": "b", "+": "#"}.get(accidental, accidental) + number
    if name not in TENSIONS:
        return None
    if number == "5":
        intervals = [i for i in intervals if i != 7]  # an altered fifth replaces the fifth
    return intervals + [TENSIONS[name]]


def _normalise_quality(quality: str) -> str:
    quality = quality.replace("♭", "b").replace("♯", "#").replace(" ", "")
    for pattern, replacement in QUALITY_ALIASES:
        quality = re.sub(pattern, replacement, quality, count=1)
    return quality


@lru_cache(maxsize=4096)
def parse_chord(symbol: str) -> Chord:
    """A standard chord symbol (`Dm7`, `G7b9`, `C7/E`, `Bbm7b5`, `C7alt`, `C7(b9,#11)`,
    `NC`, ...) -> Chord. Raises ChordSymbolError naming the symbol if it cannot be read."""
    text = symbol.strip().replace("♭", "b").replace("♯", "#")
    if text.upper() in NO_CHORD:
        return NC
    m = ROOT_RE.match(text)
    if not m:
        raise ChordSymbolError(f"cannot read chord symbol {symbol!r} (no root note A-G)")
    root = note_pc(m.group(0))
    rest, bass = text[m.end():], None
    if "/" in rest:
        head, tail = rest.rsplit("/", 1)
        if tail == "9" and head.endswith("6"):
            rest = head + "9"  # 6/9 is a chord, not a slash bass
        else:
            try:
                bass = note_pc(tail)
            except ValueError:
                raise ChordSymbolError(
                    f"cannot read chord symbol {symbol!r} (bass {tail!r} is not a note)"
                ) from None
            rest = head
    tensions: list[tuple[str, str]] = []
    paren = re.fullmatch(r"(.*?)\((.*)\)", rest)
    if paren:  # C7(b9,#11): a base quality and a list of tensions
        items = [TENSION_ITEM_RE.fullmatch(t) for t in re.split(r"[,\s]+", paren.group(2))]
        if all(items):
            rest = paren.group(1)
            tensions = [(t.group(1), t.group(2)) for t in items if t]
    intervals = _quality_intervals(_normalise_quality(rest))
    for accidental, number in tensions:
        intervals = None if intervals is None else _add_tension(intervals, accidental, number)
    if intervals is None:
        raise ChordSymbolError(f"cannot read chord symbol {symbol!r}")
    mask = pcs_mask(root + i for i in intervals)
    if bass is not None:
        mask |= 1 << bass
        if bass == root:
            bass = None
    return Chord(text, root, mask, bass)


# --- The Weimar Jazz Database's chord syntax ----------------------------------------------

JAZZOMAT_RE = re.compile(
    r"(?P<tri>m7b5|sus|-|\+|o)?(?P<sev>j7|7|6)?(?P<alt>alt)?(?P<ten>(?:(?:9|11|13)[b#]?)*)"
)
# (triad letter, seventh) -> standard quality
JAZZOMAT_BASE = {
    (None, None): "", (None, "7"): "7", (None, "j7"): "maj7", (None, "6"): "6",
    ("-", None): "m", ("-", "7"): "m7", ("-", "j7"): "mM7", ("-", "6"): "m6",
    ("+", None): "aug", ("+", "7"): "aug7", ("+", "j7"): "maj7#5",
    ("o", None): "dim", ("o", "7"): "dim7",
    ("sus", None): "sus4", ("sus", "7"): "7sus4", ("sus", "j7"): "maj7sus4",
    ("m7b5", None): "m7b5",
}


def jazzomat_to_standard(symbol: str) -> str | None:
    """A Jazzomat spelling -> the standard one (`C-7` -> `Cm7`, `D79b` -> `D7(b9)`,
    `Ebj7911#` -> `Ebmaj7(9,#11)`); None when it does not follow the syntax."""
    text = symbol.strip()
    if text.upper() in NO_CHORD:
        return "NC"
    m = ROOT_RE.match(text)
    if not m:
        return None
    root, rest, bass = m.group(0), text[m.end():], ""
    if "/" in rest:
        rest, bass = rest.rsplit("/", 1)
        if not ROOT_RE.fullmatch(bass):
            return None
        bass = "/" + bass
    q = JAZZOMAT_RE.fullmatch(rest)
    if not q:
        return None
    base = JAZZOMAT_BASE.get((q.group("tri"), q.group("sev")))
    if base is None:
        return None
    if q.group("alt"):
        if q.group("tri") or q.group("sev") not in (None, "7"):
            return None
        base = "7alt"
    tensions = [acc + num for num, acc in re.findall(r"(9|11|13)([b#]?)", q.group("ten"))]
    return root + base + (f"({','.join(tensions)})" if tensions else "") + bass


def _closest_chord(symbol: str) -> Chord:
    """The triad or seventh chord suggested by the root and the leading quality letters."""
    text = symbol.strip()
    m = ROOT_RE.match(text)
    if not m:
        return NC
    rest = text[m.end():]
    quality = next((q for prefix, q in CLOSEST_QUALITY if rest.startswith(prefix)), "")
    return parse_chord(m.group(0) + quality)


# Leading quality letters -> the triad or seventh they suggest (first match wins).
CLOSEST_QUALITY = (("m7b5", "m7b5"), ("-j", "mM7"), ("-7", "m7"), ("-", "m"), ("m", "m"),
                   ("o7", "dim7"), ("o", "dim"), ("+", "aug"), ("j", "maj7"), ("sus", "sus4"),
                   ("7", "7"), ("6", "6"))


@lru_cache(maxsize=4096)
def parse_jazzomat(symbol: str) -> tuple[Chord, bool]:
    """A Jazzomat chord symbol -> (Chord, understood).

    Tries the Jazzomat syntax, then standard spellings; what neither reads falls back to
    the closest triad/seventh from the root and the leading quality letters (or NC without
    a root), with understood=False so an importer can count it.
    """
    for candidate in (jazzomat_to_standard(symbol), symbol):
        if candidate is None:
            continue
        try:
            return parse_chord(candidate), True
        except ChordSymbolError:
            pass
    return _closest_chord(symbol), False


@lru_cache(maxsize=4096)
def chord_from_mask(mask: int, bass: int | None = None) -> Chord:
    """Name a set of sounding pitch classes (e.g. read from a MIDI comping track).

    The symbol is the best matching common chord (`Dm7`, `G7/B`); when no common chord
    matches exactly it lists the pitch classes (`{C E F#}`). The mask is kept as given.
    """
    if not mask:
        return NC
    best = None
    for order, (quality, intervals) in enumerate(NAMING_TEMPLATES):
        for root in range(12):
            tmask = pcs_mask(root + i for i in intervals)
            missing = bin(tmask & ~mask).count("1")
            extra = bin(mask & ~tmask).count("1")
            key = (missing + extra, root != bass, order)
            if best is None or key < best[0]:
                best = (key, root, quality)
    assert best is not None
    (misfit, _, _), root, quality = best
    if misfit:
        symbol = "{" + " ".join(pc_name(pc) for pc in mask_pcs(mask)) + "}"
    else:
        symbol = pc_name(root) + quality
        if bass is not None and bass != root:
            symbol += "/" + pc_name(bass)
    return Chord(symbol, root, mask, None if bass == root else bass)


NAMING_TEMPLATES = [("maj7", (0, 4, 7, 11)), ("m7", (0, 3, 7, 10)), ("7", (0, 4, 7, 10)),
                    ("m7b5", (0, 3, 6, 10)), ("dim7", (0, 3, 6, 9)), ("", (0, 4, 7)),
                    ("m", (0, 3, 7)), ("6", (0, 4, 7, 9)), ("m6", (0, 3, 7, 9)),
                    ("mM7", (0, 3, 7, 11)), ("7sus4", (0, 5, 7, 10)), ("sus4", (0, 5, 7)),
                    ("dim", (0, 3, 6)), ("aug", (0, 4, 8)), ("9", (0, 2, 4, 7, 10)),
                    ("m9", (0, 2, 3, 7, 10)), ("maj9", (0, 2, 4, 7, 11)), ("5", (0, 7))]


# --- Changes: the chord timeline ----------------------------------------------------------


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


# --- Key estimation (Krumhansl-Schmuckler) ------------------------------------------------

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the raised 7th (leading tone)
MAJOR_TONIC_CHORD = (0, 4, 7, 11)  # maj7
MINOR_TONIC_CHORD = (0, 3, 7, 10)  # m7


def _profiles() -> np.ndarray:
    rows = [np.roll(np.array(p, np.float64), t) for p in (MAJOR_PROFILE, MINOR_PROFILE)
            for t in range(12)]
    m = np.array(rows)  # [24, 12]: majors on C..B, then minors on C..B
    m -= m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


KEY_PROFILES = _profiles()  # [24, 12], zero-mean, unit-norm


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class and mode, with the pitch-class sets conditioning uses."""

    tonic: int
    minor: bool
    score: float = field(default=0.0, compare=False)  # the winning correlation, -1..1

    @property
    def name(self) -> str:
        return f"{pc_name(self.tonic)} {'minor' if self.minor else 'major'}"

    @property
    def scale_mask(self) -> int:
        """Major: the major scale. Minor: natural minor plus the raised 7th."""
        return pcs_mask(self.tonic + i for i in (MINOR_SCALE if self.minor else MAJOR_SCALE))

    @property
    def tonic_chord_mask(self) -> int:
        """Major: maj7 (0-4-7-11). Minor: m7 (0-3-7-10)."""
        return pcs_mask(self.tonic + i
                        for i in (MINOR_TONIC_CHORD if self.minor else MAJOR_TONIC_CHORD))

    def in_key_share(self, pitches: Iterable[int]) -> float:
        """Share of `pitches` (MIDI numbers) whose pitch class is in `scale_mask`; 0 if none."""
        scale, total, hits = self.scale_mask, 0, 0
        for p in pitches:
            total += 1
            hits += scale >> (int(p) % 12) & 1
        return hits / total if total else 0.0


def pitch_class_histogram(notes: Iterable) -> np.ndarray:
    """Duration-weighted pitch-class histogram [12] of codec Notes or (pitch, duration) pairs.

    If every duration is 0 the notes are counted instead.
    """
    weights = np.zeros(12)
    counts = np.zeros(12)
    for n in notes:
        pitch, dur = (n.pitch, n.dur) if hasattr(n, "pitch") else (n[0], n[1])
        weights[int(pitch) % 12] += max(float(dur), 0.0)
        counts[int(pitch) % 12] += 1
    return weights if weights.any() else counts


def estimate_key(notes: Iterable) -> Key:
    """Krumhansl-Schmuckler: the key whose Krumhansl-Kessler profile correlates best with
    the duration-weighted pitch-class histogram.

    `notes` are codec Notes (pitch, dur) or (pitch, duration) pairs. With no notes (or a
    flat histogram) there is nothing to go on, and the answer is C major with score 0.
    """
    hist = pitch_class_histogram(notes)
    centred = hist - hist.mean()
    norm = np.linalg.norm(centred)
    if norm == 0:
        return Key(0, False, 0.0)
    corr = KEY_PROFILES @ (centred / norm)  # [24]
    best = int(np.argmax(corr))
    return Key(best % 12, best >= 12, float(corr[best]))
