"""`jazz-plugin run --record FILE.mid`: the session as one MIDI file, written on every way out.

Three named tracks: `Call` (the player's notes), `Solo` (our answers, as sent) and `Chords`
(the chord read from the chart or heard on the chord input, sampled on every beat and
written as block chords). Positions are the clock's grid: under the external clock a bar
line of the file is a bar line of the DAW, and a marker at each bar line names the DAW's
bar; when the song position jumps back (a DAW loop) the file goes on forward by whole bars.
Tempo changes are kept. The file is written next to its name and renamed into place, so a
crash never leaves half a file. `export --midi` trains on it (the `Solo` track by default).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import mido

from jazz_plugin.atomic import replacing
from jazz_plugin.corpus.midifile import CHORD_CHANNEL, CHORD_VELOCITY, chord_blocks
from jazz_plugin.errors import ConfigError
from jazz_plugin.live.midispec import DRUM_CHANNEL, NOTE_OFF, NOTE_ON, channel, kind
from jazz_plugin.live.midistream import MidiStream
from jazz_plugin.music.grid import BEATS_PER_BAR, TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony import Changes, chord_from_mask

FILE_TICKS_PER_BEAT = 480  # the file's resolution: 40 per grid tick
SCALE = FILE_TICKS_PER_BEAT // TICKS_PER_BEAT
CHORD_SAMPLE = TICKS_PER_BEAT // 4  # a beat's chord is the one sounding a sixteenth into it
JUMP_BACK = TICKS_PER_BEAT  # the clock going back further than this is a song position jump
TEMPO_STEP = 1.0  # BPM; a smaller drift of the external clock's fit is not a tempo change
SOLO_CHANNEL = 0  # the file's channels: the answers on 1, the call on 3, the chords on 2
CALL_CHANNEL = 2
CALL_NAME, SOLO_NAME, CHORDS_NAME = "Call", "Solo", "Chords"


class Recorder:
    """Takes the player's input, our own notes and the harmony; `save` writes the file.

    `now` is the time source of our own notes (monotonic seconds; tests pass a fake one).
    """

    def __init__(self, path: str, clock, harmony, is_chord: Callable[[int, int], bool],
                 now: Callable[[], float] = time.monotonic) -> None:
        self.path, self.clock, self.harmony = path, clock, harmony
        self.is_chord, self.now = is_chord, now
        self.stream = MidiStream()
        self.offset = 0.0  # added to clock ticks so that the file's time only goes forward
        self.offsets: list[tuple[float, float]] = [(-math.inf, 0.0)]  # (from tick, offset)
        self.last = -math.inf  # the latest session tick seen
        self.notes: dict[str, list[list]] = {CALL_NAME: [], SOLO_NAME: []}
        self.sounding: dict[tuple[str, int], list] = {}  # (track, pitch) -> its note
        self.beats: dict[int, int] = {}  # session beat -> chord mask heard on it
        self.next_beat: int | None = None
        self.tempos: list[tuple[float, float]] = []  # (session tick, BPM)

    # --- time --------------------------------------------------------------------------
    def _tick(self, t: float) -> float:
        """The session tick of time `t`: the clock's, moved on by whole bars after a jump."""
        tick = self.clock.tick_at(t) + self.offset
        if tick < self.last - JUMP_BACK:
            bars = math.ceil((self.last - tick) / TICKS_PER_BAR)
            self.offset += bars * TICKS_PER_BAR
            tick += bars * TICKS_PER_BAR
            self.offsets.append((tick, self.offset))
        tick = max(tick, self.last)
        self.last = tick
        return tick

    def poll(self, now: float) -> None:
        """Sample the chord on every beat passed (before the input at `now` changes it)."""
        if not self.clock.running:
            self.next_beat = None
            return
        tick = self._tick(now)
        bpm = self.clock.bpm
        if not self.tempos or abs(self.tempos[-1][1] - bpm) >= TEMPO_STEP:
            self.tempos.append((tick, bpm))
        first = math.ceil((tick - CHORD_SAMPLE) / TICKS_PER_BEAT)
        beat = first if self.next_beat is None else self.next_beat
        while beat * TICKS_PER_BEAT + CHORD_SAMPLE <= tick:
            mask = self.harmony.heard_at(beat * TICKS_PER_BEAT + CHORD_SAMPLE - self.offset)
            if mask:
                self.beats[beat] = mask
            beat += 1
        self.next_beat = beat

    # --- what is played ----------------------------------------------------------------
    def on_input(self, t: float, data: list[int]) -> None:
        """Raw input bytes at `t`: the call's notes (not the chords: they come from the
        harmony, as heard)."""
        self.poll(t)
        for msg in self.stream.feed(data):
            what, ch = kind(msg[0]), channel(msg[0])
            if what not in (NOTE_ON, NOTE_OFF) or ch == DRUM_CHANNEL or len(msg) < 3:
                continue
            if self.is_chord(ch, msg[1]):
                continue
            self._note(CALL_NAME, self._tick(t), msg[1], msg[2] if what == NOTE_ON else 0)

    def on_output(self, pitch: int, velocity: int) -> None:
        """One of our own notes starts (velocity > 0) or ends (0), now."""
        self._note(SOLO_NAME, self._tick(self.now()), pitch, velocity)

    def _note(self, track: str, tick: float, pitch: int, velocity: int) -> None:
        open_note = self.sounding.pop((track, pitch), None)
        if open_note is not None:  # a note-off, or a re-strike closes the old one
            open_note[1] = tick
        if velocity > 0:
            note = [tick, None, pitch, velocity]
            self.notes[track].append(note)
            self.sounding[(track, pitch)] = note

    # --- the file ----------------------------------------------------------------------
    def save(self) -> str:
        """Write the file atomically; returns a one-line summary for the log."""
        end = self.last
        for note in self.sounding.values():
            note[1] = end
        self.sounding.clear()
        events = [n for track in self.notes.values() for n in track]
        starts = [n[0] for n in events] + [b * TICKS_PER_BEAT for b in self.beats]
        origin = math.floor(min(starts) / TICKS_PER_BAR) * TICKS_PER_BAR if starts else 0
        end = max([n[1] for n in events] + [(max(self.beats) + 1) * TICKS_PER_BEAT
                                            if self.beats else 0] + [origin])
        mid = mido.MidiFile(type=1, ticks_per_beat=FILE_TICKS_PER_BEAT)
        mid.tracks.append(self._conductor(origin, end))
        for name, ch in ((CALL_NAME, CALL_CHANNEL), (SOLO_NAME, SOLO_CHANNEL)):
            notes = [(round((s - origin) * SCALE), round((e - origin) * SCALE), p, v)
                     for s, e, p, v in self.notes[name]]
            mid.tracks.append(_track(name, ch, notes))
        mid.tracks.append(_track(CHORDS_NAME, CHORD_CHANNEL, self._chord_notes(origin)))
        _save_atomically(mid, self.path)
        return (f"recorded {self.path}: {len(self.notes[CALL_NAME])} call notes, "
                f"{len(self.notes[SOLO_NAME])} answer notes, "
                f"{math.ceil((end - origin) / TICKS_PER_BAR)} bars")

    def _chord_notes(self, origin: float) -> list[tuple[int, int, int, int]]:
        segments = [(b * TICKS_PER_BEAT - int(origin), chord_from_mask(mask))
                    for b, mask in sorted(self.beats.items())]
        if not segments:
            return []
        beats = sorted(self.beats)
        gaps = [(b + 1) * TICKS_PER_BEAT - int(origin) for b in beats
                if b + 1 not in self.beats]  # a beat with no chord ends the one before
        segments += [(g, chord_from_mask(0)) for g in gaps]
        changes = Changes(segments)
        blocks = chord_blocks(changes, changes.end)
        return [(s * SCALE, (s + d) * SCALE, p, CHORD_VELOCITY) for s, d, p in blocks]

    def _conductor(self, origin: float, end: float) -> mido.MidiTrack:
        """Time signature, tempo changes and a marker at every bar line (the DAW's bar)."""
        meter = mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4)
        events = [(0, 0, meter)]
        for tick, bpm in self.tempos or [(origin, self.clock.bpm)]:
            at = max(0, round((tick - origin) * SCALE))
            events.append((at, 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
        bar = origin
        while bar <= end:
            offset = [o for since, o in self.offsets if since <= bar + 1e-6][-1]
            number = round((bar - offset) / TICKS_PER_BAR) + 1
            events.append((round((bar - origin) * SCALE), 2,
                           mido.MetaMessage("marker", text=f"bar {number}")))
            bar += TICKS_PER_BAR
        return _meta_track("jazz-plugin session", events)


def _track(name: str, ch: int, notes: list[tuple[int, int, int, int]]) -> mido.MidiTrack:
    events = []
    for start, stop, pitch, velocity in notes:
        events.append((start, 1, mido.Message("note_on", channel=ch, note=pitch,
                                                velocity=velocity)))
        events.append((max(stop, start + 1), 0, mido.Message("note_off", channel=ch,
                                                              note=pitch)))
    return _meta_track(name, events)


def _meta_track(name: str, events: list[tuple[int, int, mido.Message]]) -> mido.MidiTrack:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    now = 0
    for tick, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _save_atomically(mid: mido.MidiFile, path: str) -> None:
    """A temporary file in the same folder, flushed to disk, then renamed over `path`."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        mid.save(file=f)


def check_record_path(path: str) -> None:
    """Refuse at start-up a file that could not be written at the end."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"--record {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"--record {path!r}: folder {folder!r} is not writable")
    if os.path.isdir(path):
        raise ConfigError(f"--record {path!r} is a folder: give a file name, e.g. session.mid")
