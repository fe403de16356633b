"""Import the Weimar Jazz Database's per-solo CSV export: real solos with their changes.

A folder holds `melody/<Performer>_<Title>_Solo.csv` (one row per note), `beats/<same
name>` (one row per beat, with a chord symbol where the chord changes) and `solos.csv`
(performer and title per solo). Timing comes from the metrical columns, not from seconds,
so swing and tuplets land on the codec grid exactly as the transcribers wrote them:

    onset tick = (bar - first bar) * 48 + (beat - 1) * 12 + round((tatum - 1) * 12 / division)

The grid is 4/4 (conditioning counts beats in a bar of 4), so solos in other meters are
skipped and counted. No TensorFlow here: `evaluate` reads corpora with onnxruntime only.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field

from tqdm import tqdm

from jazz_plugin.corpus.cache import (
    DEFAULT,
    CacheDir,
    FileResult,
    FileTask,
    ImportStats,
    import_files,
)
from jazz_plugin.corpus.solo import Solo, encode_solo
from jazz_plugin.errors import CorpusError
from jazz_plugin.music.codec import DURATIONS, Codec, quantize
from jazz_plugin.music.grid import BEATS_PER_BAR, TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony import Changes, parse_jazzomat

WJAZZD_LICENCE = "Trained on the Weimar Jazz Database (Jazzomat Research Project), ODbL 1.0."
MELODY_COLUMNS = ("bar", "beat", "beatdur", "division", "duration", "period", "pitch", "tatum")
BEATS_COLUMNS = ("bar", "beat", "chord")
SOLO_SUFFIX = "_Solo.csv"  # melody/<name>_Solo.csv <-> solos.csv's <name>_FINAL.sv
NAME_MATCH_CUTOFF = 0.9  # difflib ratio from which a slightly different name still matches
MIN_NOTES = 2  # a solo needs at least one interval
SKIP_METER = "meter"  # FileResult.skip of a solo not in 4/4 (counted, no warning)


class MeterError(CorpusError):
    """A solo that is not in 4/4 (skipped and counted, not an error of the corpus)."""


@dataclass
class WjazzdReport:
    """What an import read, skipped and could not understand."""

    files: int = 0
    solos: int = 0
    notes: int = 0  # note rows in the CSVs of the solos used
    notes_kept: int = 0  # notes in the quantized lines (notes closer than the grid merge)
    skipped_meter: list[str] = field(default_factory=list)  # "file (period 3)"
    skipped_bad: list[str] = field(default_factory=list)  # the warning of each bad file
    without_chords: list[str] = field(default_factory=list)
    symbols: Counter = field(default_factory=Counter)  # spelling -> occurrences
    unread: dict[str, str] = field(default_factory=dict)  # spelling -> what it fell back to
    seconds: float = 0.0
    imported: ImportStats | None = None  # parsed / from cache, processes, files/s

    def add(self, name: str, details: dict) -> None:
        """Count one solo's contribution (what `solo_details` recorded for it)."""
        self.notes += details["notes"]
        self.notes_kept += details["notes_kept"]
        self.symbols.update(details["symbols"])
        self.unread.update(details["unread"])
        if details["without_chords"]:
            self.without_chords.append(name)

    @property
    def unread_count(self) -> int:
        """Occurrences (chord changes) whose spelling was not understood."""
        return sum(self.symbols[s] for s in self.unread)

    def summary(self) -> str:
        """One line for the corpus summary and the model's metadata."""
        return (f"{self.solos} solos, {self.notes_kept} notes; skipped "
                f"{len(self.skipped_meter)} not in 4/4 and {len(self.skipped_bad)} unreadable; "
                f"{len(self.symbols)} distinct chord symbols, {len(self.unread)} not understood "
                f"({self.unread_count} of {sum(self.symbols.values())} changes)")

    def describe(self) -> str:
        """Several lines for the user: the summary and what fell back to what."""
        read = self.imported.describe() if self.imported else f"read in {self.seconds:.1f} s"
        lines = [f"wjazzd: {self.summary()}; {read}"]
        if self.skipped_meter:
            lines.append("  not in 4/4 (skipped): " + ", ".join(self.skipped_meter))
        if self.without_chords:
            lines.append(f"  without chords: {len(self.without_chords)} solos")
        if self.unread:
            unread = ", ".join(f"{s!r}->{fallback} x{self.symbols[s]}"
                               for s, fallback in sorted(self.unread.items()))
            lines.append(f"  chord symbols not understood (-> closest triad/seventh): {unread}")
        return "\n".join(lines)


