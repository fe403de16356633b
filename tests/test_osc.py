"""OSC on 127.0.0.1 to a real daemon on real JACK ports: every live control, chords by name,
state out, state CC, and bad OSC that is counted and never stops the music."""

import threading
import time

import psutil
import pytest
from conftest import jazz, one_error_line

from jazz_plugin.live.controls import CONTROLS, DEFAULT_CC
from jazz_plugin.live.osc import OUT_OF_RANGE, UNKNOWN, WRONG_TYPE, parse
from jazz_plugin.live.output import ALL_NOTES_OFF
from testrig.jackrig import CC, Daemon, Peer, every_note_closed, wait_for
from testrig.liverig import OscInbox, OscSender, osc_datagram, osc_port

pytestmark = pytest.mark.usefixtures("jack_server")
BPM = 240  # a beat is 0.25 s, a bar 1 s
STATE_CC = 102


@pytest.fixture(scope="module")
def live(jack_server):
    """One daemon for the module, listening for OSC on any free port, replying to an inbox."""
    inbox = OscInbox()
    daemon = Daemon("--bpm", str(BPM), "--seed", "1", "--osc", "0", "--osc-reply",
                    f"127.0.0.1:{inbox.port}", "--state-cc", str(STATE_CC))
    daemon.wait_ready()
    peer = Peer(daemon.client)
    osc = OscSender(osc_port(daemon.stderr))
    yield daemon, peer, osc, inbox
    daemon.stop()
    peer.close()
    osc.close()
    inbox.close()


# what each control is set to, and what state out then reports (by its OSC name)
SETTINGS = [("temperature", 0.5, 0.5), ("answer_bars", 2, 2), ("answer_length", 3, 3),
            ("argmax", 1, 1), ("argmax", 0, 0), ("swing", 0.25, 0.25), ("register", -12, -12),
            ("density", 0.75, 0.75), ("develop", 0.125, 0.125), ("critic", 0.5, 0.5),
            ("mute", 1, 1), ("mute", 0, 0),
            ("mode", "duet", "duet"), ("mode", "call-response", "call-response")]


def test_every_live_control_is_an_address_and_state_out_reports_it(live):
    daemon, peer, osc, inbox = live
    assert wait_for(lambda: inbox.values("state"), 5), daemon.stderr  # the first report
    named = {name for name, _v, _r in SETTINGS} | {"panic", "end_phrase"}
    assert {c.name for c in CONTROLS} | {c.option for c in CONTROLS if c.option} <= named
    for name, value, reported in SETTINGS:
        since = osc.send("/jazz/" + name, value)
        out = "answer_bars" if name == "answer_length" else name
        came = wait_for(lambda o=out, r=reported, s=since: inbox.first(o, r, s) is not None, 3)
        assert came, (name, value, inbox.values(out), daemon.stderr)
    since = time.monotonic()
    peer.send(CC, DEFAULT_CC["temperature"], 127)  # a CC change is reported the same way
    assert wait_for(lambda: inbox.first("temperature", 2.0, since) is not None, 3)


def test_panic_and_end_phrase_are_triggers(live):
    daemon, peer, osc, inbox = live
    since = time.monotonic()
    peer.phrase([60, 62, 64, 65, 67], step=0.05)
    osc.send("/jazz/end_phrase")  # no bar of silence needed: answer now
    assert wait_for(lambda: "call of 5 notes" in daemon.stderr, 3), daemon.stderr
    assert wait_for(lambda: inbox.first("state", "answering", since), 3)
    osc.send("/jazz/panic", 1)
    assert wait_for(lambda: any(m == [CC | 0, ALL_NOTES_OFF, 0] for t, m in peer.received
                                if t > since), 3)
    assert "panic OSC: all notes off" in daemon.stderr


def test_chords_by_name_and_whole_charts(live):
    daemon, peer, osc, inbox = live
    since = osc.send("/jazz/chord", "Dm7")
    assert wait_for(lambda: inbox.first("chord", "Dm7", since), 3), inbox.values("chord")
    since = osc.send("/jazz/changes", "| Cmaj7 | A7 |")
    assert wait_for(lambda: len(inbox.values("chord", since)) >= 3, 4), inbox.values("chord")
    played = inbox.values("chord", since)[:3]
    assert played in (["Cmaj7", "A7", "Cmaj7"], ["A7", "Cmaj7", "A7"])  # bar by bar
    since = osc.send("/jazz/chord", "NC")  # clears: no chord from OSC any more
    assert wait_for(lambda: inbox.values("chord", since), 3)
    assert inbox.values("chord", since)[-1] not in ("Cmaj7", "A7")


