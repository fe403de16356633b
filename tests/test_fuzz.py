"""Fuzzing: the MIDI file loader and the byte parser raise nothing but our clear errors."""

import io

import mido
from conftest import melody_messages, write_midi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jazz_plugin.corpus.midifile import read_melody, read_parts
from jazz_plugin.errors import MidiFileError
from jazz_plugin.live.midistream import MidiStream

HEADER = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"


def _good_file() -> bytes:
    buf = io.BytesIO()
    mid = mido.MidiFile(type=1)
    mid.tracks.append(mido.MidiTrack(melody_messages([60, 62, 64, 65, 67, 69, 71, 72])))
    mid.save(file=buf)
    return buf.getvalue()


GOOD = _good_file()
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.mid"
    path.write_bytes(data)
    try:
        read_parts(str(path))
        read_melody(str(path))
    except MidiFileError:
        pass  # the only failure allowed: a clear one


@given(st.binary(max_size=400))
@FUZZ
def test_fuzz_random_bytes(tmp_path, data):
    _load(tmp_path, data)


@given(st.binary(max_size=300))
@FUZZ
def test_fuzz_a_valid_header_with_a_random_body(tmp_path, body):
    _load(tmp_path, HEADER + b"MTrk" + len(body).to_bytes(4, "big") + body)


@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=12),
       st.integers(0, len(GOOD)))
@FUZZ
def test_fuzz_mutations_of_a_good_file(tmp_path, flips, cut):
    data = bytearray(GOOD)
    for pos, value in flips:
        data[pos] = value
    _load(tmp_path, bytes(data[: max(cut, 1)]))


def test_the_good_file_is_good(tmp_path):
    path = write_midi(str(tmp_path / "g.mid"), [melody_messages([60, 62])])
    assert len(read_melody(path)) == 2


def test_stream_running_status_realtime_interleaving_and_sysex():
    s = MidiStream()
    out = list(s.feed([0x90, 60, 0xF8, 100, 62, 90, 0xF0, 1, 2, 3]))
    assert out == [[0xF8], [0x90, 60, 100], [0x90, 62, 90]]  # clock cut into the note
    out = list(s.feed([4, 5, 0xF7, 64, 10, 0xB0, 7, 100, 8, 50]))  # SysEx ended running status
    assert out == [[0xB0, 7, 100], [0xB0, 8, 50]]
    assert list(s.feed([0xF2, 0x10])) == [] and list(s.feed([0x20])) == [[0xF2, 0x10, 0x20]]
    assert list(s.feed([1, 2, 3])) == []  # running status was cleared by system common


@given(st.lists(st.binary(max_size=16), max_size=40))
@settings(max_examples=300, deadline=None)
def test_fuzz_stream_yields_only_well_formed_messages(chunks):
    s = MidiStream()
    for chunk in chunks:
        for msg in s.feed(chunk):
            assert msg[0] & 0x80 and all(b < 0x80 for b in msg[1:])
            if msg[0] < 0xF0:
                assert len(msg) == (2 if msg[0] & 0xF0 in (0xC0, 0xD0) else 3)
