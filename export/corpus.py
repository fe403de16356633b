"""Where training solos come from: WJazzD folders, MIDI files, or our own built-in generator.

Every source gives `Solo` records (jazz_plugin.corpus.solo): a quantized line, its chord changes
and per-token conditioning arrays. The built-in corpus is synthetic data that this code
writes, deterministic for a seed: idiomatic bebop-style lines over ii-V-I, blues and rhythm
changes in all 12 keys, with chord tones on strong beats, approach notes, enclosures, runs,
arpeggios, swing eighths, triplets and phrases separated by rests, with the chords it was
written over. It is not a recording of anyone's playing.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from jazz_plugin.corpus.cache import (
    DEFAULT,
    CacheDir,
    FileResult,
    FileTask,
    ImportStats,
    import_files,
)
from jazz_plugin.corpus.midifile import find_midi_files, read_solo_parts
from jazz_plugin.corpus.solo import Solo, encode_solo
from jazz_plugin.corpus.wjazzd import licence_line, load_wjazzd
from jazz_plugin.errors import CorpusError, MidiFileError
from jazz_plugin.music.codec import TICKS_PER_QUARTER, Codec, quantize
from jazz_plugin.music.harmony import Changes, parse_chord, pc_name

Line = list[tuple[int, float, float]]  # (pitch, start, end) in quarter notes


@dataclass
class Corpus:
    """Solos, with a summary of where they came from (it goes into the model's metadata)."""

    solos: list[Solo]
    summary: str
    imported: ImportStats | None = None  # parsed / from cache (None: built here, not read)

    @property
    def pieces(self) -> list[list[int]]:
        """Token index lists, one per solo (for the n-gram baselines)."""
        return [s.tokens.tolist() for s in self.solos]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.solos]


TRACK_LINES = 50  # files whose track choices are printed, one line each


def load_midi_corpus(paths: Sequence[str], codec: Codec, track: str | None = None,
                     chord_track: str | None = "auto", *, jobs: int | None = None,
                     cache_dir: CacheDir = DEFAULT, progress: bool = True) -> Corpus:
    """Read every MIDI file under `paths`; bad files are skipped with one warning each.

    Prints one line per file saying which track gave the solo and which gave the chords,
    for the first TRACK_LINES files (a 100,000-file corpus would bury the rest of the log),
    then how many more there were; every skipped file is reported. `jobs` processes parse
    (default: the cores); each file's Solo is cached in `cache_dir` (default: the user's
    cache folder; None: no cache) under the hash of its bytes and the track choices
    (jazz_plugin.corpus.cache).
    """
    files = find_midi_files(paths)
    options = {"track": track, "chord_track": _chord_track_key(chord_track)}
    solos: list[Solo] = []
    reasons: list[str] = []

    def take(task: FileTask, result: FileResult) -> None:
        if result.solo is None:
            tqdm.write(f"warning: skipped {result.reason}", file=sys.stderr)
            reasons.append(result.reason)
        else:
            if len(solos) < TRACK_LINES:
                tqdm.write(f"{task.name}: {result.details['tracks']}", file=sys.stderr)
            solos.append(result.solo)

    stats = import_files(
        [FileTask((path,), path) for path in files], parse_midi_task, codec, kind="midi",
        options=options, code_modules=["jazz_plugin.corpus.midifile", __name__], jobs=jobs,
        cache_dir=cache_dir, progress=progress, desc="midi", on_result=take)
    skipped = len(reasons)
    if len(solos) > TRACK_LINES:
        print(f"... and {len(solos) - TRACK_LINES} more files (track choices of the first "
              f"{TRACK_LINES} shown)", file=sys.stderr)
    with_chords = sum(s.has_chords for s in solos)
    counts = f"{len(solos)} files used, {skipped} skipped; {with_chords} with chords"
    print(f"corpus: {counts}; {stats.describe()}", file=sys.stderr)
    if not solos:
        first = f": {reasons[0]}" if len(reasons) == 1 else f" (first: {reasons[0]})"
        raise CorpusError(f"no usable MIDI file among {len(files)} found{first}")
    return Corpus(solos, f"midi: {counts}", stats)


def parse_midi_task(task: FileTask, codec: Codec, options: dict) -> FileResult:
    """One MIDI file (run in an import worker) -> its Solo and the tracks it came from.
    Raises MidiFileError for a file with nothing usable."""
    (path,) = task.files
    melody, changes, info = read_solo_parts(path, options["track"], options["chord_track"])
    line = quantize(melody, TICKS_PER_QUARTER)
    if len(line) < 2:
        raise MidiFileError(f"{path!r} has fewer than 2 notes")
    return FileResult(encode_solo(task.name, task.performer, line, changes, codec),
                      details={"tracks": info.describe()})