def test_state_goes_out_as_osc_and_as_a_cc(live):
    daemon, peer, osc, inbox = live
    # from call-response, also when this test is tried again on the module's daemon (state
    # out reports changes only: a second "solo" would report nothing)
    start = osc.send("/jazz/mode", "call-response")
    wait_for(lambda: inbox.first("mode", "call-response", start), 1)  # no report if it was
    since = osc.send("/jazz/mode", "solo")
    assert wait_for(lambda: inbox.first("state", "playing", since), 3)
    assert wait_for(lambda: [0xB0, STATE_CC, 127] in [m for t, m in peer.received
                                                      if t > since], 3)
    assert wait_for(lambda: inbox.values("note", since), 3)  # the answer notes, as OSC
    time.sleep(0.3)
    notes = [args[0] for t, a, args in list(inbox.messages) if a == "/jazz/note" and t > since]
    played = [m[1] for t, m in list(peer.received) if t > since and m[0] == 0x90 and m[2]]
    n = min(len(notes), len(played))  # either may be a note ahead of the other
    assert n >= 1 and notes[:n] == played[:n]
    since = osc.send("/jazz/mode", "call-response")
    assert wait_for(lambda: [0xB0, STATE_CC, 64] in [m for t, m in peer.received
                                                     if t > since], 3)
    assert inbox.first("mode", "call-response", since)


def test_the_listener_binds_to_loopback_only(live):
    daemon, *_ = live
    udp = [c for c in psutil.Process(daemon.proc.pid).net_connections(kind="udp")
           if c.laddr.port == osc_port(daemon.stderr)]
    assert [c.laddr.ip for c in udp] == ["127.0.0.1"]


def test_a_port_already_taken_is_one_line(jack_server):
    inbox = OscInbox()  # holds a UDP port on 127.0.0.1
    try:
        proc = jazz("run", "--api", "jack", "--osc", str(inbox.port), timeout=60)
    finally:
        inbox.close()
    assert f"cannot listen for OSC on 127.0.0.1:{inbox.port}" in one_error_line(proc)


def test_a_bad_reply_address_is_one_line():
    proc = jazz("run", "--osc-reply", "localhost", timeout=60)
    assert "osc_reply must be HOST:PORT" in one_error_line(proc)


BAD = [  # (datagram, the kind it is counted as)
    (osc_datagram("/jazz/temperature", 50.0), OUT_OF_RANGE),  # refused, not clamped to 10
    (osc_datagram("/jazz/register", 99), OUT_OF_RANGE),
    (osc_datagram("/jazz/mute", 2), OUT_OF_RANGE),
    (osc_datagram("/jazz/mode", "bebop"), OUT_OF_RANGE),
    (osc_datagram("/jazz/learn", "volume"), OUT_OF_RANGE),
    (osc_datagram("/jazz/temperature", "hot"), WRONG_TYPE),
    (osc_datagram("/jazz/answer_bars", 2.5), WRONG_TYPE),
    (osc_datagram("/jazz/mode", 3), WRONG_TYPE),
    (osc_datagram("/jazz/swing"), WRONG_TYPE),
    (osc_datagram("/jazz/swing", 0.1, 0.2), WRONG_TYPE),
    (b"/jazz/swing\x00,q\x00\x00" + bytes(8), WRONG_TYPE),  # a type python-osc cannot read
    (osc_datagram("/jazz/volume", 1.0), UNKNOWN),
    (osc_datagram("/other/temperature", 1.0), UNKNOWN),
    (osc_datagram("/jazz/chord", "H7"), "bad chord"),
    (osc_datagram("/jazz/changes", "| Dm7 | Q9 |"), "bad chord"),
    (b"garbage!", "not OSC"),
    (b"", "not OSC"),
    (b"/jazz/temperature\x00\x00\x00,i\x00\x00\x00", "not OSC"),  # truncated int
    (b"/jazz/temperature", "not OSC"),  # no end to the address
    (b"\xff\xfe\x00\x01", "not OSC"),
    (b"#bundle\x00" + bytes(8) + b"\x00\x00\x00\x40" + b"/jazz", "not OSC"),  # short bundle
    (b"#bundle\x00" + bytes(8) + b"\x7f\xff\xff\xff", "not OSC"),  # element longer than packet
]


@pytest.mark.parametrize("data, kind", BAD)
def test_each_bad_message_is_refused_as_its_kind(data, kind):
    from pythonosc.osc_packet import OscPacket

    from jazz_plugin.live.osc import BadOsc, message_tags

    try:
        messages = [m.message for m in OscPacket(data).messages]
    except Exception:
        assert kind == "not OSC"
        return
    assert kind != "not OSC" or not messages
    for m in messages:
        with pytest.raises(BadOsc) as e:
            parse(m.address, m.params, message_tags(m.dgram))
        assert e.value.kind == kind


