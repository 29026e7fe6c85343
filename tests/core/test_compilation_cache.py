"""The persistent compilation cache: on at first use, where the documentation says, never over a
user's own configuration, and never a reason for a fit to fail (unusable or corrupted directory).

Each case runs in a fresh interpreter (the cache is process-wide JAX state) on a 50 x 80 Lasso fit
(5-12 s each on 2 cores, so the variants run in the slow tier).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

FIT = """
import json, warnings, numpy as np, jax, jax.monitoring as mon
ev = {"hits": 0}
mon.register_event_listener(lambda e, **k: ev.__setitem__("hits", ev["hits"] + (e == "/jax/compilation_cache/cache_hits")))
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from sparsestat.regression import Lasso
    from sparsestat.linalg import cache
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 80)); y = X[:, 0] + rng.standard_normal(50)
    coef = [Lasso(alpha=a).fit(X, y).coef_[0] for a in (0.1, 0.2)]
print(json.dumps({"coef": coef, "hits": ev["hits"], "jax_dir": jax.config.jax_compilation_cache_dir,
                  "min_time": jax.config.jax_persistent_cache_min_compile_time_secs,
                  "ours": str(cache.ensure_compilation_cache()),
                  "warnings": [str(w.message) for w in caught if "cache" in str(w.message)]}))