def read_wjazzd_solo(melody_csv: str, beats_csv: str | None, codec: Codec, name: str,
                     performer: str, report: WjazzdReport | None = None) -> Solo:
    """One solo from its melody CSV and beats CSV (None or missing: no chords).

    Raises MeterError for a solo not in 4/4 and CorpusError (naming the file) for a
    malformed one. Symbol and note counts go into `report` when given.
    """
    report = report if report is not None else WjazzdReport()
    rows = _read_rows(melody_csv, MELODY_COLUMNS)
    first_bar = None
    notes = []
    for line, row in rows:
        try:
            bar, beat = int(float(row["bar"])), int(float(row["beat"]))
            division, tatum = int(float(row["division"])), int(float(row["tatum"]))
            period = int(float(row["period"]))
            pitch = round(float(row["pitch"]))
            duration, beatdur = float(row["duration"]), float(row["beatdur"])
        except ValueError as e:
            raise CorpusError(f"{melody_csv!r} line {line}: {e}") from None
        if period != BEATS_PER_BAR:
            raise MeterError(f"{melody_csv!r} is in {period}/4 (line {line}); "
                             f"the grid is {BEATS_PER_BAR}/4")
        if not (1 <= beat <= BEATS_PER_BAR and 1 <= tatum <= division and 0 <= pitch <= 127):
            raise CorpusError(f"{melody_csv!r} line {line}: beat {beat}, tatum "
                              f"{tatum}/{division}, pitch {pitch} are out of range")
        if first_bar is None:
            first_bar = bar
        onset = ((bar - first_bar) * TICKS_PER_BAR + (beat - 1) * TICKS_PER_BEAT
                 + round((tatum - 1) * TICKS_PER_BEAT / division))
        ticks = duration / beatdur * TICKS_PER_BEAT if beatdur > 0 else DURATIONS[0]
        ticks = min(max(ticks, DURATIONS[0]), DURATIONS[-1])
        notes.append((pitch, onset, onset + ticks))
    if first_bar is None or len(notes) < MIN_NOTES:
        raise CorpusError(f"{melody_csv!r} has fewer than {MIN_NOTES} notes")
    if min(s for _p, s, _e in notes) < 0:
        raise CorpusError(f"{melody_csv!r}: notes are not in time order (bar numbers go back)")
    line = quantize(monophonic(notes), 1.0)
    end = max(n.start + n.dur for n in line)
    if beats_csv is not None and os.path.exists(beats_csv):
        changes = _read_changes(beats_csv, first_bar, end, report)
    else:
        changes = Changes(end=end)
    report.notes += len(notes)
    report.notes_kept += len(line)
    if not changes:
        report.without_chords.append(name)
    return encode_solo(name, performer, line, changes, codec)


