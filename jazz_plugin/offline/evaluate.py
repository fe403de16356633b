"""`jazz-plugin evaluate`: how well a model predicts real solos, and how it plays over them.

onnxruntime only. Three measurements, each printed as a labelled table:

1. Fit: teacher-forced NLL/token and next-token accuracy on the solos. Each solo runs with
   its own conditioning (`cond_matrix` of its records: row i conditions the step whose input
   is token i and which predicts token i+1), in non-overlapping windows of the model's Tx
   input tokens, each from a zero state as in training (or, with `context="solo"`, the
   whole solo from one zero state). Token 0 is never predicted.
2. Continuations: each solo's opening bars prime the voice, which continues over the solo's
   own changes; the musical figures (musicality.py) of the model's bars sit beside those of
   the human's same bars. The in-key share uses the key Krumhansl-Schmuckler estimates
   from the opening.
3. Calls: 2-bar calls in all 12 major and 12 minor keys, answered without chords as the
   daemon answers (the key estimated from the call by `chordsource.Harmony`; the best of
   its candidates by `develop.best`), plus a 64-token line at the chosen sampling and a
   64-token argmax line (the exact-loop check).

All generation goes through `generate.improvise` or `voice.Voice`: the one generation loop.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jazz_plugin import options
from jazz_plugin.corpus.midifile import find_midi_files, read_solo_parts
from jazz_plugin.corpus.solo import Solo, encode_solo, token_end_ticks
from jazz_plugin.corpus.wjazzd import load_wjazzd
from jazz_plugin.errors import ConfigError, CorpusError, MidiFileError
from jazz_plugin.live.chordsource import Harmony
from jazz_plugin.model.conditioning import cond_matrix
from jazz_plugin.model.engine import START, Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Codec, Note, quantize
from jazz_plugin.music.grid import TICKS_PER_BAR, TICKS_PER_BEAT, TICKS_PER_QUARTER
from jazz_plugin.music.harmony import Key, estimate_key, pc_name
from jazz_plugin.music.musicality import LOOP_SPAN, Figures, Share, in_key
from jazz_plugin.offline.generate import improvise
from jazz_plugin.offline.tables import table

opening_bars = options.OPENING_BARS  # bars of each solo heard before it continues
continue_bars = options.CONTINUE_BARS  # bars it plays after them (the human's same bars)
seed = 0  # sampling seed: the same seed gives the same tables
EVAL_LOW, EVAL_HIGH = 36, 96  # continuations' register: wide; folding keeps pitch classes
SCORE_BATCH = 256  # sequences stepped together when scoring (one onnxruntime run per step)
MIN_OPENING_NOTES = 2  # an opening needs an interval to go on
CANDIDATES = options.RunOptions().candidates  # continuations pick phrases as the daemon does
CALL_LINE_TOKENS = LOOP_SPAN  # tokens of the sampled and argmax lines after each call
NOT_KNOWN = "not known to be held out (the model's metadata lists no validation solos)"


# --- Corpora ------------------------------------------------------------------------------


def is_wjazzd_folder(path: str) -> bool:
    """A WJazzD CSV export has a melody/ folder (next to beats/ and solos.csv)."""
    return os.path.isdir(os.path.join(path, "melody"))


def load_solos(paths: Sequence[str], codec: Codec, track: str | None = None,
               chord_track: str | None = "auto", progress: bool = True) -> list[Solo]:
    """Solos of WJazzD folders and MIDI files/folders (chords from their comping tracks).

    Bad files are skipped with one warning each; a path that does not exist, or nothing
    usable at all, is one CorpusError/MidiFileError line.
    """
    for path in paths:
        if not os.path.exists(path):
            raise CorpusError(f"corpus {path!r} does not exist; expected a WJazzD folder "
                              f"(melody/, beats/, solos.csv) or MIDI files or folders")
    solos: list[Solo] = []
    for path in filter(is_wjazzd_folder, paths):
        found, report = load_wjazzd(path, codec, progress)
        print(report.describe(), file=sys.stderr)
        solos += found
    midi = [p for p in paths if not is_wjazzd_folder(p)]
    if midi:
        solos += read_midi_solos(midi, codec, track, chord_track)
    return solos


def read_midi_solos(paths: Sequence[str], codec: Codec, track: str | None = None,
                    chord_track: str | None = "auto") -> list[Solo]:
    """Every MIDI file under `paths` as a Solo; says which tracks gave melody and chords."""
    solos, skipped = [], []
    files = find_midi_files(paths)
    for path in files:
        try:
            melody, changes, info = read_solo_parts(path, track, chord_track)
            line = quantize(melody, TICKS_PER_QUARTER)
            if len(line) < 2:
                raise MidiFileError(f"{path!r} has fewer than 2 notes")
        except MidiFileError as e:
            print(f"warning: skipped {e}", file=sys.stderr)
            skipped.append(str(e))
            continue
        print(f"{path}: {info.describe()}", file=sys.stderr)
        solos.append(encode_solo(path, "", line, changes, codec))
    if not solos:
        raise CorpusError(f"no usable MIDI file among {len(files)} (first: {skipped[0]})")
    return solos


def validation_names(engine: Engine) -> set[str] | None:
    """The solo names the model's metadata lists as its validation split, if it lists any
    (key `validation_solos`, at the top or in `hyperparameters`, a JSON list)."""
    meta = engine.session.get_modelmeta().custom_metadata_map
    names = None
    if "validation_solos" in meta:
        try:
            names = json.loads(meta["validation_solos"])
        except ValueError:
            names = None
    if names is None:
        names = engine.info.hyperparameters.get("validation_solos")
    return set(map(str, names)) if isinstance(names, list) else None


def held_out_label(engine: Engine, solos: Sequence[Solo]) -> str:
    """Plain words on whether the model was trained on these solos."""
    names = validation_names(engine)
    held = sum(s.name in names for s in solos) if names is not None else 0
    if held == len(solos) and held:
        return "held out from training (the model's validation solos, from its metadata)"
    if held:
        return (f"{held} of {len(solos)} solos held out from training (the model's validation "
                f"solos); the other {len(solos) - held} were trained on")
    corpus = engine.info.corpus
    if corpus.startswith("builtin"):
        return f"not trained on (the model learnt only {corpus.split(':')[0]})"
    if names is not None:
        return (f"not held out: none is among the model's validation solos (trained on, if "
                f"they come from its corpus: {corpus.split(':')[0]})")
    return NOT_KNOWN


# --- 1. Fit: teacher-forced NLL and accuracy ----------------------------------------------


@dataclass
class Fit:
    """Teacher-forced figures of one solo: summed NLL (nats), argmax hits, targets."""

    nll: float = 0.0
    hits: int = 0
    tokens: int = 0

    def __add__(self, other: Fit) -> Fit:
        return Fit(self.nll + other.nll, self.hits + other.hits, self.tokens + other.tokens)

    @property
    def nll_per_token(self) -> float:
        return self.nll / self.tokens if self.tokens else math.nan

    @property
    def accuracy(self) -> float:
        return self.hits / self.tokens if self.tokens else math.nan


def fit_sequences(solos: Sequence[Solo], window: int | None,
                  conditioned: bool) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(solo index, tokens [L + 1], cond [L, COND_WIDTH]) per window (None: whole solos).

    Window k of a solo holds inputs w*k .. w*k + w - 1 and predicts the tokens one later."""
    seqs = []
    for k, solo in enumerate(solos):
        n = len(solo)
        if n < 2:
            continue
        cond = (cond_matrix(solo.chord, solo.next_chord, solo.ref_pc, solo.pos) if conditioned
                else np.zeros((n, 0), np.float32))  # [n, COND_WIDTH]
        tokens = np.asarray(solo.tokens, np.int64)
        step = window or n - 1
        for s in range(0, n - 1, step):
            e = min(s + step, n - 1)
            seqs.append((k, tokens[s:e + 1], cond[s:e]))
    return seqs


