"""JAX's persistent compilation cache, switched on by sparsestat at first use.

A fresh Python process pays XLA's compilation for every program it runs (seconds for a working-set
round). JAX can keep compiled executables on disk; sparsestat turns that on the first time one of its
entry points runs (an estimator's ``fit``, ``regression.solve``, ``mcmc.sample``, ``sbl.kron_sbl``,
...), never at import, and only where the user has not configured a cache of their own
(``jax_compilation_cache_dir`` / ``JAX_COMPILATION_CACHE_DIR`` set, or ``jax_enable_compilation_cache``
off: then nothing is changed).

Where the cache lives:

1. ``$SPARSESTAT_CACHE_DIR`` if set (``off``, ``0``, ``false`` or ``none`` disable it);
2. else ``$XDG_CACHE_HOME/sparsestat/jax``;
3. else ``~/.cache/sparsestat/jax``.

What is set when sparsestat owns the cache: every program that took at least
``MIN_COMPILE_TIME_S`` to compile is written (JAX's default, 1 s, would skip most of ours), with no
size floor per entry. The directory is bounded (``$SPARSESTAT_CACHE_MAX_BYTES``, default 2 GiB):
with the optional ``filelock`` package JAX evicts least-recently-used entries itself, under a lock;
without it, sparsestat trims the oldest entries to 3/4 of the bound once per process, before use.
Several processes may share the directory: JAX writes an entry under its content key, and a reader
that meets a truncated or corrupted entry (a write in progress, a full disk) gets a warning and
compiles. A directory that cannot be created or written gives one warning and the package goes on
without a persistent cache.

``sparsestat cache info`` and ``sparsestat cache clear`` show and empty the directory.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path
from typing import NamedTuple

__all__ = ["ensure_compilation_cache", "before_compiled_call", "compiled_entry", "map_count",
           "release_executables_if_needed", "cache_dir", "cache_info", "clear_cache", "CacheInfo",
           "MIN_COMPILE_TIME_S", "DEFAULT_MAX_BYTES"]

MIN_COMPILE_TIME_S = 0.0
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
_OFF = ("off", "0", "false", "no", "none", "disable", "disabled")
_SUFFIX = "-cache"  # JAX's entry files: <key>-cache (and <key>-atime when it evicts)

_lock = threading.Lock()
_state = {"done": False, "dir": None, "why": "not yet used"}


def cache_dir() -> Path | None:
    """The directory sparsestat uses (or would use) for JAX's cache; ``None`` when switched off."""
    env = os.environ.get("SPARSESTAT_CACHE_DIR")
    if env is not None and env.strip() != "":
        if env.strip().lower() in _OFF:
            return None
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sparsestat" / "jax"


def _max_bytes() -> int:
    raw = os.environ.get("SPARSESTAT_CACHE_MAX_BYTES")
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        warnings.warn(f"SPARSESTAT_CACHE_MAX_BYTES={raw!r} is not a number; using {DEFAULT_MAX_BYTES}",
                      RuntimeWarning, stacklevel=3)
        return DEFAULT_MAX_BYTES
    return max(value, 0)


def _check_dir(path: Path) -> str | None:
    """Create ``path`` and write a probe file; the reason it is unusable, or None."""
    if path.exists() and not path.is_dir():
        return f"{path} exists and is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return f"{path} is not writable ({type(exc).__name__}: {exc.strerror or exc})"
    return None


def _entries(path: Path):
    out = []
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.name.endswith(_SUFFIX) and e.is_file(follow_symlinks=False):
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:  # removed by another process meanwhile
                        continue
                    out.append((max(st.st_atime, st.st_mtime), st.st_size, e.path))
    except OSError:
        return []
    return out


TRIM_EVERY_S = 600.0   # the directory is scanned at most this often (a scan of 5 000 entries: ~30 ms)


def _trim(path: Path, max_bytes: int) -> None:
    """Remove the least recently used entries until the directory holds <= 3/4 of ``max_bytes``; at
    most once per ``TRIM_EVERY_S`` over all processes (a stamp file), so a new process does not pay
    a directory scan on its first fit."""
    stamp = path / ".trimmed"
    try:
        if time.time() - stamp.stat().st_mtime < TRIM_EVERY_S:
            return
    except OSError:
        pass
    try:
        stamp.touch()
    except OSError:
        pass
    entries = _entries(path)
    total = sum(s for _, s, _ in entries)
    if total <= max_bytes:
        return
    target = (3 * max_bytes) // 4
    for _, size, file in sorted(entries):
        if total <= target:
            break
        for f in (file, file[: -len(_SUFFIX)] + "-atime"):
            try:
                os.unlink(f)
            except OSError:
                pass
        total -= size


