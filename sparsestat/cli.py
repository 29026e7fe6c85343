"""The ``sparsestat`` command: ``list``, ``reproduce NAME [--quick] [--out DIR]``, ``demo``,
``cache info``, ``cache clear`` and ``launch --processes N -- CMD ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _cmd_list(args) -> int:
    from .experiments import registry

    reg = registry()
    width = max((len(n) for n in reg), default=0)
    for name, exp in reg.items():
        print(f"{name.ljust(width)}  {exp.description}")
    return 0


def _cmd_reproduce(args) -> int:
    from .experiments import registry, run
    from .experiments._common import format_table

    reg = registry()
    if args.name not in reg:
        print(f"sparsestat: error: unknown experiment {args.name!r}. Valid names:\n  "
              + "\n  ".join(reg), file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    res = run(args.name, quick=args.quick, out_dir=args.out)
    dt = time.perf_counter() - t0
    print(format_table(res.rows))
    for k, v in res.checks.items():
        print(f"check {k}: {v}")
    for f in res.files:
        print(f"wrote {f}")
    print(f"{args.name} finished in {dt:.1f} s")
    return 0


def _cmd_demo(args) -> int:
    from ._progress import progress
    from .experiments import demos
    from .experiments._common import format_table

    rows = []
    sections = demos()
    for name, fn in progress(sections, desc="demo", total=len(sections)):
        t0 = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:  # a broken section must not hide the others, but must show
            out = [{"module": name, "task": "demo", "result": f"FAILED: {type(exc).__name__}: {exc}",
                    "time": ""}]
            rows.extend(out)
            print(format_table(rows))
            return 1
        for r in out:
            r.setdefault("time", f"{time.perf_counter() - t0:.2f} s")
        rows.extend(out)
    print("sparsestat demo: one short task per module\n")
    print(format_table(rows, ["module", "task", "result", "time"]))
    return 0


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _cmd_cache(args) -> int:
    from .linalg.cache import cache_info, clear_cache

    try:
        info = cache_info()
    except ValueError as exc:
        print(f"sparsestat: error: {exc}", file=sys.stderr)
        return 2
    if args.action == "clear":
        removed = clear_cache()
        print(f"removed {removed} cached programs from {info.path}" if info.path else "the cache is off")
        return 0
    print(f"directory : {info.path if info.path is not None else '-'}")
    print(f"status    : {info.status}")
    print(f"entries   : {info.n_entries} compiled programs, {_human(info.n_bytes)}")
    print(f"bound     : {_human(info.max_bytes)} (SPARSESTAT_CACHE_MAX_BYTES)")
    return 0


_CACHE_HELP = """JAX's persistent compilation cache, which sparsestat switches on at its first compiled call so
that a new process reuses what earlier ones compiled. Directory: $SPARSESTAT_CACHE_DIR if set ('off'
disables it), else $XDG_CACHE_HOME/sparsestat/jax, else ~/.cache/sparsestat/jax. Left alone when you
configured JAX's own cache (jax_compilation_cache_dir / JAX_COMPILATION_CACHE_DIR)."""


def _cmd_launch(args) -> int:
    from .distributed.launch import launch

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("sparsestat: error: launch needs a command after --, e.g. "
              "sparsestat launch --processes 2 -- python script.py", file=sys.stderr)
        return 2
    try:
        return launch(cmd, args.processes, port=args.port, timeout_s=args.timeout, grace_s=args.grace,
                      pin_cpus=args.pin_cpus)
    except ValueError as exc:
        print(f"sparsestat: error: {exc}", file=sys.stderr)
        return 2


_LAUNCH_HELP = """Start N local processes of CMD wired to one another: each gets SPARSESTAT_COORDINATOR,
SPARSESTAT_NUM_PROCESSES and SPARSESTAT_PROCESS_ID, so that sparsestat.distributed.initialize() with no
arguments connects them (JAX's multi-controller runtime, gloo collectives on CPU). Output is forwarded
with a [k] prefix; the exit code is that of the first process to fail (0 when all succeed)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sparsestat", description="Sparse statistical estimation in JAX.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("list", help="list the registered paper reproductions").set_defaults(func=_cmd_list)
    r = sub.add_parser("reproduce", help="run a paper reproduction and write its table and figure")
    r.add_argument("name", help="experiment name (see `sparsestat list`)")
    r.add_argument("--quick", action="store_true", help="a small version that runs in minutes")
    r.add_argument("--out", default="results", type=Path, help="output directory (default: results)")
    r.set_defaults(func=_cmd_reproduce)
    sub.add_parser("demo", help="a short tour of every module").set_defaults(func=_cmd_demo)
    c = sub.add_parser("cache", help="show or empty the persistent compilation cache", description=_CACHE_HELP)
    c.add_argument("action", choices=("info", "clear"), help="info: where it is and what it holds; clear: empty it")
    c.set_defaults(func=_cmd_cache)
    la = sub.add_parser("launch", help="run a command as N local processes of one distributed job",
                        description=_LAUNCH_HELP)
    la.add_argument("--processes", "-n", type=int, required=True, help="number of processes")
    la.add_argument("--port", type=int, default=None, help="coordinator port on 127.0.0.1 (default: a free one)")
    la.add_argument("--timeout", type=float, default=None,
                    help="seconds to wait for every process to join (SPARSESTAT_DISTRIBUTED_TIMEOUT; default 300)")
    la.add_argument("--grace", type=float, default=5.0,
                    help="seconds the others may run after a process fails, before they are stopped (default 5)")
    la.add_argument("--pin-cpus", action="store_true", help="bind process k to CPU core k (one core each)")
    la.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    la.set_defaults(func=_cmd_launch)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
