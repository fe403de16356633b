"""A real DAW driving the daemon: Ardour 7, headless through its Lua session tool.

Ardour gets a JACK server of its own (a bad request from Ardour lands on the server's
socket), and its per-user config and cache live in a temp folder (`send-midi-clock` is a
global option). `build` makes a session at 120 BPM with one MIDI track holding a 2-bar call
of 16 eighths (`lua/build.lua`) and a 4-bar loop range; `play` loads it and plays the
scenarios of `lua/play.lua` to the daemon while `jack_midi_dump -a` records everything
with its frame, the ground truth for onsets. Ardour loses its JACK client now and then
while it sets a session up: a build or load that fails on Ardour's side is tried again,
with a fresh server and client name; nothing the daemon did is ever tried again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from .jackrig import Daemon, JackServer, wait_for

ARDOUR_LUA = "ardour7-lua"
LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lua")
JACKD_ARGS = ("--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256")  # -R: Ardour lost notes
RATE = 48000
TRIES = 4  # Ardour's own failures while it builds or loads a session
SUPERCLOCK = 282240000  # Ardour 7's superclock ticks per second
LOOP_SECONDS = 8.0  # 4 bars at 120 BPM
BUILD_TIMEOUT, PLAY_TIMEOUT = 45, 150  # seconds; a build takes about 8, a play about 80
DUMP_LINE = re.compile(r"^\s*(\d+):((?: [0-9a-f]{2})+)")


def available() -> bool:
    return shutil.which(ARDOUR_LUA) is not None and shutil.which("jack_midi_dump") is not None


@dataclass
class Performance:
    """What happened: the daemon's log, every event at the dump with its frame, Ardour's
    own lines, and how many tries Ardour needed (its failures, never ours)."""

    daemon_lines: list[str] = field(default_factory=list)
    events: list[tuple[int, list[int]]] = field(default_factory=list)
    ardour: str = ""
    build_tries: int = 0
    play_tries: int = 0


class ArdourRig:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.session = os.path.join(folder, "session")
        self.env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(folder, "config"),
                        XDG_CACHE_HOME=os.path.join(folder, "cache"))
        self.server: JackServer | None = None

    def _lua(self, script: str, extra: dict[str, str], timeout: float) -> str:
        env = dict(self.env, JACK_DEFAULT_SERVER=self.server.name, JACK_NO_START_SERVER="1",
                   ARD_DIR=self.session, ARD_CLIENT=f"ardour-{uuid.uuid4().hex[:6]}", **extra)
        try:
            proc = subprocess.run([ARDOUR_LUA, os.path.join(LUA, script)], env=env,
                                  text=True, capture_output=True, timeout=timeout,
                                  cwd=self.folder)
        except subprocess.TimeoutExpired as e:  # Ardour hung (it is killed, by its PID)
            return f"{script} hung for {timeout} s ({e.cmd[0]})"
        return proc.stdout + proc.stderr

    def _fresh_server(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.server = JackServer(f"ardour-{uuid.uuid4().hex[:8]}", JACKD_ARGS)
        self.server.start(make_default=False)

    def build(self) -> int:
        """The session, tried again while Ardour fails on its side; returns the tries."""
        for k in range(1, TRIES + 1):
            shutil.rmtree(self.session, ignore_errors=True)
            self._fresh_server()
            out = self._lua("build.lua", {}, BUILD_TIMEOUT)
            if "BUILD-OK" in out:
                self._add_loop()
                return k
        raise RuntimeError(f"Ardour could not build the session in {TRIES} tries:\n{out}")

    def _add_loop(self) -> None:
        """A 4-bar loop range (Ardour 7.3's Lua cannot make one): a Location in the XML."""
        path = os.path.join(self.session, "t.ardour")
        with open(path) as f:
            xml = f.read()
        loop = (f'<Location id="990001" name="Loop" start="a0" '
                f'end="a{int(LOOP_SECONDS * SUPERCLOCK)}" flags="IsAutoLoop,IsHidden" '
                'locked="0" timestamp="0" cue="0"/>')
        xml = xml.replace("<Locations>", "<Locations>\n    " + loop, 1)
        with open(path, "w") as f:
            f.write(xml)

    def play(self, *daemon_args: str) -> Performance:
        """The daemon and the dump on Ardour's server, then Ardour plays the scenarios."""
        perf = Performance()
        env = dict(os.environ, JACK_DEFAULT_SERVER=self.server.name)
        daemon = Daemon(*daemon_args, env=env)
        dump_name = f"dump-{uuid.uuid4().hex[:6]}"
        dump_out = open(os.path.join(self.folder, "dump.txt"), "w")
        dump = subprocess.Popen(["jack_midi_dump", "-a", dump_name], stdout=dump_out,
                                stderr=subprocess.STDOUT, env=env)
        try:
            daemon.wait_ready()
            assert wait_for(lambda: _has_port(env, f"{dump_name}:input"), 10)
            _connect_out(env, daemon.ports["out"], f"{dump_name}:input")
            extra = {"DAEMON_IN": daemon.ports["in"], "DUMP_IN": f"{dump_name}:input"}
            for k in range(1, TRIES + 1):
                out = self._lua("play.lua", extra, PLAY_TIMEOUT)
                perf.ardour += out
                if "LOADED" in out or k == TRIES:  # once it plays, it is never played again
                    break
                time.sleep(1.0)  # Ardour failed before a note: its client may linger
            perf.play_tries = k
        finally:
            daemon.stop()
            dump.terminate()  # by its PID
            dump.wait(10)
            dump_out.close()
        perf.daemon_lines = daemon.lines
        with open(os.path.join(self.folder, "dump.txt")) as f:
            perf.events = parse_dump(f.read())
        return perf

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _has_port(env: dict[str, str], name: str) -> bool:
    out = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=10)
    return name in out.stdout.splitlines()


def _connect_out(env: dict[str, str], src: str, dst: str) -> None:
    subprocess.run(["jack_connect", src, dst], env=env, capture_output=True, timeout=10)


def parse_dump(text: str) -> list[tuple[int, list[int]]]:
    """`jack_midi_dump -a` lines -> (frame, message bytes)."""
    events = []
    for line in text.splitlines():
        m = DUMP_LINE.match(line)
        if m:
            events.append((int(m.group(1)), [int(b, 16) for b in m.group(2).split()]))
    return events


def tmp_folder() -> str:
    return tempfile.mkdtemp(prefix="jazz-ardour-")
