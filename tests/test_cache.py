"""Parallel corpus import through the content-hash cache, on small fixture corpora."""

import os
import pickle
import shutil

import jazz_export.corpus
import mido
import numpy as np
import pytest
from conftest import melody_messages, write_midi
from jazz_export.corpus import load_midi_corpus, load_wjazzd_corpus
from test_wjazzd import corpus_folder, write_csv

import jazz_plugin.model.conditioning
import jazz_plugin.music.codec
from jazz_plugin.corpus import cache as corpuscache
from jazz_plugin.corpus.cache import CACHE_FORMAT, default_cache_dir
from jazz_plugin.corpus.solo import PackedChanges, encode_solo
from jazz_plugin.corpus.wjazzd import load_wjazzd
from jazz_plugin.errors import ConfigError
from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.harmony import Changes, parse_chart, parse_chord

codec = Codec()
JOBS = 2


def comp_messages(chords, bar=1920):
    """One block chord per bar (at 480 ticks per beat)."""
    msgs = []
    for pitches in chords:
        msgs += [mido.Message("note_on", note=p, velocity=70, time=0) for p in pitches]
        msgs += [mido.Message("note_off", note=p, velocity=0, time=bar if i == 0 else 0)
                 for i, p in enumerate(pitches)]
    return msgs


def midi_folder(tmp_path, n=5, copy=False):
    """`n` solos with a piano part (different lines and chords), a broken file, a file with
    one note and, with `copy`, a copy of the broken file under another name."""
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(n):
        line = [60 + (i + k * 5) % 14 for k in range(8 + i)]
        chords = [(50 + i, 53 + i, 57 + i), (55, 59, 62, 65)] * 2
        write_midi(str(folder / f"solo{i}.mid"), [melody_messages(line), comp_messages(chords)],
                   names=["tenor", "piano"])
    write_midi(str(folder / "one_note.mid"), [melody_messages([60])], names=["alto"])
    (folder / "broken.mid").write_bytes(b"MThd nonsense")
    if copy:
        shutil.copy(folder / "broken.mid", folder / "zz_copy_of_broken.mid")
    return folder


def assert_same_solos(a, b):
    assert [s.name for s in a] == [s.name for s in b]
    for x, y in zip(a, b):
        assert (x.performer, x.key_chord, x.notes, x.changes) == (
            y.performer, y.key_chord, y.notes, y.changes)
        for field in ("note_array", "tokens", "chord", "next_chord", "ref_pc", "pos"):
            u, v = getattr(x, field), getattr(y, field)
            assert u.dtype == v.dtype and np.array_equal(u, v), field


def entries(cache):
    root = os.path.join(cache, f"v{CACHE_FORMAT}")
    return sorted(os.path.join(d, f) for d, _s, fs in os.walk(root) for f in fs)


def test_parallel_import_equals_serial_in_path_order(tmp_path, capsys):
    folder = midi_folder(tmp_path)
    serial = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=None)
    serial_err = capsys.readouterr().err
    parallel = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=None)
    parallel_err = capsys.readouterr().err
    assert parallel.imported.jobs == JOBS and serial.imported.jobs == 1
    assert_same_solos(serial.solos, parallel.solos)
    assert [s.name for s in parallel.solos] == sorted(str(folder / f"solo{i}.mid")
                                                      for i in range(5))
    assert parallel.summary == serial.summary
    lines = [ln for ln in parallel_err.splitlines() if not ln.startswith("corpus:")]
    assert lines == [ln for ln in serial_err.splitlines() if not ln.startswith("corpus:")]
    broken = str(folder / "broken.mid")
    assert len(lines) == 7 and lines[0].startswith(f"warning: skipped {broken!r}")
    assert all(s.has_chords and s.tokens.dtype == np.int16 for s in parallel.solos)


