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

One module per measurement (`fit.py`, `continuations.py`, `calls.py`), the solos they run
on (`solos.py`) and the tables (`report.py`). All generation goes through
`generate.improvise` or the answer planner: the one generation path.
"""

from __future__ import annotations

import argparse

from jazz_plugin import options
from jazz_plugin.errors import ConfigError, CorpusError
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.offline import tellapart
from jazz_plugin.offline.evaluate.calls import CALLS, all_calls, answer_calls, daemon_answer
from jazz_plugin.offline.evaluate.continuations import continue_solo, continue_solos
from jazz_plugin.offline.evaluate.fit import Fit, fit
from jazz_plugin.offline.evaluate.report import (
    FIGURE_ROWS,
    calls_table,
    continuation_report,
    model_text,
    sampling_text,
    seed,
    solo_report,
)
from jazz_plugin.offline.evaluate.solos import held_out_label, load_solos, validation_names

__all__ = ["CALLS", "FIGURE_ROWS", "Fit", "all_calls", "answer_calls", "continuation_report",
           "continue_solo", "continue_solos", "daemon_answer", "fit", "held_out_label",
           "load_solos", "run_evaluate", "sampling_text"]


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
        if args.tell_apart:
            critic = options.RunOptions().critic if args.critic is None else \
                options.convert("critic", args.critic, "command line")
            print()
            print(tellapart.report(engine, sampler, solos, args.corpus, options.RunOptions()
                                   .candidates, critic, held_out_label(engine, solos),
                                   sampling_text(sampler), args.opening_bars,
                                   args.continue_bars))
    if args.calls:
        settings = options.RunOptions()
        print()
        print(calls_table(answer_calls(engine, sampler, settings), sampler, settings))
    return 0
