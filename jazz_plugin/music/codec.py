"""Notes <-> tokens for monophonic jazz lines; shared by training and the live daemon.

A token is either a note, `(interval from the previous pitch, duration class)`, or a rest
`(duration class)`. Intervals make the vocabulary key-independent: a line transposed to any
key gives the same tokens. Durations live on a grid of 12 ticks per quarter note, which
holds sixteenths (3), eighth-note triplets (4) and swung eighths (8 + 4).

Version 2 keeps every onset where the notation puts it: each onset is rounded to the grid
on its own, a note sounds for the duration class nearest its length that still ends by the
next onset, and the rest classes (which include 1 tick) absorb whatever remains exactly.
Version 1 dropped a 1-tick remainder and moved about a third of the WJazzD notes a tick
early; its models still load, and encode with their own (smaller) vocabulary.

`quantize` turns free timing into the canonical line that the tokens describe exactly, so
`decode(encode(q)) == q` for every quantized line `q`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jazz_plugin.music.grid import TICKS_PER_QUARTER as TICKS_PER_QUARTER  # the codec's grid

# duration classes, in ticks: every value up to 10 (tuplets and swung 8 + 4 land exactly),
# then the longer written values; a remainder under a class is a rest of its own
DURATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 18, 24, 36, 48)
DURATIONS_V1 = (2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48)  # codec v1 (still read)
MAX_INTERVAL = 12  # larger leaps are folded by octaves into [-12, +12]
CODEC_NAME = "interval-duration"
CODEC_VERSION = 2
CODEC_VERSIONS_READ = (1, 2)  # v1 models load; their lines may drop a 1-tick rest
MIDI_LOW, MIDI_HIGH = 0, 127


@dataclass(frozen=True, order=True)
class Note:
    """One quantized note: MIDI pitch, onset and length in grid ticks."""

    start: int
    pitch: int
    dur: int


@dataclass(frozen=True, order=True)
class Token:
    """A vocabulary entry; `interval` is None for a rest."""

    kind: str  # "n" note, "r" rest
    interval: int
    dur: int

    @property
    def is_rest(self) -> bool:
        return self.kind == "r"

    @property
    def name(self) -> str:
        if self.is_rest:
            return f"r/{self.dur}"
        return f"n{self.interval:+d}/{self.dur}"

    @staticmethod
    def parse(name: str) -> Token:
        """Parse `n+3/6` or `r/12`; raises ValueError on anything else."""
        head, _, dur = name.partition("/")
        if head == "r":
            return Token("r", 0, int(dur))
        if head[:1] == "n" and head[1:2] in "+-" and head[1:2]:
            return Token("n", int(head[1:]), int(dur))
        raise ValueError(f"not a token name: {name!r}")


def default_vocabulary(durations: Sequence[int] = DURATIONS) -> list[str]:
    """The sorted token names of the codec (of version 1 with `DURATIONS_V1`)."""
    tokens = [Token("n", i, d) for i in range(-MAX_INTERVAL, MAX_INTERVAL + 1) for d in durations]
    tokens += [Token("r", 0, d) for d in durations]
    return [t.name for t in sorted(tokens)]


def nearest_duration(ticks: float, at_most: float | None = None,
                     classes: Sequence[int] = DURATIONS) -> int:
    """The duration class nearest to `ticks` (ties go to the shorter class), and no longer
    than `at_most` when given (the time to the next onset) unless no class is that short."""
    fits = [d for d in classes if at_most is None or d <= at_most] or [classes[0]]
    return min(fits, key=lambda d: (abs(d - ticks), d))


def split_rest(ticks: int, classes: Sequence[int] = DURATIONS) -> list[int]:
    """Canonical rest decomposition: greedy, largest class first. With the 1-tick class any
    whole gap is held exactly; a remainder shorter than the smallest class drops.

    Greedy is idempotent (`split_rest(sum(split_rest(g))) == split_rest(g)`), which is what
    makes encode and quantize agree.
    """
    parts: list[int] = []
    for d in sorted(classes, reverse=True):
        while ticks >= d:
            parts.append(d)
            ticks -= d
    return parts


def fold_pitch(pitch: int, prev: int) -> int:
    """Move `pitch` by octaves until it lies within MAX_INTERVAL of `prev`."""
    while pitch - prev > MAX_INTERVAL:
        pitch -= 12
    while prev - pitch > MAX_INTERVAL:
        pitch += 12
    return pitch


def fold_range(pitch: int, low: int, high: int) -> int:
    """Move `pitch` by octaves into [low, high] (needs high - low >= 11)."""
    while pitch > high:
        pitch -= 12
    while pitch < low:
        pitch += 12
    return pitch


def skyline(notes: Iterable[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """Reduce polyphony to the highest voice.

    A note is dropped if it starts together with, or under, a higher note that still
    sounds; otherwise it cuts the note before it short. Zero-length notes are dropped.
    """
    ordered = sorted(((s, -p, e) for p, s, e in notes if e > s))
    kept: list[list[float]] = []  # [pitch, start, end]
    for s, neg_p, e in ordered:
        p = -neg_p
        if kept:
            last = kept[-1]
            if last[1] == s:
                continue  # same onset: the higher one came first
            if last[2] > s and last[0] > p:
                continue  # under a sounding higher note
            if last[2] > s:
                last[2] = s
        kept.append([p, s, e])
    return [(int(p), s, e) for p, s, e in kept]


def quantize(notes: Iterable[tuple[int, float, float]], ticks_per_unit: float = 1.0) -> list[Note]:
    """Free-timed `(pitch, start, end)` notes -> the canonical quantized monophonic line.

    Times are multiplied by `ticks_per_unit` to get grid ticks (pass TICKS_PER_QUARTER for
    times in quarter notes). Each onset is rounded to the grid on its own, so every onset
    sits where its time puts it and errors never accumulate; notes whose onsets round to one
    tick keep the first. A note sounds for the nearest duration class that ends by the next
    onset; the rest tokens fill the gap exactly.
    """
    line: list[tuple[int, int, float]] = []  # (pitch, onset tick, end) with rising onsets
    for p, s, e in skyline(notes):
        onset = round(s * ticks_per_unit)
        if not line or onset > line[-1][1]:
            line.append((p, onset, e * ticks_per_unit))
    out: list[Note] = []
    prev_pitch = line[0][0] if line else 0
    for i, (pitch, onset, end) in enumerate(line):
        next_onset = line[i + 1][1] if i + 1 < len(line) else None
        length = end - onset if next_onset is None else min(end, next_onset) - onset
        ioi = None if next_onset is None else next_onset - onset
        dur = nearest_duration(min(length, DURATIONS[-1]), ioi)
        pitch = min(max(fold_pitch(pitch, prev_pitch), MIDI_LOW), MIDI_HIGH)
        out.append(Note(onset, pitch, dur))
        prev_pitch = pitch
    return out


class Codec:
    """A vocabulary of token names and the encode/decode rules over it."""

    def __init__(self, vocabulary: Sequence[str] | None = None) -> None:
        names = list(vocabulary) if vocabulary is not None else default_vocabulary()
        self.tokens = [Token.parse(n) for n in names]
        self.names = names
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.rest_index = {t.dur: i for i, t in enumerate(self.tokens) if t.is_rest}
        self.durations = sorted({t.dur for t in self.tokens if not t.is_rest}) or list(DURATIONS)
        self.rest_classes = sorted(self.rest_index)

    def nearest_duration(self, ticks: float, at_most: float | None = None) -> int:
        """`nearest_duration` over this vocabulary's note classes."""
        return nearest_duration(ticks, at_most, self.durations)

    def split_rest(self, ticks: int) -> list[int]:
        """`split_rest` over this vocabulary's rest classes (exact when it has 1 tick)."""
        return split_rest(ticks, self.rest_classes)

    @property
    def n_values(self) -> int:
        return len(self.tokens)

    def encode(self, notes: Sequence[Note], prev_pitch: int | None = None) -> list[int]:
        """Quantized line -> token indices. The first interval is taken from `prev_pitch`
        (default: the first note itself, so the line starts with interval 0)."""
        ids: list[int] = []
        if not notes:
            return ids
        prev = notes[0].pitch if prev_pitch is None else prev_pitch
        for i, note in enumerate(notes):
            interval = fold_pitch(note.pitch, prev) - prev
            ioi = notes[i + 1].start - note.start if i + 1 < len(notes) else None
            dur = self.nearest_duration(note.dur, ioi)
            ids.append(self.index[Token("n", interval, dur)])
            prev = note.pitch
            if ioi is not None:
                ids.extend(self.rest_index[d] for d in self.split_rest(ioi - dur))
        return ids

    def decode(
        self,
        ids: Iterable[int],
        start_pitch: int,
        start_tick: int = 0,
        low: int = MIDI_LOW,
        high: int = MIDI_HIGH,
    ) -> list[Note]:
        """Token indices -> notes, starting from `start_pitch` at `start_tick`."""
        decoder = LineDecoder(self, start_pitch, start_tick, low, high)
        return [n for n in (decoder.feed(i) for i in ids) if n is not None]


class LineDecoder:
    """Streaming decode for the live daemon: one token in, at most one note out."""

    def __init__(
        self, codec: Codec, pitch: int, tick: int = 0, low: int = MIDI_LOW, high: int = MIDI_HIGH
    ) -> None:
        self.tokens = codec.tokens
        self.pitch = pitch
        self.tick = tick
        self.low, self.high = low, high

    def feed(self, index: int) -> Note | None:
        """Advance by one token; returns the note it plays, or None for a rest."""
        token = self.tokens[index]
        start = self.tick
        self.tick += token.dur
        if token.is_rest:
            return None
        self.pitch = fold_range(self.pitch + token.interval, self.low, self.high)
        return Note(start, self.pitch, token.dur)
