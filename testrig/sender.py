"""A separate process that plays to the daemon, so the bench's listener shares no GIL with it.

`python -m testrig.sender clock BPM SECONDS PORT`: start, then 24 PPQN; prints pulse times.
`python -m testrig.sender sixteenths BPM SECONDS PORT`: a stream of sixteenth notes.
`python -m testrig.sender ids BPM SECONDS PORT`: a note-on each pulse interval, numbered k by
(pitch, velocity) = (k % 128, k // 128 + 1); prints their send times.
Times are CLOCK_MONOTONIC seconds, comparable across processes.
"""

from __future__ import annotations

import sys
import time

import rtmidi

from jazz_plugin.live.midispec import CLOCK, NOTE_OFF, NOTE_ON, START


def main(kind: str, bpm: float, seconds: float, port: str) -> None:
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"sender-{kind}")
    deadline = time.monotonic() + 10
    while port not in out.get_ports():
        if time.monotonic() > deadline:
            sys.exit(f"port {port!r} not found")
        time.sleep(0.05)
    out.open_port(out.get_ports().index(port), "out")
    time.sleep(0.2)
    sent = []
    if kind == "clock":
        out.send_message([START])
        interval = 60 / bpm / 24
    elif kind == "ids":
        interval = 60 / bpm / 24
    else:
        interval = 60 / bpm / 4
    start = time.monotonic() + 0.01
    end = start + seconds
    k = 0
    while True:
        t = start + k * interval  # absolute deadlines
        if t > end:
            break
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if kind == "clock":
            out.send_message([CLOCK])
            sent.append(time.monotonic())
        elif kind == "ids":
            out.send_message([NOTE_ON, k % 128, k // 128 + 1])
            sent.append(time.monotonic())
        else:
            pitch = 60 + (k * 5) % 12
            out.send_message([NOTE_ON, pitch, 90])
            time.sleep(interval * 0.6)
            out.send_message([NOTE_OFF, pitch, 0])
        k += 1
    out.delete()
    print(" ".join(f"{t:.6f}" for t in sent))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
