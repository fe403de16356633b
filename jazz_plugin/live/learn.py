"""MIDI learn: ask for each live control in turn, take the first CC that moves, save it.

`jazz-plugin run --learn --config FILE` (or `/jazz/learn` over OSC) says "move the knob for
temperature"; the first control change that arrives, on any channel, becomes temperature's
CC, and so on down the table. While learning, control changes go to the learner, not to the
improviser. Each answer is saved at once to the config's [cc] table: the file keeps its
other keys and comments, and is replaced atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from jazz_plugin.atomic import replacing
from jazz_plugin.errors import ConfigError
from jazz_plugin.live.controls import (
    BY_NAME,
    CONTROLS,
    RESERVED_CC,
    UNDEFINED_CC,
    Controls,
    load_config,
)
from jazz_plugin.live.midispec import CONTROL_CHANGE, SYSEX_START, kind

CC_SECTION = re.compile(r"^\s*\[\s*cc\s*\]\s*(#.*)?$")
ANY_SECTION = re.compile(r"^\s*\[")


def resolve_mapping(current: dict[str, int], learned: dict[str, int]) -> dict[str, int]:
    """`current` with the `learned` numbers; a control whose number was taken by a learned
    one moves to an undefined CC that no control had (so no knob on the controller changes
    its meaning behind the player's back), and the mapping never holds a number twice."""
    mapping = {**current, **learned}
    used = set(learned.values())
    for name in list(mapping):
        if name in learned:
            continue
        if mapping[name] in used:
            mapping[name] = next(n for n in UNDEFINED_CC if n not in used
                                 and n not in current.values() and n not in mapping.values())
        used.add(mapping[name])
    return mapping


def save_cc(path: str, mapping: dict[str, int]) -> None:
    """Write `mapping` as the [cc] table of the TOML file at `path` (created if missing),
    keeping every other line; atomically (a temporary file, then rename)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    except OSError as e:
        raise ConfigError(f"cannot read config {path!r} ({e.strerror})") from None
    new = _with_cc_table(text, mapping)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
    except OSError as e:
        raise ConfigError(f"cannot write config {path!r} ({e.strerror})") from None
    written = load_config(path).get("cc", {})
    if {k: written.get(k) for k in mapping} != mapping:
        raise ConfigError(f"config {path!r}: the [cc] table did not read back as written; "
                          "check the file by hand")


def _with_cc_table(text: str, mapping: dict[str, int]) -> str:
    """The TOML text with its [cc] table's entries for `mapping` replaced or added."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if CC_SECTION.match(ln)), None)
    entries = [f"{name} = {num}" for name, num in mapping.items()]
    if start is None:
        if re.search(r"^\s*cc\s*[.=]", text, re.MULTILINE):
            raise ConfigError("the config writes its cc mapping inline (cc = {...} or "
                              "cc.NAME = N): make it a [cc] table so MIDI learn can update it")
        body = "\n".join(lines).rstrip()
        return (body + "\n\n" if body else "") + "[cc]\n" + "\n".join(entries) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if ANY_SECTION.match(lines[i])),
               len(lines))
    keep = [ln for ln in lines[start + 1:end]
            if _key_of(ln) not in mapping]
    while keep and not keep[-1].strip():
        keep.pop()
    tail = lines[end:]
    section = [lines[start], *keep, *entries] + ([""] if tail else [])
    return "\n".join(lines[:start] + section + tail) + "\n"


def _key_of(line: str) -> str | None:
    m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=", line)
    return m.group(1).replace("-", "_") if m else None


class Learner:
    """Learns one control at a time from the control changes the loop hands it."""

    def __init__(self, controls: Controls, path: str | None,
                 log: Callable[[str], None]) -> None:
        self.controls, self.path, self.log = controls, path, log
        self.todo: list[str] = []
        self.total = 0
        self.learned: dict[str, int] = {}
        self.taken: set[int] = set()  # numbers learned in this round: that knob is done

    @property
    def active(self) -> bool:
        return bool(self.todo)

    def start(self, name: str | None = None) -> None:
        """Learn one control, or all in table order."""
        self.todo = [name] if name else [c.name for c in CONTROLS]
        self.total = len(self.todo)
        self.learned, self.taken = {}, set()
        where = f"saved to {self.path}" if self.path else "not saved: no --config FILE"
        self.log(f"MIDI learn: {len(self.todo)} control(s), {where}")
        self._ask()

    def _ask(self) -> None:
        if not self.todo:
            return
        c = BY_NAME[self.todo[0]]
        n = self.total - len(self.todo) + 1
        verb = "press the button" if c.what == "button" else "move the knob"
        now = self.controls.mapping[c.name]
        self.log(f"learn {n}/{self.total}: {verb} for {c.name} (now CC {now}; Enter or "
                 "/jazz/learn_skip keeps it)")

    def feed(self, data: list[int]) -> bool:
        """One input message; True when the learner took it (every control change while
        learning, so a knob being learned steers nothing)."""
        if not self.todo or not data or data[0] >= SYSEX_START or kind(data[0]) != (
                CONTROL_CHANGE) or len(data) < 3:
            return False
        number = data[1]
        if number in RESERVED_CC or number in self.taken:
            return True
        name = self.todo.pop(0)
        self.learned[name] = number
        self.taken.add(number)
        mapping = resolve_mapping(self.controls.mapping, {name: number})
        moved = [f"{k} to CC {v}" for k, v in mapping.items()
                 if k != name and v != self.controls.mapping[k]]
        self.controls.remap(mapping)
        self.log(f"learned {name} = CC {number}" + (f" ({', '.join(moved)} moved)" if moved
                                                     else ""))
        self._save()
        self._ask()
        return True

    def skip(self) -> None:
        if self.todo:
            name = self.todo.pop(0)
            self.log(f"learn: {name} kept on CC {self.controls.mapping[name]}")
            self._ask()
            if not self.todo:
                self._done()

    def _save(self) -> None:
        if self.path:
            try:
                save_cc(self.path, self.controls.mapping)
            except ConfigError as e:
                self.log(f"learn: {e}")
        if not self.todo:
            self._done()

    def _done(self) -> None:
        where = f"saved to {self.path}" if self.path else "for this run only (no --config)"
        learned = " ".join(f"{k}={v}" for k, v in self.learned.items()) or "nothing"
        self.log(f"MIDI learn done, {where}: {learned}")
