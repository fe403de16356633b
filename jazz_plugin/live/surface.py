"""The live coder's surface around the improviser: OSC in and out, state as a CC, MIDI learn.

The daemon's loop drives it, so everything here runs on the loop's thread: OSC commands
that the listener thread queued are applied in `before_poll`, state goes out in
`after_poll`. Nothing here is on the MIDI input path except `midi`, which lets MIDI learn
take control changes while it asks for them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from jazz_plugin.live.controls import Controls
from jazz_plugin.live.learn import Learner
from jazz_plugin.live.midispec import CONTROL_CHANGE
from jazz_plugin.live.midistream import MidiStream
from jazz_plugin.live.osc import OscListener, OscReply, form_text
from jazz_plugin.options import RunOptions

# the state CC's values: a controller's LED off, dim, lit
STATE_CC_VALUES = {"stopped": 0, "listening": 64, "answering": 127, "playing": 127}


class Surface:
    """OSC listener and reply, state CC and MIDI learn, for one daemon run."""

    def __init__(self, o: RunOptions, controls: Controls, config_path: str | None,
                 wakeup: threading.Event, log: Callable[[str], None]) -> None:
        self.log = log
        self.wakeup = wakeup
        self.osc = OscListener(o.osc_host, o.osc, wakeup) if o.osc is not None else None
        self.reply = OscReply(o.osc_reply) if o.osc_reply else None
        self.learner = Learner(controls, config_path, log)
        self.state_cc = o.state_cc
        self.learn_at_start = o.learn
        self._skip = threading.Event()  # Enter pressed while learning
        self._peers: int | None = None
        self._output = None
        self._stream = MidiStream()  # splits input while learning

    @property
    def text(self) -> str:
        """For the ready line."""
        parts = []
        if self.osc is not None:
            parts.append(f"osc={self.osc.address[0]}:{self.osc.port}")
        if self.reply is not None:
            parts.append(f"osc-reply={self.reply.target[0]}:{self.reply.target[1]}")
        return " ".join(parts)

    def attach(self, imp, output) -> None:
        """Listen to the improviser; the initial state goes out; learning starts if asked."""
        self._output = output
        if self.reply is not None:
            self.reply.muted = lambda: output.muted
            imp.listeners.append(self.reply.on_event)
        if self.state_cc is not None:
            imp.listeners.append(self._state_to_cc)
            self._state_to_cc("state", imp.state.value)
        if self.learn_at_start:
            self._read_enter_to_skip()
            self.learner.start()

    def _state_to_cc(self, kind: str, value) -> None:
        if kind == "state" and self._output is not None:
            self._output.send([CONTROL_CHANGE | self._output.channel, self.state_cc,
                               STATE_CC_VALUES.get(value, 0)])

    def _read_enter_to_skip(self) -> None:
        """On a terminal, Enter skips the control being learned (a thread that only flags)."""
        if not sys.stdin or not sys.stdin.isatty():
            return

        def read() -> None:
            for _line in sys.stdin:
                self._skip.set()
                self.wakeup.set()

        threading.Thread(target=read, name="learn-stdin", daemon=True).start()

    def on_midi(self, imp, t: float, data: list[int]) -> None:
        """Input bytes to the improviser; while MIDI learn asks, its control changes to the
        learner (the bytes may hold several messages)."""
        if not self.learner.active:
            imp.on_midi(t, data)
            return
        rest: list[int] = []
        for msg in self._stream.feed(data):
            if not self.learner.feed(msg):
                rest.extend(msg)
        if rest:
            imp.on_midi(t, rest)

    def before_poll(self, imp, now: float) -> None:
        """Apply queued OSC commands; log what is new (bad OSC, Link peers)."""
        if self._skip.is_set():
            self._skip.clear()
            self.learner.skip()
        osc = self.osc
        if osc is not None:
            if osc.queue:
                for cmd in osc.drain():
                    self._apply(imp, cmd)
            osc.report(self.log)
        peers = imp.clock.peers
        if peers is not None and peers != self._peers:
            self._peers = peers
            self.log(f"Link: {peers} peer(s), {imp.clock.bpm:.1f} BPM")

    def _apply(self, imp, cmd) -> None:
        if cmd.name in ("chord", "changes"):
            imp.set_chart(cmd.value)
        elif cmd.name == "learn":
            self.learner.start(cmd.value)
        elif cmd.name == "learn_skip":
            self.learner.skip()
        elif cmd.name == "form":
            self.log(f"form: {form_text(imp)}")
            if self.reply is not None:
                self.reply.last.pop("form", None)  # asked for: sent again on this poll
        elif cmd.name == "form/forget":
            imp.harmony.form.forget("forgotten (OSC): following the played chords")
        else:
            imp.set_control(cmd.name, cmd.value, cmd.t, "OSC")
        self.osc.applied += 1

    def after_poll(self, imp, now: float) -> None:
        if self.reply is not None:
            self.reply.poll(imp, now)

    def next_wakeup(self, imp, now: float) -> float | None:
        return self.reply.next_wakeup(imp, now) if self.reply is not None else None

    def summary(self) -> str:
        parts = []
        if self.osc is not None:
            parts.append(self.osc.summary())
        if self.reply is not None:
            parts.append(f"OSC sent {self.reply.sent}" + (
                f" ({self.reply.errors} failed)" if self.reply.errors else ""))
        return "; ".join(parts)

    def close(self) -> None:
        """The LED goes dark; sockets close. Idempotent."""
        if self.state_cc is not None and self._output is not None:
            self._state_to_cc("state", "stopped")
            self._output = None
        if self.osc is not None:
            self.osc.close()
        if self.reply is not None:
            self.reply.close()
