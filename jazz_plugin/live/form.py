"""Learn the form of a tune from the chords played live, and lend it as a chart.

Chords that arrive live usually repeat: a 12-bar blues, a 32-bar AABA, a 4- or 8-bar loop.
The played chords are read per half bar (the chord heard over most of it, so a chord
comped a little early or late still counts for its own half bar). When the latest half
bars repeat the ones a form's length before them, over up to two forms back, the shortest
such form is learned, and from then on it is a chart: the next change is known before it
sounds. A chord struck that is not like any the form has within a beat of it drops the form
at once (else the half bar that departs from it does), and the music goes back to following
the played chords. The form is anchored on the
grid's own bars, so a Song Position Pointer jump keeps it aligned.
"""

from __future__ import annotations

from collections import deque

from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony import Changes, chord_from_mask

FORMS = (4, 8, 12, 16, 32)  # bars: loops, the blues, AABA; the shortest that fits wins
SLOT = TICKS_PER_BAR // 2  # the unit compared: a half bar
SAMPLES = 4  # points per half bar at which the played chord is read (majority wins)
CONFIRM = 2  # half bars that must repeat the form's first before it counts as learned
SAME = 0.7  # pitch-class overlap (shared / all) from which two chords are one re-voiced
MAX_SLOTS = 2 * 2 * max(FORMS) + 8  # half bars remembered: two of the longest form, and some
MAX_GAP = 16  # half bars: a longer step forward is a jump, not time passing
QUIET_SLOTS = 4  # half bars with no played chord after which a learned form is dropped
SETTLE = 1.0  # ticks a struck chord is left to settle (its keys arrive one by one)
EARLY_LATE = TICKS_PER_BEAT  # a chord struck this near a change of the form is that one


def similar(a: int, b: int) -> bool:
    """Two chord masks that are the same chord, re-voiced (an added or left-out tension)."""
    if not a or not b:
        return False
    shared, every = bin(a & b).count("1"), bin(a | b).count("1")
    return shared / every >= SAME


class FormLearner:
    """Fed with the passing of time (`advance`); `chart` is the learned form or None."""

    def __init__(self) -> None:
        self.slots: deque[int] = deque(maxlen=MAX_SLOTS)  # masks of the last half bars
        self.cursor: int | None = None  # the half bar in progress
        self.chart: Changes | None = None
        self.bars = 0  # the learned form's length
        self.quiet = 0  # half bars without a played chord in a row
        self.events: list[str] = []  # "learned N" / "dropped" since the caller last looked
        self.checked: tuple[float, int] | None = None  # the last struck chord compared

    def advance(self, tick: float, mask_at, struck: tuple[float, int] | None = None) -> None:
        """Time is at `tick`: read every half bar completed since, from `mask_at(tick)`;
        `struck`: the last chord change heard (tick, mask), compared with the form at once."""
        if struck is not None and struck != self.checked and tick - struck[0] >= SETTLE - 1e-6:
            self.checked = struck
            self._compare(*struck)
        slot = int(tick // SLOT)
        if self.cursor is None or slot < self.cursor - 1 or slot > self.cursor + MAX_GAP:
            self.slots.clear()  # a jump (or the start): what follows is not contiguous
            self.cursor = slot
            return
        while self.cursor < slot:
            start = self.cursor * SLOT
            self._close(self.cursor, _dominant(mask_at, start))
            self.cursor += 1

    def due(self, struck: tuple[float, int] | None) -> float | None:
        """The tick at which `struck` (the last chord change) is to be compared, if it is."""
        if self.chart is None or struck is None or struck == self.checked:
            return None
        return struck[0] + SETTLE

    def _compare(self, at: float, mask: int) -> None:
        """A chord just struck: one the form does not have within a beat departs from it."""
        if self.chart is None or not mask:
            return
        near = (self.chart.at(int(at + d))[0] for d in (-EARLY_LATE, 0, EARLY_LATE))
        if not any(similar(mask, m) for m in near):
            bar = round(at / SLOT) // 2 + 1  # a chord comped early is the next bar's
            self.forget(f"dropped: bar {bar} departs from it")

    def _close(self, index: int, mask: int) -> None:
        self.quiet = 0 if mask else self.quiet + 1
        if self.chart is not None:
            expected = self.chart.at(index * SLOT)[0]
            if mask and not similar(mask, expected):
                self.forget(f"dropped: bar {index // 2 + 1} departs from it")
            elif self.quiet >= QUIET_SLOTS:
                self.forget("dropped: the chords stopped")
        self.slots.append(mask)
        if self.chart is None and mask:
            self._detect(index)

    def _detect(self, last: int) -> None:
        s = list(self.slots)
        n = len(s)
        for bars in FORMS:
            p = 2 * bars
            if n - p < CONFIRM or not all(s[n - p:]):
                continue
            if all(similar(s[i], s[i - p]) for i in range(max(p, n - 2 * p), n)):
                first = last - n + 1  # the grid's half bar of s[0]
                segments = [(((first + i) % p) * SLOT, chord_from_mask(s[i]))
                            for i in range(n - p, n)]
                self.chart = Changes(segments, loop_ticks=bars * TICKS_PER_BAR)
                self.bars = bars
                self.events.append(f"learned: {bars} bars")
                return

    def forget(self, why: str = "forgotten") -> None:
        """Drop the learned form (a departure, or /jazz/form/forget); keep listening."""
        if self.chart is not None:
            self.events.append(why)
        self.chart = None
        self.bars = 0

    def reset(self) -> None:
        """Forget the form and what was heard (a new chart, a new tune)."""
        self.forget()
        self.slots.clear()
        self.cursor = None

    def text(self) -> str:
        """What the status line shows: `form 12 bars (learned)`, or nothing."""
        return f"form {self.bars} bars (learned)" if self.chart is not None else ""


def _dominant(mask_at, start: int) -> int:
    """The chord heard over most of the half bar from `start` (ties: the later one)."""
    masks = [mask_at(start + (k + 0.5) * SLOT / SAMPLES) for k in range(SAMPLES)]
    return max(reversed(masks), key=masks.count)