def _chord_track_key(chord_track: str | None) -> str:
    """None and any spelling of auto/none as one value (the same choice, the same cache)."""
    if chord_track is None or chord_track.lower() == "auto":
        return "auto"
    return "none" if chord_track.lower() == "none" else chord_track


def load_wjazzd_corpus(folder: str, codec: Codec, progress: bool = True, *,
                       jobs: int | None = None, cache_dir: CacheDir = DEFAULT) -> Corpus:
    """A Weimar Jazz Database folder; prints the import report (skips, unread symbols,
    parsed / from cache). `jobs` and `cache_dir` as in load_midi_corpus."""
    solos, report = load_wjazzd(folder, codec, progress, jobs=jobs, cache_dir=cache_dir)
    print(report.describe(), file=sys.stderr)
    return Corpus(solos, f"wjazzd: {report.summary()}. {licence_line(folder)}", report.imported)


# --- The built-in generator -------------------------------------------------------------

CHORD_TONES = {"maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "7": (0, 4, 7, 10),
               "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9), "6": (0, 4, 7, 9)}
SCALES = {"maj7": (0, 2, 4, 5, 7, 9, 11), "6": (0, 2, 4, 5, 7, 9, 11),
          "m7": (0, 2, 3, 5, 7, 9, 10), "7": (0, 2, 4, 5, 7, 9, 10, 11),  # bebop dominant
          "m7b5": (0, 1, 3, 5, 6, 8, 10), "dim7": (0, 2, 3, 5, 6, 8, 9, 11)}
# Progressions as (root offset from the key, quality, beats).
PROGRESSIONS = {
    "ii-V-I": [(2, "m7", 4), (7, "7", 4), (0, "maj7", 8)],
    "blues": [(0, "7", 4), (5, "7", 4), (0, "7", 8), (5, "7", 8), (0, "7", 8),
              (2, "m7", 4), (7, "7", 4), (0, "7", 2), (9, "7", 2), (2, "m7", 2), (7, "7", 2)],
    "rhythm changes": [(0, "6", 2), (9, "7", 2), (2, "m7", 2), (7, "7", 2)] * 3
    + [(0, "6", 2), (0, "7", 2), (5, "6", 2), (5, "m7", 2),
       (0, "6", 2), (9, "7", 2), (2, "m7", 2), (7, "7", 2)],
}
LOW, HIGH = 55, 86  # register of the generated lines
# One beat's rhythm as (onset, length) pairs in quarter notes: swing eighths, triplets, ...
SWING = [(0.0, 2 / 3), (2 / 3, 1 / 3)]
BEAT_CELLS = [
    (SWING, 6),
    ([(0.0, 1 / 3), (1 / 3, 1 / 3), (2 / 3, 1 / 3)], 2),  # eighth triplets
    ([(0.0, 1.0)], 1),  # quarter
    ([(0.0, 0.25), (0.25, 0.25), (0.5, 0.25), (0.75, 0.25)], 1),  # sixteenths
]


def _nearest(pitch: int, key: int, root: int, tones: Sequence[int], direction: int) -> int:
    """The chord tone nearest to `pitch`, preferring the side we are moving toward."""
    candidates = [p for p in range(LOW, HIGH + 1) if (p - key - root) % 12 in tones]
    return min(candidates, key=lambda p: (abs(p - pitch) + (0.5 if (p - pitch) * direction < 0
                                                             else 0)))


def _scale_step(pitch: int, key: int, root: int, scale: Sequence[int], step: int) -> int:
    """Move `step` scale degrees from `pitch` (up if positive)."""
    p = pitch
    for _ in range(abs(step)):
        p += 1 if step > 0 else -1
        while (p - key - root) % 12 not in scale:
            p += 1 if step > 0 else -1
    return p


def _fill(rng: random.Random, start: int, target: int, n: int, key: int, chord) -> list[int]:
    """`n` pitches that lead from `start` into `target` with one jazz device."""
    root, quality, _ = chord
    scale, tones = SCALES[quality], CHORD_TONES[quality]
    if n == 0:
        return []
    device = rng.choice(["run", "approach", "enclosure", "arpeggio"])
    if device == "approach":
        below = rng.random() < 0.6
        lead = [target - 1 if below else target + 1]
        return _fill(rng, start, lead[0], n - 1, key, chord) + lead if n > 1 else lead
    if device == "enclosure" and n >= 2:
        enc = [_scale_step(target, key, root, scale, 1), target - 1]
        return _fill(rng, start, enc[0], n - 2, key, chord) + enc if n > 2 else enc
    if device == "arpeggio":
        direction = 1 if target >= start else -1
        out, p = [], start
        for _ in range(n):
            p = _nearest(p + direction * 2, key, root, tones, direction)
            out.append(p)
        return out
    direction = 1 if target >= start else -1  # scale run
    return [_scale_step(start, key, root, scale, direction * (i + 1)) for i in range(n)]


def builtin_piece(rng: random.Random, key: int, progression: str, choruses: int) -> Line:
    """One piece: `choruses` times round a progression, phrased, in one key."""
    chords = PROGRESSIONS[progression]
    beats = [c for c in chords for _ in range(c[2])] * choruses
    line: Line = []
    pitch = rng.randint(60, 74)
    direction = rng.choice([-1, 1])
    beat = rng.choice([0, 1, 2])  # a pickup or a downbeat start
    while beat < len(beats) - 1:
        phrase_beats = rng.choice([4, 6, 8, 8, 12, 16])
        end = min(beat + phrase_beats, len(beats) - 1)
        while beat < end:
            chord = beats[beat]
            cell = rng.choices([c for c, _ in BEAT_CELLS], [w for _, w in BEAT_CELLS])[0]
            if pitch >= HIGH - 4:
                direction = -1
            elif pitch <= LOW + 4:
                direction = 1
            elif rng.random() < 0.2:
                direction = -direction
            target = _nearest(pitch + direction * rng.randint(1, 5), key, chord[0],
                              CHORD_TONES[chord[1]], direction)
            nxt = beats[beat + 1]
            next_target = _nearest(target + direction * rng.randint(1, 4), key, nxt[0],
                                   CHORD_TONES[nxt[1]], direction)
            pitches = [target] + _fill(rng, target, next_target, len(cell) - 1, key, chord)
            for (onset, length), p in zip(cell, pitches, strict=True):
                p = min(max(p, LOW - 3), HIGH + 3)
                line.append((p, beat + onset, beat + onset + length * rng.choice([1, 1, 1, 0.5])))
            pitch = pitches[-1]
            beat += 1
        # land on a chord tone and breathe
        chord = beats[beat]
        landing = _nearest(pitch, key, chord[0], CHORD_TONES[chord[1]], direction)
        hold = rng.choice([0.5, 1.0, 1.5, 2.0])
        line.append((landing, beat, beat + hold))
        beat += rng.choice([2, 3, 4, 6])
    return line


QUALITY_SYMBOL = {"maj7": "maj7", "m7": "m7", "7": "7", "m7b5": "m7b5", "dim7": "dim7",
                  "6": "6"}  # the generator's qualities as chord symbols


def builtin_changes(key: int, progression: str, choruses: int, end: int = 0) -> Changes:
    """The chords a built-in piece was written over, from tick 0 (a bar line); the last
    chord holds until `end` if the line rings past the last chorus."""
    segments, tick = [], 0
    for _ in range(choruses):
        for root, quality, beats in PROGRESSIONS[progression]:
            symbol = pc_name(key + root) + QUALITY_SYMBOL[quality]
            segments.append((tick, parse_chord(symbol)))
            tick += beats * TICKS_PER_QUARTER
    return Changes(segments, end=max(tick, end))


def builtin_corpus(codec: Codec, seed: int = 0, pieces_per_key: int = 16,
                   choruses: int = 3) -> Corpus:
    """The deterministic synthetic corpus: every key, every progression, with its chords."""
    rng = random.Random(seed)
    solos: list[Solo] = []
    progressions = sorted(PROGRESSIONS)
    for key in range(12):
        for i in range(pieces_per_key):
            prog = progressions[(key + i) % len(progressions)]
            line = quantize(builtin_piece(rng, key, prog, choruses), TICKS_PER_QUARTER)
            changes = builtin_changes(key, prog, choruses, line[-1].start + line[-1].dur)
            solos.append(encode_solo(f"builtin key={key} {prog} #{i}", "builtin", line,
                                     changes, codec))
    n_tokens = sum(map(len, solos))
    summary = (f"builtin (synthetic, seed={seed}): {len(solos)} pieces in 12 keys, "
               f"{n_tokens} tokens, with chords")
    return Corpus(solos, summary)


def builtin_lines(seed: int = 0, n: int = 4) -> list[Line]:
    """A few built-in lines as free-timed notes, for tests and demos."""
    rng = random.Random(seed)
    return [builtin_piece(rng, k % 12, sorted(PROGRESSIONS)[k % 3], 1) for k in range(n)]
