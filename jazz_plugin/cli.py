"""The `jazz-plugin` command: run (the daemon), ports, generate, export.

Thin wrappers over the library. Any JazzError becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys

from jazz_plugin import options
from jazz_plugin.errors import JazzError

EXPORT_MODULES = {"tensorflow", "tf2onnx", "onnx", "keras"}


def positive_int(text: str) -> int:
    """argparse type for counts (also used by jazz_export.cli)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jazz-plugin",
                                     description="A jazz improviser for your MIDI setup.")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="listen on a MIDI port and improvise back (the default)",
                         description="Listen on a MIDI port and improvise back. Live controls: "
                         "MIDI CC on the input (temperature 20, mode 21, answer_length 22, "
                         "argmax 23, mute 24, panic 25, end_phrase 26; remap with --cc or the "
                         "config's [cc] table). See the README for the whole CC table.")
    options.add_arguments(run)
    run.add_argument("--cc", action="append", default=[], metavar="NAME=NUMBER",
                     help="map a live control to a CC number, e.g. --cc temperature=74")
    run.add_argument("--config", metavar="FILE.toml",
                     help="TOML file with the same options as keys plus a [cc] table; "
                     "options given on the command line win")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="log every answer's notes and a traceback on internal errors")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no status line and no log lines, only errors")
    run.set_defaults(func=_cmd_run)

    ports = sub.add_parser("ports", help="list MIDI ports")
    ports.add_argument("--api", choices=options.APIS, default="auto",
                       help="MIDI system (default auto: the platform's, JACK without ALSA)")
    ports.set_defaults(func=_cmd_ports)

    gen = sub.add_parser("generate", help="write an improvised solo to a MIDI file (no TF)")
    gen.add_argument("--steps", type=positive_int, default=options.GENERATE_STEPS,
                     help=f"tokens to generate (without --changes; default "
                     f"{options.GENERATE_STEPS})")
    chart = gen.add_mutually_exclusive_group()
    chart.add_argument("--changes", metavar="CHART",
                       help='play over a chord chart, e.g. "| Dm7 G7 | Cmaj7 | %% |"')
    chart.add_argument("--changes-file", metavar="FILE", help="read the chart from a file")
    gen.add_argument("--choruses", type=positive_int, default=1,
                     help="times round the chart (with --changes)")
    gen.add_argument("--seed-midi", metavar="FILE",
                     help="a MIDI file whose melody the solo continues (its key is assumed "
                     "when no chart is given)")
    gen.add_argument("--plot", metavar="OUT.png", help="also draw a piano roll (needs matplotlib)")
    gen.add_argument("-o", "--output", required=True, metavar="OUT.mid")
    options.add_arguments(gen, options.GENERATE)
    gen.set_defaults(func=_cmd_generate)

    # Listed here for --help only: main() hands `export`'s arguments to jazz_export.cli,
    # which defines the training flags, so the runtime never loads the training half.
    sub.add_parser("export", help="train on solos (WJazzD, MIDI, built-in); write model.onnx "
                   "(see jazz-plugin export --help)", add_help=False)

    ev = sub.add_parser("evaluate", help="score a model on solos and on calls (no TF)",
                        description="Teacher-forced NLL/token and accuracy on the solos; the "
                        "model continuing each solo's opening over its own changes, beside the "
                        "human's same bars; with --calls, answers to calls in all 24 keys.")
    ev.add_argument("corpus", nargs="*", metavar="CORPUS",
                    help="WJazzD folders (melody/, beats/, solos.csv) or MIDI files or folders")
    ev.add_argument("--opening-bars", type=positive_int, default=options.OPENING_BARS,
                    help=f"bars of each solo the model hears (default {options.OPENING_BARS})")
    ev.add_argument("--continue-bars", type=positive_int, default=options.CONTINUE_BARS,
                    help=f"bars it plays after them (default {options.CONTINUE_BARS})")
    ev.add_argument("--context", choices=("window", "solo"), default="window",
                    help="teacher forcing in windows of the model's Tx from a zero state, as in "
                    "training (default), or each whole solo from one zero state")
    ev.add_argument("--calls", action="store_true",
                    help="also answer 2-bar calls in 12 major and 12 minor keys without chords")
    ev.add_argument("--by-performer", action="store_true", help="also a table per performer")
    ev.add_argument("--held-out-only", action="store_true",
                    help="only the solos the model's metadata lists as its validation split")
    ev.add_argument("--limit", type=positive_int, metavar="N", help="only the first N solos")
    ev.add_argument("--track", help="MIDI melody track name or index (default: a track "
                    "named Solo, else the most solo-like)")
    ev.add_argument("--chord-track", metavar="NAME|INDEX|auto", default="auto",
                    help="MIDI tracks that give the chords (default: auto)")
    ev.add_argument("--tell-apart", action="store_true",
                    help="also the tell-apart test on the solos: distributions with their TVD, "
                    "and a classifier of 4-bar phrases, model against human (docs/model.md)")
    options.add_arguments(ev, ("model", "critic", *options.SAMPLING))
    ev.set_defaults(func=_cmd_evaluate)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from jazz_plugin.live.daemon import run_daemon

    return run_daemon(args)


def _cmd_ports(args: argparse.Namespace) -> int:
    from jazz_plugin.live.ports import list_ports

    for line in list_ports(args.api):
        print(line)
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from jazz_plugin.live.chordsource import chart_from_options
    from jazz_plugin.model.engine import Engine
    from jazz_plugin.model.sampling import Sampler
    from jazz_plugin.offline.generate import improvise, read_seed, write_atomically

    o = options.RunOptions(**options.given(args, options.GENERATE)).check()
    if args.plot:
        from jazz_plugin.offline.pianoroll import check_plotting

        check_plotting()  # before any work: no MIDI file written only to fail on the plot
    sampler = Sampler.from_options(o.temperature, o.top_k, o.top_p, o.argmax, o.seed)
    changes = chart_from_options(args.changes, args.changes_file)
    engine = Engine(o.model)
    seed_notes = read_seed(args.seed_midi) if args.seed_midi else None
    until = None
    if changes is not None:
        offset = 0
        if seed_notes:
            end = seed_notes[-1].start + seed_notes[-1].dur
            offset = -(-end // changes.loop_ticks) * changes.loop_ticks
        until = offset + args.choruses * changes.loop_ticks
        start = offset if seed_notes else None
    notes = improvise(engine, sampler, args.steps, seed_notes, o.low, o.high, changes,
                      until, start if changes is not None else None, o.candidates, o.develop)
    write_atomically(notes, args.output, o.bpm, changes)
    print(f"wrote {len(notes)} notes to {args.output}", file=sys.stderr)
    if args.plot:
        from jazz_plugin.offline.pianoroll import plot_pianoroll

        plot_pianoroll(notes, args.plot, changes=changes)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _cmd_export(argv: list[str]) -> int:
    import importlib.util

    missing = [m for m in sorted(EXPORT_MODULES) if importlib.util.find_spec(m) is None]
    if missing:
        raise JazzError(f"'jazz-plugin export' needs the export extra ({', '.join(missing)} "
                        "missing): pip install 'jazz-plugin[export]'")
    from jazz_export.cli import build_parser as export_parser
    from jazz_export.cli import run_export

    return run_export(export_parser().parse_args(argv))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from jazz_plugin.offline.evaluate import run_evaluate

    return run_evaluate(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point; `jazz-plugin` alone means `jazz-plugin run`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "run")
    try:
        if argv[0] == "export":
            return _cmd_export(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except JazzError as e:
        print(f"jazz-plugin: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
