"""`jazz-plugin evaluate` and the musical figures, on fixture solos and real ONNX models."""

import json
import math
import os
import shutil

import mido
import numpy as np
import pytest
from conftest import jazz, melody_messages, one_error_line, write_csv, write_midi

from jazz_plugin.model.conditioning import cond_matrix
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.harmony import Key, estimate_key, parse_chart
from jazz_plugin.music.musicality import (
    LOOP_SPAN,
    Figures,
    Loop,
    Share,
    chord_tones_on_1_and_3,
    distinct_grams,
    exact_loop,
    in_key,
    on_the_beat,
    rest_tokens,
)
from jazz_plugin.offline.evaluate import (
    CALLS,
    all_calls,
    answer_calls,
    continue_solo,
    fit,
    load_solos,
)

codec = Codec()

# --- The figures on hand-made lines -------------------------------------------------------


def test_chord_tones_count_only_beats_1_and_3_where_a_chord_is_known():
    changes = parse_chart("| Cmaj7 | G7 |")  # loops: bar 3 is Cmaj7 again
    no_chart_after = parse_chart("| Cmaj7 |")
    notes = [Note(0, 64, 12),  # beat 1, E over Cmaj7: a chord tone
             Note(12, 61, 12),  # beat 2: not counted, whatever it is
             Note(24, 62, 12),  # beat 3, D over Cmaj7: not a chord tone
             Note(48, 71, 12),  # beat 1 of bar 2, B over G7: a chord tone
             Note(80, 60, 4),  # an offbeat: not counted
             Note(96, 59, 12)]  # bar 3, B over Cmaj7 (the chart loops): a chord tone
    assert chord_tones_on_1_and_3(notes, changes) == Share(3, 4)
    assert chord_tones_on_1_and_3(notes, None) == Share(0, 0)
    assert Share(0, 0).value is None and Share(3, 4).value == 0.75
    # a solo's changes know no chord after their end: those notes are not counted
    from jazz_plugin.music.harmony import Changes

    solo_changes = Changes(no_chart_after.segments, end=48)
    assert chord_tones_on_1_and_3(notes, solo_changes) == Share(1, 2)


def test_in_key_uses_the_keys_scale():
    c_major, a_minor = Key(0, False), Key(9, True)
    line = [Note(i * 12, p, 12) for i, p in enumerate([60, 62, 64, 66, 68])]  # C D E F# G#
    assert in_key(line, c_major) == Share(3, 5)
    assert in_key(line, a_minor) == Share(4, 5)  # minor keeps the raised 7th (G#)
    assert in_key([], c_major) == Share(0, 0)


def test_distinct_interval_4grams():
    riff = [60, 62, 64] * 3 + [60]  # intervals 2 2 -4 repeated: three distinct 4-grams of six
    line = [Note(i * 6, p, 6) for i, p in enumerate(riff)]
    assert distinct_grams(line) == Share(3, 6)
    scale = [Note(i * 6, 60 + i * i, 6) for i in range(8)]  # every interval differs
    assert distinct_grams(scale) == Share(4, 4)
    assert distinct_grams(scale[:4]) == Share(0, 0)  # three intervals: no 4-gram


def test_rest_share_counts_tokens_and_onsets_on_the_beat():
    line = [Note(0, 60, 8), Note(8, 62, 4), Note(24, 64, 12), Note(42, 65, 6)]
    tokens = codec.encode(line)
    assert [codec.tokens[t].name for t in tokens] == ["n+0/8", "n+2/4", "r/12", "n+2/12",
                                                      "r/6", "n+1/6"]
    assert rest_tokens(tokens, codec) == Share(2, 6)
    assert on_the_beat(line) == Share(2, 4)


def test_exact_loop_finds_the_smallest_period_anywhere():
    intro, figure, outro = [1, 2, 3], [4, 5, 6, 7, 8], [9, 10]
    assert exact_loop(intro + figure * 4 + outro) == Loop(5, 3, 20)
    # the loop is found in the middle too, and its longest stretch is reported
    assert exact_loop(figure * 2 + figure[:3] + [11] + [12, 13] * 9) == Loop(2, 14, 18)
    assert exact_loop([7] * 15) is None  # a held figure under 16 tokens is no loop
    assert exact_loop([7] * 16) == Loop(1, 0, 16)
    assert exact_loop(list(range(LOOP_SPAN))) is None
    rng = np.random.default_rng(0)
    assert exact_loop(rng.integers(0, 300, LOOP_SPAN).tolist()) is None