def fit(engine: Engine, solos: Sequence[Solo], window: int | None) -> list[Fit]:
    """Teacher-forced Fit of each solo, each sequence from a zero state.

    Sequences run SCORE_BATCH at a time, longest first, one batched step per position; a
    row stops stepping once its sequence ends.
    """
    seqs = fit_sequences(solos, window, engine.has_cond)
    fits = [Fit() for _ in solos]
    seqs.sort(key=lambda s: -len(s[1]))
    n_a = engine.n_a
    for b in range(0, len(seqs), SCORE_BATCH):
        chunk = seqs[b:b + SCORE_BATCH]
        lengths = np.array([len(t) - 1 for _, t, _ in chunk])  # targets per row, descending
        rows, steps = len(chunk), int(lengths[0])
        tokens = np.full((rows, steps + 1), START, np.int64)  # [B, L + 1]
        cond = np.zeros((rows, steps, chunk[0][2].shape[1]), np.float32)  # [B, L, COND_WIDTH]
        for i, (_k, t, c) in enumerate(chunk):
            tokens[i, :len(t)] = t
            cond[i, :len(c)] = c
        h = np.zeros((rows, n_a), np.float32)  # [B, n_a]
        c_state = np.zeros((rows, n_a), np.float32)
        nll = np.zeros(rows)
        hits = np.zeros(rows, np.int64)
        for t in range(steps):
            active = int(np.sum(lengths > t))  # rows are longest first
            probs, h_new, c_new = engine.step_batch(tokens[:active, t], cond[:active, t],
                                                    h[:active], c_state[:active])
            h[:active], c_state[:active] = h_new, c_new
            target = tokens[:active, t + 1]
            p = probs[np.arange(active), target]  # [active]
            nll[:active] -= np.log(np.clip(p, 1e-12, 1.0))
            hits[:active] += probs.argmax(axis=1) == target
        for i, (k, _t, _c) in enumerate(chunk):
            fits[k] += Fit(float(nll[i]), int(hits[i]), int(lengths[i]))
    return fits


