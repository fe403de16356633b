"""Read a melody and its chords out of a Standard MIDI File, and write a line back to one.

Shared by training (corpus) and `generate --seed-midi`. Times come out in quarter notes so
the codec can quantize them at any tempo; chords come out as `harmony.Changes` on the codec
grid (bar lines every 4 quarter notes from the start of the file: 4/4 is assumed).
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import mido

from jazz_plugin.errors import MidiFileError
from jazz_plugin.model.conditioning import mask_pcs
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_QUARTER
from jazz_plugin.music.harmony import Changes, Chord, chord_from_mask

DRUM_CHANNEL = 9  # MIDI channel 10, zero-based
MAX_MIDI_BYTES = 8 * 1024 * 1024  # a jazz solo is kilobytes; larger files are refused
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
DRUM_NAMES = ("drum", "kit", "perc")  # track names never read as harmony
COMPING_NAMES = ("piano", "guitar", "gtr", "keys", "keyboard", "comp", "chord", "organ",
                 "rhodes", "pad")  # track names that comp even when they arpeggiate
BASS_NAMES = ("bass",)
BASS_MEDIAN_BELOW = 52  # a part whose median pitch is below E3 is a bass line
CHORD_POLYPHONY = 2.0  # mean notes sounding at each onset from which a part comps chords
MIN_BEAT_OVERLAP = 0.125  # quarter notes a note must sound inside a beat to count there
CHORD_BASS_LOW, CHORD_LOW = 36, 52  # written chord track: bass in C2..B2, the rest E3..Eb4
CHORD_CHANNEL, CHORD_VELOCITY = 1, 64  # written chord track: MIDI channel 2, softer
SOLO_TRACK, CHORDS_TRACK = "Solo", "Chords"  # the tracks we write (`generate`, `run --record`)


@dataclass
class Part:
    """The notes of one track (and channel) of a file, in quarter notes."""

    name: str
    index: int
    notes: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def polyphony(self) -> float:
        """Fraction of notes that start while another note still sounds."""
        ordered = sorted(self.notes, key=lambda n: n[1])
        overlapping, end = 0, -1.0
        for _p, s, e in ordered:
            overlapping += s < end
            end = max(end, e)
        return overlapping / max(len(ordered), 1)

    @property
    def solo_score(self) -> float:
        """Higher for what looks like a solo line: many onsets, little polyphony."""
        return len({s for _p, s, _e in self.notes}) * (1.0 - self.polyphony)

    @property
    def mean_polyphony(self) -> float:
        """Mean number of notes sounding at each onset (1 for a line, 3+ for block chords)."""
        starts = sorted(s for _p, s, _e in self.notes)
        ends = sorted(e for _p, _s, e in self.notes)
        onsets = sorted(set(starts))
        total = sum(bisect_right(starts, t) - bisect_right(ends, t) for t in onsets)
        return total / max(len(onsets), 1)

    @property
    def label(self) -> str:
        return f"{self.index} {self.name!r}"

    @property
    def is_drums(self) -> bool:
        return any(word in self.name.lower() for word in DRUM_NAMES)

    @property
    def is_bass(self) -> bool:
        pitches = sorted(p for p, _s, _e in self.notes)
        median = pitches[len(pitches) // 2] if pitches else 127
        return any(w in self.name.lower() for w in BASS_NAMES) or median < BASS_MEDIAN_BELOW

    @property
    def comps(self) -> bool:
        """Looks like a comping part: chords, or a comping instrument's name."""
        return (self.mean_polyphony >= CHORD_POLYPHONY
                or any(w in self.name.lower() for w in COMPING_NAMES))


@dataclass
class PartsInfo:
    """Which parts of a file gave the melody and the chords (labels like `2 'tenor'`)."""

    melody: list[str]
    chords: list[str]

    def describe(self) -> str:
        chords = ", ".join(self.chords) if self.chords else "none (no chord track)"
        return f"solo from track {', '.join(self.melody)}; chords from {chords}"


