"""The daemon over real JACK ports: start-up, memory, idle CPU, latency and onset timing.

Onset error is measured against each note's intended time: where the daemon prints the
monotonic time of its grid's tick 0 (`grid-origin=`, CLOCK_MONOTONIC is shared by all
processes), a note at tick k was meant for `origin + k * tick`; where it does not, against
the best-fit grid of its own onsets (jitter only, the rows say so). With external clock, tick k was
meant for the moment the bench sent the clock pulse that marks it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import psutil

from jazz_plugin.live.midispec import ALL_NOTES_OFF, CONTROL_CHANGE
from testrig.jackrig import Daemon, Peer, grid_origin_from, sleep_until, wait_for

from .table import Row


def _errors_ms(onsets: list[float], origin: float, tick: float) -> np.ndarray:
    k = np.round((np.asarray(onsets) - origin) / tick)
    return (np.asarray(onsets) - (origin + k * tick)) * 1e3


def _onset_rows(sec: str, name: str, errors_ms: np.ndarray, note: str) -> Row:
    a = np.abs(errors_ms)
    return Row(sec, name, float(np.median(a)), float(np.percentile(a, 99)), "ms",
               note=f"max {a.max():.2f} ms, n={len(a)}; {note}")


def _origin(d: Daemon, onsets: list[float], tick: float) -> tuple[float, str]:
    """The daemon's grid origin, or (if it printed none) the best-fit grid of its onsets,
    which hides any constant offset: the note says so."""
    if d.grid_origin is not None:
        return d.grid_origin, ""
    return grid_origin_from(onsets, tick), " (vs best-fit grid: no grid-origin printed)"


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _uss_mb(pid: int) -> float:
    """Memory private to the process: RSS less shared pages such as JACK's server segment."""
    return psutil.Process(pid).memory_full_info().uss / 2**20


def startup_and_idle(quick: bool) -> list[Row]:
    sec = "daemon"
    starts, rss, uss = [], [], []
    for _ in range(1 if quick else 3):
        d = Daemon()
        d.wait_ready()
        starts.append(d.ready_at - d.started)
        rss.append(_rss_mb(d.proc.pid))
        uss.append(_uss_mb(d.proc.pid))
        d.stop()
    rows = [Row(sec, "cold start to ports open", float(np.median(starts)), max(starts), "s",
                note=f"n={len(starts)}, process start to 'ready'"),
            Row(sec, "RSS after start", float(np.median(rss)), unit="MB",
                note="includes JACK's shared server memory"),
            Row(sec, "USS after start (private memory)", float(np.median(uss)), unit="MB",
                note="RSS less shared pages")]
    d = Daemon()
    d.wait_ready()
    proc = psutil.Process(d.proc.pid)
    window = 3.0 if quick else 10.0
    time.sleep(0.5)
    before = proc.cpu_times()
    t0 = time.monotonic()
    time.sleep(window)
    after = proc.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) / (time.monotonic() - t0)
    rows.append(Row(sec, f"idle CPU over {window:.0f} s", cpu * 100, unit="%"))
    d.stop()
    return rows


def latency(quick: bool) -> list[Row]:
    """Phrase end (last note-off + one bar) -> first answer note, and that note's error."""
    bpm = 120
    d = Daemon("--bpm", str(bpm), "--seed", "0", "--max-bars", "1")
    d.wait_ready()
    peer = Peer(d.client)
    lat, firsts = [], []
    for _ in range(2 if quick else 6):
        start = time.monotonic()
        last_off = peer.phrase([60, 62, 64, 67, 69, 67, 64, 62], step=0.125)
        phrase_end = last_off + 4 * 60 / bpm
        if wait_for(lambda s=start: peer.notes(s)[0], 6):
            t_first = peer.notes(start)[0][0][0]
            lat.append((t_first - phrase_end) * 1e3)
            firsts.append(t_first)
        sleep_until(time.monotonic() + 2.2)  # the rest of the one-bar answer
    d.stop()
    peer.close()
    tick = 60 / bpm / 12
    origin, how = _origin(d, [t for t, _ch, _p in peer.notes()[0]], tick)
    first_err = _errors_ms(firsts, origin, tick)
    sec = "answer"
    return [Row(sec, "phrase end -> first answer note", float(np.median(lat)), max(lat), "ms",
                note=f"n={len(lat)}; waits for the next beat (<= 500 ms at 120 BPM)"),
            Row(sec, "first answer note vs its beat", float(np.median(np.abs(first_err))),
                float(np.max(np.abs(first_err))), "ms",
                note="the latency the daemon adds" + how)]