def ensure_compilation_cache() -> Path | None:
    """Switch JAX's persistent compilation cache on (once per process; cheap after the first call).

    Returns the directory in use, or ``None`` (switched off, configured by the user, or unusable).
    Never raises: an unusable directory gives one ``RuntimeWarning``.
    """
    if _state["done"]:
        return _state["dir"]
    with _lock:
        if _state["done"]:
            return _state["dir"]
        try:
            _state["dir"], _state["why"] = _enable()
        except Exception as exc:  # a cache problem must never break a fit
            warnings.warn(f"sparsestat: no persistent compilation cache ({type(exc).__name__}: {exc})",
                          RuntimeWarning, stacklevel=3)
            _state["dir"], _state["why"] = None, f"{type(exc).__name__}: {exc}"
        finally:
            _state["done"] = True
    return _state["dir"]


def _enable():
    import jax

    user_dir = getattr(jax.config, "jax_compilation_cache_dir", None)
    if user_dir:
        return None, f"configured by the user: {user_dir}"
    if not getattr(jax.config, "jax_enable_compilation_cache", True):
        return None, "disabled by the user (jax_enable_compilation_cache=False)"
    path = cache_dir()
    if path is None:
        return None, "switched off by SPARSESTAT_CACHE_DIR"
    reason = _check_dir(path)
    if reason is not None:
        warnings.warn(f"sparsestat: no persistent compilation cache: {reason}; every new process compiles "
                      "again. Set SPARSESTAT_CACHE_DIR to a writable directory, or to 'off'.",
                      RuntimeWarning, stacklevel=4)
        return None, reason
    from jax.experimental.compilation_cache import compilation_cache as cc

    max_bytes = _max_bytes()
    try:
        import filelock  # noqa: F401  (JAX's own LRU eviction needs it)

        jax.config.update("jax_compilation_cache_max_size", max_bytes)
    except ImportError:
        try:
            _trim(path, max_bytes)
        except OSError:
            pass
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    cc.set_cache_dir(str(path))
    # JAX decides once per process whether a cache is in use, at its first compilation; a program
    # compiled before this call (by the user or by us) would have settled that to "no"
    cc.reset_cache()
    _install_checked_store(path)
    return path, "on"


def _install_checked_store(path: Path) -> None:
    """Give JAX a file store that checks what it reads and writes whole files.

    JAX's own store (without eviction) writes an entry in place, so a reader in another process can
    meet a half-written file, and it never replaces an entry that exists: a truncated or corrupted
    entry (a full disk, a killed process) would warn and recompile in every later process. This one
    decompresses an entry before handing it over (a truncated zlib/zstd stream fails its check);
    a bad entry is deleted (one warning per process) and the program compiled and written again,
    and writes go to a temporary file renamed into place. Where JAX's internals differ from what
    this expects (another version), JAX's own store stays."""
    try:
        from jax._src import compilation_cache as _cc
        from jax._src.lru_cache import LRUCache
    except ImportError:  # pragma: no cover - a JAX without these internals
        return
    if not (hasattr(_cc, "_cache") and hasattr(_cc, "_cache_initialized") and hasattr(_cc, "decompress_executable")):
        return  # pragma: no cover
    if _jax_max_size() != -1:
        return  # JAX's LRU store with eviction and file locks is in charge

    class _CheckedStore(LRUCache):
        def get(self, key):
            value = super().get(key)
            if value is None:
                return None
            try:
                _cc.decompress_executable(value)
            except Exception as exc:  # noqa: BLE001 - any failure means an unusable entry
                _drop_entry(self.path / f"{key}{_SUFFIX}", exc)
                return None
            return value

        def put(self, key, value):
            target = self.path / f"{key}{_SUFFIX}"
            if target.exists():
                return
            tmp = self.path / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
            try:
                tmp.write_bytes(value)
                os.replace(tmp, target)
            except OSError as exc:  # a full disk, a directory made read-only meanwhile
                _write_failed(exc)
            finally:
                try:
                    tmp.unlink()
                except OSError:
                    pass

    with _cc._cache_initialized_mutex:
        _cc._cache = _CheckedStore(str(path), max_size=-1)
        _cc._cache_initialized = True


def _jax_max_size() -> int:
    import jax

    return int(getattr(jax.config, "jax_compilation_cache_max_size", -1))


_bad = {"warned": False, "dropped": 0, "write_warned": False, "write_failed": 0}


def _write_failed(exc: OSError) -> None:
    _bad["write_failed"] += 1
    if not _bad["write_warned"]:
        _bad["write_warned"] = True
        warnings.warn(f"sparsestat: could not write to the compilation cache ({type(exc).__name__}: {exc}); "
                      "programs are compiled in memory and not kept for later processes. Further failed "
                      "writes are not reported.", RuntimeWarning, stacklevel=2)


