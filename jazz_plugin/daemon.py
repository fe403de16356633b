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
from .ports import InputQueue, find_port, open_input, open_output, port_exists, resolve_api
from .sampling import Sampler
from .status import StatusLine

FLUSH_DELAY = 0.03  # seconds to let the MIDI server deliver our last messages before closing
PORT_CHECK_EVERY = 1.0  # seconds between checks that named ports are still there
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


def run_daemon(args: argparse.Namespace, sampler: Sampler) -> int:
    """The main job. Returns the exit code."""
    o = resolve_options(args)
    if o["temperature"] is not None:
        sampler.temperature = float(o["temperature"])
    if o["top_k"] is not None:
        sampler.top_k = int(o["top_k"])
    if o["top_p"] is not None:
        sampler.top_p = float(o["top_p"])
    sampler.argmax = sampler.argmax or bool(o["argmax"])
    if o["seed"] is not None and args.seed is None:
        sampler.rng = Sampler(seed=int(o["seed"])).rng
    controls = Controls(o["cc"])
    engine = Engine(o["model"])  # a bad model is refused before any port opens
    api = resolve_api(o["api"])
    queue = InputQueue()
    midi_out = open_output(api, o["client_name"], o["out_port"])
    try:
        midi_in = open_input(api, o["client_name"], o["in_port"], queue)
    except BaseException:
        midi_out.delete()
        raise
    status = StatusLine(quiet=args.quiet, verbose=args.verbose)
    now = time.monotonic()
    clock = (ExternalClock if o["clock"] == "external" else InternalClock)(o["bpm"], now)
    output = Output(midi_out.send_message, o["channel"] - 1)
    settings = Settings(mode=o["mode"], channel=o["channel"] - 1, velocity=o["velocity"],
                        low=o["low"], high=o["high"], phrase_end_beats=float(o["phrase_end"]),
                        answer_on=o["answer_on"], min_bars=o["min_bars"],
                        max_bars=o["max_bars"], thru=bool(o["thru"]))
    imp = Improviser(engine, sampler, settings, clock, output, controls, log=status.log)
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
        _loop(imp, queue, stopper, status, ports_text, midi_in, midi_out, o)
        status.log(f"stopping ({stopper.reason}): all notes off")
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
        midi_in.cancel_callback()
        midi_in.delete()
        midi_out.delete()
    return code


def _loop(imp: Improviser, queue: InputQueue, stopper: Stopper, status: StatusLine,
          ports_text: str, midi_in, midi_out, o: dict) -> None:
    wakeup = queue.wakeup
    next_check = time.monotonic() + PORT_CHECK_EVERY
    in_lost = out_lost = False
    while not stopper.reason:
        wakeup.clear()
        for t, data in queue.drain():
            imp.on_midi(t, data)
        now = time.monotonic()
        imp.poll(now)
        if status.due(now):
            status.show(imp, ports_text, queue.dropped, imp.sched.missed)
        if now >= next_check and (o["in_port"] or o["out_port"]):
            next_check = now + PORT_CHECK_EVERY
            in_lost = _watch(midi_in, o["in_port"], in_lost, "input", status, imp)
            out_lost = _watch(midi_out, o["out_port"], out_lost, "output", status, imp)
        wake = imp.next_wakeup(now)
        limits = [t for t in (wake, status.next_time(now),
                              next_check if (o["in_port"] or o["out_port"]) else None)
                  if t is not None]
        timeout = max(0.0, min(limits) - time.monotonic()) if limits else None
        if not stopper.reason:
            wakeup.wait(timeout)


def _watch(midi, name: str | None, lost: bool, direction: str, status: StatusLine,
           imp: Improviser) -> bool:
    """Reconnect a named port that went away and came back. Returns whether it is lost."""
    if not name:
        return False
    present = port_exists(midi, name)
    if lost and present:
        try:
            midi.close_port()
            midi.open_port(find_port(midi.get_ports(), name, direction),
                           "jazz-in" if direction == "input" else "jazz-out")
            status.log(f"{direction} port {name!r} is back: reconnected")
            return False
        except Exception as e:
            status.log(f"{direction} port {name!r} reconnect failed ({e}); retrying")
            return True
    if not lost and not present:
        status.log(f"{direction} port {name!r} went away; notes closed, waiting for it")
        imp.panic("port lost")
        return True
    return lost


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: jazz-plugin run")
