"""Live controls: the one table of them; each carries its own scale, apply and read.

The CC path (`Controls` maps numbers to controls), OSC (`osc.py`) and the status reply look
a control up here and call it; nothing switches on a control's name.

Every live control has one name used everywhere: the CC table (`[cc]` in the config,
`--cc NAME=N`), the OSC address `/jazz/NAME` and, where it changes a run option, that
option's TOML key and `--flag` (whose schema also checks OSC values). Default mapping
(CC 20-31 are undefined in the MIDI spec, so no synth uses them): temperature 20, mode 21,
answer_length 22, argmax 23, mute 24, panic 25, end_phrase 26, swing 27, register 28,
density 29, develop 30, critic 31.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from jazz_plugin.errors import ConfigError

if TYPE_CHECKING:
    from jazz_plugin.live.output import Output
    from jazz_plugin.model.sampling import Sampler
    from jazz_plugin.model.voice import Voice
    from jazz_plugin.options import RunOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


CC_ON = 64  # a switch control is on from this value up
MODE_ORDER = ("call-response", "duet", "solo", "trade")  # the mode CC's ranges, low to high
REGISTER_SPAN = 24  # the register CC moves the window by up to this many semitones each way


@dataclass
class LiveSettings:
    """What the performance changes as it goes (knobs, OSC), kept apart from the options the
    user gave, which stay as given."""

    mode: str
    answer_bars: int
    develop: float
    swing: float | None  # None: auto, the soloists' ratio at the tempo
    density: float
    register: int
    critic: float

    @classmethod
    def from_options(cls, o: RunOptions) -> LiveSettings:
        return cls(o.mode, o.answer_bars, o.develop, o.swing, o.density, o.register, o.critic)


class Performer(Protocol):
    """What a control acts on and reads back: the improviser."""

    options: RunOptions  # as given
    settings: LiveSettings  # as the performance changed them
    sampler: Sampler
    output: Output
    voice: Voice

    def set_mode(self, mode: str, now: float) -> None: ...

    def panic(self, why: str) -> None: ...

    def end_phrase(self, now: float) -> None: ...

    def swing(self) -> float: ...


Apply = Callable[[Performer, Any, float, str], None]  # (performer, value, time, why)


@dataclass(frozen=True)
class Control:
    """One live control: its names and default CC, and how it scales, applies and reads."""

    name: str  # the CC table's name, and the name `Improviser.set_control` takes
    cc: int  # default CC number
    option: str | None  # the run option it starts from (TOML key, --flag); None: no option
    osc: str  # OSC argument: "f" number, "i" whole number, "b" switch 0/1, "s" text, "" none
    what: str  # "knob" or "button": how MIDI learn asks for it
    scale: Callable[[int], Any]  # a CC value 0..127 -> the control's own value
    apply: Apply  # the control's own value takes effect (switches act when true)
    read: Callable[[Performer], Any] | None = None  # its value now; None: a trigger


def _switch(value: int) -> bool:
    return value >= CC_ON


def _unit(value: int) -> float:
    return value / 127


def _setting(name: str) -> tuple[Apply, Callable[[Performer], Any]]:
    """Apply and read for a plain live setting."""
    return (lambda p, v, t, why: setattr(p.settings, name, v),
            lambda p: getattr(p.settings, name))


def _temperature(p: Performer, v: float, t: float, why: str) -> None:
    p.sampler.temperature = v


def _argmax(p: Performer, v: bool, t: float, why: str) -> None:
    p.sampler.argmax = bool(v)


def _mode(p: Performer, v: str, t: float, why: str) -> None:
    if v != p.settings.mode:
        p.set_mode(v, t)


def _mute(p: Performer, v: bool, t: float, why: str) -> None:
    p.output.muted = bool(v)
    if v:
        p.output.release()


def _density(p: Performer, v: float, t: float, why: str) -> None:
    p.settings.density = v
    p.voice.set_density(v)


def _register(p: Performer, v: int, t: float, why: str) -> None:
    """The --low/--high window moves by `v` semitones, kept within MIDI's 0..127."""
    o = p.options
    p.settings.register = shift = max(-o.low, min(127 - o.high, v))
    p.voice.set_range(o.low + shift, o.high + shift)


def _panic(p: Performer, v: bool, t: float, why: str) -> None:
    if v:
        p.panic(f"panic {why}".strip())


def _end_phrase(p: Performer, v: bool, t: float, why: str) -> None:
    if v:
        p.end_phrase(t)


CONTROLS = (
    Control("temperature", 20, "temperature", "f", "knob", lambda v: 0.1 + 1.9 * v / 127,
            _temperature, lambda p: p.sampler.temperature),
    Control("mode", 21, "mode", "s", "knob",
            lambda v: MODE_ORDER[min(v * len(MODE_ORDER) // 128, len(MODE_ORDER) - 1)],
            _mode, lambda p: p.settings.mode),
    Control("answer_length", 22, "answer_bars", "i", "knob",
            lambda v: 0 if v == 0 else 1 + (v - 1) * 15 // 126, *_setting("answer_bars")),
    Control("argmax", 23, "argmax", "b", "button", _switch, _argmax,
            lambda p: int(bool(p.sampler.argmax))),
    Control("mute", 24, None, "b", "button", _switch, _mute, lambda p: int(p.output.muted)),
    Control("panic", 25, None, "", "button", _switch, _panic),
    Control("end_phrase", 26, None, "", "button", _switch, _end_phrase),
    Control("swing", 27, "swing", "f", "knob", _unit, _setting("swing")[0],
            lambda p: p.swing()),  # reads the swing in effect (auto: the corpus's)
    Control("register", 28, "register", "i", "knob",
            lambda v: round((v - 64) * REGISTER_SPAN / 64),
            _register, lambda p: p.settings.register),
    Control("density", 29, "density", "f", "knob", _unit, _density,
            lambda p: p.settings.density),
    Control("develop", 30, "develop", "f", "knob", _unit, *_setting("develop")),
    Control("critic", 31, "critic", "f", "knob", _unit, *_setting("critic")),
)
BY_NAME = {c.name: c for c in CONTROLS}
# a control may also be called by its run option's name (answer_bars = answer_length)
ALIASES = {c.option: c.name for c in CONTROLS if c.option and c.option != c.name}
DEFAULT_CC = {c.name: c.cc for c in CONTROLS}
RESERVED_CC = {0: "bank select", 32: "bank select LSB", 64: "sustain pedal",
               **{n: "channel mode messages" for n in range(120, 128)}}
# CC numbers the MIDI spec leaves undefined: where a control displaced by MIDI learn moves
UNDEFINED_CC = (*range(20, 32), 3, 9, 14, 15, *range(85, 91), *range(102, 120))


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
        """The name of the control on CC `number`, if any."""
        return self.by_number.get(number)

    def control_for(self, number: int) -> Control | None:
        """The control on CC `number`, if any."""
        name = self.by_number.get(number)
        return None if name is None else BY_NAME[name]


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
