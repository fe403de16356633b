"""MIDI ports on a real JACK server: client names checked up front, a name already in use,
the names JACK really gave, a missing server in one line, and what `ports` lists."""

import os
import time
import uuid

import pytest
import rtmidi
from conftest import jazz, one_error_line

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.jackserver import JackServerWatch, quiet_stderr
from jazz_plugin.live.midiinput import InputQueue
from jazz_plugin.live.ports import (
    CLIENT_NAME_MAX,
    IN_LOST,
    MidiPorts,
    check_client_name,
    releases_input,
)
from testrig.jackrig import Daemon, unique_server_name, wait_for

JACK = rtmidi.API_UNIX_JACK


def _name() -> str:
    return f"jp-{uuid.uuid4().hex[:6]}"


def test_a_second_daemon_with_the_same_client_name_is_refused_in_one_line(jack_server):
    first = Daemon("--bpm", "120")
    first.wait_ready()
    try:
        proc = jazz("run", "--api", "jack", "--client-name", first.client, timeout=60)
        line = one_error_line(proc)
        assert f"a MIDI client named '{first.client}-" in line and "already running" in line
        assert "--client-name" in line
        assert first.proc.poll() is None  # the first one plays on, undisturbed
        assert first.ports == {"in": f"{first.client}-in:jazz-in",
                               "out": f"{first.client}-out:jazz-out"}
    finally:
        assert first.stop() == 0


def test_the_ready_line_names_the_ports_jack_really_opened(jack_server):
    client = _name()
    # a client with our input's name but no port: nothing to see in a port list, yet JACK
    # renames ours to NAME-in-01
    squatter = rtmidi.MidiIn(JACK, name=f"{client}-in")
    daemon = Daemon("--bpm", "120", client=client)
    try:
        daemon.wait_ready()
        assert daemon.ports == {"in": f"{client}-in-01:jazz-in",
                                "out": f"{client}-out:jazz-out"}, daemon.stderr
        lister = rtmidi.MidiOut(JACK, name="lister")
        assert daemon.ports["in"] in lister.get_ports()  # a peer finds it under that name
        lister.delete()
    finally:
        assert daemon.stop() == 0
        squatter.delete()


def test_midi_ports_read_back_their_names_and_peers(jack_server):
    daw = f"daw-{uuid.uuid4().hex[:6]}"
    source = rtmidi.MidiOut(JACK, name=daw)
    source.open_virtual_port("out")
    client = _name()
    ports = MidiPorts(JACK, client, daw, None, InputQueue())
    try:
        assert ports.names == (f"{client}-in:jazz-in", f"{client}-out:jazz-out")
        assert ports.peers == (f"{daw}:out", None)
    finally:
        ports.close()
        ports.close()  # closing twice is fine
        source.delete()


@pytest.mark.parametrize("name,expect", [
    ("", "is empty"),
    ("   ", "is empty"),
    ("x" * 80, f"is 80 bytes; JACK client names hold at most {CLIENT_NAME_MAX}"),
    ("x" * (CLIENT_NAME_MAX - 3), f"use at most {CLIENT_NAME_MAX - 4}"),
    ("a:b", "has a ':'"),
    ("tab\there", "control character"),
])
def test_bad_client_names_are_one_line_before_any_port_opens(jack_server, name, expect):
    line = one_error_line(jazz("run", "--api", "jack", "--client-name", name, timeout=60))
    assert expect in line, line
    assert "JACK server" not in line


def test_the_client_name_limit_is_jacks_own(jack_server):
    longest = "x" * (CLIENT_NAME_MAX - len("-out"))
    ports = MidiPorts(JACK, check_client_name(longest), None, None, InputQueue())
    assert ports.names == (f"{longest}-in:jazz-in", f"{longest}-out:jazz-out")
    ports.close()
    with pytest.raises(ConfigError):
        check_client_name(longest + "x")
    # JACK itself: CLIENT_NAME_MAX bytes open, one more does not
    ok = rtmidi.MidiOut(JACK, name="y" * CLIENT_NAME_MAX)
    ok.delete()
    with quiet_stderr(), pytest.raises(rtmidi.SystemError):
        rtmidi.MidiOut(JACK, name="y" * (CLIENT_NAME_MAX + 1))


@pytest.mark.parametrize("args", [("run", "--api", "jack"), ("ports", "--api", "jack"),
                                  ("run",)])
def test_no_jack_server_is_one_line_with_the_command_that_starts_one(args):
    if args == ("run",) and os.path.exists("/dev/snd/seq"):
        pytest.skip("this machine has an ALSA sequencer: --api auto picks ALSA, not JACK")
    server = unique_server_name("nobody-runs-this")
    proc = jazz(*args, timeout=60, env={**os.environ, "JACK_DEFAULT_SERVER": server})
    line = one_error_line(proc)
    assert f"no JACK server named '{server}' is running" in line
    assert f"'jackd -n {server} -d dummy -r 48000 -p 64 &'" in line
    if not os.path.exists("/dev/snd/seq"):
        assert "--api alsa" not in line  # a dead end without ALSA's sequencer
    assert proc.stderr.strip().splitlines() == [line]  # and not a word from libjack


def test_ports_lists_a_daemons_own_ports_apart_from_inputs_and_outputs(jack_server):
    daemon = Daemon("--bpm", "120")
    synth = f"synth-{uuid.uuid4().hex[:6]}"
    source = rtmidi.MidiOut(JACK, name=synth)
    source.open_virtual_port("midi-out")
    try:
        daemon.wait_ready()
        proc = jazz("ports", "--api", "jack", timeout=60)
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout
        inputs = text.split("inputs we can listen to:")[1].split("outputs we can play to:")[0]
        outputs = text.split("outputs we can play to:")[1].split("jazz-plugin's own ports")[0]
        ours = text.split("jazz-plugin's own ports (running daemons):")[1]
        assert f"{daemon.client}-out:jazz-out" in ours and f"{daemon.client}-in:jazz-in" in ours
        assert f"{daemon.client}-out:jazz-out" not in inputs
        assert f"{daemon.client}-in:jazz-in" not in outputs
        assert f"{synth}:midi-out" in inputs and f"{synth}:midi-out" not in ours
    finally:
        assert daemon.stop() == 0
        source.delete()


def test_in_port_never_matches_our_own_output(jack_server):
    client = _name()
    line = one_error_line(jazz("run", "--api", "jack", "--client-name", client,
                               "--in-port", f"{client}-out", timeout=60))
    assert f"no MIDI input port matches '{client}-out'" in line  # not a feedback loop


def test_a_lost_named_input_is_an_event_that_releases_held_input(jack_server):
    daw = f"daw-{uuid.uuid4().hex[:6]}"
    source = rtmidi.MidiOut(JACK, name=daw)
    source.open_virtual_port("out")
    ports = MidiPorts(JACK, _name(), daw, None, InputQueue())
    try:
        source.send_message([0x90, 60, 100])  # a note held when the DAW goes away
        assert wait_for(lambda: ports.queue.items, 2)
        assert ports.check() == []
        source.delete()
        events: list[str] = []
        assert wait_for(lambda: events.extend(ports.check()) or events, 2)
        assert events == [IN_LOST] and releases_input(events[0])
    finally:
        ports.close()


def test_the_server_watch_looks_at_our_named_servers_socket(jack_server):
    watch = JackServerWatch()
    assert watch.path == jack_server.socket_path
    assert os.path.exists(watch.path) and watch.enabled
    assert watch.check() is None
    time.sleep(0.01)
    assert watch.check() is None  # a running server changes nothing
