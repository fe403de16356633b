"""One table of results: printed for people, written as JSON for tools."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, dataclass

import numpy as np

from jazz_plugin.offline.tables import table


@dataclass
class Row:
    """One measured quantity; `ratio` is against the section's baseline row."""

    section: str
    name: str
    median: float
    p99: float = math.nan
    unit: str = "µs"
    ratio: float = math.nan
    note: str = ""


def stats(samples_s, scale: float = 1e6) -> tuple[float, float]:
    """Median and p99 of samples in seconds, scaled (default: to microseconds)."""
    a = np.asarray(samples_s, dtype=np.float64) * scale
    return float(np.median(a)), float(np.percentile(a, 99))


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def render(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into the docs)."""
    return "\n".join(table(
        ["section", "measure", "median", "p99", "unit", "ratio", "note"],
        [[r.section, r.name, _fmt(r.median), _fmt(r.p99), r.unit,
          "-" if math.isnan(r.ratio) else f"{r.ratio:.2f}x", r.note] for r in rows],
        markdown=True, align="llrrlrl"))


def write_json(rows: list[Row], path: str, argv: list[str]) -> None:
    data = {"machine": machine(), "command": "python -m bench " + " ".join(argv),
            "rows": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                      for k, v in asdict(r).items()} for r in rows]}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
