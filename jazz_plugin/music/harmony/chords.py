"""Chord symbols -> pitch-class masks: standard symbols (read by pychord where it can, with
the jazz spellings it lacks added here), the Weimar Jazz Database's own syntax, and a name
for a set of sounding pitch classes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pychord import Chord as PyChord

from jazz_plugin.errors import JazzError
from jazz_plugin.model.conditioning import mask_pcs, pcs_mask

PC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # key/chord names
NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAX_CHORDS_PER_BAR = 4  # a chart bar holds at most one chord per beat (4/4)
NO_CHORD = ("NC", "N.C.", "N.C", "N/C")  # spellings of "no chord"


class ChordSymbolError(JazzError):
    """A chord symbol or chart that cannot be read; the message names the symbol."""


# --- Chords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chord:
    """A parsed chord symbol: its root, its pitch classes as a mask, and its bass note.

    `root` is None only for NC (no chord), whose mask is 0. A slash bass (`C7/E`) is a
    sounding pitch, so it is part of the mask too.
    """

    symbol: str
    root: int | None  # 0..11, None for NC
    mask: int  # 12-bit pitch-class mask, bit p = pitch class p
    bass: int | None = None  # slash bass pitch class, None when the root is the bass

    @property
    def is_nc(self) -> bool:
        return self.mask == 0

    @property
    def pcs(self) -> list[int]:
        return mask_pcs(self.mask)


NC = Chord("NC", None, 0, None)

ROOT_RE = re.compile(r"([A-G])([#b]*)")
# Intervals above the root that tension names add; a fifth alteration replaces the fifth.
TENSIONS = {"b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6, "b13": 8, "13": 9,
            "b5": 6, "#5": 8, "2": 2, "4": 5, "b2": 1, "6": 9}
TENSION_RE = re.compile(r"(?:add)?([b#+-]?)(13|11|9|6|5|4|2)$")
TENSION_ITEM_RE = re.compile(r"(?:add)?([b#+-]?)(13|11|9|6|5|4|2)")
# Qualities pychord does not know (intervals above the root).
EXTRA_QUALITIES = {
    "7alt": (0, 4, 10, 1, 3, 8),  # altered dominant: 7(b9,#9,b13)
    "alt": (0, 4, 10, 1, 3, 8),
    "aug7": (0, 4, 8, 10),
    "maj7#5": (0, 4, 8, 11),
    "7sus2": (0, 2, 7, 10),
    "maj7sus4": (0, 5, 7, 11),
    "mM7": (0, 3, 7, 11),
    "m7b5": (0, 3, 6, 10),
    "dim": (0, 3, 6),
    "sus": (0, 5, 7),
    "m": (0, 3, 7),
    "": (0, 4, 7),
}
# Spellings normalised before pychord sees them: (pattern on the quality, replacement).
QUALITY_ALIASES = [
    (r"^(?:Δ|∆|\^)7?", "maj7"), (r"^ø7?", "m7b5"), (r"^°7", "dim7"), (r"^°", "dim"),
    (r"^o7", "dim7"), (r"^o(?![a-z])", "dim"), (r"^-(?=$|[^0-9])", "m"), (r"^-(?=[679])", "m"),
    (r"^min", "m"), (r"^mi(?!n)", "m"), (r"^(?:ma|j)(?=7|9|13|$)", "maj"),
    (r"^maj(?=$)", ""), (r"^\+7", "aug7"), (r"^\+(?=$)", "aug"), (r"^\+(?=[^0-9])", "aug"),
    (r"^m\(maj7\)|^m\(M7\)|^mmaj7|^m\^7|^mΔ7?", "mM7"), (r"^7alt|^alt", "7alt"),
]


def pc_name(pc: int) -> str:
    """Pitch class -> name (flats except F#), as in key and chord names."""
    return PC_NAMES[pc % 12]


def note_pc(name: str) -> int:
    """`C`, `F#`, `Bb`, `Cb`, ... -> pitch class; raises ValueError for anything else."""
    m = ROOT_RE.fullmatch(name.strip().replace("♭", "b").replace("♯", "#"))
    if not m:
        raise ValueError(f"not a note name: {name!r}")
    return (NATURALS[m.group(1)] + m.group(2).count("#") - m.group(2).count("b")) % 12


def _pychord_intervals(quality: str) -> list[int] | None:
    """Intervals above the root for a quality pychord knows, else None."""
    try:
        semis = PyChord("C" + quality).components(visible=False)
    except Exception:  # pychord raises ValueError for an unknown quality
        return None
    intervals = [s % 12 for s in semis]
    if "13" in quality and "11" not in quality and 4 in intervals and 5 in intervals:
        intervals.remove(5)  # pychord's 13 chords stack the 11; jazz leaves it out over a 3rd
    return intervals


def _quality_intervals(quality: str) -> list[int] | None:
    """Intervals for a normalised quality: pychord, our extras, or a base plus tensions."""
    for table_hit in (_pychord_intervals(quality), EXTRA_QUALITIES.get(quality)):
        if table_hit is not None:
            return list(table_hit)
    m = TENSION_RE.search(quality)
    if not m or m.start() == 0 and quality[:1].isdigit() and not quality.startswith("add"):
        return None  # a bare "9", "13" is a whole quality, not base + tension
    base = _quality_intervals(quality[:m.start()])
    if base is None:
        return None
    accidental, number = m.group(1), m.group(2)
    if (not accidental and not m.group(0).startswith("add") and number in ("9", "11", "13")
            and not {9, 10, 11} & set(base)):
        base = base + [10] + ([2] if number != "9" else [])  # Cm13: an extension implies the 7th
    return _add_tension(base, accidental, number)


def _add_tension(intervals: list[int], accidental: str, number: str) -> list[int] | None:
    name = {"-": "b", "+": "#"}.get(accidental, accidental) + number
    if name not in TENSIONS:
        return None
    if number == "5":
        intervals = [i for i in intervals if i != 7]  # an altered fifth replaces the fifth
    return intervals + [TENSIONS[name]]


def _normalise_quality(quality: str) -> str:
    quality = quality.replace("♭", "b").replace("♯", "#").replace(" ", "")
    for pattern, replacement in QUALITY_ALIASES:
        quality = re.sub(pattern, replacement, quality, count=1)
    return quality


@lru_cache(maxsize=4096)
def parse_chord(symbol: str) -> Chord:
    """A standard chord symbol (`Dm7`, `G7b9`, `C7/E`, `Bbm7b5`, `C7alt`, `C7(b9,#11)`,
    `NC`, ...) -> Chord. Raises ChordSymbolError naming the symbol if it cannot be read."""
    text = symbol.strip().replace("♭", "b").replace("♯", "#")
    if text.upper() in NO_CHORD:
        return NC
    m = ROOT_RE.match(text)
    if not m:
        raise ChordSymbolError(f"cannot read chord symbol {symbol!r} (no root note A-G)")
    root = note_pc(m.group(0))
    rest, bass = text[m.end():], None
    if "/" in rest:
        head, tail = rest.rsplit("/", 1)
        if tail == "9" and head.endswith("6"):
            rest = head + "9"  # 6/9 is a chord, not a slash bass
        else:
            try:
                bass = note_pc(tail)
            except ValueError:
                raise ChordSymbolError(
                    f"cannot read chord symbol {symbol!r} (bass {tail!r} is not a note)"
                ) from None
            rest = head
    tensions: list[tuple[str, str]] = []
    paren = re.fullmatch(r"(.*?)\((.*)\)", rest)
    if paren:  # C7(b9,#11): a base quality and a list of tensions
        items = [TENSION_ITEM_RE.fullmatch(t) for t in re.split(r"[,\s]+", paren.group(2))]
        if all(items):
            rest = paren.group(1)
            tensions = [(t.group(1), t.group(2)) for t in items if t]
    intervals = _quality_intervals(_normalise_quality(rest))
    for accidental, number in tensions:
        intervals = None if intervals is None else _add_tension(intervals, accidental, number)
    if intervals is None:
        raise ChordSymbolError(f"cannot read chord symbol {symbol!r}")
    mask = pcs_mask(root + i for i in intervals)
    if bass is not None:
        mask |= 1 << bass
        if bass == root:
            bass = None
    return Chord(text, root, mask, bass)


# --- The Weimar Jazz Database's chord syntax ----------------------------------------------

JAZZOMAT_RE = re.compile(
    r"(?P<tri>m7b5|sus|-|\+|o)?(?P<sev>j7|7|6)?(?P<alt>alt)?(?P<ten>(?:(?:9|11|13)[b#]?)*)"
)
# (triad letter, seventh) -> standard quality
JAZZOMAT_BASE = {
    (None, None): "", (None, "7"): "7", (None, "j7"): "maj7", (None, "6"): "6",
    ("-", None): "m", ("-", "7"): "m7", ("-", "j7"): "mM7", ("-", "6"): "m6",
    ("+", None): "aug", ("+", "7"): "aug7", ("+", "j7"): "maj7#5",
    ("o", None): "dim", ("o", "7"): "dim7",
    ("sus", None): "sus4", ("sus", "7"): "7sus4", ("sus", "j7"): "maj7sus4",
    ("m7b5", None): "m7b5",
}


def jazzomat_to_standard(symbol: str) -> str | None:
    """A Jazzomat spelling -> the standard one (`C-7` -> `Cm7`, `D79b` -> `D7(b9)`,
    `Ebj7911#` -> `Ebmaj7(9,#11)`); None when it does not follow the syntax."""
    text = symbol.strip()
    if text.upper() in NO_CHORD:
        return "NC"
    m = ROOT_RE.match(text)
    if not m:
        return None
    root, rest, bass = m.group(0), text[m.end():], ""
    if "/" in rest:
        rest, bass = rest.rsplit("/", 1)
        if not ROOT_RE.fullmatch(bass):
            return None
        bass = "/" + bass
    q = JAZZOMAT_RE.fullmatch(rest)
    if not q:
        return None
    base = JAZZOMAT_BASE.get((q.group("tri"), q.group("sev")))
    if base is None:
        return None
    if q.group("alt"):
        if q.group("tri") or q.group("sev") not in (None, "7"):
            return None
        base = "7alt"
    tensions = [acc + num for num, acc in re.findall(r"(9|11|13)([b#]?)", q.group("ten"))]
    return root + base + (f"({','.join(tensions)})" if tensions else "") + bass


def _closest_chord(symbol: str) -> Chord:
    """The triad or seventh chord suggested by the root and the leading quality letters."""
    text = symbol.strip()
    m = ROOT_RE.match(text)
    if not m:
        return NC
    rest = text[m.end():]
    quality = next((q for prefix, q in CLOSEST_QUALITY if rest.startswith(prefix)), "")
    return parse_chord(m.group(0) + quality)


# Leading quality letters -> the triad or seventh they suggest (first match wins).
CLOSEST_QUALITY = (("m7b5", "m7b5"), ("-j", "mM7"), ("-7", "m7"), ("-", "m"), ("m", "m"),
                   ("o7", "dim7"), ("o", "dim"), ("+", "aug"), ("j", "maj7"), ("sus", "sus4"),
                   ("7", "7"), ("6", "6"))


@lru_cache(maxsize=4096)
def parse_jazzomat(symbol: str) -> tuple[Chord, bool]:
    """A Jazzomat chord symbol -> (Chord, understood).

    Tries the Jazzomat syntax, then standard spellings; what neither reads falls back to
    the closest triad/seventh from the root and the leading quality letters (or NC without
    a root), with understood=False so an importer can count it.
    """
    for candidate in (jazzomat_to_standard(symbol), symbol):
        if candidate is None:
            continue
        try:
            return parse_chord(candidate), True
        except ChordSymbolError:
            pass
    return _closest_chord(symbol), False


@lru_cache(maxsize=4096)
def chord_from_mask(mask: int, bass: int | None = None) -> Chord:
    """Name a set of sounding pitch classes (e.g. read from a MIDI comping track).

    The symbol is the best matching common chord (`Dm7`, `G7/B`); when no common chord
    matches exactly it lists the pitch classes (`{C E F#}`). The mask is kept as given.
    """
    if not mask:
        return NC
    best = None
    for order, (quality, intervals) in enumerate(NAMING_TEMPLATES):
        for root in range(12):
            tmask = pcs_mask(root + i for i in intervals)
            missing = bin(tmask & ~mask).count("1")
            extra = bin(mask & ~tmask).count("1")
            key = (missing + extra, root != bass, order)
            if best is None or key < best[0]:
                best = (key, root, quality)
    assert best is not None
    (misfit, _, _), root, quality = best
    if misfit:
        symbol = "{" + " ".join(pc_name(pc) for pc in mask_pcs(mask)) + "}"
    else:
        symbol = pc_name(root) + quality
        if bass is not None and bass != root:
            symbol += "/" + pc_name(bass)
    return Chord(symbol, root, mask, None if bass == root else bass)


NAMING_TEMPLATES = [("maj7", (0, 4, 7, 11)), ("m7", (0, 3, 7, 10)), ("7", (0, 4, 7, 10)),
                    ("m7b5", (0, 3, 6, 10)), ("dim7", (0, 3, 6, 9)), ("", (0, 4, 7)),
                    ("m", (0, 3, 7)), ("6", (0, 4, 7, 9)), ("m6", (0, 3, 7, 9)),
                    ("mM7", (0, 3, 7, 11)), ("7sus4", (0, 5, 7, 10)), ("sus4", (0, 5, 7)),
                    ("dim", (0, 3, 6)), ("aug", (0, 4, 8)), ("9", (0, 2, 4, 7, 10)),
                    ("m9", (0, 2, 3, 7, 10)), ("maj9", (0, 2, 4, 7, 11)), ("5", (0, 7))]