# --- 2. Continuations over the solo's own changes -----------------------------------------


@dataclass
class Continuation:
    """One solo continued: the model's figures and the human's over the same bars."""

    solo: Solo
    key: Key
    model: Figures
    human: Figures


def token_starts(tokens: Sequence[int], notes: Sequence[Note], codec: Codec) -> np.ndarray:
    """Absolute start tick of each token [n] of a line encoded from `notes`."""
    ends = token_end_ticks(notes, codec, tokens)
    durs = np.array([codec.tokens[t].dur for t in tokens], np.int64)
    return ends - durs


def continue_solo(engine: Engine, sampler: Sampler, solo: Solo, opening: int,
                  bars: int, candidates: int = CANDIDATES) -> Continuation | None:
    """The model continues the solo's first `opening` bars for `bars` bars over its changes
    (None when the solo has no such opening or ends before those bars do). With
    `candidates` > 1 it picks phrase by phrase as `generate` and the daemon do."""
    codec = engine.codec
    start, until = opening * TICKS_PER_BAR, (opening + bars) * TICKS_PER_BAR
    notes = solo.notes  # built on each access: once here
    heard = [n for n in notes if n.start < start]
    if len(heard) < MIN_OPENING_NOTES or notes[-1].start + notes[-1].dur < until:
        return None
    key = estimate_key(heard)
    tokens: list[int] = []
    played = improvise(engine, sampler, 0, heard, EVAL_LOW, EVAL_HIGH, solo.changes,
                       until=until, start=start, candidates=candidates, tokens=tokens)
    model, human = Figures(), Figures()
    model.add(played, tokens, codec, key, solo.changes)
    starts = token_starts(solo.tokens, notes, codec)
    human_tokens = [int(t) for t, s in zip(solo.tokens, starts) if start <= s < until]
    human_notes = [n for n in notes if start <= n.start < until]
    human.add(human_notes, human_tokens, codec, key, solo.changes)
    return Continuation(solo, key, model, human)


# --- 3. Calls without chords --------------------------------------------------------------

# Scale steps of the calls: major, and minor with its leading tone (harmonic minor).
CALL_SCALES = {False: (0, 2, 4, 5, 7, 9, 11), True: (0, 2, 3, 5, 7, 8, 11)}
SW, SW2 = 8, 4  # swung eighths: long and short part of a beat, in ticks
# Idiomatic 2-bar calls as (onset tick, scale step from the tonic, length in ticks).
CALLS = {
    "scale up, arpeggio down": [
        *((b * 12 + o, 2 * b + i, d) for b in range(4) for i, (o, d) in
          enumerate(((0, SW), (SW, SW2)))),
        (48, 8, SW), (56, 6, SW2), (60, 4, SW), (68, 2, SW2), (72, 0, 24)],
    "arpeggio up and down": [
        (0, 0, 12), (12, 2, SW), (20, 4, SW2), (24, 6, SW), (32, 7, SW2), (36, 9, 12),
        (48, 6, SW), (56, 4, SW2), (60, 2, SW), (68, -1, SW2), (72, 0, 24)],
    "bebop line with an enclosure": [
        *((b * 12 + o, 7 - 2 * b - i, d) for b in range(4) for i, (o, d) in
          enumerate(((0, SW), (SW, SW2)))),
        (48, 3, SW), (56, 1, SW2), (60, 2, 12), (72, 4, 12), (84, 0, 12)],
    "triplets, a breath and a landing": [
        (0, 0, 4), (4, 2, 4), (8, 4, 4), (12, 7, 12),
        (48, 6, SW), (56, 5, SW2), (60, 4, SW), (68, 3, SW2), (72, 2, 12), (84, 0, 12)],
}


