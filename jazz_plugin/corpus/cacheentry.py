"""The corpus cache's entries: where the cache lives, what keys an entry, and one entry on
disk (a Solo, or why its file was skipped, as arrays and a JSON header with a checksum).

`cache.py` imports files through these entries; see its docstring for the whole scheme.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jazz_plugin.atomic import replacing
from jazz_plugin.corpus.solo import PackedChanges, Solo
from jazz_plugin.model import conditioning
from jazz_plugin.music import codec as codec_module
from jazz_plugin.music.codec import Codec

CACHE_FORMAT = 1  # bump when the entry layout changes: every old entry then misses
CACHE_SUBDIR = os.path.join("jazz-plugin", "corpus")  # under $XDG_CACHE_HOME or ~/.cache
MAX_CACHED_BYTES = 64 * 1024 * 1024  # larger inputs are parsed without hashing or caching
PARSED, CACHED, REBUILT = "parsed", "cache", "rebuilt"  # FileResult.source
SKIP_BAD, SKIP_INTERNAL = "bad", "internal"  # FileResult.skip of JazzError / other errors
SOLO_ARRAYS = ("notes", "tokens", "chord", "next_chord", "ref_pc", "pos", "chord_starts",
               "chord_masks", "chord_roots", "chord_basses", "chord_symbol_ids")




class _UserCache:
    """cache_dir's default: the user's cache folder, resolved when an import runs."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _UserCache()  # cache_dir=DEFAULT: $XDG_CACHE_HOME/jazz-plugin/corpus; None: no cache
CacheDir = str | _UserCache | None


class CacheEntryError(Exception):
    """A cache entry that cannot be trusted (unreadable, truncated, wrong checksum)."""


@dataclass(frozen=True)
class FileTask:
    """One solo to import: the files whose bytes key it, and what names it."""

    files: tuple[str, ...]  # hashed in order; a missing file hashes as "missing"
    name: str
    performer: str = ""
    key_extra: str = ""  # more facts the result depends on (e.g. the solos.csv row)


@dataclass
class FileResult:
    """What importing one file gave: a Solo, or why it was skipped."""

    solo: Solo | None
    skip: str = ""  # "" = used; else a kind: SKIP_BAD, SKIP_INTERNAL or the source's own
    reason: str = ""  # the one-line warning for a skipped file
    details: dict[str, Any] = field(default_factory=dict)  # JSON-able facts of the source
    source: str = PARSED  # PARSED, CACHED or REBUILT (a corrupt entry, parsed again)
    cache_error: str = ""  # why the entry could not be written, if it could not


# --- Where the cache lives and what keys it ------------------------------------------------


def default_cache_dir() -> str:
    """$XDG_CACHE_HOME/jazz-plugin/corpus, or ~/.cache/jazz-plugin/corpus."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, CACHE_SUBDIR)


def resolve_cache_dir(cache_dir: CacheDir) -> str | None:
    """The cache folder a `cache_dir` argument names (DEFAULT, a path, or None = off)."""
    if cache_dir is None:
        return None
    return default_cache_dir() if isinstance(cache_dir, _UserCache) else os.fspath(cache_dir)


def key_prefix(kind: str, codec: Codec, options: dict, code_modules: Sequence[str]) -> str:
    """Digest of everything besides the file's bytes that its cached Solo depends on.

    Versions are read now (not at import time), so changing one misses the cache."""
    facts = {
        "format": CACHE_FORMAT,
        "codec": [codec_module.CODEC_NAME, codec_module.CODEC_VERSION],
        "cond": [conditioning.COND_LAYOUT, conditioning.COND_VERSION],
        "vocabulary": hashlib.sha256("\n".join(codec.names).encode()).hexdigest(),
        "kind": kind,
        "options": options,
        "code": code_digest(code_modules),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def code_digest(modules: Sequence[str]) -> str:
    """sha256 of the source files of the modules that read a corpus file: a fix in the
    importer re-parses what it may have read differently."""
    h = hashlib.sha256()
    for name in sorted(modules):
        module = importlib.import_module(name)
        path = getattr(module, "__file__", None)
        try:
            with open(path or "", "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
        except OSError:
            h.update(name.encode() + b"\0unreadable")
    return h.hexdigest()


def content_key(prefix: str, task: FileTask) -> str | None:
    """The task's cache key, None when an input is too big to hash (parsed uncached)."""
    h = hashlib.sha256(prefix.encode())
    for path in task.files:
        try:
            if os.path.getsize(path) > MAX_CACHED_BYTES:
                return None
            with open(path, "rb") as f:
                h.update(b"file\0" + hashlib.sha256(f.read()).digest())
        except FileNotFoundError:
            h.update(b"missing\0")
        except OSError:
            return None  # unreadable: the parser says why, in its own words
    h.update(b"extra\0" + task.key_extra.encode())
    return h.hexdigest()


