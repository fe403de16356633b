"""The live coder's side of the rig: an OSC sender and inbox on 127.0.0.1, an Ableton Link
peer, and a private network namespace for anything that speaks Link.

Link finds its peers by multicast on every interface, so nothing that starts a Link session
runs outside `in_private_network`: a new network namespace with only loopback (up, with
multicast routed to it). The JACK server needs no such care: its clients reach it through
a Unix socket in /dev/shm, which a network namespace does not hide.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

LOOPBACK = "127.0.0.1"
# inside `unshare -n`: loopback up, multicast (Link's discovery) routed to it, nothing else
NETNS_SETUP = ("ip link set lo up && ip link set lo multicast on && "
               "ip route add 224.0.0.0/4 dev lo")


def osc_datagram(address: str, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


class OscSender:
    """Datagrams to a port on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.target = (LOOPBACK, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, address: str, *args) -> float:
        """Send one message; returns the time it left."""
        return self.raw(osc_datagram(address, *args))

    def raw(self, data: bytes) -> float:
        t = time.monotonic()
        self.sock.sendto(data, self.target)
        return t

    def close(self) -> None:
        self.sock.close()


class OscInbox:
    """Collects OSC messages sent to it: (arrival time, address, args)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.messages: list[tuple[float, str, list]] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.is_set():
            try:
                data = self.sock.recv(65535)
            except (TimeoutError, OSError):
                continue
            t = time.monotonic()
            for m in OscPacket(data).messages:
                self.messages.append((t, m.message.address, m.message.params))

    def values(self, name: str, since: float = 0.0) -> list:
        """The first argument of every /jazz/NAME received since `since`."""
        return [args[0] if args else None for t, a, args in list(self.messages)
                if a == "/jazz/" + name and t >= since]

    def first(self, name: str, value, since: float = 0.0) -> float | None:
        """When /jazz/NAME with `value` first came (None if not yet)."""
        for t, a, args in list(self.messages):
            if a == "/jazz/" + name and t >= since and args and _same(args[0], value):
                return t
        return None

    def close(self) -> None:
        self._halt.set()
        self._thread.join(1)
        self.sock.close()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and abs(a - b) < 1e-4
    return a == b


def osc_port(ready_line: str) -> int:
    """The OSC port the daemon's ready line names (`osc=127.0.0.1:PORT`)."""
    word = next(w for w in ready_line.split() if w.startswith("osc="))
    return int(word.rsplit(":", 1)[1])


def in_private_network(argv: list[str], **kw) -> subprocess.Popen:
    """Start `argv` in a new network namespace with only loopback (we are root: CI is too).

    No `unshare`, or no permission: an error that says so, never a silent skip."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("Link tests need `unshare` (util-linux) to isolate the network; "
                           "install util-linux")
    quoted = " ".join(_quote(a) for a in argv)
    return subprocess.Popen([unshare, "-n", "sh", "-c", f"{NETNS_SETUP} && exec {quoted}"],
                            **kw)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


class LinkPeer:
    """Our own Link peer (aalink, its asyncio loop in a thread): sets the tempo, starts and
    stops the transport, and tells the beat at any moment of our monotonic clock."""

    def __init__(self, bpm: float, quantum: int = 4, start_stop_sync: bool = True) -> None:
        import aalink

        self._aalink = aalink
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._bpm, self._quantum, self._sync = bpm, quantum, start_stop_sync
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(5), "the Link peer did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._make())
        self._ready.set()
        self.loop.run_forever()

    async def _make(self) -> None:
        self.link = self._aalink.Link(self._bpm)
        self.link.quantum = self._quantum
        self.link.start_stop_sync_enabled = self._sync
        self.link.enabled = True

    def call(self, fn):
        """Run `fn(link)` on the peer's loop and return its result."""
        done = threading.Event()
        box: list = []

        def run() -> None:
            box.append(fn(self.link))
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(5)
        return box[0]

    @property
    def peers(self) -> int:
        return self.call(lambda link: link.num_peers)

    def set_tempo(self, bpm: float) -> None:
        self.call(lambda link: setattr(link, "tempo", bpm))

    def set_playing(self, playing: bool) -> None:
        self.call(lambda link: setattr(link, "playing", playing))

    def line(self) -> tuple[float, float, float]:
        """(monotonic time, beat then, tempo): the reading bracketed most tightly."""

        def read(link):
            best = (float("inf"), 0.0, 0.0)
            for _ in range(5):
                t0 = time.monotonic()
                beat = link.beat
                t1 = time.monotonic()
                if t1 - t0 < best[0]:
                    best = (t1 - t0, (t0 + t1) / 2, beat)
            return best[1], best[2], link.tempo

        return self.call(read)

    def close(self) -> None:
        def stop(link):
            link.enabled = False
            self.loop.stop()

        self.loop.call_soon_threadsafe(lambda: stop(self.link))
        self._thread.join(2)
