"""Bad input to the tools: one clear line, a non-zero exit, nothing left behind."""

import os
import struct

import mido
import pytest
from conftest import jazz, jazz_meta, make_onnx, melody_messages, one_error_line, write_midi

from jazz_plugin.corpus.midifile import MAX_MIDI_BYTES, read_melody
from jazz_plugin.errors import MidiFileError


def huge_midi(path: str, size: int) -> None:
    """A syntactically valid MIDI file of `size` bytes: one track of running-status notes."""
    body = bytearray(b"\x00\x90\x3c\x40")  # delta 0, note-on C4
    pair = b"\x10\x3c\x00\x10\x3e\x40"  # running status: off C4, on D4...
    body += pair * ((size - 30) // len(pair))
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480))
        f.write(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))


def _file(tmp_path, case: str) -> str:
    path = str(tmp_path / f"{case}.mid")
    if case == "zero_bytes":
        open(path, "wb").close()
    elif case == "truncated":
        write_midi(path, [melody_messages(list(range(60, 90)))])
        data = open(path, "rb").read()
        open(path, "wb").write(data[:-25])
    elif case == "not_midi":
        open(path, "w").write("<html>this is a web page saved as .mid</html>")
    elif case == "drums_only":
        write_midi(path, [melody_messages([36, 38, 42, 46] * 4, channel=9)])
    elif case == "meta_only":
        write_midi(path, [[mido.MetaMessage("set_tempo", tempo=500000),
                           mido.MetaMessage("text", text="no notes here")]])
    elif case == "zero_length":
        msgs = []
        for p in (60, 62, 64):
            msgs += [mido.Message("note_on", note=p, velocity=80, time=120),
                     mido.Message("note_off", note=p, time=0)]
        write_midi(path, [msgs])
    elif case == "huge":
        huge_midi(path, 50 * 1024 * 1024)
    return path


@pytest.mark.parametrize("case,expect", [
    ("zero_bytes", "empty (0 bytes)"),
    ("truncated", "not a readable MIDI file"),
    ("not_midi", "not a readable MIDI file"),
    ("drums_only", "no pitched notes"),
    ("meta_only", "no pitched notes"),
    ("zero_length", "no pitched notes"),
    ("huge", "MIDI files over 8 MB are refused"),
])
def test_export_refuses_each_bad_file_in_one_line(tmp_path, case, expect):
    path = _file(tmp_path, case)
    out = tmp_path / "out"
    proc = jazz("export", "--midi", path, "--out", str(out), timeout=120)
    line = one_error_line(proc)
    assert expect in line and os.path.basename(path) in line
    assert f"warning: skipped '{path}'" in proc.stderr
    assert not out.exists()


def test_huge_file_is_refused_before_it_is_read(tmp_path):
    path = _file(tmp_path, "huge")
    assert os.path.getsize(path) > MAX_MIDI_BYTES
    with pytest.raises(MidiFileError, match="refused"):
        read_melody(path)


def test_overlapping_and_duplicate_notes_train_fine(tmp_path):
    msgs = []
    for k in range(80):  # each note overlaps the next, and every fourth is struck twice
        p = 60 + (k * 5) % 12
        msgs.append(mido.Message("note_on", note=p, velocity=80, time=0))
        if k % 4 == 0:
            msgs.append(mido.Message("note_on", note=p, velocity=80, time=0))
        msgs.append(mido.Message("note_on", note=p + 12, velocity=60, time=120))
        msgs.append(mido.Message("note_off", note=p, time=60))
        msgs.append(mido.Message("note_off", note=p + 12, time=60))
    path = write_midi(str(tmp_path / "overlaps.mid"), [msgs])
    notes = read_melody(path)
    assert len(notes) > 80
    proc = jazz("export", "--midi", path, "--epochs", "1", "--tx", "8", "--n-a", "8", "--out",
                str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "1 files used, 0 skipped" in proc.stderr


@pytest.mark.parametrize("command", ["run", "generate"])
@pytest.mark.parametrize("case,expect", [
    ("missing", "does not exist"),
    ("not_onnx", "not a loadable ONNX model"),
    ("other_io", "expected x[1, 312], h[1, 4], c[1, 4]"),
    ("no_metadata", "not a jazz-plugin one"),
    ("wrong_vocab", "n_values=312 but its vocabulary has 100 tokens"),
])
def test_bad_models_are_refused_by_run_and_generate(tmp_path, command, case, expect):
    ours = ([("x", 312), ("h", 4), ("c", 4)], [("probs", 312), ("h_out", 4), ("c_out", 4)])
    path = {
        "missing": str(tmp_path / "none.onnx"),
        "not_onnx": str(tmp_path / "x.onnx"),
        "other_io": make_onnx(str(tmp_path / "io.onnx"), [("input", 312)], [("output", 312)],
                              jazz_meta()),
        "no_metadata": make_onnx(str(tmp_path / "nometa.onnx"), *ours),
        "wrong_vocab": make_onnx(str(tmp_path / "vocab.onnx"), *ours, jazz_meta(100)),
    }[case]
    (tmp_path / "x.onnx").write_text("definitely not protobuf")
    extra = ["-o", str(tmp_path / "s.mid")] if command == "generate" else ["--api", "jack"]
    proc = jazz(command, "--model", path, *extra, timeout=60)
    assert expect in one_error_line(proc)
    assert not (tmp_path / "s.mid").exists()


@pytest.mark.parametrize("args,expect", [
    (["--cc", "mute=21"], "CC 21 is mapped twice"),
    (["--cc", "panic=130"], "must be 0..127"),
    (["--cc", "panic=64"], "reserved (sustain pedal)"),
    (["--cc", "loudness=30"], "unknown control 'loudness'"),
    (["--cc", "temperature"], "expected NAME=NUMBER"),
    (["--low", "60", "--high", "65"], "spanning an octave"),
])
def test_bad_run_options_are_one_line(args, expect):
    assert expect in one_error_line(jazz("run", "--api", "jack", *args, timeout=60))


@pytest.mark.parametrize("text,expect", [
    ("bpm = [", "is not valid TOML"),
    ("tempo = 120", "unknown option 'tempo'"),
    ("bpm = 1000", "bpm must be 20..400"),
    ("[cc]\nmute = 200", "must be 0..127"),
    ("cc = 5", "[cc] must be a table"),
])
def test_bad_config_files_are_one_line(tmp_path, text, expect):
    path = tmp_path / "jazz.toml"
    path.write_text(text)
    assert expect in one_error_line(jazz("run", "--api", "jack", "--config", str(path),
                                         timeout=60))


def test_missing_config_file_is_one_line(tmp_path):
    line = one_error_line(jazz("run", "--config", str(tmp_path / "nope.toml"), timeout=60))
    assert "cannot read config" in line
