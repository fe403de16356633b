"""OSC in and out: every live control at /jazz/NAME, chords by name, state to a reply address.

In: the listener thread only receives, parses, checks and enqueues, as the MIDI callback
only timestamps and enqueues; then it wakes the daemon's loop, which applies the commands on
its own thread. The queue is bounded and drops the oldest (counted), so a flood never
blocks the MIDI path and never grows memory. Bad OSC is counted by kind and logged once per
kind. Values are checked with the run options' own schema (`options.convert`): a value out
of range is refused and counted, never clamped.

Out: `OscReply` sends the mode, the state, the tempo, the chord now, the learned form (or
"none"), every control's value when it changes (from OSC, CC or MIDI learn) and each answer
note. `/jazz/form` asks for the form again; `/jazz/form/forget` drops it.
"""

from __future__ import annotations

import logging
import math
import socket
import sys
import threading
import time
from collections import Counter, deque
from typing import Any, NamedTuple

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket
from pythonosc.parsing import osc_types

from jazz_plugin import options
from jazz_plugin.errors import ConfigError, JazzError
from jazz_plugin.live.controls import BY_NAME, CONTROLS, Control, Performer
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT
from jazz_plugin.music.harmony import Changes, parse_chart, parse_chord

PREFIX = "/jazz/"
OURS = (PREFIX.encode(), b"#bundle\0")  # how a datagram we may read starts
# seconds: a busy OSC thread hands the interpreter to the loop and the MIDI callback at
# least this often (Python's default, 5 ms, would be felt in the timing under a flood)
SWITCH_INTERVAL = 0.0005
QUEUE_SIZE = 1024  # commands held between the listener thread and the loop; oldest dropped
MAX_DATAGRAM = 65535  # bytes: the largest UDP datagram
RECEIVE_BUFFER = 1 << 20  # bytes the kernel holds for us: a burst waits instead of vanishing
KNOWN_TAGS = frozenset("ifdhsTFN")  # OSC argument types we read; others are a wrong type
# Kinds of bad OSC, each counted and logged once.
UNKNOWN, WRONG_TYPE, OUT_OF_RANGE, GARBAGE = ("unknown address", "wrong type", "out of range",
                                              "not OSC")
BAD_CHORD, DROPPED = "bad chord", "dropped (queue full)"
COMMANDS = ("chord", "changes", "learn", "learn_skip", "form",
            "form/forget")  # addresses that are not controls


def osc_name(control: Control) -> str:
    """A control's OSC name: its run option's name where it has one (answer_bars)."""
    return control.option or control.name


# /jazz/NAME -> control, under its CC name and its option name alike
ADDRESSES = {PREFIX + n: c for c in CONTROLS for n in {c.name, osc_name(c)}}


class _PythonOscQuiet(logging.Filter):
    """python-osc warns on the root logger for every odd type tag: a flood would flood
    stderr. We count those messages ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pythonosc" not in record.pathname


logging.getLogger().addFilter(_PythonOscQuiet())


class BadOsc(Exception):
    """One refused OSC message; `kind` is what gets counted."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class Command(NamedTuple):
    """A checked OSC command, ready for the loop: a control's name and value, or one of
    COMMANDS (`value`: a Changes, None to clear, or a control name to learn)."""

    t: float
    name: str
    value: Any


def parse(address: str, args: list, tags: str) -> tuple[str, Any]:
    """One OSC message -> (name, checked value), or BadOsc saying why not."""
    if not address.startswith(PREFIX):
        raise BadOsc(UNKNOWN, f"{address!r} (ours start with {PREFIX})")
    if set(tags) - KNOWN_TAGS:
        raise BadOsc(WRONG_TYPE, f"{address} with argument types {tags!r}")
    control = ADDRESSES.get(address)
    if control is not None:
        return control.name, _control_value(control, address, args)
    name = address[len(PREFIX):]
    if name == "chord":
        text = _one(address, args, str, "a chord symbol, e.g. Dm7 (NC clears)")
        try:
            chord = parse_chord(text.strip())
        except JazzError as e:
            raise BadOsc(BAD_CHORD, f"{address} {text!r}: {e}") from None
        return name, None if chord.is_nc else Changes([(0, chord)], loop_ticks=TICKS_PER_BAR)
    if name == "changes":
        text = _one(address, args, str, 'a chart, e.g. "| Dm7 G7 | Cmaj7 |"')
        try:
            return name, parse_chart(text)
        except JazzError as e:
            raise BadOsc(BAD_CHORD, f"{address}: {e}") from None
    if name == "learn":
        if not args:
            return name, None
        which = _one(address, args, str, "a control's name, or nothing for all")
        if which not in BY_NAME and which not in {osc_name(c) for c in CONTROLS}:
            raise BadOsc(OUT_OF_RANGE, f"{address} {which!r}: known controls are "
                         f"{', '.join(osc_name(c) for c in CONTROLS)}")
        return name, next(c.name for c in CONTROLS if which in (c.name, osc_name(c)))
    if name in ("learn_skip", "form", "form/forget"):
        return name, None
    raise BadOsc(UNKNOWN, f"{address!r}; known: {PREFIX}{{{', '.join(known_names())}}}")


