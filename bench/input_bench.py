"""How true the daemon's input times are: each message's time against when it was sent.

A sender in another process sends a numbered note-on every 10 ms and prints when it sent
each; a receiver here stamps them the old way (a Python callback on
JACK's process thread, `time.monotonic()` when it gets the GIL) and the new way (rtmidi's
queue read by a thread, times rebuilt from JACK's deltas: `midiinput.Stamps`). While it
listens, a thread here keeps the GIL busy, as the daemon's answer search does, and under
"hogged" two busy processes take both cores. The baseline row is the callback's.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import rtmidi

from jazz_plugin.live.midiinput import RTMIDI_QUEUE_SIZE, InputReader
from jazz_plugin.live.midispec import NOTE_ON
from testrig.hogs import CpuHogs

from .daemon_bench import _sender
from .table import Row

BPM = 250  # a message every 10 ms (a clock pulse apart)


def _busy_gil(halt: threading.Event) -> None:
    """Pure Python work, like a candidate search: it holds the GIL for a switch interval."""
    x = 0
    while not halt.is_set():
        for i in range(10000):
            x += i * i


def _errors_ms(how: str, seconds: float) -> tuple[np.ndarray, int]:
    """Stamp - send time of each message received (ms), and how many never came."""
    client = f"stamp-{uuid.uuid4().hex[:6]}"
    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client, queue_size_limit=RTMIDI_QUEUE_SIZE)
    midi_in.ignore_types(sysex=False, timing=False, active_sense=False)
    midi_in.open_virtual_port("in")
    got: list[tuple[float, list[int]]] = []
    reader = None
    if how == "callback":
        midi_in.set_callback(lambda ev, _d: got.append((time.monotonic(), ev[0])))
    else:
        reader = InputReader(midi_in, lambda t, m: got.append((t, m)))
    halt = threading.Event()
    busy = threading.Thread(target=_busy_gil, args=(halt,), daemon=True)
    busy.start()
    try:
        sent = _sender("ids", BPM, seconds, f"{client}:in")
        time.sleep(0.1)
    finally:
        halt.set()
        busy.join()
        if reader is not None:
            reader.stop()
        else:
            midi_in.cancel_callback()
            time.sleep(0.02)
        midi_in.delete()
    err = [t - sent[m[1] + 128 * (m[2] - 1)] for t, m in got
           if len(m) == 3 and m[0] == NOTE_ON and m[1] + 128 * (m[2] - 1) < len(sent)]
    return np.asarray(err) * 1e3, len(sent) - len(err)


def run(quick: bool) -> list[Row]:
    seconds = 4.0 if quick else 20.0
    rows = []
    for load in ("quiet", "hogged"):
        with CpuHogs(2 if load == "hogged" else 0):
            for how in ("callback", "reader"):
                err, lost = _errors_ms(how, seconds)
                a = np.abs(err)
                name = ("Python callback, monotonic() (before)" if how == "callback"
                        else "rtmidi queue + reader, JACK's times (now)")
                rows.append(Row(f"input stamp - send, {load}", name, float(np.median(a)),
                                float(np.percentile(a, 99)), "ms",
                                note=f"max {a.max():.2f} ms, n={len(a)}, lost {lost}; GIL busy here"
                                + ("; 2 busy processes" if load == "hogged" else "")))
    return rows
