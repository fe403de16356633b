"""MIDI ports over python-rtmidi: API choice, virtual or named ports, the tiny input callback.

The callback thread only timestamps (monotonic clock) and enqueues raw bytes; parsing and
everything else happens on the daemon's own thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator

import rtmidi

from jazz_plugin.errors import ConfigError, PortError

API_NAMES = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK,
             "coremidi": rtmidi.API_MACOSX_CORE}
IN_PORT_NAME, OUT_PORT_NAME = "jazz-in", "jazz-out"
IN_SUFFIX, OUT_SUFFIX = "-in", "-out"  # our two MIDI clients are NAME-in and NAME-out
CLIENT_NAME_MAX = 63  # bytes in a JACK (and ALSA) client name; JACK refuses longer ones
CALLBACK_DRAIN = 0.02  # seconds between cancelling the input callback and closing the client
INPUT_QUEUE_SIZE = 4096  # raw messages held between callback and loop; oldest dropped beyond
JACK_START = "jackd{named} -d dummy -r 48000 -p 64 &"  # the next step when no server runs
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


class InputQueue:
    """Bounded queue between rtmidi's callback thread and the daemon loop."""

    def __init__(self, maxlen: int = INPUT_QUEUE_SIZE) -> None:
        self.items: deque[tuple[float, list[int]]] = deque(maxlen=maxlen)
        self.wakeup = threading.Event()
        self.dropped = 0

    def callback(self, event: tuple[list[int], float], _data: object = None) -> None:
        """rtmidi's callback: timestamp and enqueue, nothing else."""
        items = self.items
        if len(items) == items.maxlen:
            self.dropped += 1  # deque drops the oldest itself
        items.append((time.monotonic(), event[0]))
        self.wakeup.set()

    def drain(self) -> list[tuple[float, list[int]]]:
        """Everything queued so far, oldest first."""
        out = []
        items = self.items
        while items:
            out.append(items.popleft())
        return out


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


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null for the block, and comes back after it.

    libjack prints "Cannot connect to server socket ..." and four more lines there when no
    server runs; our one error line says it better.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _jack_quietly() -> Iterator[None]:
    """No server started behind our back (JACK_NO_START_SERVER) and no libjack noise."""
    old = os.environ.get("JACK_NO_START_SERVER")
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        with quiet_stderr():
            yield
    finally:
        if old is None:
            del os.environ["JACK_NO_START_SERVER"]
        else:
            os.environ["JACK_NO_START_SERVER"] = old


def no_jack_server() -> str:
    """The one line for a missing JACK server, with the exact command that starts one."""
    server = os.environ.get("JACK_DEFAULT_SERVER", "default")
    named = "" if server == "default" else f" -n {server}"
    what = f"no JACK server named {server!r} is running" if named else "no JACK server is running"
    start = JACK_START.format(named=named)
    if shutil.which("jackd") is None:
        step = f"install JACK (Debian/Ubuntu: sudo apt install jackd2), start it with '{start}'"
    else:
        step = f"start one with '{start}'"
    alsa = " (or use --api alsa)" if os.path.exists("/dev/snd/seq") else ""
    return f"{what}: {step}{alsa}, then run this again"


def _client(cls: type, api: int, name: str):
    """A MIDI client; under JACK, a missing server is one line with the next step."""
    if api != rtmidi.API_UNIX_JACK:
        try:
            return cls(api, name=name)
        except Exception as e:
            raise PortError(f"cannot open the MIDI system ({str(e).splitlines()[0]})") from None
    try:
        with _jack_quietly():
            return cls(api, name=name)
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


class JackServerWatch:
    """Notices a JACK server that died or restarted, without talking to it.

    jackd2 keeps a socket at /dev/shm/jack_<server>_<uid>_0, where <server> is
    JACK_DEFAULT_SERVER (or 'default'); a new server makes a new one. Looking at the file
    costs nothing and changes nothing in the JACK graph (a probe client would make every
    other JACK program re-sort its graph).
    """

    def __init__(self) -> None:
        server = os.environ.get("JACK_DEFAULT_SERVER", "default")
        self.path = f"/dev/shm/jack_{server}_{os.getuid()}_0"
        self.identity = self._identity()
        self.enabled = self.identity is not None

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def check(self) -> str | None:
        """'gone' when the server disappeared, 'back' when a (new) server is there."""
        if not self.enabled:
            return None
        now = self._identity()
        if now == self.identity:
            return None
        if now is None:
            self.identity = None
            return "gone"
        was = self.identity
        self.identity = now
        return "back" if was is None else "restarted"


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
            midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
            midi_in.set_callback(self.queue.callback)
        except BaseException:
            if midi_in is not None:
                midi_in.delete()
            midi_out.delete()
            raise
        self.midi_in, self.midi_out = midi_in, midi_out
        self.names, self.peers = (in_name, out_name), (in_peer, out_peer)

    def send(self, msg: list[int]) -> None:
        self.midi_out.send_message(msg)

    def close(self) -> None:
        """Idempotent: closing twice, or after a failed open, is fine."""
        if self.midi_in is not None:
            self.midi_in.cancel_callback()
            time.sleep(CALLBACK_DRAIN)  # a callback already waiting for the GIL runs out first
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
                midi.close_port()  # rtmidi drops the input callback here: set it again
                skip = (_client_part(self.names[1]),) if tag == "in" else ()
                midi.open_port(find_port(midi.get_ports(), name, "input" if tag == "in"
                                         else "output", skip),
                               IN_PORT_NAME if tag == "in" else OUT_PORT_NAME)
                if tag == "in":
                    midi.ignore_types(sysex=True, timing=False, active_sense=True)
                    midi.set_callback(self.queue.callback)
                return False, [IN_BACK if tag == "in" else OUT_BACK]
            except Exception:
                return True, []
        if not lost and not present:
            return True, [IN_LOST if tag == "in" else OUT_LOST]
        return lost, []


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