def known_names() -> list[str]:
    return [osc_name(c) for c in CONTROLS] + list(COMMANDS)


def _one(address: str, args: list, kinds: type | tuple[type, ...], expected: str):
    """The one argument, of one of `kinds` (True/False count as numbers only if bool is
    among them)."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if (len(args) != 1 or not isinstance(args[0], kinds)
            or isinstance(args[0], bool) and bool not in kinds):
        raise BadOsc(WRONG_TYPE, f"{address} {_show(args)}: expected {expected}")
    return args[0]


def _trigger(address: str, args: list) -> bool:
    """No argument, or a button's 1 (press) / 0 (release)."""
    if not args:
        return True
    return bool(_one(address, args, (int, float, bool), "no argument, or 1"))


def _text(address: str, args: list) -> str:
    return _one(address, args, str, "text")


def _switch(address: str, args: list) -> bool:
    value = _one(address, args, (int, float, bool), "1 (on) or 0 (off)")
    if value not in (0, 1):
        raise BadOsc(OUT_OF_RANGE, f"{address} {value!r}: expected 1 (on) or 0 (off)")
    return bool(value)


def _whole(address: str, args: list) -> int:
    value = _one(address, args, (int, float), "a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise BadOsc(WRONG_TYPE, f"{address} {value!r}: expected a whole number")
        value = int(value)
    return value


def _number(address: str, args: list) -> float:
    value = _one(address, args, (int, float), "a number")
    if not math.isfinite(value):
        raise BadOsc(OUT_OF_RANGE, f"{address} {value!r}: expected a finite number")
    return float(value)


# a control's OSC argument kind (Control.osc) -> how its argument is read
ARGUMENT_READERS = {"": _trigger, "s": _text, "b": _switch, "i": _whole, "f": _number}


def _control_value(c: Control, address: str, args: list) -> Any:
    """The control's own value from its OSC argument, checked against the option schema."""
    value = ARGUMENT_READERS[c.osc](address, args)
    if c.option is None:
        return value
    try:
        return options.convert(c.option, value, "OSC")
    except ConfigError as e:
        raise BadOsc(OUT_OF_RANGE, f"{address}: {e}") from None


def _show(args: list) -> str:
    return " ".join(repr(a) for a in args) or "(no argument)"


def message_tags(dgram: bytes) -> str:
    """The type tag string of one OSC message datagram ('' when it has none)."""
    _address, index = osc_types.get_string(dgram, 0)
    if not dgram[index:]:
        return ""
    tags, _ = osc_types.get_string(dgram, index)
    return tags[1:]


class OscListener:
    """A UDP socket and its thread: parse, check, enqueue, wake the loop."""

    def __init__(self, host: str, port: int, wakeup: threading.Event,
                 maxlen: int = QUEUE_SIZE) -> None:
        self.address = (host, port)
        self.queue: deque[Command] = deque(maxlen=maxlen)
        self.wakeup = wakeup
        self.received = 0  # messages (not datagrams) received, good and bad
        self.applied = 0  # counted by the loop
        self.bad: Counter[str] = Counter()  # kind -> count, DROPPED included
        self.first: dict[str, str] = {}  # kind -> the first example, for the log
        self._reported: set[str] = set()
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self.sock.bind(self.address)
        except (OSError, OverflowError) as e:
            raise ConfigError(f"cannot listen for OSC on {host}:{port} "
                              f"({getattr(e, 'strerror', None) or e}): pick another --osc port"
                              + ("" if host == options.LOOPBACK else " or --osc-host")) from None
        self.port = self.sock.getsockname()[1]
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="osc", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        recv = self.sock.recvfrom
        while True:
            try:
                data, _sender = recv(MAX_DATAGRAM)
            except OSError:
                if self._closing:
                    return
                continue
            if self._closing:  # a shut-down socket returns empty reads: not datagrams
                return
            t = time.monotonic()
            if not data.startswith(OURS):  # neither ours nor a bundle: refused unparsed
                self.received += 1
                if data.startswith(b"/"):
                    address = data.split(b"\0", 1)[0].decode("utf-8", "replace")
                    self._refuse(UNKNOWN, f"{address!r} (ours start with {PREFIX})")
                else:
                    self._refuse(GARBAGE, f"a {len(data)}-byte datagram with no OSC message "
                                 "in it")
                continue
            try:
                messages = [m.message for m in OscPacket(data).messages]
            except Exception:  # python-osc's ParseError, or anything a crafted bundle causes
                messages = []
            if not messages:
                self.received += 1
                self._refuse(GARBAGE, f"a {len(data)}-byte datagram with no OSC message in it")
                continue
            for msg in messages:
                self.received += 1
                try:
                    name, value = parse(msg.address, msg.params, message_tags(msg.dgram))
                except BadOsc as e:
                    self._refuse(e.kind, str(e))
                    continue
                except Exception as e:  # never let one message end the listener
                    self._refuse(GARBAGE, f"{type(e).__name__}: {e}")
                    continue
                queue = self.queue
                if len(queue) == queue.maxlen:
                    self._refuse(DROPPED, f"more than {queue.maxlen} commands waiting")
                queue.append(Command(t, name, value))
                if not self.wakeup.is_set():
                    self.wakeup.set()

    def _refuse(self, kind: str, text: str) -> None:
        self.bad[kind] += 1
        if kind not in self.first:
            self.first[kind] = text
            if not self.wakeup.is_set():
                self.wakeup.set()  # so the loop logs it now

    def drain(self) -> list[Command]:
        """Queued commands, oldest first; of several values for one control only the last
        counts (a fader sweep, a flood), triggers and chords all count."""
        latest: dict[str, Command] = {}
        out: list[Command] = []
        queue = self.queue
        while queue:
            cmd = queue.popleft()
            control = BY_NAME.get(cmd.name)
            if control is not None and control.osc != "":
                latest.pop(cmd.name, None)
                latest[cmd.name] = cmd
            else:
                out.append(cmd)
        return sorted(out + list(latest.values()), key=lambda c: c.t)

    def report(self, log) -> None:
        """Log each kind of bad OSC the first time it is seen."""
        if len(self._reported) == len(self.first):
            return
        for kind, text in list(self.first.items()):
            if kind not in self._reported:
                self._reported.add(kind)
                log(f"OSC {kind}: {text} (counted; logged once)")

    def summary(self) -> str:
        bad = ", ".join(f"{n} {kind}" for kind, n in sorted(self.bad.items()))
        return f"OSC received {self.received}, applied {self.applied}" + (
            f", refused {bad}" if bad else "")

    def close(self) -> None:
        self._closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(1.0)


def control_values(imp: Performer) -> dict[str, Any]:
    """Every control's current value, by OSC name (what state out reports)."""
    return {osc_name(c): c.read(imp) for c in CONTROLS if c.read is not None}


def form_text(imp) -> str:
    """The learned form as OSC reports it: "12 bars (learned)", or "none"."""
    return imp.harmony.form.text().removeprefix("form ") or "none"


class OscReply:
    """State out: OSC messages to HOST:PORT, sent from the loop (a UDP send never waits)."""

    def __init__(self, target: str, muted=lambda: False) -> None:
        host, port = options.host_port(target, "--osc-reply")
        self.muted = muted  # muted answer notes are not announced
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as e:
            raise ConfigError(f"--osc-reply {target!r}: cannot resolve {host!r} ({e})") from None
        self.target = info[4]
        self.sock = socket.socket(info[0], socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = 0
        self.errors = 0
        self.last: dict[str, Any] = {}

    def send(self, name: str, *args: Any) -> None:
        builder = OscMessageBuilder(PREFIX + name)
        for a in args:
            builder.add_arg(a)
        try:
            self.sock.sendto(builder.build().dgram, self.target)
            self.sent += 1
        except OSError:
            self.errors += 1

    def on_event(self, kind: str, value: Any) -> None:
        """An improviser listener: state and mode changes, answer notes."""
        if kind == "note":
            if self.muted():
                return
            pitch, velocity = value
            self.send("note", int(pitch), int(velocity))
        elif kind in ("state", "mode"):
            self.last[kind] = value
            self.send(kind, str(value))

    def poll(self, imp, now: float) -> None:
        """Send what changed since the last call: everything the first time."""
        current = {"state": imp.state.value, "mode": imp.settings.mode,
                   "tempo": round(imp.clock.bpm, 2), "chord": imp.chord_text(now),
                   "form": form_text(imp)}
        current.update(control_values(imp))
        last = self.last
        for name, value in current.items():
            if last.get(name, _UNSET) != value:
                last[name] = value
                self.send(name, value)

    def next_wakeup(self, imp, now: float) -> float | None:
        """The next beat, so the chord and tempo go out on time even while idle."""
        if not imp.clock.running:
            return None
        beat = math.floor(imp.clock.tick_at(now) / TICKS_PER_BEAT + 1) * TICKS_PER_BEAT
        return imp.clock.time_of(beat)

    def close(self) -> None:
        self.sock.close()


_UNSET = object()
