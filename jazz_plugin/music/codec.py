"""Notes <-> tokens for monophonic jazz lines; shared by training and the live daemon.

A token is either a note, `(interval from the previous pitch, duration class)`, or a rest
`(duration class)`. Intervals make the vocabulary key-independent: a line transposed to any
key gives the same tokens. Durations live on a grid of 12 ticks per quarter note, which
holds sixteenths (3), eighth-note triplets (4) and swung eighths (8 + 4).

`quantize` turns free timing into the canonical line that the tokens describe exactly, so
`decode(encode(q)) == q` for every quantized line `q`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jazz_plugin.music.grid import TICKS_PER_QUARTER as TICKS_PER_QUARTER  # the codec's grid

DURATIONS = (2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48)  # duration classes, in ticks
MAX_INTERVAL = 12  # larger leaps are folded by octaves into [-12, +12]
CODEC_NAME = "interval-duration"
CODEC_VERSION = 1
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


def default_vocabulary() -> list[str]:
    """The sorted token names of codec version 1."""
    tokens = [Token("n", i, d) for i in range(-MAX_INTERVAL, MAX_INTERVAL + 1) for d in DURATIONS]
    tokens += [Token("r", 0, d) for d in DURATIONS]
    return [t.name for t in sorted(tokens)]


def nearest_duration(ticks: float) -> int:
    """The duration class nearest to `ticks` (ties go to the shorter class)."""
    return min(DURATIONS, key=lambda d: (abs(d - ticks), d))


def split_rest(ticks: int) -> list[int]:
    """Canonical rest decomposition: greedy largest class first; a 1-tick remainder drops.

    Greedy is idempotent (`split_rest(sum(split_rest(g))) == split_rest(g)`), which is what
    makes encode and quantize agree.
    """
    parts: list[int] = []
    for d in reversed(DURATIONS):
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
    times in quarter notes). Each onset aims at its absolute position, so rounding errors
    never accumulate along the line.
    """
    line = [(p, s * ticks_per_unit, e * ticks_per_unit) for p, s, e in skyline(notes)]
    out: list[Note] = []
    if not line:
        return out
    cursor = round(line[0][1])
    prev_pitch = line[0][0]
    for i, (pitch, _start, end) in enumerate(line):
        next_start = line[i + 1][1] if i + 1 < len(line) else None
        sound_end = end if next_start is None else min(end, next_start)
        dur = nearest_duration(min(sound_end - cursor, DURATIONS[-1]))
        pitch = min(max(fold_pitch(pitch, prev_pitch), MIDI_LOW), MIDI_HIGH)
        out.append(Note(cursor, pitch, dur))
        prev_pitch = pitch
        cursor += dur
        if next_start is not None:
            cursor += sum(split_rest(round(next_start - cursor)))
    return out


class Codec:
    """A vocabulary of token names and the encode/decode rules over it."""

    def __init__(self, vocabulary: Sequence[str] | None = None) -> None:
        names = list(vocabulary) if vocabulary is not None else default_vocabulary()
        self.tokens = [Token.parse(n) for n in names]
        self.names = names
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.rest_index = {t.dur: i for i, t in enumerate(self.tokens) if t.is_rest}

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
            ids.append(self.index[Token("n", interval, nearest_duration(note.dur))])
            prev = note.pitch
            if i + 1 < len(notes):
                gap = notes[i + 1].start - (note.start + note.dur)
                ids.extend(self.rest_index[d] for d in split_rest(gap))
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
