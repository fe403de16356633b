"""`python -m bench [--quick] [--only SECTION ...] [--soak MINUTES] [--json PATH]`.

Runs every section in one process, side by side, and prints one table (also as JSON). The
daemon section and the soak run on a JACK server of their own (dummy driver, 48 kHz, 64
frames), started and stopped here; `--running-jack` measures on the one already running.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from .table import machine, render, write_json

SECTIONS = ("step", "train", "daemon", "band", "music", "live", "input")  # train includes import
CHOICES = SECTIONS + ("import",)  # the import rows alone


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer repeats; under 3 minutes")
    p.add_argument("--only", nargs="+", choices=CHOICES, help="run only these sections")
    p.add_argument("--soak", type=float, metavar="MINUTES", help="run the soak test instead")
    p.add_argument("--json", default="bench/results.json", help="where to write the JSON")
    p.add_argument("--running-jack", action="store_true",
                   help="use the JACK server already running (JACK_DEFAULT_SERVER) instead of "
                   "a private one")
    args = p.parse_args(argv)
    if args.soak:
        from testrig.soak import report, soak

        with _private_jack(not args.running_jack):
            result = soak(args.soak * 60)
        print(report(result))
        return 0 if result.ok else 1
    rows = []
    started = time.monotonic()
    sections = args.only or SECTIONS
    if "train" in sections:  # the train section includes the import rows
        sections = [s for s in sections if s != "import"]
    for section in sections:
        t = time.monotonic()
        if section == "step":
            from .model_bench import run
        elif section == "train":
            from .train_bench import run
        elif section == "live":
            from .live_bench import run
        elif section == "import":
            from .import_bench import run
        elif section == "band":
            from .band_bench import run
        elif section == "music":
            from .music_bench import run
        elif section == "input":
            from .input_bench import run
        else:
            from .daemon_bench import run
        with _private_jack(section in ("daemon", "band", "input") and not args.running_jack):
            rows += run(args.quick)
        print(f"[{section}: {time.monotonic() - t:.0f} s]", file=sys.stderr, flush=True)
    print(f"machine: {machine()}")
    print(f"command: python -m bench {' '.join(argv)} ({time.monotonic() - started:.0f} s)")
    print(render(rows))
    write_json(rows, args.json, argv)
    return 0


def _private_jack(wanted: bool) -> contextlib.AbstractContextManager:
    """A private JACK server (unique name, only it stopped) for the block, if `wanted`."""
    if not wanted:
        return contextlib.nullcontext()
    from testrig.jackrig import JackServer

    return JackServer()


if __name__ == "__main__":
    sys.exit(main())
