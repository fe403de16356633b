"""MIDI ports over python-rtmidi: API choice, virtual or named ports, reconnecting.

No Python runs on the MIDI system's thread: input waits in rtmidi's own queue, and a reader
thread (`midiinput.py`) moves it, with the MIDI system's times, to the daemon's loop.
"""

from __future__ import annotations

import os
import re
import sys
import uuid

import rtmidi

from jazz_plugin.errors import ConfigError, PortError
from jazz_plugin.live.jackserver import JackServerWatch, jack_quietly, no_jack_server
from jazz_plugin.live.midiinput import RTMIDI_QUEUE_SIZE, InputQueue, InputReader

API_NAMES = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK,
             "coremidi": rtmidi.API_MACOSX_CORE}
IN_PORT_NAME, OUT_PORT_NAME = "jazz-in", "jazz-out"
IN_SUFFIX, OUT_SUFFIX = "-in", "-out"  # our two MIDI clients are NAME-in and NAME-out
CLIENT_NAME_MAX = 63  # bytes in a JACK (and ALSA) client name; JACK refuses longer ones
# any jazz-plugin's own port, as `ports` shows it (JACK may add -01; ALSA adds ' 128:0')
OWN_PORT = re.compile(rf"^.+(?:{IN_SUFFIX}|{OUT_SUFFIX})(?:-\d+)?:"
                      rf"(?:{IN_PORT_NAME}|{OUT_PORT_NAME})(?: \d+:\d+)?$")

# what MidiPorts.check reports
SERVER_GONE, RECONNECTED = "server-gone", "reconnected"
IN_LOST, OUT_LOST, IN_BACK, OUT_BACK = "in-lost", "out-lost", "in-back", "out-back"
RECONNECT_FAILED = "reconnect-failed"  # followed by ': reason'
INPUT_RELEASING = frozenset({SERVER_GONE, RECONNECTED, IN_LOST})


def releases_input(event: str) -> bool:
    """Whether held input notes must be released after this `MidiPorts.check` event.

    The input went away (its server or its named port), so the note-offs for what it held
    will never come; a phrase waiting for them would wait for good.
    """
    return event in INPUT_RELEASING


def check_client_name(name: str) -> str:
    """Refuse a client name the MIDI system would refuse or mangle, before anything opens.

    JACK answers a name it refuses with "JACK server not running?", which sends the user
    looking in the wrong place.
    """
    longest = CLIENT_NAME_MAX - len(OUT_SUFFIX)
    if not name.strip():
        raise ConfigError(f"--client-name {name!r} is empty: give a name such as 'jazz-plugin'")
    if ":" in name:
        raise ConfigError(f"--client-name {name!r} has a ':', which MIDI systems put between "
                          "client and port: leave it out")
    if not name.isprintable():
        raise ConfigError(f"--client-name {name!r} has a control character: use letters, "
                          "digits, spaces and - _ .")
    size = len(name.encode())
    if size > longest:
        raise ConfigError(f"--client-name {name!r} is {size} bytes; JACK client names hold at "
                          f"most {CLIENT_NAME_MAX} and we add '{OUT_SUFFIX}': use at most "
                          f"{longest}")
    return name


def resolve_api(name: str) -> int:
    """`auto`: the platform default, else JACK when ALSA's sequencer cannot open."""
    if name != "auto":
        api = API_NAMES[name]
        if api not in rtmidi.get_compiled_api():
            raise PortError(f"--api {name} is not available in this python-rtmidi build")
        return api
    if sys.platform == "darwin":
        return rtmidi.API_MACOSX_CORE
    if sys.platform.startswith("linux"):
        if os.path.exists("/dev/snd/seq"):
            return rtmidi.API_LINUX_ALSA
        if rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api():
            return rtmidi.API_UNIX_JACK
        raise PortError("ALSA's sequencer cannot open (no /dev/snd/seq) and this python-rtmidi "
                        "has no JACK support")
    return rtmidi.API_UNSPECIFIED


def _client(cls: type, api: int, name: str):
    """A MIDI client; under JACK, a missing server is one line with the next step."""
    kw = {"queue_size_limit": RTMIDI_QUEUE_SIZE} if cls is rtmidi.MidiIn else {}
    if api != rtmidi.API_UNIX_JACK:
        try:
            return cls(api, name=name, **kw)
        except Exception as e:
            raise PortError(f"cannot open the MIDI system ({str(e).splitlines()[0]})") from None
    try:
        with jack_quietly():
            return cls(api, name=name, **kw)
    except Exception:  # names are checked up front, so this is the server
        raise PortError(no_jack_server()) from None


