"""`jazz-plugin run`: open the ports, then loop: drain input, poll the improviser, wait.

The loop waits on an event that the MIDI input's reader thread sets, with a timeout that ends at the
next deadline, so it sleeps while idle and wakes on time. Whatever ends the loop (Ctrl-C,
SIGTERM, an error) passes through one `finally` that silences every note.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass

from jazz_plugin import options
from jazz_plugin.errors import ConfigError
from jazz_plugin.live.chordsource import chart_from_options
from jazz_plugin.live.clock import ExternalClock, InternalClock
from jazz_plugin.live.controls import Controls, load_config, parse_cc_options
from jazz_plugin.live.improviser import Improviser
from jazz_plugin.live.midiinput import InputQueue
from jazz_plugin.live.output import Output
from jazz_plugin.live.ports import MidiPorts, resolve_api
from jazz_plugin.live.realtime import enter_realtime
from jazz_plugin.live.recorder import Recorder, check_record_path
from jazz_plugin.live.status import StatusLine
from jazz_plugin.live.surface import Surface
from jazz_plugin.live.timebase import Clock
from jazz_plugin.live.transport import DawTransport
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.options import RunOptions

FLUSH_DELAY = 0.1  # seconds for the MIDI server to deliver our last messages before closing
PORT_CHECK_EVERY = 1.0  # seconds between checks of the MIDI server and named ports
SERVER_WAIT = 30.0  # seconds to wait for a lost JACK server before giving up
# Signals that end the run the way Ctrl-C does: silence, then exit.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT",
                                                  "SIGUSR1") if hasattr(signal, n))


@dataclass
class Stopper:
    """Set by a stop signal; the loop checks it after every wake."""

    reason: str = ""

    def __call__(self, signum: int, _frame: object) -> None:
        self.reason = signal.Signals(signum).name


def resolve_options(args: argparse.Namespace) -> RunOptions:
    """Defaults < config file < what the command line actually gave."""
    config: dict = {}
    cc: dict[str, int] = {}
    path = getattr(args, "config", None)
    if getattr(args, "learn", None) and not path:
        raise ConfigError("--learn saves the mapping it learns: give --config FILE.toml "
                          "(created if missing)")
    if path and not (getattr(args, "learn", None) and not os.path.exists(path)):
        config = load_config(path)
        cc.update(config.pop("cc", {}))
    opts = options.resolve(args, config, getattr(args, "config", "") or "")
    cc.update(parse_cc_options(getattr(args, "cc", None) or []))
    opts.cc = cc
    return opts


def run_daemon(args: argparse.Namespace) -> int:
    """The main job. Returns the exit code."""
    o = resolve_options(args)
    refused = enter_realtime()  # before any thread starts: they all inherit it
    sampler = Sampler.from_options(o.temperature, o.top_k, o.top_p, o.argmax, o.seed)
    controls = Controls(o.cc)
    chart = chart_from_options(o.changes, o.changes_file)  # a bad chart: one line, no ports
    if o.record is not None:
        check_record_path(o.record)
    engine = Engine(o.model)  # a bad model is refused before any port opens
    api = resolve_api(o.api)
    queue = InputQueue()
    status = StatusLine(quiet=args.quiet, verbose=args.verbose)
    # OSC binds and Link starts before any MIDI port opens: a port taken is one line
    surface = Surface(o, controls, getattr(args, "config", None), queue.wakeup, status.log)
    clock: Clock | None = None
    try:
        clock = _make_clock(o, queue)
        ports = MidiPorts(api, o.client_name, o.in_port, o.out_port, queue)
    except BaseException:
        surface.close()
        if clock is not None:
            clock.close()
        raise
    output = Output(ports.send, o.channel - 1)
    imp = Improviser(engine, sampler, o, clock, output, controls, log=status.log,
                     verbose=args.verbose, chart=chart)
    recorder = _recorder(o, imp, clock, output)
    stopper = Stopper()

    def on_signal(signum: int, frame: object) -> None:
        stopper(signum, frame)
        queue.wakeup.set()

    suspend = Suspender(imp, queue, ports)
    old = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    if hasattr(signal, "SIGTSTP"):
        old[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend.on_tstp)
        old[signal.SIGCONT] = signal.signal(signal.SIGCONT, suspend.on_cont)
    in_name, out_name = _port_names(ports, o)
    ports_text = f"in={in_name} out={out_name}"
    link = f" quantum={o.quantum}" if o.clock == "link" else ""
    status.ready(f"ready: {ports_text} mode={o.mode} clock={clock.source}{link} "
                 f"{clock.bpm:.0f} BPM model={os.path.basename(engine.path)} {surface.text}"
                 .rstrip())
    if refused:
        status.log(f"no realtime scheduling ({refused}): timing may suffer when other "
                   "programs take the cores (give this user rtprio, as for JACK)")
    code = 0
    try:
        imp.start(time.monotonic())
        surface.attach(imp, output)
        _loop(imp, queue, stopper, status, ports_text, ports, suspend, surface, recorder)
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
        surface.close()
        time.sleep(FLUSH_DELAY)
        st = imp.status
        status.log(f"stats: notes in {st.notes_in}, out {st.notes_out}, answers {st.answers}, "
                   f"replans {imp.replanner.count}, "
                   f"input dropped {queue.dropped}, missed deadlines {imp.sched.missed}, "
                   f"stuck input {st.stuck_input}, send errors {output.send_errors}, "
                   f"note-ons {output.ons}, note-offs {output.offs}")
        if surface.summary():
            status.log(f"stats: {surface.summary()}")
        if recorder is not None:
            _save(recorder, status)
        status.close()
        for s, handler in old.items():
            signal.signal(s, handler)
        clock.close()
        ports.close()
    return code


def _recorder(o: RunOptions, imp: Improviser, clock: Clock, output: Output) -> Recorder | None:
    """`--record FILE`: fed by the loop's input and the output's own notes."""
    if o.record is None:
        return None
    recorder = Recorder(o.record, clock, imp.harmony, imp.router.is_chord_note)
    output.listener = recorder.on_output
    return recorder


def _save(recorder: Recorder, status: StatusLine) -> None:
    """The recording is written on every way out; a failure to write is one line."""
    try:
        status.log(recorder.save())
    except OSError as e:
        status.error(f"could not write the recording {recorder.path!r}: {e.strerror or e}")


def _make_clock(o: RunOptions, queue: InputQueue) -> Clock:
    """The clock `--clock` names; Link wakes the loop when the session changes."""
    now = time.monotonic()
    if o.clock == "link":
        from jazz_plugin.live.linkclock import LinkClock

        return LinkClock(o.bpm, now, o.quantum, wake=queue.wakeup.set)
    return (ExternalClock if o.clock == "external" else InternalClock)(o.bpm, now)


def _port_names(ports: MidiPorts, o: RunOptions) -> tuple[str, str]:
    """The ports as the MIDI system shows them (JACK may have renamed a clashing client)."""
    if all(ports.names):
        return ports.names
    return (o.in_port or f"{o.client_name}-in:jazz-in",
            o.out_port or f"{o.client_name}-out:jazz-out")


class Suspender:
    """Ctrl-Z: silence first, then really stop; on `fg`/SIGCONT listen again.

    The handler only flags; the loop silences (signal handlers must not send MIDI while the
    loop may be sending too), then stops the process with SIGSTOP.
    """

    def __init__(self, imp: Improviser, queue: InputQueue, ports: MidiPorts) -> None:
        self.imp, self.queue, self.ports = imp, queue, ports
        self.requested = False

    def on_tstp(self, _signum: int, _frame: object) -> None:
        self.requested = True
        self.queue.wakeup.set()

    def on_cont(self, _signum: int, _frame: object) -> None:
        self.queue.wakeup.set()

    def run_if_requested(self, status: StatusLine) -> None:
        if not self.requested:
            return
        self.requested = False
        self.imp.panic("suspended (Ctrl-Z)")
        time.sleep(FLUSH_DELAY)
        os.kill(os.getpid(), signal.SIGSTOP)  # execution resumes here on SIGCONT
        self.queue.drain()  # what came while stopped is stale
        self.imp.release_input(time.monotonic(), "resumed")
        status.log("resumed: listening")


class ServerLost(Exception):
    """The MIDI server went away and did not come back in time."""


def _loop(imp: Improviser, queue: InputQueue, stopper: Stopper, status: StatusLine,
          ports_text: str, ports: MidiPorts, suspend: Suspender, surface: Surface,
          recorder: Recorder | None = None) -> None:
    wakeup = queue.wakeup
    transport = DawTransport(imp.clock)
    next_check = time.monotonic() + PORT_CHECK_EVERY
    lost_since: float | None = None
    while not stopper.reason:
        wakeup.clear()
        suspend.run_if_requested(status)
        for t, data in transport.take(queue.drain(), time.monotonic()):
            if recorder is not None:
                recorder.on_input(t, data)
            surface.on_midi(imp, t, data)
        now = time.monotonic()
        if recorder is not None:
            recorder.poll(now)
        surface.before_poll(imp, now)
        deciding = transport.deciding()  # a STOP that may be a locate: nothing new plays
        if not deciding:
            imp.poll(now)
        surface.after_poll(imp, now)
        if status.due(now):
            status.show(imp, ports_text, queue.dropped, imp.sched.missed)
        if now >= next_check:
            next_check = now + PORT_CHECK_EVERY
            lost_since = _handle_port_events(ports.check(), imp, status, lost_since, now)
        wake = None if deciding else imp.next_wakeup(now)
        limits = [t for t in (wake, surface.next_wakeup(imp, now), status.next_time(),
                              next_check, transport.next_time()) if t is not None]
        timeout = max(0.0, min(limits) - time.monotonic())
        if not stopper.reason:
            wakeup.wait(timeout)


def _handle_port_events(events: list[str], imp: Improviser, status: StatusLine,
                        lost_since: float | None, now: float) -> float | None:
    """Log and act on what MidiPorts.check saw; returns since when the server is gone."""
    for event in events:
        if event == "server-gone":
            imp.release_input(now, "MIDI server lost")
            imp.panic("MIDI server lost")
            status.log("the JACK server went away: notes closed; waiting for it to come back")
            lost_since = lost_since or now
        elif event == "reconnected":
            status.log("the JACK server is back: ports reopened")
            lost_since = None
        elif event.endswith("-lost"):
            if event == "in-lost":
                imp.release_input(now, "input port lost")
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
