"""Shared test helpers.

``run_with_devices(code, n_devices=4)`` runs a Python snippet in a subprocess where JAX sees
``n_devices`` CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count``), so sharding can be
tested without changing this process's JAX configuration. The snippet should print a final JSON line;
the parsed value is returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_with_devices(code: str, n_devices: int = 4, timeout: float = 300.0):
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_devices} " + env.get("XLA_FLAGS", "")
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=str(ROOT))
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    last = [l for l in proc.stdout.strip().splitlines() if l.strip()][-1]
    return json.loads(last)


@pytest.fixture
def devices_runner():
    return run_with_devices


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def x64():
    """Run a test body with 64-bit JAX types enabled (scoped, never global)."""
    from sparsestat.linalg import enable_x64

    with enable_x64():
        yield


def pytest_collection_modifyitems(config, items):
    """``SPARSESTAT_SLOW_SHARD=i/k`` keeps the slow tests whose stable index falls in shard i of k
    (0 <= i < k), so that CI can rotate through the slow tier when it outgrows one run: shard i of
    landing c is c mod k, and every slow test runs at least once every k landings. Tests not marked
    slow are never deselected."""
    spec = os.environ.get("SPARSESTAT_SLOW_SHARD", "").strip()
    if not spec:
        return
    try:
        i, k = (int(v) for v in spec.split("/"))
        assert k >= 1 and 0 <= i < k
    except (ValueError, AssertionError):
        raise pytest.UsageError(f"SPARSESTAT_SLOW_SHARD must be 'i/k' with 0 <= i < k, got {spec!r}") from None
    import zlib

    keep, drop = [], []
    for item in items:
        if item.get_closest_marker("slow") is None or zlib.crc32(item.nodeid.encode()) % k == i:
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