def read_parts(path: str) -> list[Part]:
    """All non-drum parts with notes. Raises MidiFileError for unreadable files."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise MidiFileError(f"cannot read {path!r}: {e.strerror}") from None
    if size == 0:
        raise MidiFileError(f"{path!r} is empty (0 bytes)")
    if size > MAX_MIDI_BYTES:
        raise MidiFileError(
            f"{path!r} is {size / 1e6:.1f} MB; MIDI files over "
            f"{MAX_MIDI_BYTES / 1e6:.0f} MB are refused (a solo is a few KB)"
        )
    try:
        mid = mido.MidiFile(path, clip=True)
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError, ...
        raise MidiFileError(f"{path!r} is not a readable MIDI file ({_short(e)})") from None
    if mid.type == 2:
        raise MidiFileError(f"{path!r} is a type-2 MIDI file (independent patterns); "
                            "use type 0 or 1")
    tpb = mid.ticks_per_beat or 480
    parts: list[Part] = []
    for index, track in enumerate(mid.tracks):
        by_channel: dict[int, list[tuple[int, float, float]]] = {}
        sounding: dict[tuple[int, int], float] = {}
        name, tick = f"track {index}", 0
        for msg in track:
            tick += msg.time
            now = tick / tpb
            if msg.type == "track_name" and msg.name.strip():
                name = msg.name.strip()
            elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
                key = (msg.channel, msg.note)
                if key in sounding:  # note-off, or a re-struck note closes the old one
                    by_channel.setdefault(msg.channel, []).append(
                        (msg.note, sounding.pop(key), now)
                    )
                if msg.type == "note_on" and msg.velocity > 0:
                    sounding[key] = now
        end = tick / tpb
        for (channel, pitch), start in sounding.items():
            by_channel.setdefault(channel, []).append((pitch, start, end))
        for channel, notes in sorted(by_channel.items()):
            notes = [n for n in notes if n[2] > n[1]]
            if notes:
                label = name if len(by_channel) == 1 else f"{name} ch{channel + 1}"
                parts.append(Part(label, index, notes))
    return parts


def read_melody(path: str, track: str | None = None) -> list[tuple[int, float, float]]:
    """The melody of a file: the part named/numbered `track`, else as `_melody_parts` picks."""
    parts = read_parts(path)
    return [n for p in _melody_parts(path, parts, track) for n in p.notes]


def read_solo_parts(
    path: str, track: str | None = None, chord_track: str | None = "auto"
) -> tuple[list[tuple[int, float, float]], Changes, PartsInfo]:
    """The melody, its chords and which parts gave them.

    The melody is picked as in read_melody. `chord_track` is "auto" or None (a track named
    `Chords`, as we write them; else the non-drum parts besides the melody that comp:
    polyphonic or named piano/guitar/..., plus any bass line when there is such a part),
    "none", or NAME|INDEX (several joined by commas). The chord at each beat is the set of
    pitch classes sounding in those parts during that beat; a beat where they are silent
    holds the chord before it.
    """
    parts = read_parts(path)
    melody = _melody_parts(path, parts, track)
    if chord_track is not None and chord_track.lower() == "none":
        chords: list[Part] = []
    elif (chord_track is None or chord_track.lower() == "auto") and _find_parts(parts,
                                                                                 CHORDS_TRACK):
        chords = [p for p in _find_parts(parts, CHORDS_TRACK) if p not in melody]
    elif chord_track is None or chord_track.lower() == "auto":
        others = [p for p in parts if p not in melody and not p.is_drums]
        comping = [p for p in others if p.comps and not p.is_bass]
        chords = [p for p in others if p in comping or p.is_bass] if comping else []
    else:
        chords = []
        for name in chord_track.split(","):
            found = _find_parts(parts, name.strip())
            if not found:
                raise MidiFileError(f"{path!r} has no chord track {name.strip()!r} with notes; "
                                    f"it has {_part_names(parts)}")
            chords += [p for p in found if p not in chords]
    end = max((e for p in parts for _p, _s, e in p.notes), default=0.0)
    changes = beat_changes([n for p in chords for n in p.notes], end)
    info = PartsInfo([p.label for p in melody], [p.label for p in chords])
    return [n for p in melody for n in p.notes], changes, info


def beat_changes(notes: Sequence[tuple[int, float, float]], end: float) -> Changes:
    """Comping notes (pitch, start, end in quarter notes) -> one chord per beat, merged.

    A note counts in a beat when it sounds there for at least MIN_BEAT_OVERLAP; the lowest
    such note is the chord's bass. Silent beats hold the chord before them.
    """
    n_beats = math.ceil(end)
    masks = [0] * n_beats
    lowest = [128] * n_beats
    for pitch, start, stop in notes:
        for beat in range(max(int(start), 0), min(math.ceil(stop), n_beats)):
            if min(stop, beat + 1) - max(start, beat) >= MIN_BEAT_OVERLAP:
                masks[beat] |= 1 << (pitch % 12)
                lowest[beat] = min(lowest[beat], pitch)
    segments = [(beat * TICKS_PER_QUARTER, chord_from_mask(mask, lowest[beat] % 12))
                for beat, mask in enumerate(masks) if mask]
    return Changes(segments, end=n_beats * TICKS_PER_QUARTER)


def _melody_parts(path: str, parts: list[Part], track: str | None) -> list[Part]:
    if not parts:
        raise MidiFileError(f"{path!r} has no pitched notes (empty, drums only or meta only)")
    if track is None:  # our own files name their solo; others: the most solo-like part
        return _find_parts(parts, SOLO_TRACK) or [max(parts, key=lambda p: p.solo_score)]
    chosen = _find_parts(parts, track)
    if not chosen:
        raise MidiFileError(f"{path!r} has no track {track!r} with notes; it has "
                            f"{_part_names(parts)}")
    return chosen


def _find_parts(parts: list[Part], track: str) -> list[Part]:
    if track.isdigit():
        return [p for p in parts if p.index == int(track)]
    return [p for p in parts if p.name.lower() == track.lower()]


def _part_names(parts: list[Part]) -> str:
    return ", ".join(f"{p.index}:{p.name!r}" for p in parts)


def find_midi_files(paths: Sequence[str]) -> list[str]:
    """Expand files and folders (recursively) into a sorted list of MIDI file paths."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                found += [os.path.join(root, f) for f in files if f.lower().endswith(MIDI_SUFFIXES)]
        elif os.path.exists(path):
            found.append(path)
        else:
            raise MidiFileError(f"{path!r} does not exist")
    if not found:
        raise MidiFileError(f"no MIDI files ({', '.join(MIDI_SUFFIXES)}) in {', '.join(paths)}")
    return sorted(found)


