"""A piano-roll picture of a line (needs the optional `plot` extra: matplotlib)."""

from __future__ import annotations

from .codec import TICKS_PER_QUARTER, Note
from .errors import JazzError


def check_plotting() -> None:
    """Fail early, in one line, when matplotlib is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise JazzError("--plot needs matplotlib: pip install 'jazz-plugin[plot]'")


def plot_pianoroll(notes: list[Note], path: str, title: str = "jazz-plugin solo") -> None:
    """Draw one bar per note, time in beats across, pitch up; saved as PNG."""
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
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as e:
        raise JazzError(f"cannot write {path!r} ({e.strerror})") from None
    finally:
        plt.close(fig)
