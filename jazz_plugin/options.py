"""The run options: one typed schema for the defaults, the TOML config and the command line.

Like nanoGPT's one config: each option is a dataclass field whose metadata says its type,
range and help, and the CLI, the config reader and `--help` are all made from it. Values
from the command line arrive as text and go through the same checks as TOML values, so a
bad value is one line (exit 2) wherever it came from. Precedence: defaults < config file <
command line, where the command line counts only for options actually given.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields
from typing import Any

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.controls import RESERVED_CC
from jazz_plugin.model import sampling
from jazz_plugin.music import develop as developing
from jazz_plugin.music.grid import BEATS_PER_BAR

MODES = ("call-response", "duet", "solo", "trade")
APIS = ("auto", "alsa", "jack", "coremidi")
CLOCKS = ("internal", "external", "link")
LOOPBACK = "127.0.0.1"  # where the OSC listener binds unless told otherwise


def _opt(default: Any, help: str, kind: type, low: float | None = None,
         high: float | None = None, choices: tuple[str, ...] | None = None,
         optional: bool = False, metavar: str | None = None, config: bool = True,
         auto: bool = False) -> Any:
    """A dataclass field carrying its schema (kind, range, choices) and its help text;
    `config=False`: a command-line action, refused in the TOML config; `auto=True`: the
    word "auto" is a value too, held as None (the model's measured figure)."""
    meta = {"help": help, "kind": kind, "low": low, "high": high, "choices": choices,
            "optional": optional or auto, "metavar": metavar, "config": config, "auto": auto}
    return field(default=default, metadata=meta)


@dataclass
class RunOptions:
    """Everything `jazz-plugin run` can be told, as given (the live knobs change a copy:
    controls.LiveSettings)."""

    model: str | None = _opt(None, "ONNX step model (default: the shipped one)", str,
                             optional=True, metavar="FILE")
    in_port: str | None = _opt(None, "connect to an existing output port (partial name) "
                               "instead of opening the virtual input", str, optional=True,
                               metavar="NAME")
    out_port: str | None = _opt(None, "connect to an existing input port (partial name) "
                                "instead of opening the virtual output", str, optional=True,
                                metavar="NAME")
    api: str = _opt("auto", "MIDI system; auto = the platform default, JACK on Linux "
                    "without ALSA's sequencer", str, choices=APIS)
    client_name: str = _opt("jazz-plugin", "MIDI client name prefix (ports NAME-in, NAME-out)",
                            str, metavar="NAME")
    mode: str = _opt("call-response", "call-response answers your phrases; duet plays along "
                     "and is steered by what you play; solo just plays; trade takes turns of "
                     "--trade-bars on the bar grid", str, choices=MODES)
    bpm: float = _opt(120.0, "tempo (run: the internal clock's; generate: the file's)", float,
                      20, 400, metavar="BPM")
    clock: str = _opt("internal", "internal tempo, follow MIDI clock on the input "
                      "(external), or join an Ableton Link session (link; needs the link "
                      "extra)", str, choices=CLOCKS)
    quantum: int = _opt(4, "Link: beats per bar of the session; answers and turns start on "
                        "its bar lines", int, 1, 16, metavar="BEATS")
    channel: int = _opt(1, "output MIDI channel", int, 1, 16, metavar="1..16")
    velocity: int = _opt(80, "base velocity; beats 1 and 3 get +10, 2 and 4 +5", int, 1, 127)
    low: int = _opt(48, "lowest pitch played", int, 0, 127, metavar="PITCH")
    high: int = _opt(84, "highest pitch played", int, 0, 127, metavar="PITCH")
    phrase_end: float = _opt(4.0, "silence that ends a call, in beats", float, 0.25, 64,
                             metavar="BEATS")
    answer_on: str = _opt("beat", "where an answer starts", str, choices=("beat", "bar"))
    min_bars: int = _opt(1, "shortest answer, in bars", int, 1, 64)
    max_bars: int = _opt(8, "longest answer, in bars", int, 1, 64)
    answer_bars: int = _opt(0, "answer length in bars; 0 = as long as the call (clamped)",
                            int, 0, 64)
    thru: bool = _opt(False, "pass the input through to the output", bool)
    trade_bars: int = _opt(4, "trade mode: bars per turn (trading fours = 4)", int, 1, 16)
    trade_empty: str = _opt("solo", "trade mode: when you play nothing in your turn, play "
                            "anyway (solo) or wait (rest)", str, choices=("solo", "rest"))
    chord_channel: int | None = _opt(None, "take the chords from the notes held on this input "
                                     "channel (a DAW chord track, a keyboard's lower zone)",
                                     int, 1, 16, optional=True, metavar="1..16")
    split: int | None = _opt(None, "on the input, notes below this pitch are chords and notes "
                             "from it up are the call", int, 0, 127, optional=True,
                             metavar="PITCH")
    changes: str | None = _opt(None, 'a chord chart that loops on the bar grid, e.g. '
                               '"| Dm7 G7 | Cmaj7 | %% |"', str, optional=True, metavar="CHART")
    changes_file: str | None = _opt(None, "read the chord chart from a file", str,
                                    optional=True, metavar="FILE")
    candidates: int = _opt(16, "answers tried per call, in one batched run; the best is played",
                           int, 1, 64)
    develop: float = _opt(developing.develop, "how much an answer leans on the call: 0 = "
                          "unrelated .. 1 = close variations", float, 0.0, 1.0)
    swing: float | None = _opt(None, "swing on the eighth-note grid: auto = the soloists' "
                               "ratio at this tempo (measured on the corpus, in the model's "
                               "metadata), or 0 = straight .. 1 = hard 2:1", float, 0.0, 1.0,
                               auto=True, metavar="auto|0..1")
    critic: float = _opt(developing.critic, "weight of the critic (a discriminator trained on "
                         "the corpus) in the answer search: 0 = off .. 1 = full", float, 0.0,
                         1.0)
    density: float = _opt(0.5, "notes per bar: 0 = sparse .. 1 = busy (a bias on rests; "
                          "0.5 = the model's own)", float, 0.0, 1.0)
    register: int = _opt(0, "move the --low/--high window by this many semitones", int,
                         -36, 36, metavar="SEMITONES")
    temperature: float = _opt(sampling.temperature, "sampling: < 1 more predictable, > 1 wilder",
                              float, 0.01, 10, metavar="T")
    top_k: int = _opt(sampling.top_k, "sample only from the k likeliest tokens; 0 = off", int,
                      0, 100000, metavar="K")
    top_p: float = _opt(sampling.top_p, "sample only from the top p of probability; 1 = off",
                        float, 0.01, 1.0, metavar="P")
    argmax: bool = _opt(False, "always the likeliest token (the seed's behaviour)", bool)
    seed: int | None = _opt(None, "random seed, to reproduce a run", int, 0, 2**32 - 1,
                            optional=True)
    osc: int | None = _opt(None, "listen for OSC (every live control, chords) on this UDP "
                           "port; 0 = any free port (the ready line names it)", int, 0, 65535,
                           optional=True, metavar="PORT")
    osc_host: str = _opt(LOOPBACK, "address the OSC listener binds to; anything but 127.0.0.1 "
                         "lets others on that network steer the daemon (see the README)", str,
                         metavar="HOST")
    osc_reply: str | None = _opt(None, "send mode, state, tempo, chord, control values and "
                                 "answer notes as OSC to this address", str, optional=True,
                                 metavar="HOST:PORT")
    state_cc: int | None = _opt(None, "send the state as this CC on the output (0 stopped, 64 "
                                "listening, 127 answering or playing), for a controller's LEDs",
                                int, 1, 119, optional=True, metavar="CC")
    record: str | None = _opt(None, "record the session (your notes, the answers, the chords, "
                              "on the bar grid) to this MIDI file, written whatever ends the "
                              "run", str, optional=True, metavar="FILE.mid")
    learn: bool = _opt(False, "MIDI learn: ask for each live control in turn, record the CC that "
                       "moves and save the mapping to --config FILE (created if missing)", bool,
                       config=False)
    cc: dict[str, int] = field(default_factory=dict, metadata={"help": "CC map", "kind": dict})

    def check(self) -> RunOptions:
        """Checks that involve more than one option."""
        if self.high - self.low < 11:
            raise ConfigError(f"low {self.low} .. high {self.high} must be MIDI pitches "
                              "spanning an octave")
        if self.min_bars > self.max_bars:
            raise ConfigError(f"min_bars {self.min_bars} is above max_bars {self.max_bars}")
        if self.changes is not None and self.changes_file is not None:
            raise ConfigError("give the chart with changes or changes_file, not both")
        if not 0 <= self.low + self.register and self.high + self.register <= 127:
            raise ConfigError(f"register {self.register:+d} moves low..high "
                              f"{self.low}..{self.high} out of 0..127")
        if BEATS_PER_BAR % self.quantum and self.quantum % BEATS_PER_BAR:
            raise ConfigError(f"quantum {self.quantum} does not fit our 4-beat bar: use 1, 2 "
                              "or 4, or a multiple of 4 (8, 12, 16)")
        if self.state_cc is not None and self.state_cc in RESERVED_CC:
            raise ConfigError(f"state_cc {self.state_cc} is reserved "
                              f"({RESERVED_CC[self.state_cc]}): pick an undefined CC, e.g. 102")
        if self.osc_reply is not None:
            host_port(self.osc_reply, "osc_reply")
        return self


def host_port(text: str, name: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port), or one line saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{name} must be HOST:PORT with a port 1..65535, e.g. "
                          f"127.0.0.1:9001, got {text!r}")
    return host, int(port)


