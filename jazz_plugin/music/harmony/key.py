"""The key of some notes (Krumhansl-Schmuckler), and what conditioning needs of a key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.model.conditioning import pcs_mask
from jazz_plugin.music.codec import Note
from jazz_plugin.music.harmony.chords import pc_name

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the raised 7th (leading tone)
MAJOR_TONIC_CHORD = (0, 4, 7, 11)  # maj7
MINOR_TONIC_CHORD = (0, 3, 7, 10)  # m7


def _profiles() -> np.ndarray:
    rows = [np.roll(np.array(p, np.float64), t) for p in (MAJOR_PROFILE, MINOR_PROFILE)
            for t in range(12)]
    m = np.array(rows)  # [24, 12]: majors on C..B, then minors on C..B
    m -= m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


KEY_PROFILES = _profiles()  # [24, 12], zero-mean, unit-norm


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class and mode, with the pitch-class sets conditioning uses."""

    tonic: int
    minor: bool
    score: float = field(default=0.0, compare=False)  # the winning correlation, -1..1

    @property
    def name(self) -> str:
        return f"{pc_name(self.tonic)} {'minor' if self.minor else 'major'}"

    @property
    def scale_mask(self) -> int:
        """Major: the major scale. Minor: natural minor plus the raised 7th."""
        return pcs_mask(self.tonic + i for i in (MINOR_SCALE if self.minor else MAJOR_SCALE))

    @property
    def tonic_chord_mask(self) -> int:
        """Major: maj7 (0-4-7-11). Minor: m7 (0-3-7-10)."""
        return pcs_mask(self.tonic + i
                        for i in (MINOR_TONIC_CHORD if self.minor else MAJOR_TONIC_CHORD))

    def in_key_share(self, pitches: Iterable[int]) -> float:
        """Share of `pitches` (MIDI numbers) whose pitch class is in `scale_mask`; 0 if none."""
        scale, total, hits = self.scale_mask, 0, 0
        for p in pitches:
            total += 1
            hits += scale >> (int(p) % 12) & 1
        return hits / total if total else 0.0


def pitch_class_histogram(notes: Iterable) -> np.ndarray:
    """Duration-weighted pitch-class histogram [12] of codec Notes or (pitch, duration) pairs.

    If every duration is 0 the notes are counted instead.
    """
    weights = np.zeros(12)
    counts = np.zeros(12)
    for n in notes:
        pitch, dur = (n.pitch, n.dur) if isinstance(n, Note) else (n[0], n[1])
        weights[int(pitch) % 12] += max(float(dur), 0.0)
        counts[int(pitch) % 12] += 1
    return weights if weights.any() else counts


def estimate_key(notes: Iterable) -> Key:
    """Krumhansl-Schmuckler: the key whose Krumhansl-Kessler profile correlates best with
    the duration-weighted pitch-class histogram.

    `notes` are codec Notes (pitch, dur) or (pitch, duration) pairs. With no notes (or a
    flat histogram) there is nothing to go on, and the answer is C major with score 0.
    """
    hist = pitch_class_histogram(notes)
    centred = hist - hist.mean()
    norm = np.linalg.norm(centred)
    if norm == 0:
        return Key(0, False, 0.0)
    corr = KEY_PROFILES @ (centred / norm)  # [24]
    best = int(np.argmax(corr))
    return Key(best % 12, best >= 12, float(corr[best]))
