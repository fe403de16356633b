"""Soak: drive the daemon through real JACK ports with everything a stage can throw at it.

Random phrases on all channels, MIDI clock with stops, starts and tempo jumps (30-300 BPM),
every live control at 0 and 127, SysEx floods, stray note-offs, velocity-0 note-ons, song
positions past the end, and bursts of thousands of notes per second. At the end: no note-on
without its note-off, RSS growth after warm-up, no error in the log, missed deadlines.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

import psutil

from jazz_plugin.live.controls import DEFAULT_CC
from jazz_plugin.live.midispec import (
    CONTINUE,
    CONTROL_CHANGE,
    NOTE_OFF,
    NOTE_ON,
    SONG_POSITION,
    START,
    STOP,
    SYSEX_END,
    SYSEX_START,
)

from .jackrig import ClockSender, Daemon, Peer, sleep_until

RSS_GROWTH_LIMIT_MB = 5.0  # after warm-up
# an error the daemon reports ("jazz-plugin: error: ...", "internal error"), not a count of them
ERROR_LINE = re.compile(r"\berror\b(?!s \d)", re.IGNORECASE)
NON_COMMERCIAL = 0x7D  # the SysEx manufacturer ID kept for tests
WARMUP_FRACTION = 0.25  # of the run, before the RSS baseline is taken


@dataclass
class SoakResult:
    seconds: float
    actions: int
    notes_sent: int
    notes_received: int
    unmatched: int
    rss_start_mb: float
    rss_end_mb: float
    errors: list[str]
    missed: int
    dropped: int
    exit_code: int
    stuck_input: int = -1  # held input notes released by the stuck-input limit (-1: not shown)
    without_off: int = 0  # note-ons whose note-off never arrived (CC 123 silenced them)
    send_errors: int = -1  # messages the output port refused (-1: not shown)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb

    @property
    def ok(self) -> bool:
        return (self.unmatched == 0 and self.rss_growth_mb < RSS_GROWTH_LIMIT_MB
                and not self.errors and self.exit_code == 0 and self.notes_received > 0
                and self.send_errors <= 0)


class Driver:
    """Random but seeded stage behaviour, each action bounded in time and count."""

    def __init__(self, peer: Peer, clock: ClockSender, rng: random.Random) -> None:
        self.peer, self.clock, self.rng = peer, clock, rng
        self.notes_sent = 0

    def phrase(self) -> None:
        rng = self.rng
        channel = rng.choice([c for c in range(16) if c != 9])
        pitches = [rng.randint(40, 90) for _ in range(rng.randint(2, 10))]
        self.peer.phrase(pitches, step=rng.uniform(0.04, 0.25), channel=channel)
        self.notes_sent += len(pitches)

    def burst(self) -> None:
        """Thousands of notes per second for a moment."""
        send = self.peer.send
        for k in range(self.rng.randint(200, 1500)):
            ch = k % 16
            send(NOTE_ON | ch, 36 + k % 60, 1 + k % 127)
            send(NOTE_OFF | ch, 36 + k % 60, 0)
        self.notes_sent += 1

    def all_channels(self) -> None:
        for ch in range(16):
            self.peer.send(NOTE_ON | ch, 60 + ch, 100)
        time.sleep(0.1)
        for ch in range(16):
            self.peer.send(NOTE_ON | ch, 60 + ch, 0)  # velocity-0 note-on ends a note

    def control(self) -> None:
        name = self.rng.choice(list(DEFAULT_CC))
        value = self.rng.choice([0, 127, 127, self.rng.randint(0, 127)])
        if name == "mode" and self.rng.random() < 0.7:
            value = 0  # mostly call-response, so phrases get answers
        self.peer.send(CONTROL_CHANGE, DEFAULT_CC[name], value)
        if name == "mute" and value >= 64:
            time.sleep(0.2)
            self.peer.send(CONTROL_CHANGE, DEFAULT_CC["mute"], 0)

    def sysex_flood(self) -> None:
        for _ in range(self.rng.randint(10, 100)):
            noise = [self.rng.randint(0, 127) for _ in range(64)]
            self.peer.send(SYSEX_START, NON_COMMERCIAL, *noise, SYSEX_END)

    def strays(self) -> None:
        for _ in range(20):
            self.peer.send(NOTE_OFF | self.rng.randint(0, 15), self.rng.randint(0, 127), 0)

    def clock_change(self) -> None:
        choice = self.rng.random()
        if choice < 0.5:
            self.clock.set_bpm(self.rng.choice([30, 90, 120, 160, 240, 300]))
        elif choice < 0.8:  # the transport stops, and soon plays again from the top
            self.clock.request(STOP)
            time.sleep(self.rng.uniform(0.1, 1.0))
            self.clock.request(START)
        else:
            self.clock.request(SONG_POSITION, 0x7F, 0x7F)  # song position far past any end
            self.clock.request(CONTINUE)  # continue

    def silence(self) -> None:
        time.sleep(self.rng.uniform(0.5, 3.0))

    def act(self) -> None:
        actions = [(self.phrase, 6), (self.silence, 6), (self.control, 3), (self.burst, 1),
                   (self.all_channels, 1), (self.sysex_flood, 1), (self.strays, 1),
                   (self.clock_change, 2)]
        self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]()


def soak(seconds: float, seed: int = 0) -> SoakResult:
    """Run the daemon under random abuse for `seconds`; see SoakResult.ok."""
    daemon = Daemon("--clock", "external", "--seed", str(seed), "--max-bars", "2")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    clock = ClockSender(daemon.client, 120)
    clock.start()
    proc = psutil.Process(daemon.proc.pid)
    rng = random.Random(seed)
    driver = Driver(peer, clock, rng)
    started = time.monotonic()
    end = started + seconds
    warm = started + seconds * WARMUP_FRACTION
    rss_start = None
    actions = 0
    while time.monotonic() < end:
        driver.act()
        actions += 1
        if rss_start is None and time.monotonic() >= warm:
            rss_start = proc.memory_info().rss / 2**20
    rss_end = proc.memory_info().rss / 2**20
    clock.halt.set()
    clock.join()
    sleep_until(time.monotonic() + 0.2)
    exit_code = daemon.stop(15)
    time.sleep(0.2)
    ons, _offs = peer.notes()
    unmatched = len(peer.hanging(all_notes_off=True))
    without_off = len(peer.hanging())
    peer.close()
    log = daemon.stderr
    errors = [ln for ln in log.splitlines() if "Traceback" in ln or ERROR_LINE.search(ln)]
    stats = re.search(r"input dropped (\d+), missed deadlines (\d+)", log)
    dropped, missed = (int(stats.group(1)), int(stats.group(2))) if stats else (-1, -1)
    return SoakResult(time.monotonic() - started, actions, driver.notes_sent, len(ons),
                      unmatched, rss_start or rss_end, rss_end, errors, missed, dropped,
                      exit_code, _stat(log, "stuck input"), _stat(log, "send errors"),
                      without_off)


def _stat(log: str, name: str) -> int:
    """A count from the daemon's closing stats line, -1 if it does not show it."""
    found = re.search(rf"{name} (\d+)", log)
    return int(found.group(1)) if found else -1


def report(r: SoakResult) -> str:
    return "\n".join([
        f"soak: {r.seconds:.0f} s, {r.actions} actions, {r.notes_sent} phrases/notes sent, "
        f"{r.notes_received} notes received",
        f"unmatched note-ons at the end: {r.unmatched} (note-offs lost on the way, silenced "
        f"by the closing CC 123: {r.without_off - r.unmatched})",
        f"RSS after warm-up {r.rss_start_mb:.1f} MB -> end {r.rss_end_mb:.1f} MB "
        f"(growth {r.rss_growth_mb:+.2f} MB, limit {RSS_GROWTH_LIMIT_MB} MB)",
        f"errors in the log: {len(r.errors)}" + (f" (first: {r.errors[0]})" if r.errors else ""),
        f"missed deadlines: {r.missed}; input dropped: {r.dropped}; stuck input released: "
        f"{r.stuck_input}; send errors: {r.send_errors}; exit code {r.exit_code}",
        "PASS" if r.ok else "FAIL",
    ])
