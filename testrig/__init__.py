"""The shared test rig: a private JACK server, the real daemon as a process, peers that play
to it and listen, a DAW's clock, busy processes, OSC and Link helpers, the soak and trade
scenarios. Imported by tests/ and bench/ alike; everything MIDI takes its numbers from
jazz_plugin.live.midispec."""
