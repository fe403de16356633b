-- Load the session and play the four scenarios to the daemon (ARD_DIR, ARD_CLIENT,
-- DAEMON_IN, DUMP_IN from the environment). Prints LOADED, SCENE lines and PLAY-OK.
local function check(what, ok) if not ok then print("PLAY-FAIL " .. what); os.exit(3) end end
check("backend", AudioEngine:set_backend("JACK", os.getenv("ARD_CLIENT"), ""))
check("start", AudioEngine:start(false) == 0)
check("load", load_session(os.getenv("ARD_DIR"), "t"))
sleep(2)  -- Ardour can lose its JACK client while it sets a session up
check("running", AudioEngine:running())
ARDOUR.config():set_send_midi_clock(true)
for _, dst in ipairs({os.getenv("DAEMON_IN"), os.getenv("DUMP_IN")}) do
  check("connect clock", AudioEngine:connect("MIDI Clock out", dst) == 0)
  check("connect call", AudioEngine:connect("call/midi_out 1", dst) == 0)
end
sleep(1)
print("LOADED")
local src = ARDOUR.TransportRequestSource.TRS_UI
local bar = 2.0  -- seconds at 120 BPM
local function stop() Session:request_stop(false, false, src); sleep(1.5) end
local function to_bar_1() Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, src); sleep(1) end
-- a 2-bar call from bar 1; its answer starts a bar after it and lasts 2 bars
print("SCENE fresh start")
Session:request_roll(src); sleep(5.5 * bar); stop()
print("SCENE stop, locate to bar 1, start again")
to_bar_1(); Session:request_roll(src); sleep(5.5 * bar); stop()
print("SCENE locate while rolling")
to_bar_1(); Session:request_roll(src); sleep(3.5 * bar)  -- the answer is playing
Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustRoll, src)
sleep(5.5 * bar); stop()
print("SCENE a 4-bar loop played 3 times")
to_bar_1(); Session:request_play_loop(true, true); sleep(12 * bar - 0.5); stop()
print("PLAY-OK")
close_session()
