"""Offline generation with onnxruntime only: an improvised line written to a MIDI file."""

from __future__ import annotations

import os

from .codec import TICKS_PER_QUARTER, Note, quantize
from .engine import Engine
from .errors import JazzError
from .midifile import read_melody, write_line
from .sampling import Sampler
from .voice import Voice

start_pitch = 64  # where a solo without a seed starts (E4)


def improvise(engine: Engine, sampler: Sampler, steps: int, seed_notes: list[Note] | None = None,
              low: int = 0, high: int = 127) -> list[Note]:
    """`steps` tokens from the model, continuing `seed_notes` if given."""
    voice = Voice(engine, sampler, low, high)
    if seed_notes:
        last = seed_notes[-1]
        voice.begin(last.pitch, last.start + last.dur, seed_notes)
        voice.first = False  # a continuation may start with a rest
    else:
        voice.begin(start_pitch, 0)
        voice.first = False
    return voice.line(steps)


def read_seed(path: str) -> list[Note]:
    """The quantized melody of a seed MIDI file."""
    return quantize(read_melody(path), TICKS_PER_QUARTER)


def write_atomically(notes: list[Note], path: str, bpm: float) -> None:
    """Write the MIDI file under a temporary name first: no partial file on failure."""
    tmp = f"{path}.partial"
    try:
        write_line(notes, tmp, bpm=bpm)
        os.replace(tmp, path)
    except OSError as e:
        raise JazzError(f"cannot write {path!r} ({e.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
