"""Trading on a DAW's clock over real JACK ports: a peer sends MIDI clock (Start, a Song
Position Pointer, then 24 PPQN) and plays calls in the musician's turns; the daemon trades N
bars with it over a chart, or over the same chords comped live on channel 2 an eighth early
(`comp=True`), as a pianist would. What the peer heard is measured against the pulses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin.live.midispec import NOTE_OFF, NOTE_ON, PULSES_PER_QUARTER, SONG_POSITION
from jazz_plugin.music.harmony import parse_chart

from .jackrig import SEND_GAP, ClockSender, Daemon, Peer, every_note_closed, sleep_until

PULSES_PER_BAR = 4 * PULSES_PER_QUARTER
CHART = "| Dm7 | G7 | Cmaj7 | A7 |"
CALL = [62, 65, 69, 72, 71, 67, 65, 62]  # a Dm7-G7 line, eighths
CHORD_CHANNEL = 2  # the comped chords' channel (1-based)
COMP_LOW = 48  # comped voicings: the chord's pitch classes from C3 up


@dataclass
class TradeResult:
    """What the peer saw: answers per turn, first-note errors, overlaps, chord tones."""

    first_errors_ms: list[float] = field(default_factory=list)
    overlaps: int = 0  # answer notes sounding in a musician's turn
    answers: int = 0
    strong: int = 0  # answer notes on beats 1 and 3
    strong_tones: int = 0  # ... that are chord tones of the chart
    hanging: set = field(default_factory=set)  # sounding at the end, at the peer
    closed: bool = False  # the daemon's own account: a note-off for every note-on
    stderr: str = ""
    exit_code: int = 0
    ons: list = field(default_factory=list)  # (time, channel, pitch) the peer heard
    sent: list = field(default_factory=list)  # (time, message) the peer played
    pulses: list = field(default_factory=list)  # when each clock pulse was sent


def comp_events(changes, t0: float, beat: float, bars: int,
                early: float = 0.5) -> list[tuple[float, list[int]]]:
    """The chart's chords comped on CHORD_CHANNEL: each struck `early` beats before its
    change and held until the next is struck, as a pianist pushes the changes."""
    on, off = NOTE_ON | (CHORD_CHANNEL - 1), NOTE_OFF | (CHORD_CHANNEL - 1)
    events, held = [], []
    span = changes.loop_ticks or changes.end
    for rep in range(-(-bars * 48 // span)):
        for seg in changes:
            tick = rep * span + seg.start
            if tick >= bars * 48:
                break
            t = max(t0 + (tick / 12 - early) * beat, t0)
            events += [(t, [off, p, 0]) for p in held]
            held = [COMP_LOW + (pc - COMP_LOW) % 12 for pc in range(12) if seg.chord.mask >> pc & 1]
            events += [(t, [on, p, 70]) for p in held]
    end = t0 + bars * 4 * beat
    return events + [(end, [off, p, 0]) for p in held]


def call_events(t0: float, beat: float, bars: int, rounds: int,
                length: float = 0.7) -> list[tuple[float, list[int]]]:
    """The call in each of the musician's turns: eighths, a 32nd after the grid."""
    events = []
    turn = bars * 4 * beat
    for r in range(rounds):
        for i, p in enumerate(CALL[: int(bars * 4)] * 2):
            start = t0 + 2 * r * turn + beat / 8 + i * beat / 2
            events += [(start, [NOTE_ON, p, 100]), (start + length * beat / 2, [NOTE_OFF, p, 0])]
    return events


def trade_session(bpm: float, bars: int = 2, rounds: int = 2, chart: str = CHART,
                  comp: bool = False, args: tuple[str, ...] = (),
                  stop_in_answer: int | None = None) -> TradeResult:
    """Trade `rounds` times (musician's turn, then ours) at `bpm` on an external clock, over
    the chart given as `--changes` or comped live (`comp`); `stop_in_answer=r`: SIGTERM in
    the middle of answer r (0-based)."""
    changes = parse_chart(chart)
    harmony = (("--chord-channel", str(CHORD_CHANNEL)) if comp else ("--changes", chart))
    daemon = Daemon("--mode", "trade", "--trade-bars", str(bars), "--clock", "external",
                    *harmony, "--seed", "3", *args)
    daemon.wait_ready()
    peer = Peer(daemon.client)
    clock = ClockSender(daemon.client, bpm)
    beat = 60 / bpm
    turn = bars * 4 * beat
    sent: list = []
    try:
        clock.request(SONG_POSITION, 0, 0)  # bar 1, as a DAW sends before playing
        clock.start()
        while not clock.pulses:
            time.sleep(0.001)
        t0 = clock.pulses[0]  # tick 0: the first bar line
        events = call_events(t0, beat, bars, rounds)
        if comp:
            events += comp_events(changes, t0, beat, 2 * rounds * bars)
        stop = None if stop_in_answer is None else t0 + (2 * stop_in_answer + 1.5) * turn
        last = 0.0
        for t, msg in sorted(events, key=lambda e: e[0]):
            if stop is not None and t >= stop:
                break
            sleep_until(max(t, last + SEND_GAP))  # JACK via rtmidi garbles back-to-back sends
            peer.send(*msg)
            last = time.monotonic()
            sent.append((last, msg))
        sleep_until(t0 + 2 * rounds * turn + beat if stop is None else stop)
        pulses = list(clock.pulses)
    finally:
        clock.halt.set()
        clock.join(2)
        result = TradeResult()
        result.exit_code = daemon.stop()
        time.sleep(0.05)
        result.hanging = peer.hanging()
        result.closed = every_note_closed(daemon.stderr)
        result.stderr = daemon.stderr
        ons, offs = peer.notes()
        peer.close()
    result.ons, result.sent, result.pulses = ons, sent, pulses
    pulse = np.asarray(pulses)

    def bar_time(k: int) -> float:
        return float(pulse[k * PULSES_PER_BAR])

    for r in range(rounds):
        ours = (2 * r + 1) * bars  # first bar of our turn
        if (ours + bars) * PULSES_PER_BAR >= len(pulse):
            break  # stopped before this turn ended
        begin, end = bar_time(ours), bar_time(ours + bars)
        notes = [(t, p) for t, _ch, p in ons if bar_time(ours - bars) <= t < end]
        mine = [(t, p) for t, p in notes if t >= begin - 0.05]
        if not mine:
            continue
        result.answers += 1
        result.first_errors_ms.append((mine[0][0] - begin) * 1000)
        result.overlaps += sum(1 for t, _p in notes if t < begin - 0.05)
        result.overlaps += sum(1 for t, _ch, _p in offs if end + 0.01 < t < end + turn)
        for t, p in mine:
            k = int(np.argmin(np.abs(pulse - t)))  # the nearest pulse: 2 grid ticks each
            tick = k // 2
            if tick % 24 == 0 and abs(pulse[k] - t) < 0.01:
                chord, _next = changes.at(tick)
                result.strong += 1
                result.strong_tones += bool(chord >> (p % 12) & 1)
    return result