def find_port(names: list[str], wanted: str, direction: str,
              skip: tuple[str, ...] = ()) -> int:
    """Index of the first port whose name contains `wanted` (case-insensitive), leaving out
    the ports of the clients in `skip` (our own: listening to our output is a feedback loop)."""
    for i, name in enumerate(names):
        if wanted.lower() in name.lower() and _client_part(name) not in skip:
            return i
    listing = ", ".join(repr(n) for n in names if _client_part(n) not in skip) or "none"
    raise PortError(f"no MIDI {direction} port matches {wanted!r}; available: {listing}")


def _client_part(port_name: str) -> str:
    return port_name.split(":", 1)[0]


def _no_virtual_ports_here(port: str | None) -> None:
    if port is None and sys.platform == "win32":
        raise PortError("Windows MIDI has no virtual ports: make two loopMIDI ports and run "
                        "with --in-port NAME --out-port NAME")


def _refuse_taken(client: str, names: list[str]) -> None:
    """Another client with our name: JACK would rename ours to NAME-01 without a word."""
    for suffix in (IN_SUFFIX, OUT_SUFFIX):
        if any(_client_part(n) == client + suffix for n in names):
            raise PortError(f"a MIDI client named {client + suffix!r} is already running "
                            "(another jazz-plugin?): stop it, or give this one another "
                            "--client-name")


def _open_port(midi, api: int, client: str, wanted: str | None, short: str, lister,
               direction: str, skip: tuple[str, ...]) -> tuple[str, str | None]:
    """Open our port `short`: virtual, or connected to the port matching `wanted`.

    Returns our port's full name as the MIDI system shows it, and the peer's name (or None).
    Under JACK the port opens under a unique name first, so `lister` (a client of the other
    direction) can find which client it landed on, then gets its real name.
    """
    _no_virtual_ports_here(wanted)
    tag = f"{short}-{uuid.uuid4().hex[:8]}" if api == rtmidi.API_UNIX_JACK else short
    peer = None
    try:
        if wanted is None:
            midi.open_virtual_port(tag)
        else:
            names = midi.get_ports()
            i = find_port(names, wanted, direction, skip)
            midi.open_port(i, tag)
            peer = names[i]
    except PortError:
        raise
    except Exception as e:
        raise PortError(f"cannot open the {direction} port ({str(e).splitlines()[0]})") from None
    if tag == short:
        return f"{client}:{short}", peer
    landed = [n for n in lister.get_ports() if n.endswith(":" + tag)]
    real_client = _client_part(landed[0]) if landed else client
    try:
        midi.set_port_name(short)
    except Exception:
        return f"{real_client}:{tag}", peer
    return f"{real_client}:{short}", peer


