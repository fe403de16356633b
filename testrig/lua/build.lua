-- build a session: tempo 120, one MIDI track "call" holding a 2-bar call of 16 eighths
local function check(what, ok) if not ok then print("BUILD-FAIL " .. what); os.exit(3) end end
check("backend", AudioEngine:set_backend("JACK", os.getenv("ARD_CLIENT"), ""))
check("start", AudioEngine:start(false) == 0)
check("session", create_session(os.getenv("ARD_DIR"), "t", 48000))
sleep(2)
check("running", AudioEngine:running())
local tm = Temporal.TempoMap.fetch_writable()
tm:set_tempo(Temporal.Tempo(120, 120, 4), Temporal.timepos_t(0))
Temporal.TempoMap.update(tm)
local tl = Session:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1), ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1), true, ARDOUR.PluginInfo(), nil, nil, 1, "call", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
local track = tl:front()
AudioEngine:connect("x-virtual-keyboard", "call/midi_in 1")
track:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
Session:maybe_enable_record(false)
Session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
sleep(0.5)
local kb = AudioEngine:get_port_by_name("x-virtual-keyboard"):to_asyncmidiport()
local parser = ARDOUR.RawMidiParser()
for _, b in ipairs({0x90, 60, 100}) do if parser:process_byte(b) then kb:write(parser:midi_buffer(), parser:buffer_size(), 0) end end
sleep(0.3)
parser = ARDOUR.RawMidiParser()
for _, b in ipairs({0x80, 60, 0}) do if parser:process_byte(b) then kb:write(parser:midi_buffer(), parser:buffer_size(), 0) end end
sleep(0.5)
Session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
sleep(1)
track:rec_enable_control():set_value(0, PBD.GroupControlDisposition.NoGroup)
local pl = track:playlist()
print("regions:", pl:region_list():size())
check("recorded", pl:region_list():size() > 0)
local region
for r in pl:region_list():iter() do region = r:to_midiregion() end
local model = region:midi_source(0):model()
local cmd = model:new_note_diff_command("call")
for note in ARDOUR.LuaAPI.note_list(model):iter() do cmd:remove(note) end
local pitches = {60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62}
for i, p in ipairs(pitches) do
  local start = Temporal.Beats(0, (i - 1) * 960)  -- eighths: 960 ticks of 1920 per beat
  cmd:add(ARDOUR.LuaAPI.new_noteptr(1, start, Temporal.Beats(0, 860), p, 100))
end
model:apply_command(Session, cmd)
region:set_position(Temporal.timepos_t(0))
region:set_length(Temporal.timecnt_t(192000))
Session:save_state("", false, false, false, false, false)
print("BUILD-OK")
close_session()
