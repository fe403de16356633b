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


def open_input(api: int, client: str, port: str | None, queue: InputQueue) -> rtmidi.MidiIn:
    """Our virtual input port, or a connection to an existing output port named `port`."""
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
