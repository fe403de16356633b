"""The tables `evaluate` prints, each under a line that says what it measured."""

from __future__ import annotations

import os
from collections.abc import Sequence

from jazz_plugin import options
from jazz_plugin.corpus.solo import Solo
from jazz_plugin.model.engine import Engine
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.music.musicality import Figures, Share
from jazz_plugin.offline.evaluate.calls import (
    CALL_LINE_TOKENS,
    CALLS,
    CallResults,
)
from jazz_plugin.offline.evaluate.continuations import (
    MIN_OPENING_NOTES,
    Continuation,
    continue_solos,
)
from jazz_plugin.offline.evaluate.fit import Fit, fit
from jazz_plugin.offline.evaluate.solos import (
    held_out_label,
)
from jazz_plugin.offline.tables import table

opening_bars = options.OPENING_BARS  # bars of each solo heard before it continues
continue_bars = options.CONTINUE_BARS  # bars it plays after them (the human's same bars)
seed = 0  # sampling seed: the same seed gives the same tables


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
    critic = (f"; critic {engine.critic.meta.get('file')} (held-out AUC "
              f"{engine.critic.meta.get('held_out_auc')})" if engine.critic else "; no critic")
    lines = [f"model {os.path.basename(engine.path)} (n_a {engine.n_a}, Tx {engine.info.tx}, "
             f"codec v{engine.info.codec_version}; {conditioning}{critic})"]
    if engine.info.feel:
        lines.append(feel_table(engine.info.feel))
    return "\n".join(lines)


FEEL_ROWS = (("swing", "swing ratio (long:short off-beat eighth)"),
             ("notes_per_bar", "notes per bar"), ("rest_share", "rest share of the time"),
             ("echo", "echo of the 2 bars before (search target at --develop 0.5)"),
             ("chord_tones_1_3", "chord tones on beats 1 and 3"))


def feel_table(feel: dict) -> str:
    """The figures measured on the training corpus by tempo band (the model's `feel`)."""
    bands = feel.get("bands", [])
    rows = [[label] + [_v(v) for v in feel[key]] for key, label in FEEL_ROWS if feel.get(key)]
    rows.append(["training solos"] + [str(n) for n in feel.get("solos", [])])
    return "\n".join(["", "measured on the training solos, by tempo band (BPM); the search and "
                      "--swing auto use these"] + table(["figure", *bands], rows))


def fit_table(engine: Engine, solos: Sequence[Solo], fits: Sequence[Fit], label: str,
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


def continuation_table(conts: Sequence[Continuation], total: int, label: str,
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


def performer_table(solos: Sequence[Solo], fits: Sequence[Fit],
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


def calls_table(results: CallResults, sampler: Sampler, settings: options.RunOptions) -> str:
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
    return continuation_table(conts, len(solos), label, opening, bars, sampler), conts


def solo_report(engine: Engine, sampler: Sampler, solos: Sequence[Solo],
                opening: int = opening_bars, bars: int = continue_bars,
                context: str = "window", by_performer: bool = False,
                label: str | None = None) -> str:
    """The fit table and the continuations table (and per performer) for `solos`."""
    label = label or held_out_label(engine, solos)
    fits = fit(engine, solos, engine.info.tx if context == "window" else None)
    table, conts = continuation_report(engine, solos, label, sampler, opening, bars)
    parts = [fit_table(engine, solos, fits, label, context), table]
    if by_performer:
        parts.append(performer_table(solos, fits, conts))
    return "\n\n".join(parts)
