"""Import corpus files in parallel, each through a cache keyed by the file's content.

A large MIDI collection (100,000 files) takes minutes to parse and seconds to load once
parsed. `import_files` looks each file up in the cache (here: hashing and loading an entry
takes a fraction of a millisecond) and hands the files it has to parse to a process pool
(`jobs` workers, default: the cores), which writes their entries:

    <cache>/v<CACHE_FORMAT>/<key[:2]>/<key>.npz

    key = sha256(CACHE_FORMAT, CODEC_VERSION, COND_VERSION, the codec's vocabulary, the
                 source kind and its options (track choices), the source code of the
                 modules that read the files, sha256 of each input file's bytes, extra
                 per-file facts such as the solos.csv row)

So a changed file, codec, conditioning layout, option or importer misses the cache and
re-parses just that file; files that did not change load from their entries. An entry is
a `.npz` (np.savez, allow_pickle=False): the Solo's arrays plus a small JSON header for
the strings and the changes, and a sha256 of all of it. It is written atomically (a
temporary file, then os.replace), and one that fails to load or to match its checksum is
re-parsed and rewritten, never trusted. Skipped files are cached too (with their reason),
so a second import parses nothing; internal errors are not.

Results come back in task order (sorted paths) whatever order the workers finish in,
as compact Solo records. No TensorFlow here: `evaluate` imports corpora too.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from tqdm import tqdm

from jazz_plugin.corpus.cacheentry import (
    CACHE_FORMAT,
    CACHED,
    DEFAULT,
    PARSED,
    REBUILT,
    SKIP_BAD,
    SKIP_INTERNAL,
    CacheDir,
    CacheEntryError,
    FileResult,
    FileTask,
    content_key,
    default_cache_dir,
    entry_path,
    key_prefix,
    read_entry,
    resolve_cache_dir,
    write_entry,
)
from jazz_plugin.errors import ConfigError, CorpusError, JazzError
from jazz_plugin.music.codec import Codec

__all__ = ["CACHE_FORMAT", "DEFAULT", "CacheDir", "FileResult", "FileTask", "ImportStats",
           "default_cache_dir", "import_files", "peak_rss_mb"]

# the modules whose code a cached Solo depends on, besides the importer's own
HARMONY_MODULES = tuple(f"jazz_plugin.music.harmony.{m}" for m in ("chords", "changes", "key"))
CHUNKS_PER_WORKER = 8  # more = smoother progress and balance, fewer = less pool overhead
MAX_CHUNK = 32  # files per task sent to a worker


Parser = Callable[[FileTask, Codec, dict], FileResult]  # may raise JazzError for a bad file


@dataclass(frozen=True)
class ImportContext:
    """Everything a worker needs, sent once per worker process."""

    parse: Parser  # a module-level function (pickled by name)
    vocabulary: tuple[str, ...]
    options: dict
    prefix: str  # digest of the versions, vocabulary, kind, options and importer code
    root: str | None  # the versioned cache folder, None = no cache


@dataclass
class ImportStats:
    """How an import went: how many files were parsed and how many came from the cache."""

    files: int = 0
    parsed: int = 0  # files actually parsed (including rebuilt entries)
    cached: int = 0  # files loaded from the cache
    rebuilt: int = 0  # corrupt entries found, parsed again and rewritten
    skipped: int = 0
    jobs: int = 1
    cache: str | None = None  # the cache folder, None when disabled
    seconds: float = 0.0
    worker_peak_mb: float = 0.0  # the largest worker's peak RSS (0: parsed in this process)

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.cached += result.source == CACHED
        self.parsed += result.source != CACHED
        self.rebuilt += result.source == REBUILT
        self.skipped += result.solo is None

    def describe(self) -> str:
        rate = self.files / self.seconds if self.seconds > 0 else 0.0
        rebuilt = f" ({self.rebuilt} corrupt cache entries rebuilt)" if self.rebuilt else ""
        cache = "no cache" if self.cache is None else f"cache {self.cache}"
        return (f"parsed {self.parsed}, from cache {self.cached}{rebuilt}; {self.files} files "
                f"in {self.seconds:.1f} s ({rate:.0f} files/s, {self.jobs} "
                f"{'process' if self.jobs == 1 else 'processes'}, {cache})")


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_jobs(jobs: int | None) -> int:
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs {jobs!r}: expected a number of processes, 1 or more")
    return jobs


# --- Importing one file: look it up here, parse it here or in a worker --------------------


@dataclass(frozen=True)
class Miss:
    """A task the cache could not answer: it is parsed, and its entry written under `key`."""

    index: int
    task: FileTask
    key: str | None  # None: not cached (no cache, or an input too big to hash)
    source: str  # PARSED, or REBUILT when its entry was corrupt


def look_up(index: int, task: FileTask, ctx: ImportContext) -> FileResult | Miss:
    """The task's result from its cache entry, or the Miss to parse."""
    key = content_key(ctx.prefix, task) if ctx.root is not None else None
    if ctx.root is None or key is None:
        return Miss(index, task, None, PARSED)
    try:
        return read_entry(entry_path(ctx.root, key), key, task)
    except FileNotFoundError:
        return Miss(index, task, key, PARSED)
    except CacheEntryError:
        return Miss(index, task, key, REBUILT)


def parse_and_store(miss: Miss, ctx: ImportContext, codec: Codec) -> FileResult:
    """Parse a missed task and write its entry (bad files too: their reason is cached)."""
    task = miss.task
    try:
        result = ctx.parse(task, codec, ctx.options)
    except JazzError as e:
        result = FileResult(None, SKIP_BAD, str(e))
    except Exception as e:  # a bug met on one file must not end a 100,000-file import
        reason = f"internal error reading {task.files[0]!r}: {type(e).__name__}: {e}"
        return FileResult(None, SKIP_INTERNAL, reason)  # not cached: a fix should retry it
    result.source = miss.source
    if ctx.root is not None and miss.key is not None:
        try:
            write_entry(entry_path(ctx.root, miss.key), miss.key, task, result)
        except OSError as e:
            result.cache_error = f"cannot write the corpus cache in {ctx.root!r} ({e})"
    return result


