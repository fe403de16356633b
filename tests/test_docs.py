"""The docs match the code: every run option and live control is documented where a user
looks for it (`--help`, docs/options.md), with the default the schema really has."""

from __future__ import annotations

import re
from pathlib import Path

from jazz_plugin import options
from jazz_plugin.cli import build_parser
from jazz_plugin.live.controls import CONTROLS

ROOT = Path(__file__).resolve().parent.parent
OPTIONS_DOC = (ROOT / "docs" / "options.md").read_text()
README = (ROOT / "README.md").read_text()


def _rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")]


def test_every_option_has_a_row_with_its_default_in_docs():
    rows = {re.match(r"`(--[\w-]+)", row[0]).group(1): row for row in _rows(OPTIONS_DOC)
            if row[0].startswith("`--")}
    for name, f in options.SCHEMA.items():
        flag = options.flag(name)
        assert flag in rows, f"{flag} has no row in docs/options.md"
        auto = f.metadata.get("auto", False)
        default = "none" if f.default is None and not auto else options._show(f.default, auto)
        assert rows[flag][1] == default, f"{flag}: docs say {rows[flag][1]!r}, schema {default!r}"


def test_every_option_is_in_run_help():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    text = run.format_help()
    for name in options.SCHEMA:
        assert options.flag(name) in text


def test_every_live_control_has_its_cc_in_docs():
    rows = {row[0]: row for row in _rows(OPTIONS_DOC) if len(row) == 3 and row[1].isdigit()}
    for control in CONTROLS:
        assert control.name in rows, f"{control.name} has no row in the CC table"
        assert int(rows[control.name][1]) == control.cc


def test_readme_links_resolve_and_stay_short():
    for target in re.findall(r"\]\((docs/[\w.-]+\.md)\)", README):
        assert (ROOT / target).is_file(), f"README links to missing {target}"
    assert len(README.splitlines()) < 300
