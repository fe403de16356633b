"""Offline generation with onnxruntime only: an improvised line written to a MIDI file."""

from __future__ import annotations

from jazz_plugin.atomic import replacing
from jazz_plugin.corpus.midifile import read_melody, write_line
from jazz_plugin.errors import JazzError
from jazz_plugin.live.chordsource import Harmony
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music import develop
from jazz_plugin.music.codec import Note, quantize
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_QUARTER
from jazz_plugin.music.harmony import Changes

start_pitch = 64  # where a solo without a seed starts (E4)
SEGMENT_BARS = 2  # phrase length when a line is chosen among candidates


def improvise(engine: Engine, sampler: Sampler, steps: int, seed_notes: list[Note] | None = None,
              low: int = 0, high: int = 127, changes: Changes | None = None,
              until: int | None = None, start: int | None = None, candidates: int = 1,
              develop_amount: float = develop.develop,
              tokens: list[int] | None = None, critic: float = develop.critic,
              targets: develop.Targets | None = None) -> list[Note]:
    """A line from the model: `steps` tokens, or from `start` up to tick `until`.

    Continues `seed_notes` if given. With no chart, the key of the seed is assumed (the
    daemon does the same with a call), so a conditioned model stays in the seed's key.
    With `until` and `candidates` > 1 the line is chosen phrase by phrase (SEGMENT_BARS at a
    time) as the daemon chooses its answers: the best of the candidates, each phrase
    developing the one before, the critic weighted by `critic`, aiming at `targets` (the
    model's measured figures at a tempo). The chosen tokens are appended to `tokens`.
    """
    harmony = Harmony(changes)
    voice = Voice(engine, sampler, low, high, harmony)
    planner = AnswerPlanner(voice, harmony)
    rules = AnswerRules("beat", 0, 1, 1, candidates, develop_amount, critic, targets)
    if seed_notes:
        harmony.heard(seed_notes)
        last = seed_notes[-1]
        voice.begin(last.pitch, last.start + last.dur if start is None else start, seed_notes)
    else:
        voice.begin(start_pitch, 0 if start is None else start)
    voice.line.first = False  # a continuation may start with a rest
    if until is None:
        notes = []
        for _ in range(steps):
            _start, token, note = voice.next()
            if tokens is not None:
                tokens.append(token)
            if note is not None:
                notes.append(note)
        return notes
    notes, call = [], list(seed_notes or [])
    while voice.tick < until:
        if candidates > 1:
            end = min(until, (voice.tick // TICKS_PER_BAR + SEGMENT_BARS) * TICKS_PER_BAR)
            pick = planner.extend(end, call, rules)
            phrase, chosen = pick.notes, pick.tokens
            call = phrase or call
        else:
            _start, token, note = voice.next()
            phrase, chosen = [note] if note is not None else [], [token]
        notes += phrase
        if tokens is not None:
            tokens += chosen
    return [Note(n.start, n.pitch, min(n.dur, until - n.start)) for n in notes if n.start < until]


def read_seed(path: str) -> list[Note]:
    """The quantized melody of a seed MIDI file."""
    return quantize(read_melody(path), TICKS_PER_QUARTER)


def write_atomically(notes: list[Note], path: str, bpm: float,
                     changes: Changes | None = None) -> None:
    """Write the MIDI file under a temporary name first: no partial file on failure."""
    try:
        with replacing(path) as tmp:
            write_line(notes, tmp, bpm=bpm, changes=changes)
    except OSError as e:
        raise JazzError(f"cannot write {path!r} ({e.strerror})") from None
