"""The persistent, content-addressed cache of computed arrays: memory first, then one file per entry on disk.

An entry's key is a digest of what its arrays depend on: the package version and a digest of the
evidence code, TensorFlow / Keras / NumPy versions, the kind of computation, the model's identity
(architecture, weights, preprocessing), the content of the input arrays and the method's parameters.
Changing one weight or one image therefore recomputes exactly what depends on it. Each entry file
holds a blake2b checksum of its payload, verified on every read: a corrupt or truncated entry is
discarded with a warning and recomputed, never used. Entries are written to a temporary file in the
same folder and renamed with os.replace, so concurrent xdist workers and a Ctrl-C never leave a
half-written entry under an entry's name. No pytest in here: the plugin passes a folder to
`configure_cache`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelAuditCacheWarning
from ...schema import atomic_write

FORMAT = "v1"  # sub-folder of the cache dir that this code owns (and clears)
MAGIC = b"MODELAUDIT-CACHE1\n"
CHECKSUM_BYTES = 32
SUFFIX = ".entry"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_S = 3600.0  # temp files older than this are leftovers of killed processes
Arrays = dict[str, np.ndarray]


class Uncacheable(Exception):
    """A key part that has no stable content digest (e.g. a callable): the computation runs uncached."""


# ----- keys ---------------------------------------------------------------------------------------
def array_digest(a: np.ndarray) -> str:
    """blake2b of an array's dtype, shape and bytes: its content, whatever object holds it."""
    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B") if a.size else b"")
    return h.hexdigest()


_IMAGE_DIGESTS: dict[int, tuple[Any, str]] = {}  # per array object: a set is hashed once, not per claim


def image_digest(images: np.ndarray) -> str:
    """The content digest of an image (or map) set as float32 bytes, so a float64 copy hashes alike; memoised
    per array object while it lives. TCAV derives its CAV seeds from it: changing the formula changes TCAV's
    numbers (array_digest, which also covers dtype and shape, keys the cache entries)."""
    import weakref

    known = _IMAGE_DIGESTS.get(id(images))
    if known is not None and known[0]() is images:
        return known[1]
    digest = hashlib.blake2b(np.ascontiguousarray(images, np.float32).tobytes(), digest_size=12).hexdigest()
    try:
        _IMAGE_DIGESTS[id(images)] = (weakref.ref(images), digest)
    except TypeError:  # not weak-referenceable: just don't memoise
        pass
    return digest


def _canon(obj: Any) -> str:
    """A stable text for a key part: values by repr, arrays by content digest, containers recursively."""
    if obj is None or isinstance(obj, (bool, str)):
        return repr(obj)
    if isinstance(obj, (int, np.integer)):
        return repr(int(obj))
    if isinstance(obj, (float, np.floating)):
        return repr(float(obj))
    if isinstance(obj, np.ndarray):
        return f"array:{array_digest(obj)}"
    if isinstance(obj, (tuple, list)):
        return "(" + ",".join(_canon(v) for v in obj) + ")"
    if isinstance(obj, dict):
        return "{" + ",".join(f"{_canon(k)}:{_canon(v)}" for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))) + "}"
    raise Uncacheable(f"{type(obj).__name__} has no content digest")


_CODE_VERSION: str | None = None


