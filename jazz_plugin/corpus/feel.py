"""How the soloists play, measured on the corpus by tempo band: swing, density, rests, echo.

The model's metadata carries these (key `feel`), so nothing the runtime aims at is typed
in: `--swing auto` renders off-beat eighths at the soloists' ratio for the current tempo,
and `evaluate` prints the figures beside its own.

- swing ratio: long to short off-beat eighth, from WJazzD's performed onsets (seconds)
  where the notation has a note on a beat, one on its second eighth and one on the next
  beat: (b - a) / (c - b). The band's figure is the median over all such triples.
- notes per bar, rest share (of the time between a phrase's first onset and its last
  note's end that is silent), echo (music/develop.echo of each 2 bars against the 2 before,
  on the quantized solos), chord tones on beats 1 and 3.

Tempo bands are by the solo's own tempo (60 / its median beat length in seconds); a corpus
without seconds (MIDI files) has one band for all tempos and no swing figure.
"""

from __future__ import annotations

import csv
import os
import statistics
from collections.abc import Iterable, Sequence

from jazz_plugin.corpus.solo import Solo
from jazz_plugin.music.develop import band_of, echo
from jazz_plugin.music.musicality import chord_tones_on_1_and_3

BAND_EDGES = (120, 160, 200, 250)  # BPM: bands below 120, 120-160, ..., 250 and up
TICKS_PER_BEAT = 12
TICKS_PER_BAR = 4 * TICKS_PER_BEAT
ECHO_BARS = 2  # echo compares each 2 bars with the 2 before (the daemon's search unit)
MIN_TRIPLES = 20  # fewer swung-eighth triples in a band: its neighbour's ratio is used
RATIO_RANGE = (0.5, 4.0)  # a triple outside this is a mis-read, not swing


def band_names(edges: Sequence[float] = BAND_EDGES) -> list[str]:
    lows = [0, *edges]
    return [f"{lo:g}-{hi:g}" if hi else f"{lo:g}+" for lo, hi in zip(lows, [*edges, 0])]


def swing_triples(melody_csv: str) -> tuple[float, list[float]]:
    """(tempo in BPM, swing ratios) of one WJazzD melody CSV."""
    with open(melody_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    beats, notes = [], []  # notes: (absolute beat index, position in the beat 0..1, seconds)
    for r in rows:
        try:
            bar, beat, period = int(float(r["bar"])), int(float(r["beat"])), int(float(r["period"]))
            pos = (int(float(r["tatum"])) - 1) / int(float(r["division"]))
            notes.append((bar * period + beat, pos, float(r["onset"])))
            beats.append(float(r["beatdur"]))
        except (ValueError, KeyError, ZeroDivisionError):
            continue
    ratios = []
    for a, b, c in zip(notes, notes[1:], notes[2:]):
        if a[1] == 0 and b[0] == a[0] and b[1] == 0.5 and c[0] == a[0] + 1 and c[1] == 0:
            long, short = b[2] - a[2], c[2] - b[2]
            if short > 0 and RATIO_RANGE[0] <= long / short <= RATIO_RANGE[1]:
                ratios.append(long / short)
    beat = statistics.median(beats) if beats else 0.0
    return (60.0 / beat if beat > 0 else 0.0), ratios


def solo_tempi(folder: str, names: Iterable[str]) -> dict[str, float]:
    """Tempo (BPM) of each named WJazzD solo, from its melody CSV's beat lengths."""
    out = {}
    for name in names:
        path = os.path.join(folder, "melody", f"{name}_Solo.csv")
        if os.path.exists(path):
            out[name] = swing_triples(path)[0]
    return out


def swing_by_band(folder: str, names: Iterable[str]) -> tuple[list[float | None], list[int]]:
    """(median swing ratio, triples) per tempo band over the named solos of a WJazzD folder;
    a band with fewer than MIN_TRIPLES takes its nearest filled neighbour's ratio."""
    pooled: list[list[float]] = [[] for _ in range(len(BAND_EDGES) + 1)]
    for name in names:
        path = os.path.join(folder, "melody", f"{name}_Solo.csv")
        if os.path.exists(path):
            bpm, ratios = swing_triples(path)
            pooled[band_of(bpm, BAND_EDGES)] += ratios
    medians = [statistics.median(r) if len(r) >= MIN_TRIPLES else None for r in pooled]
    return _fill(medians), [len(r) for r in pooled]


def _fill(values: list[float | None]) -> list[float | None]:
    """Empty bands take the nearest filled band's value (the lower one on a tie)."""
    filled = [i for i, v in enumerate(values) if v is not None]
    if not filled:
        return values
    return [values[min(filled, key=lambda j: (abs(j - i), j))] for i in range(len(values))]


def solo_figures(solo: Solo) -> dict[str, tuple[float, float]]:
    """(sum, count) of each figure over one solo, so bands pool by adding."""
    notes = solo.notes
    if not notes:
        return {}
    end = notes[-1].start + notes[-1].dur
    bars = max(1, -(-(end - notes[0].start) // TICKS_PER_BAR))
    sounding = sum(min(n.dur, b.start - n.start) for n, b in zip(notes, notes[1:]))
    span = notes[-1].start - notes[0].start
    unit = ECHO_BARS * TICKS_PER_BAR
    chunks: dict[int, list] = {}
    for n in notes:
        chunks.setdefault(n.start // unit, []).append(n)
    echoes = [echo(chunks[k], chunks[k - 1]) for k in sorted(chunks) if k - 1 in chunks]
    tones = chord_tones_on_1_and_3(notes, solo.changes) if solo.has_chords else None
    return {"notes_per_bar": (len(notes), bars),
            "rest_share": (span - sounding, span),
            "echo": (sum(echoes), len(echoes)),
            "chord_tones_1_3": (tones.hits, tones.total) if tones else (0, 0)}


def measure(solos: Sequence[Solo], tempi: dict[str, float] | None = None,
            swing: tuple[list[float | None], list[int]] | None = None) -> dict:
    """The `feel` metadata: figures per tempo band (one band when `tempi` is None)."""
    edges = BAND_EDGES if tempi else ()
    n_bands = len(edges) + 1
    sums: list[dict[str, list[float]]] = [{} for _ in range(n_bands)]
    counted = [0] * n_bands
    for solo in solos:
        band = band_of(tempi.get(solo.name, 0.0), edges) if tempi else 0
        counted[band] += 1
        for key, (s, c) in solo_figures(solo).items():
            acc = sums[band].setdefault(key, [0.0, 0.0])
            acc[0] += s
            acc[1] += c
    keys = ("notes_per_bar", "rest_share", "echo", "chord_tones_1_3")
    feel: dict = {"bands": band_names(edges), "edges": list(edges), "solos": counted}
    for key in keys:
        feel[key] = _fill([round(sums[b][key][0] / sums[b][key][1], 4)
                           if sums[b].get(key, [0, 0])[1] else None for b in range(n_bands)])
    if swing is not None and tempi:
        feel["swing"] = [None if r is None else round(r, 3) for r in swing[0]]
        feel["swing_triples"] = swing[1]
    return feel
