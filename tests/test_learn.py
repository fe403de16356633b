"""MIDI learn on real JACK ports: a peer moves knobs, the daemon records them, saves them to the
TOML config (keeping everything else) and steers by them at once."""

import os
import time

import pytest
from conftest import jazz, one_error_line

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.controls import CONTROLS, DEFAULT_CC, Controls, load_config
from jazz_plugin.live.learn import resolve_mapping, save_cc
from testrig.jackrig import CC, Daemon, Peer, wait_for
from testrig.liverig import OscInbox, OscSender, osc_port

CONFIG = """# my stage setup
bpm = 110  # a bit brisk
client_name = "stage"

[cc]
temperature = 74  # the old knob
swing = 27
# the blue room, Friday
"""
KNOBS = {c.name: 70 + i for i, c in enumerate(CONTROLS)}  # 70..80: what the peer moves


def prompts(daemon) -> int:
    return sum("learn " in ln and " for " in ln for ln in daemon.lines)


def test_learn_asks_for_each_control_saves_them_and_steers_by_them(jack_server, tmp_path):
    path = tmp_path / "stage.toml"
    path.write_text(CONFIG)
    inbox = OscInbox()
    daemon = Daemon("--learn", "--config", str(path), "--osc", "0", "--osc-reply",
                    f"127.0.0.1:{inbox.port}")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    try:
        assert wait_for(lambda: "move the knob for temperature" in daemon.stderr, 5)
        for i, c in enumerate(CONTROLS):
            assert wait_for(lambda i=i: prompts(daemon) >= i + 1, 5), daemon.stderr
            assert f"for {c.name} " in daemon.lines[-1]
            peer.send(CC, 64, 127)  # the sustain pedal is never learned
            peer.send(CC, KNOBS[c.name], 100)
            if i:
                peer.send(CC, KNOBS[CONTROLS[i - 1].name], 0)  # the last knob, still moving
        assert wait_for(lambda: "MIDI learn done" in daemon.stderr, 5), daemon.stderr
        # while learning, the knobs steered nothing (mode was learned with a 127: trade)
        assert inbox.values("mode") == ["call-response"]
        assert "panic CC" not in daemon.stderr
        since = time.monotonic()
        peer.send(CC, KNOBS["temperature"], 127)  # now temperature is on CC 70
        assert wait_for(lambda: inbox.first("temperature", 2.0, since), 3), daemon.stderr
        since = time.monotonic()
        peer.send(CC, DEFAULT_CC["mode"], 127)  # and CC 21 means nothing any more
        time.sleep(0.3)
        assert inbox.values("mode", since) == []
    finally:
        daemon.stop()
        peer.close()
        inbox.close()
    saved = load_config(str(path))
    assert saved["cc"] == KNOBS
    assert (saved["bpm"], saved["client_name"]) == (110, "stage")
    text = path.read_text()
    assert "# my stage setup" in text and "# a bit brisk" in text and "# the blue room" in text
    assert os.listdir(tmp_path) == ["stage.toml"]  # no temporary file left behind
    Controls(saved["cc"])  # and the next run reads it


def test_osc_learns_one_control_into_a_new_config(jack_server, tmp_path):
    path = tmp_path / "sub" / "new.toml"
    daemon = Daemon("--osc", "0", "--config", str(path), "--learn")
    daemon.wait_ready()
    peer = Peer(daemon.client)
    osc = OscSender(osc_port(daemon.stderr))
    try:
        assert wait_for(lambda: "move the knob for temperature" in daemon.stderr, 5)
        osc.send("/jazz/learn_skip")  # temperature stays where it is
        assert wait_for(lambda: "temperature kept on CC 20" in daemon.stderr, 3)
        osc.send("/jazz/learn", "swing")  # start over with one control only
        assert wait_for(lambda: "learn 1/1: move the knob for swing" in daemon.stderr, 3)
        peer.send(CC, DEFAULT_CC["temperature"], 5)  # CC 20 belonged to temperature ...
        assert wait_for(lambda: "MIDI learn done" in daemon.stderr, 3), daemon.stderr
    finally:
        daemon.stop()
        peer.close()
        osc.close()
    cc = load_config(str(path))["cc"]
    assert cc["swing"] == 20
    assert cc["temperature"] not in (20, DEFAULT_CC["swing"]) and len(set(cc.values())) == len(cc)
    assert "temperature to CC" in daemon.stderr  # ... which moved, and the log says where


def test_learn_needs_a_config_file_to_save_to():
    assert "--learn saves the mapping" in one_error_line(jazz("run", "--learn", timeout=60))


def test_a_displaced_control_moves_to_a_free_undefined_cc():
    current = dict(DEFAULT_CC)
    mapping = resolve_mapping(current, {"develop": DEFAULT_CC["mode"]})
    assert mapping["develop"] == 21 and mapping["mode"] not in current.values()
    Controls(mapping)  # no number twice


def test_save_keeps_other_tables_and_refuses_an_inline_cc(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[cc]\nmute = 90\n\n[other]\nx = 1\n')
    save_cc(str(path), {"mute": 91, "panic": 92})
    data = load_config(str(path))
    assert data == {"cc": {"mute": 91, "panic": 92}, "other": {"x": 1}}
    path.write_text("cc = { mute = 90 }\n")
    with pytest.raises(ConfigError, match=r"make it a \[cc\] table"):
        save_cc(str(path), {"mute": 91})
    assert path.read_text() == "cc = { mute = 90 }\n"  # untouched


def test_learn_is_a_command_line_action_not_a_config_key(tmp_path):
    import argparse

    from jazz_plugin import options

    with pytest.raises(ConfigError, match="command-line action"):
        options.resolve(argparse.Namespace(), {"learn": True}, "c.toml")
