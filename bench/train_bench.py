"""Training: the fused path against the seed's unrolled djmodel; then training at scale.

`python -m bench --only train` (or `python -m bench.train_bench`) gives four tables:
- the fused default against the seed's unrolled djmodel, on data of the seed's shape
  (60 windows x Tx=30 x 90 values: built-in corpus tokens folded into 90 classes);
- corpus import of 2,000 generated MIDI files, cold against cached (bench.import_bench);
- tokens per second for 1 worker against 2 MultiWorkerMirroredStrategy workers (two
  processes on 127.0.0.1), on the same corpus, global batch and model (n_a 128, Tx 64);
- peak RSS of import and training as the corpus doubles (1x, 2x, 4x).
Every scale measurement runs in fresh interpreters (`--measure`), which report their own
numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from jazz_export.cluster import local_addresses

from .table import Row

M, TX, N_VALUES, N_A = 60, 30, 90, 64


def dataset():
    from jazz_export.corpus import builtin_corpus
    from jazz_export.dataset import RECORD_FIELDS, Dataset, Span

    from jazz_plugin.music.codec import Codec

    solos = builtin_corpus(Codec(), seed=0, pieces_per_key=2).solos
    records = {k: np.concatenate([np.asarray(getattr(s, k), np.int32) for s in solos])
               for k in RECORD_FIELDS}
    records["tokens"] %= N_VALUES
    records["key_chord"] = np.zeros_like(records["tokens"])
    starts = np.arange(M + 8, dtype=np.int32) * (TX + 1)  # [M + 8] non-overlapping windows
    n = int(starts[-1]) + TX + 1
    return Dataset({k: v[:n] for k, v in records.items()}, TX, N_VALUES,
                   [Span("bench", "", 0, n)], [], starts[:M], starts[M:])


def time_to_loss(epoch_times: list[float], losses: list[float], target: float) -> float:
    """Seconds until the training loss first reaches `target` (nan if it never does)."""
    for t, loss in zip(epoch_times, losses):
        if loss <= target:
            return t
    return float("nan")


def run(quick: bool) -> list[Row]:
    """All of the training rows: fused/unrolled, import, workers, memory."""
    rows = fused_and_unrolled(quick)
    from . import import_bench

    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp:
        rows += import_bench.run(quick, workdir=tmp)
        rows += at_scale(quick, os.path.join(tmp, "midi"), os.path.join(tmp, "cache-1"),
                         import_bench.RSS_FILES if not quick else 250)
    return rows


def fused_and_unrolled(quick: bool) -> list[Row]:
    from jazz_export.train import train

    epochs = 15 if quick else 100
    ds = dataset()
    seed_like = {"lr": 0.01, "batch_size": 32, "dropout": 0.0}  # the seed's settings
    fused = train(ds, N_VALUES, N_A, epochs=epochs, seed=0, verbose=False, **seed_like)
    unrolled = train(ds, N_VALUES, N_A, epochs=epochs, unrolled=True, seed=0, verbose=False,
                     **seed_like)
    sec = f"training {M}x{TX}x{N_VALUES}"
    rows = []
    for name, r in (("fused (default)", fused), ("unrolled djmodel", unrolled)):
        rows.append(Row(sec, f"{name}: first epoch", r.first_epoch_s, unit="s",
                        ratio=r.first_epoch_s / fused.first_epoch_s, note="includes tracing"))
        rows.append(Row(sec, f"{name}: {epochs} epochs", r.total_s, unit="s",
                        ratio=r.total_s / fused.total_s,
                        note=f"final loss/token {r.final_loss:.4f}"))
    target = max(fused.losses[-1], unrolled.losses[-1])
    t_fused = time_to_loss(fused.epoch_times, fused.losses, target)
    t_unrolled = time_to_loss(unrolled.epoch_times, unrolled.losses, target)
    rows.append(Row(sec, f"fused: time to loss {target:.4f}", t_fused, unit="s", ratio=1.0))
    rows.append(Row(sec, f"unrolled: time to loss {target:.4f}", t_unrolled, unit="s",
                    ratio=t_unrolled / t_fused, note="the speed-up to the same loss"))
    return rows


# --- Training at scale: workers and memory -------------------------------------------------

SCALE_TX, SCALE_N_A, SCALE_BATCH = 64, 128, 64  # the defaults `export` uses on WJazzD
MEASURE_TIMEOUT_S = 900


def measure(folder: str, cache: str, files: int, epochs: int, workers: int = 1,
            threads: int | None = None) -> dict:
    """One training in fresh interpreters: 1 process, or `workers` processes on loopback
    ports; returns the chief's JSON. `threads` caps TensorFlow's thread pools per process."""
    cmd = [sys.executable, "-m", "bench.train_bench", "--measure", folder, "--cache", cache,
           "--files", str(files), "--epochs", str(epochs)]
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    addresses = local_addresses(workers) if workers > 1 else ""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    procs = []
    try:
        for i in range(workers):
            extra = ["--workers", addresses, "--worker-index", str(i)] if addresses else []
            procs.append(subprocess.Popen(cmd + extra, cwd=root, env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        outs = [p.communicate(timeout=MEASURE_TIMEOUT_S)[0] for p in procs]
    finally:
        for p in procs:  # ours, by PID, if one hung
            if p.poll() is None:
                p.kill()
                p.communicate()
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a training measurement failed: {cmd}")
    return json.loads(outs[0].strip().splitlines()[-1])


def _measure_here(folder: str, cache: str, files: int, epochs: int, workers: str | None,
                  index: int | None) -> dict:
    from jazz_export.cluster import from_options, make_strategy
    from jazz_export.corpus import load_midi_corpus
    from jazz_export.dataset import make_dataset
    from jazz_export.train import peak_rss_mb, train

    from jazz_plugin.music.codec import Codec

    cluster = from_options(workers, index)
    names = sorted(f for f in os.listdir(folder) if f.endswith(".mid"))[:files]
    codec = Codec()
    baseline = peak_rss_mb()  # the interpreter with TensorFlow and our modules imported
    corpus = load_midi_corpus([os.path.join(folder, f) for f in names], codec, jobs=1,
                              cache_dir=cache, progress=False)
    ds = make_dataset(corpus.solos, codec.n_values, tx=SCALE_TX, seed=0)
    imported = peak_rss_mb()
    strategy = make_strategy(cluster)
    r = train(ds, codec.n_values, SCALE_N_A, epochs=epochs, seed=0, verbose=False,
              batch_size=SCALE_BATCH, strategy=strategy)
    return {"tokens_per_s": r.tokens_per_s, "files": len(names),
            "tokens": int(sum(len(s.tokens) for s in corpus.solos)),
            "windows": len(ds.train_starts), "epoch_s": float(np.diff(r.epoch_times).mean()),
            "baseline_mb": baseline, "import_peak_mb": imported, "peak_mb": peak_rss_mb(),
            "replicas": r.replicas}


def at_scale(quick: bool, folder: str, cache: str, base_files: int) -> list[Row]:
    """Tokens/s for 1 against 2 workers, and peak RSS at 1x, 2x, 4x the corpus."""
    epochs = 2 if quick else 3
    one = measure(folder, cache, base_files, epochs)
    two = measure(folder, cache, base_files, epochs, workers=2)
    two_lean = measure(folder, cache, base_files, epochs, workers=2, threads=1)
    sec = (f"training {base_files} files ({one['tokens']:,} tokens), n_a {SCALE_N_A}, "
           f"Tx {SCALE_TX}, global batch {SCALE_BATCH}")
    cores = os.cpu_count() or 1
    rows = [Row(sec, "1 worker: tokens/s", one["tokens_per_s"], unit="tok/s", ratio=1.0,
                note=f"{one['epoch_s']:.1f} s an epoch after the first")]
    for name, r in (("2 workers (MultiWorkerMirroredStrategy, loopback)", two),
                    ("2 workers, 1 TF thread each", two_lean)):
        rows.append(Row(sec, f"{name}: tokens/s", r["tokens_per_s"], unit="tok/s",
                        ratio=r["tokens_per_s"] / one["tokens_per_s"],
                        note=f"{r['epoch_s']:.1f} s an epoch; {cores} cores shared by both "
                             f"workers: this shows the all-reduce overhead, not a speed-up"))
    mem = f"peak RSS, import then training {epochs} epochs (1 process, fresh interpreter)"
    sizes = {1: one}
    for scale in (2, 4):
        sizes[scale] = measure(folder, cache, scale * base_files, epochs)
    for scale, r in sizes.items():
        rows.append(Row(mem, f"{scale}x: {r['files']} files, {r['tokens']:,} tokens",
                        r["peak_mb"], unit="MB", ratio=r["peak_mb"] / one["peak_mb"],
                        note=f"{r['baseline_mb']:.0f} MB with TensorFlow loaded; import "
                             f"+{r['import_peak_mb'] - r['baseline_mb']:.0f} MB, training "
                             f"+{r['peak_mb'] - r['import_peak_mb']:.0f} MB; "
                             f"{r['tokens_per_s']:,.0f} tok/s"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.train_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer epochs, smaller corpora")
    p.add_argument("--measure", metavar="DIR", help=argparse.SUPPRESS)  # one run, JSON out
    p.add_argument("--cache", help=argparse.SUPPRESS)
    p.add_argument("--files", type=int, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workers", help=argparse.SUPPRESS)
    p.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure_here(args.measure, args.cache, args.files, args.epochs,
                                       args.workers, args.worker_index)))
        return 0
    from .table import render

    started = time.monotonic()
    rows = run(args.quick)
    print(f"python -m bench.train_bench ({time.monotonic() - started:.0f} s)")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
