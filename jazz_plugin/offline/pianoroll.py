"""A piano-roll picture of a line (needs the optional `plot` extra: matplotlib)."""

from __future__ import annotations

from jazz_plugin.errors import JazzError
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_QUARTER


def check_plotting() -> None:
    """Fail early, in one line, when matplotlib is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise JazzError("--plot needs matplotlib: pip install 'jazz-plugin[plot]'")


NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def plot_pianoroll(notes: list[Note], path: str, title: str = "jazz-plugin solo",
                   changes=None) -> None:
    """Draw one bar per note, time in beats across, pitch up (note names); with `changes`,
    the chord symbols above the roll; saved as PNG."""
    check_plotting()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(12, 4))
    for n in notes:
        ax.broken_barh([(n.start / TICKS_PER_QUARTER, n.dur / TICKS_PER_QUARTER)],
                       (n.pitch - 0.4, 0.8), facecolors="tab:blue")
    end = max((n.start + n.dur for n in notes), default=TICKS_PER_QUARTER) / TICKS_PER_QUARTER
    for bar in range(0, int(end) + 4, 4):
        ax.axvline(bar, color="0.85", lw=0.8, zorder=0)
    low = min((n.pitch for n in notes), default=60)
    high = max((n.pitch for n in notes), default=72)
    ticks = [p for p in range(low - 1, high + 2) if p % 12 in (0, 4, 7) or p in (low, high)]
    ax.set_yticks(ticks, [note_name(p) for p in ticks])
    if changes is not None and len(changes):
        top = high + 2
        loop = changes.loop_ticks or 0
        for k in range(int(end * TICKS_PER_QUARTER // loop) + 1 if loop else 1):
            for seg in changes:
                beat = (seg.start + k * loop) / TICKS_PER_QUARTER
                if beat < end:
                    ax.text(beat, top, seg.chord.symbol, fontsize=8, va="bottom")
        ax.set_ylim(low - 2, top + 2)
    ax.set_xlabel("beats")
    ax.set_ylabel("pitch")
    ax.set_title(title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as e:
        raise JazzError(f"cannot write {path!r} ({e.strerror})") from None
    finally:
        plt.close(fig)
