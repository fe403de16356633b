"""How a model plays: `python -m bench.music_bench [--model M] [--corpus DIR] [--limit N]`.

Runs `jazz-plugin evaluate`'s measurements (onnxruntime only, jazz_plugin/evaluate.py) and
prints one table with the targets of issue "Play on the changes":

- fit: teacher-forced NLL/token and accuracy on the corpus solos (windows of Tx, as trained);
- continuations: the model continues each solo's opening over the solo's own changes;
  each figure sits beside the human's same bars;
- calls: 2-bar calls in 12 major and 12 minor keys answered without chords, as the daemon
  answers, and 64-token argmax lines checked for exact loops.

`run(quick)` returns the same as bench rows (section "music") for `python -m bench`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jazz_plugin.model.engine import Engine, default_model_path
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.musicality import Figures, Share
from jazz_plugin.offline.evaluate import (
    FIGURE_ROWS,
    Fit,
    answer_calls,
    continue_solos,
    fit,
    held_out_label,
    load_solos,
    sampling_text,
)
from jazz_plugin.options import RunOptions

from .table import Row, machine, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.join(ROOT, "..", "shared", "corpora", "wjazzd")  # benches may read it
QUICK_SOLOS = 60  # solos measured with --quick (the first ones, in file order)
OPENING_BARS, CONTINUE_BARS = 2, 8  # as `jazz-plugin evaluate` defaults
SEED = 0  # sampling seed: reruns give the same table
IN_KEY_TARGET = 0.80  # continuations and answers to calls
DISTINCT_TARGET = 0.5  # distinct interval 4-gram ratio at default sampling
CHORD_TONE_MARGIN = 0.1  # chord tones on 1 and 3 within this of the human share


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def _value(share: Share) -> float:
    return float("nan") if share.value is None else share.value


def continuation_rows(model: Figures, human: Figures, label: str) -> list[Row]:
    """One row per figure: the model's value, the human's in the note, and any target."""
    sec = "music: continuations"
    rows = []
    for name, attr in FIGURE_ROWS:
        m, h = getattr(model, attr), getattr(human, attr)
        note = f"human {_value(h):.2f}"
        if attr == "chord_tones" and m.value is not None and h.value is not None:
            note += (f"; target within {CHORD_TONE_MARGIN} of human: "
                     f"{_met(abs(m.value - h.value) <= CHORD_TONE_MARGIN)}")
        if attr == "in_key" and m.value is not None:
            note += f"; target >= {IN_KEY_TARGET}: {_met(m.value >= IN_KEY_TARGET)}"
        if attr == "distinct" and m.value is not None:
            note += f"; target >= {DISTINCT_TARGET}: {_met(m.value >= DISTINCT_TARGET)}"
        rows.append(Row(sec, name, _value(m), unit="share", note=note))
    rows[0].note += f"; {label}"
    return rows


def measure(model_path: str | None = None, corpus: str | None = DEFAULT_CORPUS,
            limit: int | None = None, seed: int = SEED, opening: int = OPENING_BARS,
            bars: int = CONTINUE_BARS) -> tuple[list[Row], list[str]]:
    """Bench rows and the plain-words lines that go with them (what was measured how)."""
    engine = Engine(model_path)
    sampler = Sampler(seed=seed)
    words = [f"model {engine.path} ({'conditioned' if engine.has_cond else 'unconditioned'}, "
             f"n_a {engine.n_a}, Tx {engine.info.tx}); sampling {sampling_text(sampler)}"]
    rows: list[Row] = []
    if corpus and os.path.isdir(corpus):
        solos = load_solos([corpus], engine.codec, progress=False)[:limit]
        label = held_out_label(engine, solos)
        total = sum(fit(engine, solos, engine.info.tx), Fit())
        words.append(f"corpus {os.path.normpath(corpus)}: {len(solos)} solos; {label}")
        rows.append(Row("music: fit", "NLL/token (lower is better)", total.nll_per_token,
                        unit="nats", note=f"{total.tokens} tokens, windows of Tx from zero"))
        rows.append(Row("music: fit", "accuracy", total.accuracy, unit="share"))
        conts = continue_solos(engine, sampler, solos, opening, bars, progress=False)
        words.append(f"continuations: {len(conts)} solos, {opening} bars heard, {bars} "
                     f"played over the solo's changes")
        rows += continuation_rows(sum((c.model for c in conts), Figures()),
                                  sum((c.human for c in conts), Figures()),
                                  "held out" if label.startswith("held out") else label)
    else:
        words.append(f"no corpus at {corpus!r}: calls only")
    settings = RunOptions()
    calls = answer_calls(engine, Sampler(seed=seed), settings)
    sec = "music: calls"
    answers, lines, argmax = calls.answers, calls.lines, calls.argmax
    rows.append(Row(sec, f"daemon's answers in key (best of {settings.candidates})",
                    _value(answers.in_key), unit="share",
                    note=f"target >= {IN_KEY_TARGET}: "
                         f"{_met(_value(answers.in_key) >= IN_KEY_TARGET)}; "
                         f"{calls.calls} calls, K-S found {calls.key_found} keys"))
    rows.append(Row(sec, "64-token lines in key", _value(lines.in_key), unit="share"))
    rows.append(Row(sec, "64-token lines: distinct interval 4-grams", _value(lines.distinct),
                    unit="share", note=f"target >= {DISTINCT_TARGET}: "
                    f"{_met(_value(lines.distinct) >= DISTINCT_TARGET)}"))
    rows.append(Row(sec, "argmax 64-token lines with an exact loop", argmax.loops.hits,
                    unit="lines", note=f"of {argmax.loops.total}; target 0: "
                    f"{_met(argmax.loops.hits == 0)}"))
    return rows, words


def run(quick: bool) -> list[Row]:
    """Rows for `python -m bench` (the shipped model, the shared corpus if present)."""
    rows, _words = measure(limit=QUICK_SOLOS if quick else None)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.music_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=default_model_path(), help="ONNX model (default: shipped)")
    p.add_argument("--corpus", default=DEFAULT_CORPUS,
                   help="WJazzD folder (default: ../shared/corpora/wjazzd if it exists)")
    p.add_argument("--limit", type=int, help="only the first N solos")
    p.add_argument("--quick", action="store_true", help=f"only the first {QUICK_SOLOS} solos")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    started = time.monotonic()
    rows, words = measure(args.model, args.corpus,
                          args.limit or (QUICK_SOLOS if args.quick else None), args.seed)
    print(f"machine: {machine()}")
    print(f"command: python -m bench.music_bench {' '.join(argv or sys.argv[1:])} "
          f"({time.monotonic() - started:.0f} s)")
    print("\n".join(words))
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
