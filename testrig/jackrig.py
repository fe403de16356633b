"""A private JACK server, a real `jazz-plugin run` process and a real JACK MIDI peer that
plays to it and listens.

Shared by the benchmarks, the end-to-end tests and the soak test. The server runs under a
name of its own (`jackd -n NAME`), found by every client through JACK_DEFAULT_SERVER, so
nothing here ever talks to, restarts or stops a JACK server it did not start.
"""

from __future__ import annotations

import collections
import contextlib
import glob
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import rtmidi

from jazz_plugin.live.jackserver import quiet_stderr
from jazz_plugin.live.midiinput import RTMIDI_QUEUE_SIZE, InputReader
from jazz_plugin.live.midispec import (
    ALL_NOTES_OFF,
    CLOCK,
    CONTROL_CHANGE,
    NOTE_OFF,
    NOTE_ON,
    START,
    channel,
    kind,
)
from jazz_plugin.live.realtime import enter_realtime, leave_realtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC = CONTROL_CHANGE  # the tests' short name for it
JACKD_ARGS = ("--realtime", "-d", "dummy", "-r", "48000", "-p", "64")  # no sound card needed
SERVER_START_TIMEOUT = 15.0  # seconds for jackd to accept clients
RIG_PRIORITY = 3  # SCHED_FIFO for the rig's clock, keyboard and listener: the DAW's side is
# on time (above the daemon's 2, below JACK's threads at 5 and up)


def unique_server_name(prefix: str = "jazz") -> str:
    """A JACK server name no one else uses: prefix, our process id and a random tag."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class JackServer:
    """Our own JACK server (dummy driver, 64-frame periods) under a unique name.

    `start` makes it this process's default (JACK_DEFAULT_SERVER), so our clients and every
    child process find it; `kill` and `stop` end only the jackd we started, by its PID.
    """

    def __init__(self, name: str | None = None, args: tuple[str, ...] = JACKD_ARGS) -> None:
        self.name = name or unique_server_name()
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(tempfile.gettempdir(), f"jackd-{self.name}.log")

    @property
    def socket_path(self) -> str:
        """jackd2's socket for this server; it is there while the server runs."""
        return f"/dev/shm/jack_{self.name}_{os.getuid()}_0"

    def start(self, make_default: bool = True) -> None:
        """Start jackd and wait until it takes clients; `make_default`: point this process
        (and its children) at it."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        jackd = shutil.which("jackd")
        if not jackd:
            raise RuntimeError("jackd is not installed: apt-get install jackd2 (see .ci/run)")
        if make_default:
            os.environ["JACK_DEFAULT_SERVER"] = self.name
            os.environ["JACK_NO_START_SERVER"] = "1"  # libjack must never start one itself
        # setpriv: jackd gets SIGTERM if we die first (a killed test run), so no server of
        # ours outlives us; call start from the thread that lives as long as the server
        setpriv = shutil.which("setpriv")
        wrap = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*wrap, jackd, "-n", self.name, *self.args],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not self.accepts_clients():
            if self.proc.poll() is not None:
                raise RuntimeError(f"jackd -n {self.name} exited with {self.proc.returncode}; "
                                   f"see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jackd -n {self.name} did not start; see {self.log_path}")
            time.sleep(0.05)

    def accepts_clients(self) -> bool:
        if not os.path.exists(self.socket_path):
            return False
        if os.environ.get("JACK_DEFAULT_SERVER") != self.name:
            return True  # not ours to probe: its socket is all we look at
        try:
            with quiet_stderr():
                probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="jazz-rig-probe")
            probe.delete()
            return True
        except Exception:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """End our jackd (SIGTERM, then SIGKILL if it lingers) and wait until it is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None
        deadline = time.monotonic() + timeout
        while os.path.exists(self.socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)  # jackd removes its socket on the way out
        # jackd leaves semaphores of clients with long names behind; the name is ours alone
        for path in glob.glob(f"/dev/shm/jack_sem.{os.getuid()}_{glob.escape(self.name)}_*"):
            with contextlib.suppress(OSError):
                os.remove(path)

    kill = stop  # the JACK-restart test: our server goes away, then `start` brings it back

    def __enter__(self) -> JackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Daemon:
    """`jazz-plugin run ARGS` with its stderr collected in the background."""

    def __init__(self, *args: str, client: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.client = client or f"jp-{uuid.uuid4().hex[:6]}"
        cmd = [sys.executable, "-m", "jazz_plugin.cli", "run", "--api", "jack",
               "--client-name", self.client, *args]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, cwd=ROOT, env=env)
        self.lines: list[str] = []
        self.ready_at: float | None = None
        self.grid_origin: float | None = None  # monotonic time of the daemon's tick 0
        self.ports: dict[str, str] = {}  # 'in' and 'out' as the ready line names them
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "grid-origin=" in line:  # in the ready line, or logged on its own
                self.grid_origin = float(line.rsplit("grid-origin=", 1)[1].split()[0])
            if "ready:" in line:
                self.ready_at = time.monotonic()
                self.ports = {k: v for k, _, v in (w.partition("=") for w in line.split())
                              if k in ("in", "out")}
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 20) -> None:
        assert self._ready.wait(timeout), "daemon did not start"
        assert self.ready_at is not None, "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def stop(self, sig: int = 15, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        time.sleep(0.05)  # let the reader thread take the last lines
        return code


