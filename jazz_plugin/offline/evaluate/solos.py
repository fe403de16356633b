"""The solos `evaluate` scores: WJazzD folders and MIDI files, and whether the model was
trained on them (its metadata's validation split)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from jazz_plugin.corpus.midifile import find_midi_files, read_solo_parts
from jazz_plugin.corpus.solo import Solo, encode_solo
from jazz_plugin.corpus.wjazzd import load_wjazzd
from jazz_plugin.errors import CorpusError, MidiFileError
from jazz_plugin.model.engine import Engine
from jazz_plugin.music.codec import Codec, quantize
from jazz_plugin.music.grid import TICKS_PER_QUARTER

NOT_KNOWN = "not known to be held out (the model's metadata lists no validation solos)"


def is_wjazzd_folder(path: str) -> bool:
    """A WJazzD CSV export has a melody/ folder (next to beats/ and solos.csv)."""
    return os.path.isdir(os.path.join(path, "melody"))


def load_solos(paths: Sequence[str], codec: Codec, track: str | None = None,
               chord_track: str | None = "auto", progress: bool = True) -> list[Solo]:
    """Solos of WJazzD folders and MIDI files/folders (chords from their comping tracks).

    Bad files are skipped with one warning each; a path that does not exist, or nothing
    usable at all, is one CorpusError/MidiFileError line.
    """
    for path in paths:
        if not os.path.exists(path):
            raise CorpusError(f"corpus {path!r} does not exist; expected a WJazzD folder "
                              f"(melody/, beats/, solos.csv) or MIDI files or folders")
    solos: list[Solo] = []
    for path in filter(is_wjazzd_folder, paths):
        found, report = load_wjazzd(path, codec, progress)
        print(report.describe(), file=sys.stderr)
        solos += found
    midi = [p for p in paths if not is_wjazzd_folder(p)]
    if midi:
        solos += read_midi_solos(midi, codec, track, chord_track)
    return solos


def read_midi_solos(paths: Sequence[str], codec: Codec, track: str | None = None,
                    chord_track: str | None = "auto") -> list[Solo]:
    """Every MIDI file under `paths` as a Solo; says which tracks gave melody and chords."""
    solos, skipped = [], []
    files = find_midi_files(paths)
    for path in files:
        try:
            melody, changes, info = read_solo_parts(path, track, chord_track)
            line = quantize(melody, TICKS_PER_QUARTER)
            if len(line) < 2:
                raise MidiFileError(f"{path!r} has fewer than 2 notes")
        except MidiFileError as e:
            print(f"warning: skipped {e}", file=sys.stderr)
            skipped.append(str(e))
            continue
        print(f"{path}: {info.describe()}", file=sys.stderr)
        solos.append(encode_solo(path, "", line, changes, codec))
    if not solos:
        raise CorpusError(f"no usable MIDI file among {len(files)} (first: {skipped[0]})")
    return solos


def validation_names(engine: Engine) -> set[str] | None:
    """The solo names the model's metadata lists as its validation split, if it lists any
    (key `validation_solos`, at the top or in `hyperparameters`, a JSON list)."""
    meta = engine.session.get_modelmeta().custom_metadata_map
    names = None
    if "validation_solos" in meta:
        try:
            names = json.loads(meta["validation_solos"])
        except ValueError:
            names = None
    if names is None:
        names = engine.info.hyperparameters.get("validation_solos")
    return set(map(str, names)) if isinstance(names, list) else None


def held_out_label(engine: Engine, solos: Sequence[Solo]) -> str:
    """Plain words on whether the model was trained on these solos."""
    names = validation_names(engine)
    held = sum(s.name in names for s in solos) if names is not None else 0
    if held == len(solos) and held:
        return "held out from training (the model's validation solos, from its metadata)"
    if held:
        return (f"{held} of {len(solos)} solos held out from training (the model's validation "
                f"solos); the other {len(solos) - held} were trained on")
    corpus = engine.info.corpus
    if corpus.startswith("builtin"):
        return f"not trained on (the model learnt only {corpus.split(':')[0]})"
    if names is not None:
        return (f"not held out: none is among the model's validation solos (trained on, if "
                f"they come from its corpus: {corpus.split(':')[0]})")
    return NOT_KNOWN