class MidiPorts:
    """Our input and output as a pair that can be reopened when the MIDI server restarts.

    `names` are our two ports as the MIDI system shows them (`jazz-plugin-in:jazz-in`,
    `jazz-plugin-out:jazz-out`); `peers` the ports --in-port/--out-port connected to, or None.
    """

    def __init__(self, api: int, client: str, in_port: str | None, out_port: str | None,
                 queue: InputQueue) -> None:
        self.api, self.client = api, check_client_name(client)
        self.in_port, self.out_port, self.queue = in_port, out_port, queue
        self.midi_in: rtmidi.MidiIn | None = None
        self.midi_out: rtmidi.MidiOut | None = None
        self.reader: InputReader | None = None
        self.names: tuple[str, str] = ("", "")
        self.peers: tuple[str | None, str | None] = (None, None)
        self.open()
        self.server = JackServerWatch() if api == rtmidi.API_UNIX_JACK else None
        self.in_lost = self.out_lost = False

    def open(self) -> None:
        """Both clients, then refuse a name in use, then both ports; on failure none stays."""
        midi_out = _client(rtmidi.MidiOut, self.api, self.client + OUT_SUFFIX)
        midi_in = None
        try:
            midi_in = _client(rtmidi.MidiIn, self.api, self.client + IN_SUFFIX)
            _refuse_taken(self.client, midi_in.get_ports() + midi_out.get_ports())
            out_name, out_peer = _open_port(midi_out, self.api, self.client + OUT_SUFFIX,
                                            self.out_port, OUT_PORT_NAME, midi_in, "output", ())
            in_name, in_peer = _open_port(midi_in, self.api, self.client + IN_SUFFIX,
                                          self.in_port, IN_PORT_NAME, midi_out, "input",
                                          (_client_part(out_name),))
            _take_everything(midi_in)
        except BaseException:
            if midi_in is not None:
                midi_in.delete()
            midi_out.delete()
            raise
        self.midi_in, self.midi_out = midi_in, midi_out
        self.names, self.peers = (in_name, out_name), (in_peer, out_peer)
        self._read()

    def _read(self) -> None:
        self.reader = InputReader(self.midi_in, self.queue.put, self.queue.wakeup.set)

    def _stop_reading(self) -> None:
        if self.reader is not None:
            self.reader.stop()
            self.reader = None

    def send(self, msg: list[int]) -> None:
        self.midi_out.send_message(msg)

    def close(self) -> None:
        """Idempotent: closing twice, or after a failed open, is fine."""
        self._stop_reading()
        if self.midi_in is not None:
            self.midi_in.delete()
        if self.midi_out is not None:
            self.midi_out.delete()
        self.midi_in = self.midi_out = None

    def check(self) -> list[str]:
        """Look for a lost server or lost named ports; reconnect what came back.

        Returns events: SERVER_GONE, RECONNECTED, IN_LOST, OUT_LOST, IN_BACK, OUT_BACK (and
        'reconnect-failed: ...'). After any event where `releases_input(event)`, the daemon
        must release every held input note. After RECONNECTED, `names` may have changed.
        """
        events: list[str] = []
        state = self.server.check() if self.server else None
        if state == "gone":
            return [SERVER_GONE]
        if state in ("back", "restarted"):
            if state == "restarted":
                events.append(SERVER_GONE)
            try:
                self.close()
                self.open()
                events.append(RECONNECTED)
            except Exception as e:  # the new server may still be starting: try next time
                self.server.identity = None
                events.append(f"{RECONNECT_FAILED}: {e}")
            return events
        if self.midi_in is None:
            return events
        if self.in_port:
            self.in_lost, ev = self._watch(self.midi_in, self.in_port, self.in_lost, "in")
            events += ev
        if self.out_port:
            self.out_lost, ev = self._watch(self.midi_out, self.out_port, self.out_lost, "out")
            events += ev
        return events

    def _watch(self, midi, name: str, lost: bool, tag: str) -> tuple[bool, list[str]]:
        """Reconnect a named port that went away and came back. Returns (lost, events)."""
        present = port_exists(midi, name)
        if lost and present:
            try:
                if tag == "in":
                    self._stop_reading()
                midi.close_port()
                skip = (_client_part(self.names[1]),) if tag == "in" else ()
                midi.open_port(find_port(midi.get_ports(), name, "input" if tag == "in"
                                         else "output", skip),
                               IN_PORT_NAME if tag == "in" else OUT_PORT_NAME)
                if tag == "in":
                    _take_everything(midi)
                    self._read()
                return False, [IN_BACK if tag == "in" else OUT_BACK]
            except Exception:
                if tag == "in" and self.reader is None and midi.is_port_open():
                    self._read()
                return True, []
        if not lost and not present:
            return True, [IN_LOST if tag == "in" else OUT_LOST]
        return lost, []


def _take_everything(midi_in: rtmidi.MidiIn) -> None:
    """rtmidi filters nothing: a message it drops would take its delta time with it, and
    every later time would be early by that much. Our parser skips SysEx and sensing."""
    midi_in.ignore_types(sysex=False, timing=False, active_sense=False)


def port_exists(midi: rtmidi.MidiIn | rtmidi.MidiOut, wanted: str) -> bool:
    """Whether a port matching `wanted` is still there (for reconnecting named ports)."""
    try:
        return any(wanted.lower() in n.lower() for n in midi.get_ports())
    except Exception:
        return False


def list_ports(api_name: str) -> list[str]:
    """Human-readable lines for `jazz-plugin ports`: other programs' ports, then ours.

    A running jazz-plugin's own ports are listed apart: its output is not an input to
    listen to (that would be a feedback loop).
    """
    api = resolve_api(api_name)
    midi_in = _client(rtmidi.MidiIn, api, "jazz-plugin-list")
    try:
        midi_out = _client(rtmidi.MidiOut, api, "jazz-plugin-list")
    except BaseException:
        midi_in.delete()
        raise
    sources, sinks = midi_in.get_ports(), midi_out.get_ports()
    midi_in.delete()
    midi_out.delete()
    ours = [n for n in sources + sinks if OWN_PORT.match(n)]

    def section(title: str, names: list[str]) -> list[str]:
        return [title] + ([f"  {n}" for n in names] or ["  (none)"])

    return ([f"API: {rtmidi.get_api_display_name(api)}"]
            + section("inputs we can listen to:", [n for n in sources if n not in ours])
            + section("outputs we can play to:", [n for n in sinks if n not in ours])
            + section("jazz-plugin's own ports (running daemons):", ours))