def test_figures_pool_lines_by_their_counts():
    a, b = Figures(), Figures()
    line = [Note(0, 60, 12), Note(12, 62, 12), Note(24, 64, 12), Note(36, 65, 12),
            Note(48, 67, 12)]
    loop = a.add(line, codec.encode(line), codec, Key(0, False), parse_chart("| C |"))
    assert loop is None and a.lines == 1 and a.notes == 5
    assert a.chord_tones == Share(3, 3) and a.in_key == Share(5, 5)
    b.add(line[:2], None, codec, Key(2, False))  # tokens unknown: no rests or loops counted
    both = a + b
    assert both.in_key == Share(6, 7) and both.rests == Share(0, 5)
    assert both.loops == Share(0, 1) and both.lines == 2


def test_calls_are_two_bar_lines_whose_key_is_found():
    calls = all_calls()
    assert len(calls) == 24 * len(CALLS)
    for written, figure, notes in calls:
        assert notes[0].start == 0 and notes[-1].start + notes[-1].dur <= 96, figure
        assert all(a.start + a.dur <= b.start for a, b in zip(notes, notes[1:])), figure
        assert estimate_key(notes) == written, (written, figure)
        assert in_key(notes, written) == Share(len(notes), len(notes))


# --- A fixture corpus in the Weimar Jazz Database's CSV format -----------------------------

MELODY_HEADER = ["bar", "beat", "beatdur", "denom", "division", "duration", "num", "onset",
                 "period", "pitch", "subtatum", "tatum"]
