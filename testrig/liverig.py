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

from jazz_plugin.live.midispec import CONTROL_CHANGE, kind

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


# --- a Link session, run inside `in_private_network` -------------------------------------
def link_session(bpm: float, seconds: float, mode: str = "solo", new_bpm: float | None = None,
                 start_stop: bool = False, daemon_bpm: float = 100.0,
                 extra: tuple[str, ...] = ()) -> dict:
    """A daemon on `--clock link` and our Link peer at `bpm`; the peer's timeline is read
    every 10 ms while the daemon plays. Optionally the peer changes the tempo half-way and
    then stops and restarts the transport. Returns raw measurements (times: monotonic)."""
    from .jackrig import Daemon, Peer, wait_for

    peer = LinkPeer(bpm)
    inbox = OscInbox()  # the daemon's state out: when it says it stopped and started
    daemon = Daemon("--clock", "link", "--bpm", str(daemon_bpm), "--mode", mode, "--seed", "3",
                    "--osc-reply", f"{LOOPBACK}:{inbox.port}", *extra)
    out: dict = {"bpm": bpm, "new_bpm": new_bpm, "events": {}}
    try:
        daemon.wait_ready()
        jack = Peer(daemon.client)
        assert wait_for(lambda: peer.peers >= 1, 10), "the daemon never joined the session"
        assert wait_for(lambda: "Link: 1 peer(s)" in daemon.stderr, 5), daemon.stderr
        peer.set_tempo(bpm)
        line: list[tuple[float, float, float]] = []
        halt = threading.Event()

        def watch() -> None:
            while not halt.is_set():
                line.append(peer.line())
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        out["events"]["measure"] = time.monotonic()
        if new_bpm is None:
            time.sleep(seconds)
        else:
            time.sleep(seconds / 2)
            out["events"]["tempo"] = time.monotonic()
            peer.set_tempo(new_bpm)
            time.sleep(seconds / 2)
        if start_stop:
            peer.set_playing(True)  # a peer starts: we were playing already
            time.sleep(0.5)
            out["events"]["stop"] = time.monotonic()
            peer.set_playing(False)
            time.sleep(1.5)
            out["events"]["start"] = time.monotonic()
            peer.set_playing(True)
            # playing starts again on the session's next bar (4 beats): leave two bars after it
            time.sleep(2 * 4 * 60.0 / (new_bpm or bpm))
        halt.set()
        watcher.join()
        out["line"] = line
    finally:
        out["exit"] = daemon.stop()
        out["stderr"] = daemon.stderr
        peer.close()
        inbox.close()
    out["states"] = [(t, args[0]) for t, a, args in inbox.messages if a == "/jazz/state"]
    ons, offs = jack.notes()
    out["ons"], out["offs"] = ons, offs
    out["controls"] = [(t, m) for t, m in list(jack.received) if len(m) == 3
                       and kind(m[0]) == CONTROL_CHANGE]
    out["hanging"] = sorted(jack.hanging())
    jack.close()
    return out


def beat_at(line: list, t: float) -> float:
    """The peer's beat at time `t`, from its last reading before `t` (its tempo then)."""
    import bisect

    i = max(0, bisect.bisect_right([s[0] for s in line], t) - 1)
    t0, beat0, tempo = line[i]
    return beat0 + (t - t0) * tempo / 60.0


def grid_errors_ms(out: dict, since: float, until: float = float("inf"),
                   per_beat: int = 12) -> list[float]:
    """Each note-on's distance (ms) from the peer's grid of `per_beat` steps per beat."""
    errors = []
    for t, _ch, _pitch in out["ons"]:
        if since <= t < until:
            beat = beat_at(out["line"], t)
            step = round(beat * per_beat) / per_beat
            tempo = _tempo_at(out["line"], t)
            errors.append((beat - step) * 60.0 / tempo * 1e3)
    return errors


def _tempo_at(line: list, t: float) -> float:
    import bisect

    return line[max(0, bisect.bisect_right([s[0] for s in line], t) - 1)][2]


def main(argv: list[str] | None = None) -> int:
    """`python -m testrig.liverig link --bpm B --seconds S [...]`: one Link session, as JSON
    on stdout (run it through `in_private_network`)."""
    import argparse
    import json
    import sys

    p = argparse.ArgumentParser(prog="python -m testrig.liverig")
    p.add_argument("what", choices=["link"])
    p.add_argument("--bpm", type=float, default=120.0)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--mode", default="solo")
    p.add_argument("--new-bpm", type=float)
    p.add_argument("--start-stop", action="store_true")
    p.add_argument("--daemon-arg", action="append", default=[])
    a = p.parse_args(argv)
    out = link_session(a.bpm, a.seconds, a.mode, a.new_bpm, a.start_stop,
                       extra=tuple(a.daemon_arg))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
