"""`jazz-plugin run`: open the ports, then loop: drain input, poll the improviser, wait.

The loop waits on an event that the MIDI callback sets, with a timeout that ends at the
next deadline, so it sleeps while idle and wakes on time. Whatever ends the loop (Ctrl-C,
SIGTERM, an error) passes through one `finally` that silences every note.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from dataclasses import dataclass

from .clock import ExternalClock, InternalClock
from .controls import Controls, load_config, parse_cc_options
from .engine import Engine
from .errors import ConfigError
from .improviser import MODES, Improviser, Settings
from .output import Output
from .ports import InputQueue, MidiPorts, resolve_api
from .sampling import Sampler
from .status import StatusLine

FLUSH_DELAY = 0.03  # seconds to let the MIDI server deliver our last messages before closing
PORT_CHECK_EVERY = 1.0  # seconds between checks of the MIDI server and named ports
SERVER_WAIT = 30.0  # seconds to wait for a lost JACK server before giving up
RUN_DEFAULTS = {"model": None, "in_port": None, "out_port": None, "api": "auto",
                "client_name": "jazz-plugin", "mode": "call-response", "bpm": 120.0,
                "clock": "internal", "channel": 1, "velocity": 80, "low": 48, "high": 84,
                "phrase_end": 4.0, "answer_on": "beat", "min_bars": 1, "max_bars": 8,
                "thru": False, "temperature": None, "top_k": None, "top_p": None,
                "argmax": False, "seed": None}


@dataclass
class Stopper:
    """Set by SIGINT/SIGTERM; the loop checks it after every wake."""

    reason: str = ""

    def __call__(self, signum: int, _frame: object) -> None:
        self.reason = signal.Signals(signum).name


def resolve_options(args: argparse.Namespace) -> dict:
    """Defaults < config file < command line. Unknown config keys are refused."""
    opts = dict(RUN_DEFAULTS)
    cc: dict[str, int] = {}
    if args.config:
        data = load_config(args.config)
        cc.update(data.pop("cc", {}))
        for key, value in data.items():
            key = key.replace("-", "_")
            if key not in RUN_DEFAULTS:
                raise ConfigError(f"config {args.config!r}: unknown option {key!r}")
            opts[key] = value
    for key in RUN_DEFAULTS:
        value = getattr(args, key, None)
        if value is not None and value is not False:
            opts[key] = value
    cc.update(parse_cc_options(args.cc))
    opts["cc"] = cc
    _validate(opts)
    return opts


def _validate(o: dict) -> None:
    def need(ok: bool, text: str) -> None:
        if not ok:
            raise ConfigError(text)

    need(o["mode"] in MODES, f"mode must be one of {', '.join(MODES)}, got {o['mode']!r}")
    need(o["clock"] in ("internal", "external"), f"clock must be internal or external, "
         f"got {o['clock']!r}")
    need(isinstance(o["bpm"], (int, float)) and 20 <= o["bpm"] <= 400,
         f"bpm must be 20..400, got {o['bpm']!r}")
    need(isinstance(o["channel"], int) and 1 <= o["channel"] <= 16,
         f"channel must be 1..16, got {o['channel']!r}")
    need(isinstance(o["velocity"], int) and 1 <= o["velocity"] <= 127,
         f"velocity must be 1..127, got {o['velocity']!r}")
    need(isinstance(o["low"], int) and isinstance(o["high"], int)
         and 0 <= o["low"] and o["high"] <= 127 and o["high"] - o["low"] >= 11,
         f"low {o['low']!r} .. high {o['high']!r} must be MIDI pitches spanning an octave")
    need(isinstance(o["phrase_end"], (int, float)) and 0.25 <= o["phrase_end"] <= 64,
         f"phrase_end must be 0.25..64 beats, got {o['phrase_end']!r}")
    need(o["answer_on"] in ("beat", "bar"), f"answer_on must be beat or bar, got "
         f"{o['answer_on']!r}")
    need(isinstance(o["min_bars"], int) and isinstance(o["max_bars"], int)
         and 1 <= o["min_bars"] <= o["max_bars"] <= 64,
         f"need 1 <= min_bars <= max_bars <= 64, got {o['min_bars']!r}, {o['max_bars']!r}")


def run_daemon(args: argparse.Namespace) -> int:
    """The main job. Returns the exit code."""
    o = resolve_options(args)
    sampler = Sampler.from_options(o["temperature"], o["top_k"], o["top_p"], o["argmax"],
                                   o["seed"])
    controls = Controls(o["cc"])
    engine = Engine(o["model"])  # a bad model is refused before any port opens
    api = resolve_api(o["api"])
    queue = InputQueue()
    ports = MidiPorts(api, o["client_name"], o["in_port"], o["out_port"], queue)
    status = StatusLine(quiet=args.quiet, verbose=args.verbose)
    now = time.monotonic()
    clock = (ExternalClock if o["clock"] == "external" else InternalClock)(o["bpm"], now)
    output = Output(ports.send, o["channel"] - 1)
    settings = Settings(mode=o["mode"], channel=o["channel"] - 1, velocity=o["velocity"],
                        low=o["low"], high=o["high"], phrase_end_beats=float(o["phrase_end"]),
                        answer_on=o["answer_on"], min_bars=o["min_bars"],
                        max_bars=o["max_bars"], thru=bool(o["thru"]))
    imp = Improviser(engine, sampler, settings, clock, output, controls, log=status.log,
                     verbose=args.verbose)
    stopper = Stopper()

    def on_signal(signum: int, frame: object) -> None:
        stopper(signum, frame)
        queue.wakeup.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    ports_text = (f"in={o['in_port'] or o['client_name'] + '-in:jazz-in'} "
                  f"out={o['out_port'] or o['client_name'] + '-out:jazz-out'}")
    # grid-origin: the monotonic time of tick 0, so other programs can check our timing
    status.ready(f"ready: {ports_text} mode={settings.mode} clock={clock.source} "
                 f"{clock.bpm:.0f} BPM model={engine.path} grid-origin={clock.time_of(0):.6f}")
    code = 0
    try:
        imp.start(time.monotonic())
        _loop(imp, queue, stopper, status, ports_text, ports)
        status.log(f"stopping ({stopper.reason}): all notes off")
    except ServerLost as e:
        status.error(str(e))
        code = 1
    except Exception as e:
        status.error(f"internal error: {type(e).__name__}: {e}; all notes closed")
        if args.verbose:
            traceback.print_exc()
        code = 1
    finally:
        imp.shutdown()
        time.sleep(FLUSH_DELAY)
        st = imp.status
        status.log(f"stats: notes in {st.notes_in}, out {st.notes_out}, answers {st.answers}, "
                   f"input dropped {queue.dropped}, missed deadlines {imp.sched.missed}")
        status.close()
        for s, handler in old.items():
            signal.signal(s, handler)
        ports.close()
    return code


class ServerLost(Exception):
    """The MIDI server went away and did not come back in time."""


def _loop(imp: Improviser, queue: InputQueue, stopper: Stopper, status: StatusLine,
          ports_text: str, ports: MidiPorts) -> None:
    wakeup = queue.wakeup
    next_check = time.monotonic() + PORT_CHECK_EVERY
    lost_since: float | None = None
    while not stopper.reason:
        wakeup.clear()
        for t, data in queue.drain():
            imp.on_midi(t, data)
        now = time.monotonic()
        imp.poll(now)
        if status.due(now):
            status.show(imp, ports_text, queue.dropped, imp.sched.missed)
        if now >= next_check:
            next_check = now + PORT_CHECK_EVERY
            lost_since = _handle_port_events(ports.check(), imp, status, lost_since, now)
        wake = imp.next_wakeup(now)
        limits = [t for t in (wake, status.next_time(), next_check) if t is not None]
        timeout = max(0.0, min(limits) - time.monotonic())
        if not stopper.reason:
            wakeup.wait(timeout)


def _handle_port_events(events: list[str], imp: Improviser, status: StatusLine,
                        lost_since: float | None, now: float) -> float | None:
    """Log and act on what MidiPorts.check saw; returns since when the server is gone."""
    for event in events:
        if event == "server-gone":
            imp.panic("MIDI server lost")
            status.log("the JACK server went away: notes closed; waiting for it to come back")
            lost_since = lost_since or now
        elif event == "reconnected":
            status.log("the JACK server is back: ports reopened")
            lost_since = None
        elif event.endswith("-lost"):
            imp.panic(f"{'input' if event == 'in-lost' else 'output'} port lost")
            status.log(f"{'input' if event == 'in-lost' else 'output'} port went away; "
                       "waiting for it")
        elif event.endswith("-back"):
            status.log(f"{'input' if event == 'in-back' else 'output'} port is back: "
                       "reconnected")
        elif event.startswith("reconnect-failed"):
            status.log(event)
    if lost_since is not None and now - lost_since > SERVER_WAIT:
        raise ServerLost(f"the JACK server went away and did not come back within "
                         f"{SERVER_WAIT:.0f} s; all notes were closed")
    return lost_since


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: jazz-plugin run")