BEATS_HEADER = ["bar", "bass_pitch", "beat", "chord", "chorus_id", "form", "onset", "signature"]
BEATDUR = 0.5  # seconds per beat
# Two solos of six bars of swung eighths, over ii-V-I in two keys (Jazzomat spellings).
SOLOS = {
    "TestPlayer_TwoFive": ("Test Player", ["D-7", "G7", "Cj7", "Cj7", "D-7", "G7"]),
    "OtherPlayer_InF": ("Other Player", ["G-7", "C7", "Fj7", "Fj7", "G-7", "C7"]),
}
CHORD_TONES = {"-7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "j7": (0, 4, 7, 11)}




def wjazzd_folder(root) -> str:
    folder = os.path.join(str(root), "wjazzd")
    index = []
    for k, (name, (performer, chords)) in enumerate(SOLOS.items()):
        melody, beats = [], []
        for bar, symbol in enumerate(chords):
            root_pc = {"D": 2, "G": 7, "C": 0, "F": 5}[symbol[0]]
            tones = CHORD_TONES[symbol[1:]]
            for beat in range(1, 5):
                for tatum, length in ((1, 8), (3, 4)):
                    i = (beat - 1) * 2 + (tatum > 1)
                    pitch = 60 + root_pc + tones[i % 4] + (12 if i >= 4 else 0)
                    melody.append([bar, beat, BEATDUR, 4, 3, length * BEATDUR / 12, 4, 0.0, 4,
                                   f"{pitch}.0", 0, tatum])
                beats.append([bar, "", beat, symbol if beat == 1 else "", 1, "", 0.0, ""])
        write_csv(os.path.join(folder, "melody", f"{name}_Solo.csv"), MELODY_HEADER, melody)
        write_csv(os.path.join(folder, "beats", f"{name}_Solo.csv"), BEATS_HEADER, beats)
        index.append([k + 1, f"{name}_FINAL.sv", performer, name.split("_")[1]])
    write_csv(os.path.join(folder, "solos.csv"), ["melid", "filename_sv", "performer", "title"],
           index)
    return folder


@pytest.fixture
def corpus(tmp_path) -> str:
    return wjazzd_folder(tmp_path)


def test_teacher_forced_fit_matches_a_token_by_token_run(tiny_model, corpus):
    """Row i of the conditioning goes with input token i, which predicts token i+1; each
    window (or whole solo) starts from a zero state. The batched scorer agrees with the
    engine stepped one token at a time."""
    engine = Engine(tiny_model)
    solos = load_solos([corpus], engine.codec, progress=False)
    assert engine.has_cond and len(solos) == 2
    solos[1].tokens = solos[1].tokens[:-7]  # different lengths: rows stop at different steps
    for window in (engine.info.tx, None):
        fits = fit(engine, solos, window)
        for solo, f in zip(solos, fits):
            tokens = solo.tokens.tolist()
            cond = cond_matrix(solo.chord, solo.next_chord, solo.ref_pc, solo.pos)
            nll, hits, count = 0.0, 0, 0
            step = window or len(tokens) - 1
            for i in range(len(tokens) - 1):
                if i % step == 0:
                    engine.reset()
                engine.cond[:] = cond[i]
                probs = engine.step(tokens[i])
                nll -= math.log(probs[tokens[i + 1]])
                hits += int(np.argmax(probs) == tokens[i + 1])
                count += 1
            assert f.tokens == count == len(tokens) - 1
            assert f.nll == pytest.approx(nll, rel=1e-4)
            assert f.hits == hits


def test_a_continuation_is_played_over_the_solos_own_bars(tiny_model, corpus):
    engine = Engine(tiny_model)
    solo = next(s for s in load_solos([corpus], engine.codec, progress=False)
                if s.name == "TestPlayer_TwoFive")
    cont = continue_solo(engine, Sampler(seed=3), solo, 1, 4)
    assert cont is not None and cont.model.lines == cont.human.lines == 1
    # the human's bars 2-5: 32 swung eighths, every one a chord tone, on the beat half the time
    assert cont.human.notes == 32 and cont.human.rests == Share(0, 32)
    assert cont.human.chord_tones == Share(8, 8) and cont.human.on_beat == Share(16, 32)
    assert cont.key == estimate_key([n for n in solo.notes if n.start < 48])
    assert cont.model.notes > 0 and cont.model.rests.total >= cont.model.notes
    assert continue_solo(engine, Sampler(seed=3), solo, 1, 6) is None  # the solo has 6 bars


def test_answers_to_calls_in_every_key(tiny_model):
    engine = Engine(tiny_model)
    results = answer_calls(engine, Sampler(seed=1))
    n = 24 * len(CALLS)
    assert results.calls == results.key_found == n
    assert results.answers.lines == results.lines.lines == results.argmax.lines == n
    assert results.lines.rests.total == results.argmax.rests.total == n * LOOP_SPAN
    assert results.answers.in_key.total > 0 and len(results.by_key) == 24
    assert results.argmax.loops.total == n and len(results.loops) == results.argmax.loops.hits


# --- The command line ----------------------------------------------------------------------


def test_cli_prints_both_tables_with_labels(tiny_model, corpus):
    proc = jazz("evaluate", "--model", tiny_model, "--opening-bars", "1", "--continue-bars", "4",
                "--by-performer", "--calls", corpus)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "fit: teacher-forced on 2 solos" in out
    assert "NLL/token: lower is better" in out
    assert "not trained on (the model learnt only builtin" in out  # held-out label
    assert "continuations: 1 bar(s) of each solo heard, 4 played" in out
    assert "2 solos (0 skipped" in out
    rows = {ln.split("  ")[0]: ln.split() for ln in out.splitlines()}
    nll = float(rows["model.onnx"][1])
    assert 0 < nll < 10
    assert rows["chord tones on beats 1 and 3"][-1] == "1.00"  # the fixture's human bars
    assert rows["onsets on the beat"][-1] == "0.50"
    assert rows["rest tokens"][-1] == "0.00"
    assert "Test Player" in out and "Other Player" in out
    assert f"calls without chords: {24 * len(CALLS)} two-bar calls" in out
    assert "daemon's answer (best of 16)" in out and "argmax line, 64 tokens" in out


def test_cli_tell_apart_prints_distributions_and_the_classifier(tiny_model, corpus):
    proc = jazz("evaluate", "--model", tiny_model, "--opening-bars", "1", "--continue-bars", "4",
                "--tell-apart", corpus)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout[proc.stdout.index("tell-apart:"):]
    assert "tell-apart: 2 phrases of 4 bars from each side, 2 solos" in out
    rows = {r[0]: r[1:] for r in ([c.strip() for c in ln.strip("|").split("|")]
                                  for ln in out.splitlines() if ln.startswith("| "))}
    for name in ("onset position in the beat", "inter-onset interval", "interval",
                 "chord tone by beat", "notes per bar", "register span"):
        assert 0 <= float(rows[name][0]) <= 1, name
    assert rows["chord tones on beats 1 and 3"][1] == "1.000"  # the fixture's human bars
    assert rows["onsets on ticks 5 and 11"][1] == "0.000"
    assert set(rows["all features"]) and "human vs human" in out
    assert "critic" in out  # the model's critic, and the feel it measured
    assert "measured on the training solos" in proc.stdout


def test_cli_says_which_solos_are_held_out(tiny_model, corpus, tmp_path):
    import onnx

    model = onnx.load(tiny_model)
    onnx.helper.set_model_props(model, {
        **{p.key: p.value for p in model.metadata_props},
        "validation_solos": '["OtherPlayer_InF"]'})
    path = str(tmp_path / "held.onnx")
    onnx.save(model, path)
    args = ("evaluate", "--model", path, "--opening-bars", "1", "--continue-bars", "4")
    proc = jazz(*args, corpus)
    assert proc.returncode == 0, proc.stderr
    assert "1 of 2 solos held out from training" in proc.stdout
    proc = jazz(*args, "--held-out-only", corpus)
    assert proc.returncode == 0, proc.stderr
    assert "fit: teacher-forced on 1 solos" in proc.stdout
    assert "held out from training (the model's validation solos" in proc.stdout
    meta = {p.key: p.value for p in model.metadata_props if p.key != "validation_solos"}
    hyper = json.loads(meta.get("hyperparameters", "{}"))
    hyper.pop("validation_solos", None)
    meta["hyperparameters"] = json.dumps(hyper)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    onnx.save(model, path)
    err = one_error_line(jazz("evaluate", "--model", path, "--held-out-only", corpus))
    assert "lists no validation solos" in err


def test_cli_with_the_shipped_model_and_a_midi_file_with_chords(tmp_path):
    """The shipped (chord-aware) model on a MIDI file whose piano part gives the chords, and
    on the calls."""
    beat = 480
    melody = melody_messages([60, 62, 64, 65, 67, 69, 71, 72] * 12)  # 12 bars of eighths
    chords = []
    for bar in range(12):
        pitches = (48, 52, 55, 59) if bar % 2 == 0 else (50, 53, 57, 60)
        chords += [mido.Message("note_on", note=p, velocity=60, time=0) for p in pitches]
        chords += [mido.Message("note_off", note=p, velocity=0, time=4 * beat if i == 0 else 0)
                   for i, p in enumerate(pitches)]
    path = write_midi(str(tmp_path / "tune.mid"), [melody, chords], names=["Sax", "Piano"])
    proc = jazz("evaluate", "--calls", path)
    assert proc.returncode == 0, proc.stderr
    assert "'Sax'" in proc.stderr and "'Piano'" in proc.stderr  # which tracks gave what
    assert "hears chords and bar positions" in proc.stdout  # the shipped model is conditioned
    assert "fit: teacher-forced on 1 solos" in proc.stdout
    assert "not held out: none is among the model's validation solos" in proc.stdout
    assert "1 solos (0 skipped" in proc.stdout
    rows = {ln.split("  ")[0]: ln.split() for ln in proc.stdout.splitlines()}
    assert rows["chord tones on beats 1 and 3"][-1] != "-"  # the piano's chords were heard
    assert "calls without chords" in proc.stdout


def test_bad_corpus_is_one_error_line(tmp_path):
    err = one_error_line(jazz("evaluate", str(tmp_path / "nowhere")))
    assert "does not exist" in err and "nowhere" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no MIDI files" in one_error_line(jazz("evaluate", str(empty)))
    assert "nothing to evaluate" in one_error_line(jazz("evaluate"))
    proc = jazz("evaluate", str(tmp_path / "nowhere"))
    assert proc.returncode == 2


def test_a_corpus_without_long_enough_solos_says_so(tiny_model, corpus, tmp_path):
    shutil.copytree(corpus, tmp_path / "copy")
    proc = jazz("evaluate", "--model", tiny_model, "--continue-bars", "20",
                str(tmp_path / "copy"))
    assert proc.returncode == 0, proc.stderr
    assert "continuations: no solo is 22 bars long" in proc.stdout


def test_music_bench_rows_and_the_table_export_can_print(tiny_model, corpus):
    from bench.music_bench import measure
    from jazz_plugin.offline.evaluate import continuation_report

    rows, words = measure(tiny_model, corpus, seed=0, opening=1, bars=4)
    by_name = {(r.section, r.name): r for r in rows}
    ct = by_name[("music: continuations", "chord tones on beats 1 and 3")]
    assert ct.note.startswith("human ") and "target within 0.1 of human" in ct.note
    assert 0.0 <= ct.median <= 1.0 and ct.note.startswith("human 1.00")
    loops = by_name[("music: calls", "argmax 64-token lines with an exact loop")]
    assert loops.note.startswith(f"of {24 * len(CALLS)}; target 0: ")
    assert any("2 solos" in w for w in words)
    assert measure(tiny_model, str(corpus) + "-missing")[1][-1].endswith("calls only")
    engine = Engine(tiny_model)
    solos = load_solos([corpus], engine.codec, progress=False)
    table, conts = continuation_report(engine, solos, "external test set, not trained on",
                                       opening=1, bars=4)
    assert len(conts) == 2 and "external test set, not trained on" in table
    assert "chord tones on beats 1 and 3" in table