def test_a_second_import_is_all_cache_hits_and_parses_nothing(tmp_path, capsys, monkeypatch):
    folder, cache = midi_folder(tmp_path, copy=True), str(tmp_path / "cache")
    first = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=cache)
    # 5 solos and 2 skipped files parsed; the copy has the broken file's bytes: its entry
    assert (first.imported.parsed, first.imported.cached) == (7, 1)
    assert len(entries(cache)) == 7
    first_err = capsys.readouterr().err
    second = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (second.imported.parsed, second.imported.cached) == (0, 8)
    assert_same_solos(first.solos, second.solos)
    second_err = capsys.readouterr().err
    assert "parsed 0, from cache 8" in second_err
    # the same warning and track lines, naming each file (the copy of the broken file too)
    assert second_err.splitlines()[:-1] == first_err.splitlines()[:-1]
    assert f"warning: skipped {str(folder / 'zz_copy_of_broken.mid')!r}" in second_err

    def must_not_parse(*_args):
        raise AssertionError("parsed although every file is cached")

    monkeypatch.setattr(jazz_export.corpus, "parse_midi_task", must_not_parse)
    third = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=cache)
    assert_same_solos(first.solos, third.solos)


def test_a_changed_file_reparses_only_that_file(tmp_path):
    folder, cache = midi_folder(tmp_path), str(tmp_path / "cache")
    before = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    write_midi(str(folder / "solo2.mid"), [melody_messages([72, 71, 69, 67, 65, 64])],
               names=["tenor"])
    after = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (after.imported.parsed, after.imported.cached) == (1, 6)
    changed = after.solos[2]
    assert changed.name.endswith("solo2.mid") and not changed.has_chords
    assert [n.pitch for n in changed.notes] == [72, 71, 69, 67, 65, 64]
    assert_same_solos(before.solos[:2] + before.solos[3:], after.solos[:2] + after.solos[3:])


def test_corrupt_cache_entries_are_rebuilt_never_trusted(tmp_path):
    folder, cache = midi_folder(tmp_path), str(tmp_path / "cache")
    fresh = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=None)
    load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    solo_entries = [p for p in entries(cache) if "tokens" in np.load(p).files]
    assert len(solo_entries) == 5
    truncated, flipped, garbage, forged = solo_entries[:4]
    with open(truncated, "r+b") as f:
        f.truncate(os.path.getsize(truncated) // 2)
    tokens = np.load(flipped)["tokens"].tobytes()
    data = bytearray(open(flipped, "rb").read())
    at = data.index(tokens) + len(tokens) // 2  # inside the tokens array's bytes
    data[at:at + 4] = bytes(b ^ 0xFF for b in data[at:at + 4])
    open(flipped, "wb").write(bytes(data))
    open(garbage, "wb").write(b"\0" * 100)
    # a well-formed npz whose tokens were changed: only the checksum can tell
    with np.load(forged) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["tokens"] = arrays["tokens"][::-1].copy()
    with open(forged, "wb") as f:
        np.savez(f, **arrays)
    again = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (again.imported.rebuilt, again.imported.parsed, again.imported.cached) == (4, 4, 3)
    assert_same_solos(fresh.solos, again.solos)
    healed = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (healed.imported.parsed, healed.imported.rebuilt) == (0, 0)
    assert_same_solos(fresh.solos, healed.solos)


@pytest.mark.parametrize("module, name", [(jazz_plugin.music.codec, "CODEC_VERSION"),
                                          (jazz_plugin.model.conditioning, "COND_VERSION")])
def test_a_version_change_misses_the_cache(tmp_path, monkeypatch, module, name):
    folder, cache = midi_folder(tmp_path, n=2), str(tmp_path / "cache")
    load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    monkeypatch.setattr(module, name, getattr(module, name) + 1)
    bumped = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (bumped.imported.parsed, bumped.imported.cached) == (4, 0)
    monkeypatch.undo()
    back = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (back.imported.parsed, back.imported.cached) == (0, 4)  # old entries still there


def test_track_choices_and_the_vocabulary_key_the_cache(tmp_path):
    folder, cache = midi_folder(tmp_path, n=2), str(tmp_path / "cache")
    auto = load_midi_corpus([str(folder)], codec, chord_track=None, jobs=1, cache_dir=cache)
    same = load_midi_corpus([str(folder)], codec, chord_track="AUTO", jobs=1, cache_dir=cache)
    assert same.imported.cached == 4  # None, "auto" and "AUTO" are one choice
    bare = load_midi_corpus([str(folder)], codec, chord_track="none", jobs=1, cache_dir=cache)
    assert bare.imported.parsed == 4 and not any(s.has_chords for s in bare.solos)
    assert all(s.has_chords for s in auto.solos)
    piano = load_midi_corpus([str(folder)], codec, track="piano", jobs=1, cache_dir=cache)
    assert piano.imported.parsed == 4
    other = Codec(list(reversed(codec.names)))
    reordered = load_midi_corpus([str(folder)], other, jobs=1, cache_dir=cache)
    assert reordered.imported.parsed == 4
    assert [other.names[i] for i in reordered.solos[0].tokens] == [
        codec.names[i] for i in auto.solos[0].tokens]


def test_bad_files_are_skipped_and_reported_with_two_jobs(tmp_path, capsys):
    folder, cache = midi_folder(tmp_path, copy=True), str(tmp_path / "cache")
    for _ in range(2):  # parsed, then from the cache: the same report
        corpus = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
        err = capsys.readouterr().err
        warnings = [ln for ln in err.splitlines() if ln.startswith("warning: skipped")]
        assert len(warnings) == 3 and len(corpus.solos) == 5
        assert "one_note.mid' has fewer than 2 notes" in err
        assert "5 files used, 3 skipped" in corpus.summary and corpus.imported.skipped == 3


def test_an_internal_error_skips_the_file_and_is_not_cached(tmp_path, capsys, monkeypatch):
    folder, cache = midi_folder(tmp_path, n=2), str(tmp_path / "cache")

    def buggy(task, codec, options):
        if task.name.endswith("solo1.mid"):
            raise IndexError("a bug")
        return parse(task, codec, options)

    parse = jazz_export.corpus.parse_midi_task
    monkeypatch.setattr(jazz_export.corpus, "parse_midi_task", buggy)
    corpus = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=cache)
    assert "internal error reading" in capsys.readouterr().err and len(corpus.solos) == 1
    monkeypatch.undo()
    fixed = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=cache)
    assert fixed.imported.parsed == 1 and len(fixed.solos) == 2