NUMBERS = {int: (int, (int,), "a whole number"), float: (float, (int, float), "a number")}
SCHEMA = {f.name: f for f in fields(RunOptions) if f.metadata.get("kind") is not dict}
SAMPLING = ("temperature", "top_k", "top_p", "argmax", "seed")
GENERATE = ("model", "bpm", "low", "high", *SAMPLING, "candidates", "develop")  # generate's
# Defaults of the offline commands' own options (not run options).
GENERATE_STEPS = 64  # tokens `generate` writes without a chart
OPENING_BARS = 2  # bars of each solo `evaluate` lets the model hear before it continues
CONTINUE_BARS = 8  # bars it plays after them (the human's same bars are the reference)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def convert(name: str, value: Any, where: str) -> Any:
    """Check (and, for command-line text, parse) one value against its field's schema."""
    f = SCHEMA[name]
    m = f.metadata
    kind, text = m["kind"], isinstance(value, str) and where == "command line"
    label = flag(name) if where == "command line" else name
    suffix = "" if where == "command line" else f" ({where})"

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{label} must be {expected}, got {value!r}{suffix}")

    if value is None and m["optional"]:
        return None
    if m.get("auto") and value == "auto":
        return None
    if kind is bool:
        if text and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in NUMBERS:
        parse, types, expected = NUMBERS[kind]
        expected = f"auto or {expected}" if m.get("auto") else expected
        if text:
            try:
                value = parse(value)
            except ValueError:
                raise bad(expected) from None
        if isinstance(value, bool) or not isinstance(value, types):
            raise bad(expected)
        if kind is float:
            if not math.isfinite(value):
                raise bad("a finite number")
            value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise bad("text")
        if m["choices"] and value not in m["choices"]:
            raise bad("one of " + ", ".join(m["choices"]))
    low, high = m["low"], m["high"]
    if low is not None and not low <= value <= high:
        raise bad(f"{low:g}..{high:g}")
    return value