def onsets_internal(quick: bool, bpm: float, seconds: float, sixteenths_in: bool) -> list[Row]:
    """Solo (or duet fed sixteenths) at a tempo; every note-on against its intended time."""
    mode = "duet" if sixteenths_in else "solo"
    d = Daemon("--bpm", str(bpm), "--mode", mode, "--seed", "0")
    d.wait_ready()
    peer = Peer(d.client)
    rss0 = _rss_mb(d.proc.pid)
    t_end = time.monotonic() + seconds
    if sixteenths_in:  # a steady stream of sixteenth notes steering the model
        _sender("sixteenths", bpm, seconds, f"{d.client}-in:jazz-in")
    sleep_until(t_end)
    rss1 = _rss_mb(d.proc.pid)
    uss1 = _uss_mb(d.proc.pid)
    d.stop()
    peer.close()
    ons = [t for t, _ch, _p in peer.notes()[0]]
    sec = f"onsets {bpm:.0f} BPM {mode}"
    note = f"{seconds:.0f} s; input sixteenths" if sixteenths_in else f"{seconds:.0f} s"
    origin, how = _origin(d, ons, 60 / bpm / 12)
    rows = [_onset_rows(sec, "|onset error| internal clock",
                        _errors_ms(ons, origin, 60 / bpm / 12), note + how)]
    rows.append(Row(sec, f"RSS after {seconds:.0f} s of playing", rss1, unit="MB",
                    note=f"{rss1 - rss0:+.1f} MB since start; USS {uss1:.1f} MB"))
    return rows


def onsets_external(quick: bool, bpm: float, seconds: float) -> list[Row]:
    d = Daemon("--clock", "external", "--mode", "solo", "--seed", "0")
    d.wait_ready()
    peer = Peer(d.client)
    pulses = np.asarray(_sender("clock", bpm, seconds, f"{d.client}-in:jazz-in"))
    time.sleep(0.1)
    d.stop()
    peer.close()
    ons = np.asarray([t for t, _ch, _p in peer.notes()[0]])
    ons = ons[ons <= pulses[-1] + 0.005]  # after the bench stops its clock nothing is "meant"
    # tick k is marked by pulse 2k (the first pulse after start is tick 0)
    even = pulses[::2]
    idx = np.abs(ons[:, None] - even[None, :]).argmin(axis=1)
    err = (ons - even[idx]) * 1e3
    return [_onset_rows(f"onsets {bpm:.0f} BPM ext", "|onset error| vs sent clock pulse",
                        err, f"{seconds:.0f} s, solo")]


def signal_to_silence(quick: bool) -> list[Row]:
    """SIGINT/SIGTERM mid-line -> the last CC 123 at the peer (the promise is 50 ms)."""
    import signal

    rows = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        delays = []
        for k in range(2 if quick else 5):
            d = Daemon("--mode", "solo", "--bpm", "200", "--seed", str(k))
            d.wait_ready()
            peer = Peer(d.client)
            time.sleep(0.7 + 0.13 * k)
            sent = time.monotonic()
            d.proc.send_signal(sig)
            wait_for(lambda p=peer: [CONTROL_CHANGE, ALL_NOTES_OFF, 0] in p.controls(), 2)
            got = [t for t, m in peer.received if m == [CONTROL_CHANGE, ALL_NOTES_OFF, 0]]
            delays.append((got[-1] - sent) * 1e3 if got else float("nan"))
            d.stop()
            peer.close()
        rows.append(Row("shutdown", f"{signal.Signals(sig).name} -> CC 123 received",
                        float(np.median(delays)), float(np.max(delays)), "ms",
                        note=f"n={len(delays)}, p99 column = max"))
    return rows


def _sender(kind: str, bpm: float, seconds: float, port: str) -> list[float]:
    """Play from another process (no shared GIL with our listener); returns its send times."""
    out = subprocess.run([sys.executable, "-m", "testrig.sender", kind, str(bpm), str(seconds),
                          port], capture_output=True, text=True, timeout=seconds + 30,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return [float(t) for t in out.stdout.split()]


def run(quick: bool) -> list[Row]:
    seconds = 8.0 if quick else 60.0
    rows = startup_and_idle(quick)
    rows += latency(quick)
    rows += onsets_internal(quick, 120, seconds, sixteenths_in=False)
    rows += onsets_internal(quick, 240, 8.0 if quick else 30.0, sixteenths_in=True)
    rows += onsets_external(quick, 120, 8.0 if quick else 30.0)
    rows += signal_to_silence(quick)
    return rows