def write_line(
    notes: Sequence[Note],
    path: str,
    bpm: float = 120.0,
    channel: int = 0,
    velocity: int = 90,
    ticks_per_beat: int = 480,
    changes: Changes | None = None,
) -> None:
    """Write a quantized line to a type-1 MIDI file.

    With `changes`, the file has two named tracks, `Solo` and `Chords`: block chords struck
    at each change and each bar line, repeating a looping chart until the line ends.
    """
    scale = ticks_per_beat // TICKS_PER_QUARTER
    solo = [(n.start, n.dur, n.pitch) for n in notes]
    name = "jazz-plugin solo" if changes is None else SOLO_TRACK
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(_track(name, solo, scale, channel, velocity,
                             [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))]))
    if changes is not None:
        end = max((n.start + n.dur for n in notes), default=changes.end)
        mid.tracks.append(_track(CHORDS_TRACK, chord_blocks(changes, end), scale, CHORD_CHANNEL,
                                 CHORD_VELOCITY, []))
    mid.save(path)


def chord_blocks(changes: Changes, end: int) -> list[tuple[int, int, int]]:
    """(start, dur, pitch) block-chord notes in grid ticks, up to `end` (looping charts
    repeat). Each chord is struck at its start and again at every bar line it spans."""
    blocks: list[tuple[int, int, int]] = []
    span = changes.loop_ticks or changes.end
    if span <= 0:
        return blocks
    offset = 0
    while offset < end:
        for seg in changes:
            cuts = [seg.start] + list(range((seg.start // TICKS_PER_BAR + 1) * TICKS_PER_BAR,
                                            seg.end, TICKS_PER_BAR)) + [seg.end]
            for a, b in zip(cuts, cuts[1:]):
                if offset + a < end and b > a:
                    blocks += [(offset + a, min(b, end - offset) - a, p)
                               for p in voicing(seg.chord)]
        if not changes.loop_ticks:
            break
        offset += span
    return blocks


def voicing(chord: Chord) -> list[int]:
    """A plain block voicing: the bass (or root) low, the other pitch classes close above."""
    if chord.is_nc:
        return []
    low = chord.bass if chord.bass is not None else chord.root
    pitches = [] if low is None else [CHORD_BASS_LOW + low]
    pitches += [CHORD_LOW + (pc - CHORD_LOW) % 12 for pc in mask_pcs(chord.mask)]
    return sorted(pitches)


def _track(name: str, notes: list[tuple[int, int, int]], scale: int, channel: int,
           velocity: int, head: list[mido.MetaMessage]) -> mido.MidiTrack:
    events = []
    for start, dur, pitch in notes:
        events.append((start * scale, 1, mido.Message("note_on", channel=channel, note=pitch,
                                                       velocity=velocity)))
        events.append(((start + dur) * scale, 0, mido.Message("note_off", channel=channel,
                                                               note=pitch)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name), *head])
    now = 0
    for tick, _order, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