def call_notes(tonic: int, minor: bool, figure: str) -> list[Note]:
    """One call in a key (tonic pitch class), from CALLS, around middle C."""
    scale = CALL_SCALES[minor]
    base = 60 + tonic if tonic < 6 else 48 + tonic  # tonics from F#3 to F4
    return [Note(start, base + 12 * (step // 7) + scale[step % 7], dur)
            for start, step, dur in CALLS[figure]]


def all_calls() -> list[tuple[Key, str, list[Note]]]:
    """(written key, figure name, notes) for every figure in all 24 keys."""
    return [(Key(tonic, minor), figure, call_notes(tonic, minor, figure))
            for minor in (False, True) for tonic in range(12) for figure in CALLS]


def daemon_answer(engine: Engine, sampler: Sampler, call: list[Note],
                  settings: options.RunOptions) -> list[Note]:
    """What the daemon plays after `call` with no chords given, planned by the daemon's own
    planner: the call ends after `phrase_end` beats of silence; the harmony assumes its key,
    and the best of `settings.candidates` candidates is chosen."""
    harmony = Harmony()
    planner = AnswerPlanner(Voice(engine, sampler, settings.low, settings.high, harmony),
                            harmony)
    end_tick = max(n.start + n.dur for n in call) + settings.phrase_end * TICKS_PER_BEAT
    plan = planner.answer(call, end_tick, AnswerRules.of(settings), settings.bpm)
    return [n for n in plan.notes if n.start < plan.end]


@dataclass
class CallResults:
    """Figures of the answers to all calls, and which calls' keys K-S got right."""

    answers: Figures = field(default_factory=Figures)  # the daemon's pick, answer length
    lines: Figures = field(default_factory=Figures)  # 64 tokens at the chosen sampling
    argmax: Figures = field(default_factory=Figures)  # 64 tokens, argmax
    calls: int = 0
    key_found: int = 0  # calls whose K-S key is the key they were written in
    loops: list[str] = field(default_factory=list)  # "C major, figure: period 10"
    by_key: dict[str, Share] = field(default_factory=dict)  # in-key share of the answers


def answer_calls(engine: Engine, sampler: Sampler,
                 settings: options.RunOptions | None = None) -> CallResults:
    """Answer every call of `all_calls` (see the module docstring)."""
    settings = settings or options.RunOptions()
    codec = engine.codec
    argmax = Sampler(argmax=True)
    out = CallResults()
    for written, figure, call in all_calls():
        key = estimate_key(call)
        out.calls += 1
        out.key_found += key == written
        answer = daemon_answer(engine, sampler, call, settings)
        out.answers.add(answer, None, codec, key)
        name = f"{pc_name(written.tonic)} {'minor' if written.minor else 'major'}"
        out.by_key[name] = out.by_key.get(name, Share()) + in_key(answer, key)
        for figures, chooser in ((out.lines, sampler), (out.argmax, argmax)):
            tokens: list[int] = []
            notes = improvise(engine, chooser, CALL_LINE_TOKENS, call, settings.low,
                              settings.high, tokens=tokens)
            loop = figures.add(notes, tokens, codec, key)
            if loop is not None and chooser is argmax:
                out.loops.append(f"{name}, {figure}: period {loop.period}")
    return out



# --- Tables -------------------------------------------------------------------------------


def _v(x: Share | float | None) -> str:
    """A figure to two decimals; '-' when nothing was counted."""
    value = x.value if isinstance(x, Share) else x
    return "-" if value is None or value != value else f"{value:.2f}"


def sampling_text(sampler: Sampler) -> str:
    if sampler.argmax:
        return "argmax"
    top_k = sampler.top_k or "off"
    return (f"temperature {sampler.temperature:g}, top-p {sampler.top_p:g}, top-k {top_k}, "
            f"seed {sampler.seed}")


def model_text(engine: Engine) -> str:
    conditioning = ("hears chords and bar positions" if engine.has_cond
                    else "without conditioning: hears no chords or bar positions")
    return (f"model {os.path.basename(engine.path)} (n_a {engine.n_a}, Tx {engine.info.tx}; "
            f"{conditioning})")


def fittable(engine: Engine, solos: Sequence[Solo], fits: Sequence[Fit], label: str,
              context: str) -> str:
    total = sum(fits, Fit())
    how = ("non-overlapping windows of Tx input tokens, each from a zero state, as in "
           "training" if context == "window" else "each whole solo from one zero state")
    lines = [f"fit: teacher-forced on {len(solos)} solos ({how}); {label}",
             "NLL/token: lower is better; accuracy: the likeliest token is the next one"]
    lines += table(["model", "NLL/token", "accuracy", "tokens"],
                    [[os.path.basename(engine.path), f"{total.nll_per_token:.3f}",
                      f"{total.accuracy:.3f}", str(total.tokens)]])
    return "\n".join(lines)


FIGURE_ROWS = (  # (label, Figures attribute)
    ("chord tones on beats 1 and 3", "chord_tones"),
    ("in key (K-S key of the opening)", "in_key"),
    ("distinct interval 4-grams", "distinct"),
    ("rest tokens", "rests"),
    ("onsets on the beat", "on_beat"),
    ("lines with an exact loop", "loops"),
)


def continuationtable(conts: Sequence[Continuation], total: int, label: str,
                       opening: int, bars: int, sampler: Sampler) -> str:
    model = sum((c.model for c in conts), Figures())
    human = sum((c.human for c in conts), Figures())
    skipped = total - len(conts)
    lines = [f"continuations: {opening} bar(s) of each solo heard, {bars} played over its own "
             f"changes, beside the human's same bars; {label}",
             f"{len(conts)} solos ({skipped} skipped: shorter than {opening + bars} bars or "
             f"fewer than {MIN_OPENING_NOTES} notes in the opening); sampling: "
             f"{sampling_text(sampler)}"]
    rows = [[name, _v(getattr(model, attr)), _v(getattr(human, attr))]
            for name, attr in FIGURE_ROWS]
    rows.append(["notes played", str(model.notes), str(human.notes)])
    return "\n".join(lines + table(["figure", "model", "human"], rows))


def performertable(solos: Sequence[Solo], fits: Sequence[Fit],
                    conts: Sequence[Continuation]) -> str:
    """NLL and the two harmony figures per performer, the most solos first."""
    by: dict[str, list] = {}
    for solo, f in zip(solos, fits):
        entry = by.setdefault(solo.performer or "(unknown)", [0, Fit(), Figures(), Figures()])
        entry[0] += 1
        entry[1] += f
    for c in conts:
        entry = by[c.solo.performer or "(unknown)"]
        entry[2] += c.model
        entry[3] += c.human
    rows = [[name, str(n), f"{f.nll_per_token:.3f}", f"{f.accuracy:.3f}",
             _v(m.chord_tones), _v(h.chord_tones), _v(m.in_key), _v(h.in_key)]
            for name, (n, f, m, h) in sorted(by.items(), key=lambda kv: (-kv[1][0], kv[0]))]
    header = ["performer", "solos", "NLL/token", "accuracy", "tones model", "human",
              "in key model", "human"]
    return "\n".join(["by performer (NLL/token: lower is better; chord tones on beats 1 "
                      "and 3; in key of the opening)"] + table(header, rows))


def callstable(results: CallResults, sampler: Sampler, settings: options.RunOptions) -> str:
    """The answers to the calls: the daemon's pick, a sampled line and an argmax line."""
    rows = []
    for name, figures in ((f"daemon's answer (best of {settings.candidates})", results.answers),
                          (f"one line, {CALL_LINE_TOKENS} tokens", results.lines),
                          (f"argmax line, {CALL_LINE_TOKENS} tokens", results.argmax)):
        rows.append([name, _v(figures.in_key), _v(figures.distinct), _v(figures.rests),
                     _v(figures.on_beat),
                     f"{figures.loops.hits}/{figures.loops.total}" if figures.loops.total
                     else "-"])
    worst = sorted(results.by_key.items(), key=lambda kv: (kv[1].value or 0.0, kv[0]))[:3]
    lines = [f"calls without chords: {results.calls} two-bar calls ({len(CALLS)} figures in "
             f"12 major and 12 minor keys), answered as the daemon does: the key estimated "
             f"from the call (K-S found the written key for {results.key_found}); sampling: "
             f"{sampling_text(sampler)}",
             f"the daemon's answers are {settings.low}..{settings.high}, as long as the call; "
             f"in key = in the K-S key of the call; exact loop = a stretch of at least 16 "
             f"tokens repeating its figure twice"]
    lines += table(["answer", "in key", "distinct 4-grams", "rest tokens", "on the beat",
                     "exact loops"], rows)
    lines.append("weakest keys (daemon's answers in key): "
                 + ", ".join(f"{k} {_v(s)}" for k, s in worst))
    if results.loops:
        lines.append("argmax loops: " + "; ".join(results.loops[:6])
                     + (f"; and {len(results.loops) - 6} more" if len(results.loops) > 6
                        else ""))
    return "\n".join(lines)


# --- The command --------------------------------------------------------------------------


def continue_solos(engine: Engine, sampler: Sampler, solos: Sequence[Solo], opening: int,
                   bars: int, progress: bool = True) -> list[Continuation]:
    """`continue_solo` for each solo (those too short are left out), in corpus order."""
    from tqdm import tqdm

    bar = tqdm(solos, desc="continuations", unit="solo", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty())
    return [c for c in (continue_solo(engine, sampler, s, opening, bars) for s in bar)
            if c is not None]


def continuation_report(engine: Engine, solos: Sequence[Solo], label: str,
                        sampler: Sampler | None = None, opening: int = opening_bars,
                        bars: int = continue_bars) -> tuple[str, list[Continuation]]:
    """The continuations table for `solos` (e.g. `export --test`'s test set), and the
    continuations it summarises. `label` says whether the solos were held out."""
    sampler = sampler or Sampler(seed=seed)
    conts = continue_solos(engine, sampler, solos, opening, bars)
    if not conts:
        return (f"continuations: no solo is {opening + bars} bars long with "
                f"{MIN_OPENING_NOTES} notes in its first {opening} bar(s); try fewer "
                f"--opening-bars or --continue-bars"), conts
    return continuationtable(conts, len(solos), label, opening, bars, sampler), conts


def solo_report(engine: Engine, sampler: Sampler, solos: Sequence[Solo],
                opening: int = opening_bars, bars: int = continue_bars,
                context: str = "window", by_performer: bool = False,
                label: str | None = None) -> str:
    """The fit table and the continuations table (and per performer) for `solos`."""
    label = label or held_out_label(engine, solos)
    fits = fit(engine, solos, engine.info.tx if context == "window" else None)
    table, conts = continuation_report(engine, solos, label, sampler, opening, bars)
    parts = [fittable(engine, solos, fits, label, context), table]
    if by_performer:
        parts.append(performertable(solos, fits, conts))
    return "\n\n".join(parts)


def run_evaluate(args: argparse.Namespace) -> int:
    """`jazz-plugin evaluate`: prints the tables for the corpus and/or the calls."""
    if not args.corpus and not args.calls:
        raise ConfigError("nothing to evaluate: give a CORPUS (WJazzD folders, MIDI files or "
                          "folders) or --calls")
    sampling = options.sampling_options(args)
    if sampling["seed"] is None:
        sampling["seed"] = seed
    sampler = Sampler.from_options(**sampling)
    engine = Engine(args.model)
    print(model_text(engine))
    if args.corpus:
        solos = load_solos(args.corpus, engine.codec, args.track, args.chord_track)
        if args.held_out_only:
            names = validation_names(engine)
            if names is None:
                raise ConfigError(f"--held-out-only: {engine.path!r} lists no validation "
                                  f"solos in its metadata; evaluate all solos instead")
            solos = [s for s in solos if s.name in names]
            if not solos:
                raise CorpusError("--held-out-only: none of these solos is among the model's "
                                  "validation solos")
        if args.limit:
            solos = solos[:args.limit]
        print()
        print(solo_report(engine, sampler, solos, args.opening_bars, args.continue_bars,
                          args.context, args.by_performer))
    if args.calls:
        settings = options.RunOptions()
        print()
        print(callstable(answer_calls(engine, sampler, settings), sampler, settings))
    return 0