class Peer:
    """A JACK MIDI client wired to the daemon: `send` to jazz-in, `received` from jazz-out."""

    def __init__(self, daemon_client: str) -> None:
        tag = uuid.uuid4().hex[:6]
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"peer-out-{tag}")
        self.inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"peer-in-{tag}",
                                 queue_size_limit=RTMIDI_QUEUE_SIZE)
        self.inp.ignore_types(sysex=False, timing=False, active_sense=False)
        self.received: list[tuple[float, list[int]]] = []  # (JACK's time, message)
        self._connect(self.out, f"{daemon_client}-in:jazz-in", "to-jazz")
        self._connect(self.inp, f"{daemon_client}-out:jazz-out", "from-jazz")
        # no Python on JACK's thread here either: rtmidi's queue, read with JACK's times
        self.reader = InputReader(self.inp, lambda t, m: self.received.append((t, m)),
                                  name="peer-in", priority=RIG_PRIORITY)

    @staticmethod
    def _connect(port, name: str, own: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            names = port.get_ports()
            if name in names:
                port.open_port(names.index(name), own)
                return
            assert time.monotonic() < deadline, f"{name} not found among {names}"
            time.sleep(0.05)

    def send(self, *msg: int) -> None:
        self.out.send_message(list(msg))

    def phrase(self, pitches, step: float = 0.12, velocity: int = 100, channel: int = 0,
               t0: float | None = None, length: float = 0.8) -> float:
        """Play a line on absolute deadlines (each note `length` of a step); returns the time
        of the last note-off."""
        t0 = time.monotonic() + 0.01 if t0 is None else t0
        off = t0
        enter_realtime(RIG_PRIORITY)  # a musician's keyboard is on time whatever else runs
        try:
            for i, p in enumerate(pitches):
                sleep_until(t0 + i * step)
                self.send(NOTE_ON | channel, p, velocity)
                off = t0 + i * step + step * length
                sleep_until(off)
                self.send(NOTE_OFF | channel, p, 0)
        finally:
            leave_realtime()
        return time.monotonic()

    def notes(self, since: float = 0.0):
        """(time, channel, pitch) of received note-ons, and the same for note-offs."""
        ons, offs = [], []
        for t, m in list(self.received):
            if t < since or len(m) < 3:
                continue
            if kind(m[0]) == NOTE_ON and m[2] > 0:
                ons.append((t, channel(m[0]), m[1]))
            elif kind(m[0]) == NOTE_OFF or (kind(m[0]) == NOTE_ON and m[2] == 0):
                offs.append((t, channel(m[0]), m[1]))
        return ons, offs

    def hanging(self, all_notes_off: bool = False) -> set[tuple[int, int]]:
        """(channel, pitch) whose note-on got no note-off; with `all_notes_off`, CC 123 also
        counts (it silences a channel even when the MIDI server lost a note-off)."""
        sounding: set[tuple[int, int]] = set()
        for _t, m in list(self.received):
            if len(m) < 3:
                continue
            what, ch = kind(m[0]), channel(m[0])
            if what == NOTE_ON and m[2] > 0:
                sounding.add((ch, m[1]))
            elif what in (NOTE_OFF, NOTE_ON):
                sounding.discard((ch, m[1]))
            elif all_notes_off and what == CC and m[1] == ALL_NOTES_OFF:
                sounding = {key for key in sounding if key[0] != ch}
        return sounding

    def controls(self) -> list[list[int]]:
        return [m for _t, m in list(self.received) if len(m) == 3 and kind(m[0]) == CC]

    def close(self) -> None:
        """The reader stops before its port closes."""
        self.reader.stop()
        self.inp.close_port()
        self.out.close_port()
        self.out.delete()
        self.inp.delete()


SEND_GAP = 0.003  # seconds between messages the rig sends from one thread, back to back


def every_note_closed(stderr: str) -> bool:
    """The daemon's own account (its closing stats line): a note-off sent for every note-on.

    With `Peer.hanging(all_notes_off=True)` this separates our bookkeeping from what the MIDI
    server delivers: under load JACK through rtmidi loses or garbles an event now and then.
    """
    found = re.search(r"note-ons (\d+), note-offs (\d+)", stderr)
    return found is not None and found.group(1) == found.group(2)


def sleep_until(deadline: float) -> None:
    """Sleep to an absolute deadline (no accumulating sleeps)."""
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def grid_origin_from(onsets: list[float], tick: float) -> float:
    """A time on the grid that `onsets` fall on: their circular mean phase modulo `tick`.

    For a daemon that does not print its grid origin: answers land on its grid, so a few of
    their onsets give its phase (not the constant latency in front of it).
    """
    ref = onsets[0]
    angles = [2 * math.pi * ((t - ref) % tick) / tick for t in onsets]
    mean = math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))
    return ref + mean / (2 * math.pi) * tick