def add_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """Add `--option` flags for the schema (all, or `names`); values stay text until
    `resolve` checks them, so every bad value takes the same one-line path."""
    for name, f in SCHEMA.items():
        if names is not None and name not in names:
            continue
        m = f.metadata
        default = ("" if f.default is None and not m.get("auto")
                   else f" (default {_show(f.default, m.get('auto', False))})")
        if m["kind"] is bool:
            parser.add_argument(flag(name), dest=name, action="store_const", const=True,
                                default=None, help=m["help"] + default)
            continue
        metavar = m["metavar"] or ("{" + ",".join(m["choices"]) + "}" if m["choices"] else
                                   "N" if m["kind"] is int else "X")
        parser.add_argument(flag(name), dest=name, default=None, metavar=metavar,
                            help=m["help"] + default)


def _show(value: Any, auto: bool = False) -> str:
    if value is None and auto:
        return "auto"
    return "off" if value is False else "on" if value is True else str(value)


def resolve(args: argparse.Namespace, config: dict | None = None,
            config_path: str = "") -> RunOptions:
    """Defaults < config (already read TOML) < the options given on the command line."""
    values: dict[str, Any] = {}
    for key, value in (config or {}).items():
        name = key.replace("-", "_")
        if name not in SCHEMA:
            raise ConfigError(f"config {config_path!r}: unknown option {key!r}")
        if not SCHEMA[name].metadata["config"]:
            raise ConfigError(f"config {config_path!r}: {key!r} is a command-line action "
                              f"({flag(name)}), not a config option")
        values[name] = convert(name, value, f"in {config_path}")
    for name in SCHEMA:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = convert(name, given, "command line")
    return RunOptions(**values).check()


def given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The options `names` of a command line, checked; the schema's default where not given
    (so a command with only some of the run options still has one default for each)."""
    return {name: SCHEMA[name].default if getattr(args, name, None) is None
            else convert(name, getattr(args, name), "command line") for name in names}


def sampling_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling flags of a command line, checked, for `Sampler.from_options`."""
    return given(args, SAMPLING)