def test_wjazzd_in_parallel_through_the_cache_gives_the_same_solos_and_report(tmp_path):
    folder, cache = corpus_folder(tmp_path), str(tmp_path / "cache")
    serial, serial_report = load_wjazzd(folder, codec, progress=False, jobs=1, cache_dir=None)
    parallel, report = load_wjazzd(folder, codec, progress=False, jobs=JOBS, cache_dir=cache)
    cached, cached_report = load_wjazzd(folder, codec, progress=False, jobs=JOBS,
                                        cache_dir=cache)
    assert (report.imported.parsed, cached_report.imported.cached) == (6, 6)
    assert cached_report.imported.parsed == 0
    for got, rep in ((parallel, report), (cached, cached_report)):
        assert_same_solos(serial, got)
        assert rep.summary() == serial_report.summary()
        assert (rep.symbols, rep.unread, rep.skipped_meter, rep.skipped_bad) == (
            serial_report.symbols, serial_report.unread, serial_report.skipped_meter,
            serial_report.skipped_bad)
    assert "parsed 0, from cache 6" in cached_report.describe()


def test_wjazzd_reparses_a_solo_whose_beats_or_solos_row_changed(tmp_path):
    folder, cache = corpus_folder(tmp_path), str(tmp_path / "cache")
    load_wjazzd(folder, codec, progress=False, jobs=JOBS, cache_dir=cache)
    write_csv(os.path.join(folder, "solos.csv"), ["melid", "filename_sv", "performer", "title"],
              [[1, "TestPlayer_Swing_FINAL.sv", "Someone Else", "Swing"],
               [2, "TestPlayer_Ballad_1_FINAL.sv", "Test Player", "Ballad"]])
    solos, report = load_wjazzd(folder, codec, progress=False, jobs=JOBS, cache_dir=cache)
    assert (report.imported.parsed, report.imported.cached) == (1, 5)
    assert {s.name: s.performer for s in solos}["TestPlayer_Swing"] == "Someone Else"
    os.remove(os.path.join(folder, "beats", "NoRow_SomeTune_Solo.csv"))
    solos, report = load_wjazzd(folder, codec, progress=False, jobs=JOBS, cache_dir=cache)
    assert report.imported.parsed == 1 and report.without_chords == ["NoRow_SomeTune"]


