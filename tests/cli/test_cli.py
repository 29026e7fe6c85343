"""The command line: list, reproduce (quick), demo, and clear errors for unknown names."""

import csv
import subprocess
import sys

import pytest

from sparsestat.cli import main
from sparsestat.experiments import registry, run
from tests.conftest import ROOT


def test_list_shows_registered(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "linalg-kron" in out
    assert set(registry()) >= {"linalg-kron"}


def test_unknown_experiment_exits_2_and_lists_valid(capsys):
    assert main(["reproduce", "no-such-paper"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no-such-paper'" in err and "linalg-kron" in err
    with pytest.raises(KeyError, match="valid names"):
        run("no-such-paper")


def test_unknown_command_exits_2():
    proc = subprocess.run([sys.executable, "-m", "sparsestat", "frobnicate"], capture_output=True, text=True,
                          cwd=str(ROOT))
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_reproduce_linalg_kron_quick(tmp_path, capsys):
    assert main(["reproduce", "linalg-kron", "--quick", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "linalg-kron" / "kron_matvec.csv")))
    assert len(rows) == 3
    assert max(float(r["rel_error"]) for r in rows) < 1e-12
    # memory saved is exactly prod of sizes over sum of factor sizes
    assert all(int(r["dense_bytes"]) > int(r["op_bytes"]) for r in rows)
    pytest.importorskip("matplotlib")
    assert (tmp_path / "linalg-kron" / "kron_matvec.png").stat().st_size > 1000


@pytest.mark.slow  # every module compiles (18 s cold); run by CI in the slow tier
def test_demo_runs_every_section(capsys, monkeypatch):
    monkeypatch.setenv("SPARSESTAT_NO_PROGRESS", "1")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "linalg" in out and "FAILED" not in out
