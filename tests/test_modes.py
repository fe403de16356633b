"""The mode machine's seams: one class per mode, controls that act on live state only."""

import dataclasses

from test_improviser import Rig

from jazz_plugin.live.controls import CONTROLS, DEFAULT_CC, MODE_ORDER
from jazz_plugin.live.modes import MODE_CLASSES
from jazz_plugin.options import MODES


def test_every_mode_has_its_class_and_its_place_on_the_mode_knob():
    assert tuple(MODE_CLASSES) == MODES == MODE_ORDER
    assert {cls.name for cls in MODE_CLASSES.values()} == set(MODES)


def test_live_controls_change_the_live_settings_never_the_options_given():
    rig = Rig(mode="solo")
    given = dataclasses.replace(rig.imp.options)
    for name, value in (("answer_length", 127), ("develop", 0), ("swing", 127),
                        ("density", 0), ("register", 100), ("mode", 0)):
        rig.midi(rig.now + 0.1, 0xB0, DEFAULT_CC[name], value)
    assert rig.imp.options == given  # as the user gave them
    s = rig.imp.settings
    assert (s.answer_bars, s.develop, s.swing, s.density, s.mode) == (16, 0.0, 1.0, 0.0,
                                                                      "call-response")
    assert s.register == 14 and rig.imp.voice.high == given.high + 14  # CC 100: +14
    assert given.mode == "solo" and rig.imp.mode.name == "call-response"


def test_each_control_reads_back_what_it_applied():
    rig = Rig()
    for control in CONTROLS:
        if control.read is None:
            continue
        rig.imp.set_control(control.name, control.scale(127), rig.now, "test")
        assert control.read(rig.imp) == (int(control.scale(127)) if control.osc == "b"
                                         else control.scale(127)), control.name


def test_one_stop_closes_everything_in_every_mode():
    for mode in MODES:
        rig = Rig(mode=mode, min_bars=4, trade_bars=1)
        end = rig.phrase(0.0, [60, 62, 64, 65])
        t = end
        while not (rig.imp.player.busy and rig.output.sounding) and t < end + 10:
            t += 0.05
            rig.advance(t)
        assert rig.output.sounding, mode  # stopped while a line sounds
        rig.imp.stop_playing()
        assert rig.output.sounding == set() and rig.imp.sched.heap == [], mode
        assert not rig.imp.player.generating, mode
        if mode != "trade":  # (trade answers its next turn: the mode goes on)
            rig.advance(rig.now + 2.0)
            assert not [m for t, m in rig.sent if t > rig.now - 2.0 and m[0] & 0xF0 == 0x90]