"""


def _run(env_extra, code=FIT):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARSESTAT_CACHE", "JAX_COMPILATION_CACHE"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _entries(path):
    return sorted(f for f in os.listdir(path) if f.endswith("-cache"))


def test_second_process_loads_instead_of_compiling(tmp_path):
    d = tmp_path / "c"
    first = _run({"SPARSESTAT_CACHE_DIR": str(d)})
    assert first["jax_dir"] == str(d) and first["ours"] == str(d) and first["min_time"] == 0.0
    n_programs = len(_entries(d))
    assert first["hits"] == 0 and n_programs >= 1   # a Lasso fit is one program (prepare and solve fused)
    second = _run({"SPARSESTAT_CACHE_DIR": str(d)})
    assert second["hits"] >= n_programs              # every program of the fit came from disk
    assert second["coef"] == first["coef"]
    assert not first["warnings"] and not second["warnings"]


@pytest.mark.slow
def test_default_location_follows_xdg(tmp_path):
    out = _run({"XDG_CACHE_HOME": str(tmp_path)})
    assert out["jax_dir"] == str(tmp_path / "sparsestat" / "jax")
    assert _entries(tmp_path / "sparsestat" / "jax")


# a fresh process each (6 s cold): the slow tier
@pytest.mark.parametrize("value", [pytest.param(v, marks=pytest.mark.slow) for v in ("off", "0", "none")])
def test_off(tmp_path, value):
    out = _run({"SPARSESTAT_CACHE_DIR": value, "XDG_CACHE_HOME": str(tmp_path)})
    assert out["jax_dir"] is None and out["ours"] == "None"
    assert not (tmp_path / "sparsestat").exists()


@pytest.mark.slow  # a fresh process (6 s cold)
def test_user_configuration_is_left_alone(tmp_path):
    mine = tmp_path / "mine"
    out = _run({"JAX_COMPILATION_CACHE_DIR": str(mine), "SPARSESTAT_CACHE_DIR": str(tmp_path / "ours")})
    assert out["jax_dir"] == str(mine) and out["ours"] == "None"
    assert out["min_time"] == 1.0                    # JAX's default threshold, not ours
    assert not (tmp_path / "ours").exists()


@pytest.mark.slow  # a fresh process each (6-12 s cold); the default tier keeps the second-process load
def test_unusable_directory_warns_once_and_fits(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    import numpy as np

    from sparsestat.regression import Lasso

    rng = np.random.default_rng(0)  # the subprocess's fit, here
    X = rng.standard_normal((50, 80))
    y = X[:, 0] + rng.standard_normal(50)
    ref = [Lasso(alpha=a).fit(X, y).coef_[0] for a in (0.1, 0.2)]
    for target in (blocker, blocker / "below"):  # a file, and a path that cannot be created
        out = _run({"SPARSESTAT_CACHE_DIR": str(target)})
        np.testing.assert_allclose(out["coef"], ref, rtol=1e-12)
        assert out["jax_dir"] is None
        assert len(out["warnings"]) == 1 and "not" in out["warnings"][0], out["warnings"]


@pytest.mark.slow
def test_corrupted_entries_are_replaced(tmp_path):
    d = tmp_path / "c"
    ref = _run({"SPARSESTAT_CACHE_DIR": str(d)})
    n_programs = len(_entries(d))   # a Lasso fit is one program (prepare and solve fused)
    for f in _entries(d):  # truncated writes (a full disk, a killed process)
        with open(d / f, "r+b") as fh:
            fh.truncate(max(os.path.getsize(d / f) // 3, 1))
    out = _run({"SPARSESTAT_CACHE_DIR": str(d)})
    assert out["coef"] == ref["coef"]
    assert len(out["warnings"]) == 1 and "corrupted" in out["warnings"][0]
    again = _run({"SPARSESTAT_CACHE_DIR": str(d)})  # rewritten whole: loads, no warning
    assert n_programs >= 1 and again["hits"] >= n_programs and not again["warnings"]


@pytest.mark.slow  # a fresh process (6 s cold)
def test_full_disk_warns_once_and_fits(tmp_path):
    # every cache write fails as on a full disk (ENOSPC): one warning, the fits go on, nothing written
    code = ("import errno, pathlib\n_orig = pathlib.Path.write_bytes\n"
            "def _full(self, data):\n"
            "    if self.name.endswith('.tmp'):\n"
            "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "    return _orig(self, data)\n"
            "pathlib.Path.write_bytes = _full\n") + FIT
    out = _run({"SPARSESTAT_CACHE_DIR": str(tmp_path / "c")}, code=code)
    assert out["jax_dir"] == str(tmp_path / "c") and len(out["coef"]) == 2
    assert len(out["warnings"]) == 1 and "could not write" in out["warnings"][0], out["warnings"]
    assert _entries(tmp_path / "c") == [] and not [f for f in os.listdir(tmp_path / "c") if f.endswith(".tmp")]


@pytest.mark.slow
def test_cli_info_and_clear(tmp_path):
    d = tmp_path / "c"
    _run({"SPARSESTAT_CACHE_DIR": str(d)})
    n = len(_entries(d))
    code = "import sys; from sparsestat.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, SPARSESTAT_CACHE_DIR=str(d), PYTHONPATH=str(ROOT))
    info = subprocess.run([sys.executable, "-c", code, "cache", "info"], capture_output=True, text=True, env=env)
    assert info.returncode == 0 and str(d) in info.stdout and f"{n} compiled programs" in info.stdout
    clear = subprocess.run([sys.executable, "-c", code, "cache", "clear"], capture_output=True, text=True, env=env)
    assert clear.returncode == 0 and f"removed {n}" in clear.stdout and _entries(d) == []
    env["SPARSESTAT_CACHE_DIR"] = str(tmp_path / "x")
    (tmp_path / "x").write_text("")
    bad = subprocess.run([sys.executable, "-c", code, "cache", "info"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "not a directory" in bad.stderr


def test_trim_keeps_the_directory_under_its_bound(tmp_path):
    from sparsestat.linalg.cache import _trim

    for i in range(10):
        f = tmp_path / f"k{i}-cache"
        f.write_bytes(b"x" * 1000)
        os.utime(f, (1000 + i, 1000 + i))
    _trim(tmp_path, 5000)
    left = _entries(tmp_path)
    assert sum(os.path.getsize(tmp_path / f) for f in left) <= 3750
    assert left == [f"k{i}-cache" for i in range(7, 10)]  # the most recently used stay
    # a second trim within TRIM_EVERY_S does not scan (a new process pays no directory walk)
    for i in range(10):
        (tmp_path / f"k{i}-cache").write_bytes(b"x" * 1000)
    _trim(tmp_path, 5000)
    assert len(_entries(tmp_path)) == 10
    os.utime(tmp_path / ".trimmed", (0, 0))   # the stamp is old: scans again
    _trim(tmp_path, 5000)
    assert len(_entries(tmp_path)) == 3
