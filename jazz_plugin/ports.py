"""MIDI ports over python-rtmidi: API choice, virtual or named ports, the tiny input callback.

The callback thread only timestamps (monotonic clock) and enqueues raw bytes; parsing and
everything else happens on the daemon's own thread.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque

import rtmidi

from .errors import PortError

API_NAMES = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK,
             "coremidi": rtmidi.API_MACOSX_CORE}
IN_PORT_NAME, OUT_PORT_NAME = "jazz-in", "jazz-out"
INPUT_QUEUE_SIZE = 4096  # raw messages held between callback and loop; oldest dropped beyond


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


def _jack_running() -> bool:
    try:
        probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="jazz-plugin-probe")
        probe.open_virtual_port("probe")
        probe.close_port()
        probe.delete()
        return True
    except Exception:
        return False


def _client(cls: type, api: int, name: str):
    if api == rtmidi.API_UNIX_JACK and not _jack_running():
        raise PortError("no JACK server is running (start one, e.g. "
                        "'jackd -d dummy -r 48000 -p 64', or use --api alsa)")
    try:
        return cls(api, name=name)
    except Exception as e:
        raise PortError(f"cannot open the MIDI system ({str(e).splitlines()[0]})") from None


def find_port(names: list[str], wanted: str, direction: str) -> int:
    """Index of the first port whose name contains `wanted` (case-insensitive)."""
    for i, name in enumerate(names):
        if wanted.lower() in name.lower():
            return i
    listing = ", ".join(repr(n) for n in names) or "none"
    raise PortError(f"no MIDI {direction} port matches {wanted!r}; available: {listing}")


def _no_virtual_ports_here(port: str | None) -> None:
    if port is None and sys.platform == "win32":
        raise PortError("Windows MIDI has no virtual ports: make two loopMIDI ports and run "
                        "with --in-port NAME --out-port NAME")


def open_input(api: int, client: str, port: str | None, queue: InputQueue) -> rtmidi.MidiIn:
    """Our virtual input port, or a connection to an existing output port named `port`."""
    _no_virtual_ports_here(port)
    midi_in = _client(rtmidi.MidiIn, api, f"{client}-in")
    try:
        if port is None:
            midi_in.open_virtual_port(IN_PORT_NAME)
        else:
            midi_in.open_port(find_port(midi_in.get_ports(), port, "input"), IN_PORT_NAME)
    except PortError:
        midi_in.delete()
        raise
    except Exception as e:
        midi_in.delete()
        raise PortError(f"cannot open the input port ({str(e).splitlines()[0]})") from None
    midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
    midi_in.set_callback(queue.callback)
    return midi_in


def open_output(api: int, client: str, port: str | None) -> rtmidi.MidiOut:
    """Our virtual output port, or a connection to an existing input port named `port`."""
    _no_virtual_ports_here(port)
    midi_out = _client(rtmidi.MidiOut, api, f"{client}-out")
    try:
        if port is None:
            midi_out.open_virtual_port(OUT_PORT_NAME)
        else:
            midi_out.open_port(find_port(midi_out.get_ports(), port, "output"), OUT_PORT_NAME)
    except PortError:
        midi_out.delete()
        raise
    except Exception as e:
        midi_out.delete()
        raise PortError(f"cannot open the output port ({str(e).splitlines()[0]})") from None
    return midi_out


class JackServerWatch:
    """Notices a JACK server that died or restarted, without talking to it.

    jackd2 keeps a socket at /dev/shm/jack_<server>_<uid>_0; a new server makes a new one.
    Looking at the file costs nothing and changes nothing in the JACK graph (a probe client
    would make every other JACK program re-sort its graph).
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
    """Our input and output as a pair that can be reopened when the MIDI server restarts."""

    def __init__(self, api: int, client: str, in_port: str | None, out_port: str | None,
                 queue: InputQueue) -> None:
        self.api, self.client = api, client
        self.in_port, self.out_port, self.queue = in_port, out_port, queue
        self.midi_in: rtmidi.MidiIn | None = None
        self.midi_out: rtmidi.MidiOut | None = None
        self.open()
        self.server = JackServerWatch() if api == rtmidi.API_UNIX_JACK else None
        self.in_lost = self.out_lost = False

    def open(self) -> None:
        midi_out = open_output(self.api, self.client, self.out_port)
        try:
            self.midi_in = open_input(self.api, self.client, self.in_port, self.queue)
        except BaseException:
            midi_out.delete()
            raise
        self.midi_out = midi_out

    def send(self, msg: list[int]) -> None:
        self.midi_out.send_message(msg)

    def close(self) -> None:
        if self.midi_in is not None:
            self.midi_in.cancel_callback()
            self.midi_in.delete()
        if self.midi_out is not None:
            self.midi_out.delete()
        self.midi_in = self.midi_out = None

    def check(self) -> list[str]:
        """Look for a lost server or lost named ports; reconnect what came back.

        Returns events: 'server-gone', 'reconnected', 'in-lost', 'out-lost', 'in-back',
        'out-back' (and 'reconnect-failed: ...').
        """
        events: list[str] = []
        state = self.server.check() if self.server else None
        if state == "gone":
            return ["server-gone"]
        if state in ("back", "restarted"):
            if state == "restarted":
                events.append("server-gone")
            try:
                self.close()
                self.open()
                events.append("reconnected")
            except Exception as e:  # the new server may still be starting: try next time
                self.server.identity = None
                events.append(f"reconnect-failed: {e}")
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
                midi.open_port(find_port(midi.get_ports(), name, "input" if tag == "in"
                                         else "output"),
                               IN_PORT_NAME if tag == "in" else OUT_PORT_NAME)
                if tag == "in":
                    midi.ignore_types(sysex=True, timing=False, active_sense=True)
                    midi.set_callback(self.queue.callback)
                return False, [f"{tag}-back"]
            except Exception:
                return True, []
        if not lost and not present:
            return True, [f"{tag}-lost"]
        return lost, []


def port_exists(midi: rtmidi.MidiIn | rtmidi.MidiOut, wanted: str) -> bool:
    """Whether a port matching `wanted` is still there (for reconnecting named ports)."""
    try:
        return any(wanted.lower() in n.lower() for n in midi.get_ports())
    except Exception:
        return False


def list_ports(api_name: str) -> list[str]:
    """Human-readable lines for `jazz-plugin ports`."""
    api = resolve_api(api_name)
    midi_in = _client(rtmidi.MidiIn, api, "jazz-plugin-list")
    midi_out = _client(rtmidi.MidiOut, api, "jazz-plugin-list")
    lines = [f"API: {rtmidi.get_api_display_name(api)}", "inputs we can listen to:"]
    lines += [f"  {n}" for n in midi_in.get_ports()] or ["  (none)"]
    lines += ["outputs we can play to:"]
    lines += [f"  {n}" for n in midi_out.get_ports()] or ["  (none)"]
    midi_in.delete()
    midi_out.delete()
    return lines
