"""The live coder's surface, measured: Link onset error, OSC latency, timing under an OSC flood.

- Link: the daemon on `--clock link` plays solo against our own Link peer, all inside a
  private network namespace (`liverig.in_private_network`); each note-on is compared with
  the peer's beat grid (1/12 beat) at the moment it arrived.
- OSC -> control: `/jazz/temperature` sent, until state out (`--osc-reply`) reports the new
  value; next to it the same change by MIDI CC over JACK, the baseline.
- OSC -> MIDI: `/jazz/panic` sent, until its CC 123 arrives on the daemon's JACK output.
- Onsets under a flood: solo on the internal clock, with and without 10,000 OSC messages a
  second (a fifth of them garbage), against the grid that fits the onsets best.

`python -m bench --only live`, or `python -m bench.live_bench [--quick]` on its own. Runs
on a private JACK server of its own.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time

import numpy as np

from jazz_plugin.live.controls import DEFAULT_CC
from jazz_plugin.live.midispec import ALL_NOTES_OFF
from testrig.jackrig import CC, ROOT, Daemon, JackServer, Peer, wait_for
from testrig.liverig import (
    OscInbox,
    OscSender,
    grid_errors_ms,
    in_private_network,
    osc_datagram,
    osc_port,
)

from .table import Row

SEC = "live"
FLOOD_RATE = 10_000  # OSC messages a second


def link_rows(quick: bool) -> list[Row]:
    rows = []
    for bpm in (120, 240):
        seconds = 6 if quick else 20
        proc = in_private_network([sys.executable, "-m", "testrig.liverig", "link", "--bpm",
                                   str(bpm), "--seconds", str(seconds),
                                   "--daemon-arg=--density", "--daemon-arg=1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=ROOT)
        stdout, stderr = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:  # e.g. not root: no private network, so no Link at all
            why = (stderr.strip().splitlines() or ["?"])[-1]
            rows.append(Row(SEC, f"Link onset error at {bpm} BPM", math.nan, unit="ms",
                            note=f"not measured: {why}"))
            continue
        out = json.loads(stdout)
        errors = np.abs(grid_errors_ms(out, out["events"]["measure"]))
        rows.append(Row(SEC, f"Link onset error at {bpm} BPM", float(np.median(errors)),
                        float(np.percentile(errors, 99)), "ms",
                        note=f"max {errors.max():.2f} ms, n={len(errors)}; |note-on - peer's "
                        "1/12-beat grid|, private netns"))
    return rows


def osc_rows(quick: bool) -> list[Row]:
    n = 40 if quick else 200
    inbox = OscInbox()
    d = Daemon("--osc", "0", "--osc-reply", f"127.0.0.1:{inbox.port}")
    d.wait_ready()
    peer = Peer(d.client)
    osc = OscSender(osc_port(d.stderr))
    cc_lat, osc_lat, panic_lat = [], [], []
    try:
        assert wait_for(lambda: inbox.values("temperature"), 5)
        for i in range(n):
            value = 0.5 if i % 2 else 0.75
            t0 = osc.send("/jazz/temperature", value)
            assert wait_for(lambda v=value, t=t0: inbox.first("temperature", v, t), 2, 0.001)
            osc_lat.append(inbox.first("temperature", value, t0) - t0)
            cc = 127 if i % 2 else 0  # temperature 2.0 or 0.1
            t0 = time.monotonic()
            peer.send(CC, DEFAULT_CC["temperature"], cc)
            want = 0.1 + 1.9 * cc / 127
            if wait_for(lambda v=want, t=t0: inbox.first("temperature", v, t), 2, 0.001):
                cc_lat.append(inbox.first("temperature", want, t0) - t0)
            t0 = osc.send("/jazz/panic")
            panic = [CC, ALL_NOTES_OFF, 0]
            if wait_for(lambda t=t0, p=panic: any(m == p for s, m in list(peer.received)
                                                   if s >= t), 2, 0.001):
                panic_lat.append(min(s for s, m in list(peer.received)
                                     if s >= t0 and m == panic) - t0)
            time.sleep(0.01)
    finally:
        d.stop()
        peer.close()
        osc.close()
        inbox.close()
    base = float(np.median(cc_lat)) * 1e3
    rows = [Row(SEC, "MIDI CC -> control changed (state out)", base,
                float(np.percentile(cc_lat, 99)) * 1e3, "ms", 1.0,
                f"n={len(cc_lat)}; JACK in, OSC reply out (baseline)"),
            Row(SEC, "OSC -> control changed (state out)", float(np.median(osc_lat)) * 1e3,
                float(np.percentile(osc_lat, 99)) * 1e3, "ms",
                float(np.median(osc_lat)) * 1e3 / base, f"n={len(osc_lat)}; /jazz/temperature"),
            Row(SEC, "OSC /jazz/panic -> CC 123 on the MIDI output",
                float(np.median(panic_lat)) * 1e3, float(np.percentile(panic_lat, 99)) * 1e3,
                "ms", note=f"n={len(panic_lat)}; through JACK")]
    return rows


def _fit_grid_errors_ms(onsets: list[float], tick: float) -> np.ndarray:
    """Distance of each onset from the grid of step `tick` whose phase fits them best."""
    t = np.asarray(onsets)
    angle = 2 * np.pi * (t % tick) / tick
    phase = np.angle(np.mean(np.exp(1j * angle))) / (2 * np.pi) * tick
    k = np.round((t - phase) / tick)
    return (t - phase - k * tick) * 1e3


def flood_rows(quick: bool) -> list[Row]:
    bpm, seconds = 120, 4 if quick else 10
    tick = 60 / bpm / 12
    d = Daemon("--bpm", str(bpm), "--mode", "solo", "--density", "1", "--seed", "4", "--osc",
               "0")
    d.wait_ready()
    peer = Peer(d.client)
    osc = OscSender(osc_port(d.stderr))
    flood = [osc_datagram("/jazz/density", 1.0), b"junk", osc_datagram("/jazz/x", 1),
             osc_datagram("/jazz/swing", 5.0), osc_datagram("/jazz/develop", 0.5)]
    try:
        time.sleep(1.0)
        t_quiet = time.monotonic()
        time.sleep(seconds)
        t_flood = time.monotonic()
        done = threading.Event()

        def send() -> None:
            total = int(FLOOD_RATE * seconds)
            for i in range(total):
                osc.raw(flood[i % len(flood)])
                if i % 100 == 99:
                    time.sleep(max(0.0, t_flood + (i + 1) / FLOOD_RATE - time.monotonic()))
            done.set()

        threading.Thread(target=send, daemon=True).start()
        done.wait(seconds * 3)
        t_end = time.monotonic()
    finally:
        d.stop()
        peer.close()
        osc.close()
    ons, _ = peer.notes()
    quiet = [t for t, *_ in ons if t_quiet <= t < t_flood]
    flooded = [t for t, *_ in ons if t_flood <= t < t_end]
    stats = next((ln for ln in d.lines if "OSC received" in ln), "")
    rows = []
    for name, onsets in (("onset error, no OSC", quiet),
                         (f"onset error, OSC flood {FLOOD_RATE:,}/s", flooded)):
        e = np.abs(_fit_grid_errors_ms(onsets, tick))
        rows.append(Row(SEC, name, float(np.median(e)), float(np.percentile(e, 99)), "ms",
                        note=f"n={len(e)}; solo, internal clock {bpm} BPM" + (
                            f"; {stats.split('stats: ')[-1]}" if "flood" in name else "")))
    return rows


def run(quick: bool) -> list[Row]:
    with JackServer():
        return link_rows(quick) + osc_rows(quick) + flood_rows(quick)


if __name__ == "__main__":
    from .table import render

    print(render(run("--quick" in sys.argv)))
