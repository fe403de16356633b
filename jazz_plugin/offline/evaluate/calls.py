"""Calls without chords: 2-bar calls in all 12 major and 12 minor keys, answered as the
daemon answers (its planner; the key estimated from the call), plus a 64-token line at the
chosen sampling and a 64-token argmax line (the exact-loop check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jazz_plugin import options
from jazz_plugin.live.chordsource import Harmony
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.planner import AnswerPlanner, AnswerRules
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music.codec import Note
from jazz_plugin.music.grid import TICKS_PER_BEAT
from jazz_plugin.music.harmony import Key, estimate_key, pc_name
from jazz_plugin.music.musicality import LOOP_SPAN, Figures, Share, in_key
from jazz_plugin.offline.generate import improvise

CALL_LINE_TOKENS = LOOP_SPAN  # tokens of the sampled and argmax lines after each call


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
    plan = planner.answer(call, end_tick, AnswerRules.of(settings, feel=engine.info.feel),
                          settings.bpm)
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