def _drop_entry(file: Path, exc: Exception) -> None:
    _bad["dropped"] += 1
    try:
        file.unlink()
    except OSError:
        pass
    if not _bad["warned"]:
        _bad["warned"] = True
        warnings.warn(f"sparsestat: a corrupted compilation-cache entry was removed ({file.name}: "
                      f"{type(exc).__name__}); the program is compiled again and rewritten. Further "
                      "corrupted entries are handled the same way without a warning.",
                      RuntimeWarning, stacklevel=2)


class CacheInfo(NamedTuple):
    path: Path | None   # the directory (None: switched off)
    status: str         # "on", "on at first use", "off ...: why"
    n_entries: int
    n_bytes: int
    max_bytes: int


def cache_info() -> CacheInfo:
    """Where the cache is and what it holds. Raises ``ValueError`` when ``SPARSESTAT_CACHE_DIR`` names
    something that is not a directory."""
    path = cache_dir()
    if path is None:
        return CacheInfo(None, "off (SPARSESTAT_CACHE_DIR)", 0, 0, _max_bytes())
    if path.exists() and not path.is_dir():
        raise ValueError(f"SPARSESTAT_CACHE_DIR={str(path)!r} is not a directory; point it at a directory "
                         "(created if missing) or set it to 'off'")
    entries = _entries(path) if path.is_dir() else []
    if _state["done"]:
        status = "on" if _state["dir"] is not None else f"off in this process: {_state['why']}"
    else:
        status = "on at first use" if path.is_dir() or not path.exists() else "unusable"
    return CacheInfo(path, status, len(entries), sum(s for _, s, _ in entries), _max_bytes())


def clear_cache() -> int:
    """Delete every entry of sparsestat's cache directory; returns the number of entries removed."""
    info = cache_info()
    if info.path is None or not info.path.is_dir():
        return 0
    removed = 0
    for _, _, file in _entries(info.path):
        for f in (file, file[: -len(_SUFFIX)] + "-atime"):
            try:
                os.unlink(f)
                removed += f.endswith(_SUFFIX)
            except OSError:
                pass
    return removed


# ----------------------------------------------------------------------------- bounded executables
# Every XLA:CPU executable holds its own memory mappings (LLVM sections): about 570 per Lasso fit on a
# new shape. The kernel allows 65 530 per process (vm.max_map_count), so a session that fits many
# shapes used to die in compilation ("LLVM ERROR: Unable to allocate section memory"). sparsestat
# counts the executables created in the process (compiled or loaded from the persistent cache) and,
# at the start of its next entry point once CHECK_EVERY more exist, reads the process's mapping count;
# above MAP_LIMIT it drops JAX's in-memory caches (``jax.clear_caches()``), which frees them. Programs
# needed again are then reloaded from the persistent cache (milliseconds) or compiled.

CHECK_EVERY = 16
MAP_LIMIT = 12_000
_exec = {"listening": False, "created": 0, "checked_at": 0, "clears": 0}


def _on_compile_event(event, *args, **kwargs):
    # fired for every executable made, compiled by XLA or loaded from the persistent cache
    if event == "/jax/core/compile/backend_compile_duration":
        _exec["created"] += 1


def _listen():
    import jax.monitoring as mon

    mon.register_event_duration_secs_listener(_on_compile_event)
    _exec["listening"] = True


def map_count() -> int | None:
    """Number of memory mappings of this process (Linux ``/proc/self/maps``), or None elsewhere."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def release_executables_if_needed(limit: int | None = None) -> bool:
    """Drop JAX's in-memory compiled programs when the process holds more than ``limit`` mappings.
    Returns whether it did."""
    n = map_count()
    if n is None or n <= (MAP_LIMIT if limit is None else limit):
        return False
    import gc

    import jax

    jax.clear_caches()
    gc.collect()
    _exec["clears"] += 1
    return True


def before_compiled_call(release: bool = True) -> None:
    """What every sparsestat entry point runs first: the persistent cache (once), and the bound on
    the executables this process holds (a check every CHECK_EVERY new executables; ``release=False``
    inside a trace, where caches must not be dropped)."""
    if not _state["done"]:
        ensure_compilation_cache()
    if not _exec["listening"]:
        with _lock:
            if not _exec["listening"]:
                _listen()
    if release and _exec["created"] - _exec["checked_at"] >= CHECK_EVERY:
        _exec["checked_at"] = _exec["created"]
        release_executables_if_needed()


def compiled_entry(fn):
    """Decorator for public entry points (functions and ``fit`` methods) that run compiled code:
    calls :func:`before_compiled_call` first (which never drops caches when an argument is a tracer:
    the entry point is then being traced inside the user's ``jax.jit``)."""
    import functools

    from jax.core import Tracer

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        traced = any(isinstance(a, Tracer) for a in args) or any(isinstance(a, Tracer) for a in kwargs.values())
        before_compiled_call(release=not traced)
        return fn(*args, **kwargs)

    return wrapper