def wait_for(predicate, timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class ClockSender(threading.Thread):
    """Sends MIDI clock (start, then 24 PPQN) at a tempo, on absolute deadlines.

    It has its own JACK client: rtmidi ports are not safe to share between threads.
    """

    def __init__(self, daemon_client: str, bpm: float) -> None:
        super().__init__(daemon=True)
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"clock-{uuid.uuid4().hex[:6]}")
        Peer._connect(self.out, f"{daemon_client}-in:jazz-in", "clock")
        self.interval = 60 / bpm / 24
        self.pulses: list[float] = []
        self.halt = threading.Event()
        self.requests: collections.deque = collections.deque()

    def request(self, *msg: int) -> None:
        """Send a message from the clock's own thread: before Start if asked before it, else
        half a pulse after the next pulse."""
        self.requests.append(list(msg))

    def set_bpm(self, bpm: float) -> None:
        self.interval = 60 / bpm / 24

    def run(self) -> None:
        enter_realtime(RIG_PRIORITY)  # a DAW's clock keeps time whatever else runs
        # Messages asked for before the start (a song position) go first. Each message gets
        # its own moment: rtmidi's JACK output garbled messages sent back to back here.
        while self.requests:
            self.out.send_message(self.requests.popleft())
            time.sleep(SEND_GAP)
        self.out.send_message([START])
        next_pulse = time.monotonic() + 0.005
        while not self.halt.is_set():
            sleep_until(next_pulse)
            self.out.send_message([CLOCK])
            self.pulses.append(time.monotonic())
            if self.requests:
                sleep_until(next_pulse + self.interval / 2)
                while self.requests:
                    self.out.send_message(self.requests.popleft())
            next_pulse += self.interval
        self.out.delete()
