"""The one table renderer: evaluate's tables, export's quality table and the bench table.

By default the first column is a name (left-aligned) and the others figures (right-aligned);
`align` ("l" or "r" per column) says otherwise. As plain
text the columns are padded and two spaces apart; as Markdown the cells are left as they
are and the rule row aligns them, so the table pastes into the docs.
"""

from __future__ import annotations

from collections.abc import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool = False,
          align: str | None = None) -> list[str]:
    """The lines of a table of `rows` under `header` (cells are shown with str())."""
    align = align or "l" + "r" * (len(header) - 1)
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> list[str]:
        return [f"{c:<{w}}" if a == "l" else f"{c:>{w}}" for c, w, a in zip(row, widths, align)]

    if not markdown:
        return ["  ".join(line(row)) for row in cells]
    rule = ["---" if a == "l" else "---:" for a in align]  # Markdown aligns; cells unpadded
    out = [f"| {' | '.join(row)} |" for row in cells]
    return [out[0], f"| {' | '.join(rule)} |", *out[1:]]
