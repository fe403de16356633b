"""Musical figures of a line: does it play the changes, stay in key, vary, breathe, swing?

These are what `jazz-plugin evaluate` prints beside the human solos (issue "Play on the
changes"). Pure functions over codec Notes, token indices, a harmony (anything with
at(tick) -> (chord mask, next chord mask), e.g. `harmony.Changes`) and a `harmony.Key`.

Every figure is a `Share` of counts, so lines pool by adding: a corpus figure is the sum of
hits over the sum of counts (every note or token weighs the same, whatever its solo).

- chord tones on beats 1 and 3: notes whose onset is on beat 1 or 3 (tick % 24 == 0)
  whose pitch class is in the chord sounding there; notes where no chord is known are not
  counted (`figures.chord_tones_on_1_and_3`, which the answer search scores with too);
- in key: notes whose pitch class is in the scale of a key (`Key.in_key_share`); evaluate
  takes the key Krumhansl-Schmuckler estimates from the opening (or the call);
- distinct interval 4-grams: distinct 4-grams of successive note intervals over all of
  them (1.0 = never repeats a 4-interval figure exactly; rests do not break the chain);
- rest tokens: the share of *tokens* that are rests. Tokens, not time, because the model
  chooses tokens: a long silence is several rest tokens (the codec splits it greedily,
  largest class first), a short breath is one;
- onsets on the beat: notes starting on a beat (tick % 12 == 0);
- exact loop: a stretch where the tokens repeat with period p, at least LOOP_REPEATS
  periods and LOOP_MIN_TOKENS tokens long (the smallest such p is reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.figures import Share, chord_tones_on_1_and_3, grams, intervals
from jazz_plugin.music.grid import TICKS_PER_BEAT
from jazz_plugin.music.harmony import Key

__all__ = ["Figures", "Loop", "Share", "chord_tones_on_1_and_3", "distinct_grams", "exact_loop",
           "in_key", "on_the_beat", "rest_tokens"]

GRAM = 4  # interval n-gram length for the variety figure
LOOP_REPEATS = 2  # a loop repeats its figure at least this many times in a row ...
LOOP_MIN_TOKENS = 16  # ... over at least this many tokens (so 8 equal notes are no loop)
LOOP_SPAN = 64  # the check: no exact loop in this many argmax tokens


def in_key(notes: Sequence[Note], key: Key) -> Share:
    """Notes whose pitch class is in `key`'s scale (major, or minor with both 7ths)."""
    share = key.in_key_share(n.pitch for n in notes)
    return Share(round(share * len(notes)), len(notes))


def distinct_grams(notes: Sequence[Note], n: int = GRAM) -> Share:
    """Distinct interval n-grams of all of them (0 counted when the line is too short)."""
    g = grams(intervals(notes), n)
    return Share(len(set(g)), len(g))


def rest_tokens(tokens: Sequence[int], codec: Codec) -> Share:
    """Tokens that are rests, of all tokens."""
    return Share(sum(codec.tokens[t].is_rest for t in tokens), len(tokens))


def on_the_beat(notes: Sequence[Note]) -> Share:
    """Notes whose onset is on a beat (tick % 12 == 0)."""
    return Share(sum(n.start % TICKS_PER_BEAT == 0 for n in notes), len(notes))


@dataclass(frozen=True)
class Loop:
    """tokens[start:start + length] repeats itself with `period` (length >= 2 periods)."""

    period: int
    start: int
    length: int


def exact_loop(tokens: Sequence[int], repeats: int = LOOP_REPEATS,
               min_tokens: int = LOOP_MIN_TOKENS) -> Loop | None:
    """The exact loop of the smallest period anywhere in `tokens`, or None.

    A stretch loops with period p when every token in it equals the one p before it; it
    counts when it spans at least `repeats` periods and `min_tokens` tokens. The longest
    such stretch of that period is returned.
    """
    t = list(tokens)
    for p in range(1, len(t) // repeats + 1):
        best: Loop | None = None
        run = 0  # tokens i with t[i] == t[i - p], ending here
        for i in range(p, len(t) + 1):
            if i < len(t) and t[i] == t[i - p]:
                run += 1
                continue
            length = run + p
            if length >= max(repeats * p, min_tokens) and (best is None or length > best.length):
                best = Loop(p, i - length, length)
            run = 0
        if best is not None:
            return best
    return None


@dataclass
class Figures:
    """The figures of many lines, pooled (see the module docstring for the definitions)."""

    chord_tones: Share = Share()
    in_key: Share = Share()
    distinct: Share = Share()
    rests: Share = Share()
    on_beat: Share = Share()
    loops: Share = Share()  # lines holding an exact loop, of lines
    lines: int = 0
    notes: int = 0

    def add(self, notes: Sequence[Note], tokens: Sequence[int] | None, codec: Codec,
            key: Key | None = None, harmony=None) -> Loop | None:
        """Count one line: its notes and the tokens that made it (None: unknown, so no rest
        or loop figure). Returns its loop, if any."""
        loop = exact_loop(tokens) if tokens is not None else None
        if tokens is not None:
            self.rests += rest_tokens(tokens, codec)
            self.loops += Share(int(loop is not None), 1)
        self.chord_tones += chord_tones_on_1_and_3(notes, harmony)
        if key is not None:
            self.in_key += in_key(notes, key)
        self.distinct += distinct_grams(notes)
        self.on_beat += on_the_beat(notes)
        self.lines += 1
        self.notes += len(notes)
        return loop

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.chord_tones + other.chord_tones, self.in_key + other.in_key,
                       self.distinct + other.distinct, self.rests + other.rests,
                       self.on_beat + other.on_beat, self.loops + other.loops,
                       self.lines + other.lines, self.notes + other.notes)
