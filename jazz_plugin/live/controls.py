"""Live controls: the one table of them, and what a MIDI CC value means for each.

Every live control has one name used everywhere: the CC table (`[cc]` in the config,
`--cc NAME=N`), the OSC address `/jazz/NAME` and, where it changes a run option, that
option's TOML key and `--flag` (whose schema also checks OSC values). Default mapping
(CC 20-31 are undefined in the MIDI spec, so no synth uses them): temperature 20, mode 21,
answer_length 22, argmax 23, mute 24, panic 25, end_phrase 26, swing 27, register 28,
density 29, develop 30.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from jazz_plugin.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Control:
    """One live control."""

    name: str  # the CC table's name, and the action `Improviser.set_control` takes
    cc: int  # default CC number
    option: str | None  # the run option it changes (TOML key, --flag); None: no option
    osc: str  # OSC argument: "f" number, "i" whole number, "b" switch 0/1, "s" text, "" none
    what: str  # "knob" or "button": how MIDI learn asks for it


CONTROLS = (
    Control("temperature", 20, "temperature", "f", "knob"),
    Control("mode", 21, "mode", "s", "knob"),
    Control("answer_length", 22, "answer_bars", "i", "knob"),
    Control("argmax", 23, "argmax", "b", "button"),
    Control("mute", 24, None, "b", "button"),
    Control("panic", 25, None, "", "button"),
    Control("end_phrase", 26, None, "", "button"),
    Control("swing", 27, "swing", "f", "knob"),
    Control("register", 28, "register", "i", "knob"),
    Control("density", 29, "density", "f", "knob"),
    Control("develop", 30, "develop", "f", "knob"),
)
BY_NAME = {c.name: c for c in CONTROLS}
# a control may also be called by its run option's name (answer_bars = answer_length)
ALIASES = {c.option: c.name for c in CONTROLS if c.option and c.option != c.name}
DEFAULT_CC = {c.name: c.cc for c in CONTROLS}
RESERVED_CC = {0: "bank select", 32: "bank select LSB", 64: "sustain pedal",
               **{n: "channel mode messages" for n in range(120, 128)}}
# CC numbers the MIDI spec leaves undefined: where a control displaced by MIDI learn moves
UNDEFINED_CC = (*range(20, 32), 3, 9, 14, 15, *range(85, 91), *range(102, 120))


CC_ON = 64  # a switch control is on from this value up
MODE_ORDER = ("call-response", "duet", "solo", "trade")  # the mode CC's ranges, low to high
REGISTER_SPAN = 24  # the register CC moves the window by up to this many semitones each way


def scaled(action: str, value: int) -> float | int | bool | str:
    """A CC value 0..127 -> the control's own value (see the README's CC table)."""
    if action == "temperature":
        return 0.1 + 1.9 * value / 127
    if action == "answer_length":
        return 0 if value == 0 else 1 + (value - 1) * 15 // 126
    if action == "mode":
        return MODE_ORDER[min(value * len(MODE_ORDER) // 128, len(MODE_ORDER) - 1)]
    if action in ("swing", "density", "develop"):
        return value / 127
    if action == "register":
        return round((value - 64) * REGISTER_SPAN / 64)
    return value >= CC_ON


class Controls:
    """CC number -> control name, checked for range and collisions."""

    def __init__(self, mapping: dict[str, int] | None = None) -> None:
        self.remap(mapping or {})

    def remap(self, mapping: dict[str, int]) -> None:
        """Defaults overridden by `mapping` (checked first: a bad one changes nothing)."""
        full = dict(DEFAULT_CC)
        full.update({canonical(name): num for name, num in mapping.items()})
        self._check(full)
        self.mapping = full
        self.by_number = {num: name for name, num in full.items()}

    @staticmethod
    def _check(mapping: dict[str, int]) -> None:
        seen: dict[int, str] = {}
        for name, num in mapping.items():
            if name not in DEFAULT_CC:
                raise ConfigError(f"unknown control {name!r}; known: {', '.join(DEFAULT_CC)}")
            if not isinstance(num, int) or isinstance(num, bool) or not 0 <= num <= 127:
                raise ConfigError(f"CC number for {name!r} must be 0..127, got {num!r}")
            if num in RESERVED_CC:
                raise ConfigError(f"CC {num} for {name!r} is reserved ({RESERVED_CC[num]})")
            if num in seen:
                raise ConfigError(f"CC {num} is mapped twice: to {seen[num]!r} and {name!r}")
            seen[num] = name

    def action_for(self, number: int) -> str | None:
        return self.by_number.get(number)


def canonical(name: str) -> str:
    """A control's name in the CC table (`answer_bars` -> `answer_length`)."""
    return ALIASES.get(name, name)


def parse_cc_options(options: list[str]) -> dict[str, int]:
    """`--cc NAME=NUMBER` options -> a mapping (checked later by Controls)."""
    out: dict[str, int] = {}
    for opt in options:
        name, sep, num = opt.partition("=")
        if not sep or not num.strip().lstrip("-").isdigit():
            raise ConfigError(f"--cc {opt!r}: expected NAME=NUMBER, e.g. --cc temperature=74")
        out[name.strip().replace("-", "_")] = int(num)
    return out


def load_config(path: str) -> dict:
    """Read a TOML config: top-level run options plus a [cc] table."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read config {path!r} ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {path!r} is not valid TOML ({e})") from None
    cc = data.get("cc", {})
    if not isinstance(cc, dict):
        raise ConfigError(f"config {path!r}: [cc] must be a table of NAME = NUMBER")
    return data