def test_the_default_cache_is_under_the_users_cache_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "jazz-plugin" / "corpus")
    corpus = load_wjazzd_corpus(corpus_folder(tmp_path), codec, progress=False, jobs=1)
    assert corpus.imported.cache == default_cache_dir() and entries(default_cache_dir())
    assert "from cache" in capsys.readouterr().err
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "jazz-plugin" / "corpus")


def test_no_cache_writes_nothing_and_an_unusable_cache_is_one_warning(tmp_path, capsys):
    folder = midi_folder(tmp_path, n=2)
    (tmp_path / "a_file").write_text("not a folder")
    corpus = load_midi_corpus([str(folder)], codec, jobs=1, cache_dir=None)
    assert corpus.imported.cache is None and "no cache" in capsys.readouterr().err
    unusable = str(tmp_path / "a_file" / "cache")
    corpus = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=unusable)
    err = capsys.readouterr().err
    assert err.count("corpus cache") == 1 and "parsing without it" in err
    assert len(corpus.solos) == 2 and corpus.imported.parsed == 4
    with pytest.raises(ConfigError, match="--jobs 0"):
        load_midi_corpus([str(folder)], codec, jobs=0, cache_dir=None)


def test_packed_changes_round_trip_loops_ends_no_chord_and_slash_bass():
    chart = parse_chart("| Dm7 G7/B | Cmaj7 | NC | C7(b9,#11) |")
    solo_changes = Changes([(0, parse_chord("Ebmaj7")), (24, parse_chord("Dm7")),
                            (96, parse_chord("NC")), (120, parse_chord("C7/E"))], end=200)
    for changes in (chart, solo_changes, Changes(), Changes(end=96)):
        packed = PackedChanges.pack(changes)
        back = packed.unpack()
        assert back == changes and (back.end, back.loop_ticks) == (changes.end,
                                                                   changes.loop_ticks)
        assert [c for _s, c in back.segments] == [c for _s, c in changes.segments]
        assert [back.at(t) for t in range(0, 300, 6)] == [changes.at(t) for t in range(0, 300, 6)]
    assert chart.loop_ticks == 4 * 48 and PackedChanges.pack(chart).masks.dtype == np.uint16


def test_a_solo_is_arrays_and_pickles_without_its_unpacked_changes():
    notes = [Note(0, 62, 12), Note(12, 65, 8), Note(20, 67, 4), Note(48, 64, 24)]
    changes = Changes([(0, parse_chord("Dm7")), (48, parse_chord("Cmaj7"))], end=96)
    solo = encode_solo("line", "me", notes, changes, codec)
    assert solo.notes == notes and solo.note_array.dtype == np.int32
    assert solo.changes == changes and solo.changes is solo.changes  # built once, kept
    copy = pickle.loads(pickle.dumps(solo))
    assert copy._changes is None and copy.changes == changes and copy.notes == notes


def test_default_jobs_are_the_cores_we_may_use():
    assert corpuscache.check_jobs(None) == corpuscache.default_jobs() >= 1
    assert corpuscache.check_jobs(3) == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError):
            corpuscache.check_jobs(bad)



def test_a_few_changed_files_are_parsed_here_without_starting_workers(tmp_path):
    folder, cache = tmp_path / "many", str(tmp_path / "cache")
    folder.mkdir()
    for i in range(40):  # 40 different files: identical bytes would share one cache entry
        write_midi(str(folder / f"{i:02d}.mid"),
                   [melody_messages([60 + i % 12, 64 + i // 12, 67, 72])])
    first = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert first.imported.jobs == JOBS and first.imported.parsed == 40
    write_midi(str(folder / "07.mid"), [melody_messages([61, 65, 68])])
    again = load_midi_corpus([str(folder)], codec, jobs=JOBS, cache_dir=cache)
    assert (again.imported.parsed, again.imported.cached, again.imported.jobs) == (1, 39, 1)
    assert [n.pitch for n in again.solos[7].notes] == [61, 65, 68]
