"""``sparsestat launch``: start P local processes wired to one another through JAX's coordination service.

Each process gets ``SPARSESTAT_COORDINATOR`` (a free local port for process 0's service),
``SPARSESTAT_NUM_PROCESSES`` and ``SPARSESTAT_PROCESS_ID``, so that
:func:`sparsestat.distributed.initialize` with no arguments connects them. Output is forwarded line by
line with a ``[k]`` prefix. When a process fails, the others are given ``grace_s`` seconds to report
and are then stopped; the launcher exits with the first failure's code.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from ..linalg.multiprocess import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID, ENV_TIMEOUT

__all__ = ["launch", "free_port"]

# pin, then become the command: affinity survives exec, and no thread exists yet to escape it (numpy's
# BLAS pool, started at import, would keep the old affinity if the process pinned itself later)
_PIN_AND_EXEC = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); os.execvp(sys.argv[2], sys.argv[2:])"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _forward(stream, prefix: str, out, lock) -> None:
    for line in iter(stream.readline, ""):
        with lock:
            out.write(prefix + line if line.endswith("\n") else prefix + line + "\n")
            out.flush()
    stream.close()


def _exit_code(rc: int) -> int:
    return 128 - rc if rc < 0 else rc


def launch(command, processes: int, *, port: int | None = None, timeout_s: float | None = None,
           grace_s: float = 5.0, pin_cpus: bool = False, env: dict | None = None, out=None) -> int:
    """Run ``command`` (a list: program and arguments) as ``processes`` local processes and wait.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments, e.g. ``[sys.executable, "script.py"]``.
    processes : int
        How many processes (>= 1).
    port : int, optional
        Port of the coordination service on 127.0.0.1 (default: a free one).
    timeout_s : float, optional
        Passed as ``SPARSESTAT_DISTRIBUTED_TIMEOUT``: how long :func:`initialize` waits for every
        process to join, and (capped at 100 s) how long a dead process goes unnoticed.
    grace_s : float
        After the first failure, how long the others may run to report before they are stopped.
    pin_cpus : bool
        Bind process k to CPU core k (mod the number of cores): one core each, for throughput runs. The
        binding is set before the command starts, so every thread it creates (BLAS, XLA) inherits it.
    env : dict, optional
        Extra environment variables for every process.
    out : text stream, optional
        Where the prefixed output goes (default ``sys.stdout``).

    Returns
    -------
    int
        0 when every process exited with 0; otherwise the exit code of the first process that failed
        (128 + signal number for a signal).
    """
    command = [str(c) for c in command]
    if not command:
        raise ValueError("command is empty: give the program to run after --")
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be a positive integer, got {processes!r}")
    if grace_s < 0:
        raise ValueError(f"grace_s must be >= 0, got {grace_s}")
    out = sys.stdout if out is None else out
    address = f"127.0.0.1:{free_port() if port is None else int(port)}"
    ncpu = os.cpu_count() or 1
    lock = threading.Lock()
    procs, threads = [], []
    for k in range(processes):
        penv = dict(os.environ)
        penv.update(env or {})
        penv.update({ENV_COORDINATOR: address, ENV_NUM_PROCESSES: str(processes), ENV_PROCESS_ID: str(k),
                     "PYTHONUNBUFFERED": "1"})
        if timeout_s is not None:
            penv[ENV_TIMEOUT] = str(timeout_s)
        argv = command
        if pin_cpus and hasattr(os, "sched_setaffinity"):
            # a small interpreter pins itself and execs the command (no preexec_fn: running Python
            # between fork and exec is unsafe once this process has JAX's threads)
            argv = [sys.executable, "-c", _PIN_AND_EXEC, str(k % ncpu), *command]
        p = subprocess.Popen(argv, env=penv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             bufsize=1, start_new_session=True)
        procs.append(p)
        t = threading.Thread(target=_forward, args=(p.stdout, f"[{k}] ", out, lock), daemon=True)
        t.start()
        threads.append(t)

    first_fail = None        # (process, code)
    failed_at = None
    try:
        while True:
            codes = [p.poll() for p in procs]
            for k, c in enumerate(codes):
                if c not in (None, 0) and first_fail is None:
                    first_fail, failed_at = (k, _exit_code(c)), time.monotonic()
            if all(c is not None for c in codes):
                break
            if failed_at is not None and time.monotonic() - failed_at > grace_s:
                _stop([p for p in procs if p.poll() is None])
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop([p for p in procs if p.poll() is None])
        raise
    for p in procs:
        p.wait()
    for t in threads:
        t.join(timeout=5)
    with lock:
        if first_fail is not None:
            k, code = first_fail
            others = [f"process {j} exited with {_exit_code(p.returncode)}" for j, p in enumerate(procs) if j != k]
            out.write(f"sparsestat launch: process {k} failed first (exit code {code}); "
                      + ("; ".join(others) if others else "") + "\n")
            out.flush()
            return code
    return 0


def _stop(procs) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 3.0
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
