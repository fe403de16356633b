"""A real DAW drives the daemon: Ardour 7 (headless, `ardour7-lua`, its own JACK server)
plays a 2-bar call of 16 eighths from a MIDI track with its MIDI clock out connected to
`jazz-in`, in four scenarios: a fresh start; stop, locate to bar 1, start again; a locate
while rolling (during the answer); a 4-bar loop played 3 times. The assertions are on the
daemon's own account (its log and stats) and on `jack_midi_dump -a`'s frames. Ardour's own
failures while it builds or loads the session are tried again; an assertion never is.
Not asserted yet (see docs/reliability.md, all seen in some runs): that every note Ardour
sent is heard (106 of 107 once), that every pass is answered with 2 bars, and that each
answer opens within 6 ms of its beat."""

import re

import pytest

from jazz_plugin.live.midispec import NOTE_OFF, NOTE_ON, START, channel, kind
from testrig import daw

pytestmark = pytest.mark.skipif(not daw.available(),
                                reason="needs Ardour 7 (ardour7-lua) and jack_midi_dump")
OUR_CHANNEL = 2  # zero-based: --channel 3
CALL_CHANNEL = 1  # Ardour's track plays its notes on channel index 1
CALLS = 7  # passes: fresh 1, relocate 1, locate while rolling 2, loop 3
PRE_START_FRAMES = 20 * daw.RATE // 1000  # DawTransport's PRE_START


@pytest.fixture(scope="module")
def performance(tmp_path_factory):
    rig = daw.ArdourRig(str(tmp_path_factory.mktemp("ardour")))
    try:
        rig.build()
        yield rig.play("--clock", "external", "--mode", "call-response",
                       "--channel", str(OUR_CHANNEL + 1), "--seed", "0")
    finally:
        rig.close()


def _stat(lines, name):
    found = re.search(rf"{name} (\d+)", "\n".join(lines))
    assert found, lines
    return int(found.group(1))


def _ours(events):
    return [(f, m) for f, m in events if len(m) == 3 and m[0] < 0xF0
            and channel(m[0]) == OUR_CHANNEL and kind(m[0]) in (NOTE_ON, NOTE_OFF)]


def _sent_per_pass(events):
    """How many call notes Ardour really sent in each pass (a note up to 20 ms before a
    START belongs to the pass it starts; Ardour 7 sometimes does not send a pass's first
    note at all, which no receiver can hear)."""
    starts = [f for f, m in events if m[0] == START]
    counts = [0] * len(starts)
    for frame, m in events:
        if len(m) == 3 and kind(m[0]) == NOTE_ON and m[2] and channel(m[0]) == CALL_CHANNEL:
            k = sum(1 for s in starts if s <= frame + PRE_START_FRAMES) - 1
            if k >= 0:
                counts[k] += 1
    return [c for c in counts if c]


def test_the_daemon_heard_the_calls_of_every_pass(performance):
    lines = performance.daemon_lines
    sent = _sent_per_pass(performance.events)
    assert len(sent) == CALLS and all(n >= 15 for n in sent), sent  # Ardour played them
    calls = [int(re.search(r"call of (\d+) notes", ln).group(1)) for ln in lines
             if " call of " in ln]
    # a call a pass, each of what Ardour sent (within a note, see the module docstring)
    assert len(calls) >= CALLS - 1 and all(n >= 15 for n in calls), "\n".join(lines)


def test_no_missed_deadline_no_stuck_input_and_every_note_closed(performance):
    lines = performance.daemon_lines
    assert _stat(lines, "missed deadlines") == 0, lines
    assert _stat(lines, "stuck input") == 0, lines
    assert _stat(lines, "input dropped") == 0, lines
    assert _stat(lines, "note-ons") == _stat(lines, "note-offs") > 0, lines
    # the loop wraps and the locate while rolling were jumps, not the end of a performance
    assert sum("song position moved" in ln for ln in lines) == 3, lines


def test_no_note_of_zero_length(performance):
    sounding, zero = {}, []
    for frame, m in _ours(performance.events):
        if kind(m[0]) == NOTE_ON and m[2]:
            sounding[m[1]] = frame
        elif m[1] in sounding:
            if frame - sounding.pop(m[1]) <= 0:
                zero.append((frame, m[1]))
    assert zero == [], zero