def test_values_are_checked_with_the_options_schema():
    assert parse("/jazz/temperature", [2], "i") == ("temperature", 2.0)
    assert parse("/jazz/answer_bars", [4.0], "f") == ("answer_length", 4)
    assert parse("/jazz/argmax", [True], "T") == ("argmax", True)
    assert parse("/jazz/panic", [], "") == ("panic", True)
    assert parse("/jazz/panic", [0], "i") == ("panic", False)  # a button's release
    assert parse("/jazz/chord", ["NC"], "s") == ("chord", None)
    assert parse("/jazz/learn", ["answer_bars"], "s") == ("learn", "answer_length")
    with pytest.raises(Exception, match="0.01..10"):
        parse("/jazz/temperature", [0.0], "f")


def test_bad_osc_and_a_flood_are_counted_logged_once_and_never_stop_the_music(jack_server):
    inbox = OscInbox()
    daemon = Daemon("--bpm", str(BPM), "--seed", "2", "--osc", "0", "--osc-reply",
                    f"127.0.0.1:{inbox.port}")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    osc = OscSender(osc_port(daemon.stderr))
    try:
        for data, _kind in BAD * 2:  # twice: still logged once per kind
            osc.raw(data)
        flood_done = threading.Event()
        flood = [osc_datagram("/jazz/temperature", 0.7), b"junk", osc_datagram("/x", 1),
                 osc_datagram("/jazz/swing", 5.0), osc_datagram("/jazz/density", 0.5)]

        def send_flood():  # 10,000 messages in about a second
            t0 = time.monotonic()
            for i in range(10_000):
                osc.raw(flood[i % len(flood)])
                if i % 100 == 99:
                    time.sleep(max(0.0, t0 + (i + 1) / 10_000 - time.monotonic()))
            flood_done.set()

        start = time.monotonic()
        threading.Thread(target=send_flood, daemon=True).start()
        peer.phrase([60, 62, 64, 65, 67, 69], step=0.06)  # a call during the flood
        assert wait_for(lambda: peer.notes(start)[0], 6), daemon.stderr  # ... is answered
        assert flood_done.wait(10)
        since = osc.send("/jazz/temperature", 1.25)  # and OSC still works after it
        assert wait_for(lambda: inbox.first("temperature", 1.25, since), 3), daemon.stderr
        time.sleep(1.5)  # the rest of the answer
    finally:
        code = daemon.stop()
        osc.close()
        inbox.close()
    assert code == 0 and "Traceback" not in daemon.stderr
    assert peer.hanging() == set()
    assert every_note_closed(daemon.stderr), daemon.stderr  # our own account
    peer.close()
    for kind in {k for _d, k in BAD}:
        assert sum(f"OSC {kind}:" in ln for ln in daemon.lines) == 1, (kind, daemon.stderr)
    stats = next(ln for ln in daemon.lines if "stats: OSC received" in ln)
    counts = {kind: int(stats.split(f" {kind}")[0].rsplit(" ", 1)[1]) for kind in
              ("not OSC", "unknown address", "out of range")}
    flood_junk = 10_000 // len(flood)  # of each kind; UDP may lose some under load
    assert all(n > 2 * 4 + flood_junk // 2 for n in counts.values()), stats
    assert "input dropped 0" in daemon.stderr  # the MIDI input queue never overflowed


def test_a_full_queue_drops_the_oldest_and_counts_it():
    from jazz_plugin.live.osc import DROPPED, OscListener

    wakeup = threading.Event()
    listener = OscListener("127.0.0.1", 0, wakeup, maxlen=4)  # a loop that never drains
    osc = OscSender(listener.port)
    try:
        for i in range(10):
            osc.send("/jazz/register", i)
        assert wait_for(lambda: listener.received == 10, 3)
        assert listener.bad[DROPPED] == 6 and wakeup.is_set()
        assert [c.value for c in listener.queue] == [6, 7, 8, 9]  # the newest are kept
        assert [c.value for c in listener.drain()] == [9]  # one control: its last value
    finally:
        osc.close()
        listener.close()
    assert listener.received == 10 and set(listener.bad) == {DROPPED}  # closing reads nothing


@pytest.mark.parametrize("given, message", [
    ({"state_cc": "64"}, "is reserved"), ({"state_cc": "120"}, "1..119"),
    ({"osc": "70000"}, "0..65535"), ({"osc_reply": "127.0.0.1:0"}, "HOST:PORT")])
def test_surface_options_are_checked_like_every_option(given, message):
    import argparse

    from jazz_plugin import options
    from jazz_plugin.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        options.resolve(argparse.Namespace(**given))