def entry_path(root: str, key: str) -> str:
    return os.path.join(root, key[:2], key + ".npz")


# --- One entry: a Solo (or a skip) as arrays and a JSON header ------------------------------


def write_entry(path: str, key: str, task: FileTask, result: FileResult) -> None:
    """Write an entry atomically: a unique temporary file in the same folder, then rename."""
    arrays = _solo_arrays(result.solo) if result.solo is not None else {}
    header = {"format": CACHE_FORMAT, "key": key, "skip": result.skip,
              "reason": _generalise(result.reason, task.files), "details": result.details}
    if result.solo is not None:
        packed = result.solo.packed_changes
        header.update(key_chord=int(result.solo.key_chord), symbols=list(packed.symbols),
                      end=packed.end, loop_ticks=packed.loop_ticks)
    header["checksum"] = _checksum(header, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(buffer.getbuffer())


def read_entry(path: str, key: str, task: FileTask) -> FileResult:
    """Load an entry; FileNotFoundError when there is none, CacheEntryError when it is
    corrupt (truncated, bytes flipped, another key's, another format)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            names = SOLO_ARRAYS if header.get("skip") == "" else ()
            if sorted(z.files) != sorted(("header", *names)):
                raise CacheEntryError(f"arrays {sorted(z.files)}")
            arrays = {name: z[name] for name in names}
    except (FileNotFoundError, CacheEntryError):
        raise
    except Exception as e:  # zipfile, numpy and json raise many kinds on damaged bytes
        raise CacheEntryError(f"{type(e).__name__}: {e}") from None
    if not isinstance(header, dict):
        raise CacheEntryError("header is not an object")
    checksum = header.pop("checksum", None)
    if checksum != _checksum(header, arrays):
        raise CacheEntryError("checksum mismatch")
    if header.get("format") != CACHE_FORMAT or header.get("key") != key:
        raise CacheEntryError("entry of another key or format")
    try:
        solo = _solo_from(arrays, header, task) if not header["skip"] else None
        return FileResult(solo, header["skip"], _specialise(header["reason"], task.files),
                          header["details"], source=CACHED)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CacheEntryError(f"malformed entry ({e})") from None


def _solo_arrays(solo: Solo) -> dict[str, np.ndarray]:
    packed = solo.packed_changes
    return {"notes": solo.note_array, "tokens": solo.tokens, "chord": solo.chord,
            "next_chord": solo.next_chord, "ref_pc": solo.ref_pc, "pos": solo.pos,
            "chord_starts": packed.starts, "chord_masks": packed.masks,
            "chord_roots": packed.roots, "chord_basses": packed.basses,
            "chord_symbol_ids": packed.symbol_ids}


def _solo_from(arrays: dict[str, np.ndarray], header: dict, task: FileTask) -> Solo:
    packed = PackedChanges(arrays["chord_starts"], arrays["chord_masks"],
                           arrays["chord_roots"], arrays["chord_basses"],
                           arrays["chord_symbol_ids"], tuple(header["symbols"]),
                           int(header["end"]), header["loop_ticks"])
    if len(packed.symbol_ids) and int(packed.symbol_ids.max()) >= len(packed.symbols):
        raise ValueError("chord symbol index out of range")
    return Solo(name=task.name, performer=task.performer, note_array=arrays["notes"],
                packed_changes=packed, tokens=arrays["tokens"], chord=arrays["chord"],
                next_chord=arrays["next_chord"], ref_pc=arrays["ref_pc"], pos=arrays["pos"],
                key_chord=int(header["key_chord"]))


def _checksum(header: dict, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _generalise(reason: str, files: Sequence[str]) -> str:
    """A reason without this task's paths: the same bytes under another name share it."""
    for i, path in enumerate(files):
        reason = reason.replace(repr(path), f"<file{i}>")
    return reason


def _specialise(reason: str, files: Sequence[str]) -> str:
    for i, path in enumerate(files):
        reason = reason.replace(f"<file{i}>", repr(path))
    return reason