def code_version() -> str:
    """Package version, a digest of the evidence code and the numeric libraries' versions (computed once)."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        from importlib.metadata import PackageNotFoundError, version

        from ... import __version__

        h = hashlib.blake2b(digest_size=8)
        core = Path(__file__).resolve().parents[1]  # all of core/, this folder included
        for path in sorted(core.rglob("*.py")):
            h.update(str(path.relative_to(core)).encode())
            h.update(path.read_bytes())
        libs = []
        for lib in ("tensorflow", "keras", "numpy"):
            try:
                libs.append(f"{lib}={version(lib)}")
            except PackageNotFoundError:
                libs.append(f"{lib}=none")
        _CODE_VERSION = f"{__version__}+{h.hexdigest()}|{','.join(libs)}"
    return _CODE_VERSION


PROBE_SEED = 20240917


def model_identity(adapter: Any) -> str:
    """What a model's outputs depend on: its fingerprint (layer configs + weights), its whole config (the
    wiring) and its preprocessing (input range, or a user callable's output on a fixed probe batch)."""
    def build() -> str:
        parts: list[Any] = [adapter.fingerprint, _wiring(adapter.model)]
        if adapter.preprocess_fn is None:
            parts.append(("range", adapter.input_range))
        else:
            probe = np.random.default_rng(PROBE_SEED).random((2, *adapter.input_shape), dtype=np.float32)
            parts.append(("callable", array_digest(adapter.preprocess(probe))))
        return hashlib.blake2b(_canon(parts).encode(), digest_size=16).hexdigest()

    return adapter.built(("cache_identity",), build)


def _wiring(model: Any) -> str:
    """Digest of the model's whole config with layer names replaced by their position: how layers are connected,
    independent of auto-generated names (input_layer_3), so equal models built twice in a process share entries."""
    from ..model.capture import layer_paths

    alias = {model.name: "#model"}
    for i, (_, layer) in enumerate(layer_paths(model)):
        alias.setdefault(layer.name, f"#{i}")

    def canonical(obj: Any) -> Any:
        if isinstance(obj, str):
            return alias.get(obj, obj)
        if isinstance(obj, dict):
            return {k: canonical(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [canonical(v) for v in obj]
        return obj

    try:
        text = json.dumps(canonical(model.get_config()), sort_keys=True, default=str)
    except Exception:  # subclassed models may not serialise: the fingerprint still covers layers and weights
        text = type(model).__qualname__
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def entry_key(kind: str, parts: Any) -> tuple[str, str]:
    """(key text, digest) of an entry; raises Uncacheable when a part has no content digest."""
    text = f"{kind}|{code_version()}|{_canon(parts)}"
    return text, hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


# ----- one file per entry -------------------------------------------------------------------------
def encode(key_text: str, arrays: Arrays) -> bytes:
    """An entry's bytes: magic, blake2b of the payload, payload (an uncompressed npz holding the key text)."""
    buf = io.BytesIO()
    np.savez(buf, __key__=np.array(key_text), **{k: np.asarray(v) for k, v in arrays.items()})
    payload = buf.getvalue()
    return MAGIC + hashlib.blake2b(payload, digest_size=CHECKSUM_BYTES).digest() + payload


def decode(data: bytes, key_text: str) -> Arrays:
    """The arrays of an entry; ValueError says what is wrong with a corrupt, truncated or misfiled one."""
    head = len(MAGIC) + CHECKSUM_BYTES
    if len(data) < head or not data.startswith(MAGIC):
        raise ValueError(f"not a cache entry or truncated ({len(data)} bytes)")
    payload = data[head:]
    if hashlib.blake2b(payload, digest_size=CHECKSUM_BYTES).digest() != data[len(MAGIC):head]:
        raise ValueError("checksum mismatch (truncated or corrupted)")
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if str(arrays.pop("__key__", "")) != key_text:
        raise ValueError("the entry belongs to another key")
    return arrays


@dataclass
class DiskStore:
    """Entry files under `<root>/v1/<kind>/<digest>.entry`, written atomically."""

    root: Path
    writable: bool = True

    @property
    def base(self) -> Path:
        return self.root / FORMAT

    def path(self, kind: str, digest: str) -> Path:
        return self.base / kind / f"{digest}{SUFFIX}"

    def read(self, kind: str, digest: str, key_text: str) -> tuple[Arrays | None, str | None]:
        """(arrays, None) on a hit, (None, None) when absent, (None, why) when the entry was corrupt and removed."""
        path = self.path(kind, digest)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        except OSError as exc:
            return None, f"cannot read cache entry {path} ({exc}); recomputing it"
        try:
            return decode(data, key_text), None
        except Exception as exc:  # any decoding problem means: not usable
            try:
                path.unlink()
            except OSError:
                pass
            return None, f"discarded corrupt cache entry {path} ({exc}); recomputing it"

    def write(self, kind: str, digest: str, data: bytes) -> None:
        """Write-then-rename: readers and other workers only ever see a complete entry under its name (no fsync:
        an entry lost to a crash fails its check on read and is recomputed)."""
        atomic_write(self.path(kind, digest), data, prefix=TEMP_PREFIX, fsync=False)

    def clean_stale_temps(self, older_than_s: float = STALE_TEMP_S) -> int:
        """Remove temp files left by killed processes (old enough that no live writer owns them)."""
        removed = 0
        now = time.time()
        for tmp in self.base.glob(f"*/{TEMP_PREFIX}*"):
            try:
                if now - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
                    removed += 1
            except OSError:
                pass
        return removed

    def clear(self) -> None:
        """Remove this code's sub-folder only, never the folder the user named."""
        shutil.rmtree(self.base, ignore_errors=True)


def writable_problem(root: Path) -> str | None:
    """Why entries cannot be written under `root` (None when they can): creates it and writes a probe file."""
    try:
        base = root / FORMAT
        base.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=base, prefix=TEMP_PREFIX, suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


# ----- memory, then disk --------------------------------------------------------------------------
@dataclass
class CacheStats:
    """Counts of lookups since the process started: hits (memory or disk), disk hits, misses, writes."""

    hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    writes: int = 0
    discarded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def minus(self, earlier: dict[str, int]) -> dict[str, int]:
        return {k: v - earlier.get(k, 0) for k, v in self.as_dict().items()}


@dataclass
class CacheStatus:
    """What `configure_cache` set up: the folder in use (None: memory only) and why not, if so."""

    dir: Path | None
    problem: str | None = None


@dataclass
class TieredCache:
    """Memory first (one process, one session), then the disk store when one is configured.

    Implements the ArrayCache protocol (get / put one array by a tuple key whose first item is the
    kind) for TCAV, and `cached(kind, parts, compute)` for methods whose result is a dict of arrays.
    """

    store: DiskStore | None = None
    enabled: bool = True
    stats: CacheStats = field(default_factory=CacheStats)
    _memory: dict[str, Arrays] = field(default_factory=dict, repr=False)
    _objects: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    _write_problem_told: bool = False

    # entries ----------------------------------------------------------------------------------
    def lookup(self, kind: str, parts: Any) -> tuple[str, str, Arrays | None]:
        """(key text, digest, arrays or None); memory first, then disk (a disk hit is kept in memory)."""
        text, digest = entry_key(kind, parts)
        found = self._memory.get(digest)
        if found is None and self.store is not None:
            found, problem = self.store.read(kind, digest, text)
            if problem is not None:
                self.stats.discarded += 1
                warnings.warn(f"model-audit cache: {problem}", ModelAuditCacheWarning, stacklevel=3)
            elif found is not None:
                self.stats.disk_hits += 1
                self._memory[digest] = _frozen(found)
        if found is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return text, digest, found

    def remember(self, kind: str, text: str, digest: str, arrays: Arrays) -> None:
        """Keep an entry in memory and write it to disk (a write problem is told once, never raised)."""
        self._memory[digest] = _frozen({k: np.array(v, copy=True) for k, v in arrays.items()})
        if self.store is None or not self.store.writable:
            return
        try:
            self.store.write(kind, digest, encode(text, arrays))
            self.stats.writes += 1
        except OSError as exc:
            self.store.writable = False
            if not self._write_problem_told:
                self._write_problem_told = True
                warnings.warn(f"model-audit cache: cannot write to {self.store.root} ({type(exc).__name__}: {exc}); "
                              "audits go on without writing to the disk cache", ModelAuditCacheWarning, stacklevel=3)

    def cached(self, kind: str, parts: Any, compute: Callable[[], Arrays]) -> Arrays:
        """The arrays of an entry: from memory or disk when present, else computed, stored and returned.

        Returned arrays are the caller's own (writable copies on a hit). A part without a content digest
        (a callable fill, say) makes the computation run uncached rather than guess a key.
        """
        if not self.enabled:
            return compute()
        try:
            text, digest, found = self.lookup(kind, parts)
        except Uncacheable:
            return compute()
        if found is not None:
            return {k: np.array(v, copy=True) for k, v in found.items()}
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        self.remember(kind, text, digest, arrays)
        return arrays

    # ArrayCache protocol --------------------------------------------------------------------------
    def get(self, key: Hashable) -> np.ndarray | None:
        """One array by a tuple key (kind first); read-only, shared with later hits."""
        if not self.enabled:
            return None
        kind, *parts = key  # type: ignore[misc]
        _, _, found = self.lookup(str(kind), parts)
        return None if found is None else found["value"]

    def put(self, key: Hashable, value: np.ndarray) -> None:
        if not self.enabled:
            return
        kind, *parts = key  # type: ignore[misc]
        text, digest = entry_key(str(kind), parts)
        self.remember(str(kind), text, digest, {"value": np.asarray(value)})

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A Python object (honesty checks, noisy maps, companion maps, a concept library) computed once per
        session and key, in memory only; keys start with a kind and carry the model identity where a model is
        involved, like the array entries."""
        if not self.enabled:
            return compute()
        if key not in self._objects:
            self._objects[key] = compute()
        return self._objects[key]

    def recall(self, key: Hashable) -> Any:
        """The session's object under `key` (see memo), or None when there is none yet or the cache is off."""
        return self._objects.get(key) if self.enabled else None

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep a session object under `key` for later `recall` / `memo` (nothing when the cache is off)."""
        if self.enabled:
            self._objects[key] = value

    def clear(self) -> None:
        """Forget the memory layer, the session's objects and the counts (the disk is left as it is)."""
        self._memory.clear()
        self._objects.clear()
        self.stats = CacheStats()

    @contextmanager
    def bypassed(self) -> Iterator[None]:
        """Compute everything afresh inside the block (benchmarks time computations, not cache hits)."""
        before = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = before


def _frozen(arrays: Arrays) -> Arrays:
    for v in arrays.values():
        v.setflags(write=False)
    return arrays


# Process-wide: memory first, then the persistent store once the plugin (or a user) calls configure_cache.
SESSION_CACHE = TieredCache()


def configure_cache(path: str | os.PathLike | None, *, clear: bool = False,
                    cache: TieredCache | None = None) -> CacheStatus:
    """Point the session cache's disk layer at `path` (None: memory only); `clear` empties this code's sub-folder.

    An unwritable folder is not an error: the status says why and the audits run with the memory layer only.
    """
    cache = SESSION_CACHE if cache is None else cache
    cache.store = None
    cache._write_problem_told = False
    if path is None:
        return CacheStatus(None)
    store = DiskStore(Path(path))
    if clear:
        store.clear()
    problem = writable_problem(store.root)
    if problem is not None:
        return CacheStatus(None, f"model-audit cache: cannot write to {store.root} ({problem}); audits run uncached "
                                 "(set --model-audit-cache-dir to a writable folder, or --model-audit-no-cache)")
    store.clean_stale_temps()
    cache.store = store
    return CacheStatus(store.root)


def cached(kind: str, parts: Any, compute: Callable[[], Arrays]) -> Arrays:
    """`SESSION_CACHE.cached`: what each method wraps its model passes in."""
    return SESSION_CACHE.cached(kind, parts, compute)
