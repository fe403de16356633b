"""Read a melody out of a Standard MIDI File, and write a line back to one.

Shared by training (corpus) and `generate --seed-midi`. Times come out in quarter notes so
the codec can quantize them at any tempo.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import mido

from .codec import TICKS_PER_QUARTER, Note
from .errors import MidiFileError

DRUM_CHANNEL = 9  # MIDI channel 10, zero-based
MAX_MIDI_BYTES = 8 * 1024 * 1024  # a jazz solo is kilobytes; larger files are refused
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


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
    """The melody of a file: the part named/numbered `track`, else the most solo-like."""
    parts = read_parts(path)
    if not parts:
        raise MidiFileError(f"{path!r} has no pitched notes (empty, drums only or meta only)")
    if track is None:
        return max(parts, key=lambda p: p.solo_score).notes
    if track.isdigit():
        chosen = [p for p in parts if p.index == int(track)]
    else:
        chosen = [p for p in parts if p.name.lower() == track.lower()]
    if not chosen:
        names = ", ".join(f"{p.index}:{p.name!r}" for p in parts)
        raise MidiFileError(f"{path!r} has no track {track!r} with notes; it has {names}")
    return [n for p in chosen for n in p.notes]


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
) -> None:
    """Write a quantized line to a type-1 MIDI file."""
    scale = ticks_per_beat // TICKS_PER_QUARTER
    events = []
    for n in notes:
        events.append((n.start * scale, 1, mido.Message("note_on", channel=channel, note=n.pitch,
                                                         velocity=velocity)))
        events.append(((n.start + n.dur) * scale, 0, mido.Message("note_off", channel=channel,
                                                                   note=n.pitch)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="jazz-plugin solo"),
                            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))])
    now = 0
    for tick, _order, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(track)
    mid.save(path)


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