def monophonic(notes: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """A transcribed line as one voice: each note ends by the next onset (players overlap
    notes legato, which the codec's skyline would read as polyphony and drop the lower
    note); of notes that meet on one grid tick (fast tuplets) the first is kept."""
    ordered = sorted(notes, key=lambda n: n[1])
    out = []
    for i, (pitch, start, end) in enumerate(ordered):
        if out and out[-1][1] == start:
            continue
        nxt = next((s for _p, s, _e in ordered[i + 1:] if s > start), None)
        out.append((pitch, start, end if nxt is None else min(end, nxt)))
    return out


def _read_changes(path: str, first_bar: int, end: int, report: WjazzdReport) -> Changes:
    """Chord symbols at their bar/beat ticks; symbols before the solo's first bar clamp to 0."""
    segments = []
    last = 0
    for line, row in _read_rows(path, BEATS_COLUMNS):
        try:
            bar, beat = int(float(row["bar"])), int(float(row["beat"]))
        except ValueError as e:
            raise CorpusError(f"{path!r} line {line}: {e}") from None
        tick = (bar - first_bar) * TICKS_PER_BAR + (beat - 1) * TICKS_PER_BEAT
        last = max(last, tick + TICKS_PER_BEAT)
        symbol = (row["chord"] or "").strip()
        if not symbol:
            continue  # the chord holds
        chord, understood = parse_jazzomat(symbol)
        report.symbols[symbol] += 1
        if not understood:
            report.unread[symbol] = chord.symbol
        segments.append((max(tick, 0), chord))
    return Changes(segments, end=max(end, last))


def _read_rows(path: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV that has `columns`; CorpusError if it cannot."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise CorpusError(f"{path!r} is not a WJazzD CSV: no column "
                                  f"{', '.join(missing)}")
            rows = [(reader.line_num, row) for row in reader]
    except OSError as e:
        raise CorpusError(f"cannot read {path!r}: {e.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise CorpusError(f"{path!r} is not a readable CSV ({e})") from None
    for line, row in rows:
        if any(row.get(c) is None for c in columns) or None in row:
            raise CorpusError(f"{path!r} line {line}: wrong number of fields")
    return rows


# --- Folders ------------------------------------------------------------------------------


def load_wjazzd(folder: str, codec: Codec, progress: bool = True, *, jobs: int | None = None,
                cache_dir: CacheDir = DEFAULT) -> tuple[list[Solo], WjazzdReport]:
    """Every solo of a WJazzD folder, with a report. Bad files are skipped with one warning
    each; solos not in 4/4 are skipped and counted; no usable solo is one CorpusError.

    `jobs` processes parse (default: the cores); each solo is cached in `cache_dir`
    (default: the user's cache folder; None: no cache) under the hash of its melody and
    beats files and its solos.csv row (jazz_plugin.corpus.cache).
    """
    melody_dir = os.path.join(folder, "melody")
    if not os.path.isdir(folder):
        raise CorpusError(f"{folder!r} is not a folder (expected a WJazzD export with "
                          "melody/, beats/ and solos.csv)")
    if not os.path.isdir(melody_dir):
        raise CorpusError(f"{folder!r} has no melody/ folder; is it a WJazzD CSV export?")
    files = sorted(f for f in os.listdir(melody_dir) if f.lower().endswith(".csv"))
    if not files:
        raise CorpusError(f"{melody_dir!r} holds no CSV files")
    index = _solo_index(os.path.join(folder, "solos.csv"))
    tasks = []
    for file in files:
        name = file[: -len(SOLO_SUFFIX)] if file.endswith(SOLO_SUFFIX) else file[:-4]
        performer, title = _lookup(index, name)
        tasks.append(FileTask((os.path.join(melody_dir, file), os.path.join(folder, "beats", file)),
                              name, performer, key_extra=json.dumps([performer, title])))
    report = WjazzdReport(files=len(files))
    solos: list[Solo] = []

    def take(task: FileTask, result: FileResult) -> None:
        if result.solo is not None:
            solos.append(result.solo)
            report.add(task.name, result.details)
        elif result.skip == SKIP_METER:
            report.skipped_meter.append(f"{task.name} ({result.details.get('period', '?')}/4)")
        else:
            tqdm.write(f"warning: skipped {result.reason}", file=sys.stderr)
            report.skipped_bad.append(result.reason)

    report.imported = import_files(
        tasks, parse_wjazzd_task, codec, kind="wjazzd", options={},
        code_modules=[__name__], jobs=jobs, cache_dir=cache_dir, progress=progress,
        desc="wjazzd", on_result=take)
    report.solos = len(solos)
    report.seconds = report.imported.seconds
    if not solos:
        first = f"; first: {report.skipped_bad[0]}" if report.skipped_bad else ""
        raise CorpusError(f"no usable solo in {folder!r}: {len(files)} files, "
                          f"{len(report.skipped_meter)} not in 4/4, "
                          f"{len(report.skipped_bad)} unreadable{first}")
    return solos, report


def parse_wjazzd_task(task: FileTask, codec: Codec, options: dict) -> FileResult:
    """One solo of a folder (run in an import worker): the Solo and its report facts, or
    a skip for a solo not in 4/4. A malformed file raises CorpusError."""
    melody_csv, beats_csv = task.files
    report = WjazzdReport()
    try:
        solo = read_wjazzd_solo(melody_csv, beats_csv, codec, task.name, task.performer, report)
    except MeterError as e:
        period = re.search(r"in (\d+)/4", str(e))
        return FileResult(None, SKIP_METER, str(e),
                          {"period": period.group(1) if period else "?"})
    details = {"notes": report.notes, "notes_kept": report.notes_kept,
               "symbols": dict(report.symbols), "unread": report.unread,
               "without_chords": bool(report.without_chords)}
    return FileResult(solo, details=details)


def licence_line(folder: str) -> str:
    """The attribution line the corpus README asks a shipped model to carry."""
    try:
        with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
            found = re.search(r'"(Trained on [^"]+)"', f.read())
    except (OSError, UnicodeDecodeError):
        found = None
    return found.group(1) if found else WJAZZD_LICENCE


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _solo_index(path: str) -> dict[str, tuple[str, str]]:
    """solos.csv -> {normalised name: (performer, title)}; empty (with a warning) if unusable."""
    index: dict[str, tuple[str, str]] = {}
    if not os.path.exists(path):
        print(f"warning: {path!r} is missing; performers come from the file names",
              file=sys.stderr)
        return index
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                sv = row.get("filename_sv") or ""
                stem = re.sub(r"(_FINAL)?\.sv$", "", sv)
                if stem:
                    index[_key(stem)] = ((row.get("performer") or "").strip(),
                                         (row.get("title") or "").strip())
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        print(f"warning: cannot read {path!r} ({e}); performers come from the file names",
              file=sys.stderr)
    return index


def _lookup(index: dict[str, tuple[str, str]], name: str) -> tuple[str, str]:
    """(performer, title) for a file name: exact, then a close name by the same performer,
    then the file name itself (`ArtPepper_Anthropology` -> "Art Pepper", "Anthropology")."""
    key = _key(name)
    if key in index:
        return index[key]
    head = _key(name.split("_")[0])
    close = difflib.get_close_matches(key, [k for k in index if k.startswith(head)], n=1,
                                      cutoff=NAME_MATCH_CUTOFF)
    if close:
        return index[close[0]]
    performer, _, title = name.partition("_")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", performer), title