_worker: tuple[ImportContext, Codec] | None = None  # set once in each worker process


def _init_worker(ctx: ImportContext) -> None:
    global _worker
    _worker = (ctx, Codec(ctx.vocabulary))


def _parse_chunk(misses: list[Miss]) -> tuple[list[tuple[int, FileResult]], float]:
    """Results of a chunk of misses (in a worker), and the worker's peak RSS in MB."""
    assert _worker is not None, "worker not initialised"
    ctx, codec = _worker
    return [(m.index, parse_and_store(m, ctx, codec)) for m in misses], peak_rss_mb()


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (0 where the OS does not say).

    Linux: VmHWM, the peak of this program's own memory. getrusage's ru_maxrss survives
    fork and exec, so a child started by a 900 MB parent would report at least 900 MB.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes / KiB


# --- The pool ------------------------------------------------------------------------------


def open_cache(cache_dir: CacheDir) -> str | None:
    """The versioned cache folder, created; None (with one warning) when it cannot be."""
    base = resolve_cache_dir(cache_dir)
    if base is None:
        return None
    root = os.path.join(base, f"v{CACHE_FORMAT}")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as e:
        tqdm.write(f"warning: corpus cache {base!r} unusable ({e.strerror}); parsing without it",
                   file=sys.stderr)
        return None
    return root


def import_files(tasks: Sequence[FileTask], parse: Parser, codec: Codec, *, kind: str,
                 options: dict, code_modules: Sequence[str] = (), jobs: int | None = None,
                 cache_dir: CacheDir = DEFAULT, progress: bool = True, desc: str = "import",
                 on_result: Callable[[FileTask, FileResult], None],
                 ) -> ImportStats:
    """Import every task, in parallel with `jobs` processes, through the cache.

    `on_result(task, result)` is called once per task, in task order, as results arrive
    (whatever order the workers finish in); results are not kept here. The progress bar
    (stderr, on a terminal) shows files/s and the skipped and cached counts.
    """
    start = time.perf_counter()
    jobs = check_jobs(jobs)
    root = open_cache(cache_dir)
    modules = {__name__, "jazz_plugin.corpus.cacheentry", "jazz_plugin.music.codec",
               "jazz_plugin.model.conditioning", *HARMONY_MODULES, "jazz_plugin.corpus.solo",
               *code_modules}
    ctx = ImportContext(parse, tuple(codec.names), options,
                        key_prefix(kind, codec, options, sorted(modules)), root)
    stats = ImportStats(jobs=jobs, cache=None if root is None else os.path.dirname(root))
    pending: dict[int, FileResult] = {}  # finished, waiting for an earlier task
    bar = tqdm(total=len(tasks), desc=desc, unit="file", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty())
    emitted = 0
    warned_cache = False

    def collect(pairs: list[tuple[int, FileResult]]) -> None:
        nonlocal emitted, warned_cache
        for i, result in pairs:
            pending[i] = result
            stats.add(result)
            if result.cache_error and not warned_cache:
                tqdm.write(f"warning: {result.cache_error}; continuing", file=sys.stderr)
                warned_cache = True
        bar.set_postfix(skipped=stats.skipped, cached=stats.cached, refresh=False)
        bar.update(len(pairs))
        while emitted in pending:
            on_result(tasks[emitted], pending.pop(emitted))
            emitted += 1

    # Cache hits are read here (a fraction of a millisecond each); misses go to the pool in
    # chunks, which starts at the first full chunk, so a few changed files never pay for it.
    size = max(1, min(MAX_CHUNK, len(tasks) // (jobs * CHUNKS_PER_WORKER)))
    pool: ProcessPoolExecutor | None = None
    futures = []
    batch: list[Miss] = []
    try:
        for i, task in enumerate(tasks):
            found = look_up(i, task, ctx)
            if isinstance(found, FileResult):
                collect([(i, found)])
            elif jobs == 1:
                collect([(i, parse_and_store(found, ctx, codec))])
            else:
                batch.append(found)
                if len(batch) == size:
                    pool = pool or _start_pool(ctx, jobs)
                    futures.append(pool.submit(_parse_chunk, batch))
                    batch = []
        if batch and pool is None:
            collect([(m.index, parse_and_store(m, ctx, codec)) for m in batch])
        elif batch:
            futures.append(pool.submit(_parse_chunk, batch))
        stats.jobs = min(jobs, len(futures)) if futures else 1
        for future in as_completed(futures):
            pairs, peak_mb = future.result()
            stats.worker_peak_mb = max(stats.worker_peak_mb, peak_mb)
            collect(pairs)
    except BrokenProcessPool as e:
        raise CorpusError(f"a corpus import worker died ({e}); run with one job (--jobs 1) "
                          "to see which file") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _start_pool(ctx: ImportContext, workers: int) -> ProcessPoolExecutor:
    """A pool whose workers know the context.

    forkserver (or spawn) rather than fork: the parent may hold TensorFlow's threads. The
    fork server imports the parser's module once, so workers start in milliseconds, not
    a second each (a server already running keeps what it preloaded)."""
    methods = multiprocessing.get_all_start_methods()
    mp_context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        mp_context.set_forkserver_preload(["__main__", __name__, ctx.parse.__module__])
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp_context,
                               initializer=_init_worker, initargs=(ctx,))
