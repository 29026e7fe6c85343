"""sparsestat's KroSBL against the authors' MATLAB code (YanbinHe/JournalKroSBL) run under GNU Octave on the
same seeded problems. Only the reference's numbers are in the repository (fixtures/octave_reference.json,
made by benchmarks/octave/, see its README): per-problem NMSE of SVD-, AM- and the prior Kronecker SBL
("sota_kroSBL", our method="ksbl") with known noise variance and the authors' defaults (R_max = 150).

The same update rules on the same inputs must land on the same estimates, so the comparison is per
problem, in dB, to a tight tolerance, including the problems where both fail (pruning a small true
factor value), which is what the reference code does too."""

import json
from pathlib import Path

import numpy as np
import pytest

from sparsestat.datasets import make_kronecker_sparse
from sparsestat.sbl import kron_sbl
from sparsestat.sbl.metrics import nmse_db

# problems (0-based) where the reference's sota_kroSBL is not the KSBL rules in exact arithmetic: its E-step
# takes the nonsymmetric `eig` of diag(sqrt g) A'A diag(sqrt g) (symmetric only up to rounding), whose null-space
# eigenvectors (M_i < N_i) are not orthonormal; a numpy transcription of the same rules with a symmetric
# eigensolver gives sparsestat's numbers on these problems (docs/modules/sbl.md)
KSBL_EIG_ARTEFACT = {"k3_25db": [2, 3, 6], "k3_15db": [1, 4]}
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "octave_reference.json").read_text())
TOL_DB = 0.1  # both runs stopped by the relative-change rule: same fixed point
TOL_CAPPED_DB = 0.25  # stopped by R_max = 150 iterations (rounding has had 150 steps to grow; measured 0.12)


def _problems(name):
    s = FIXTURE["sets"][name]
    p = make_kronecker_sparse(s["factor_shapes"], s["support_sizes"], s["snr_db"], kron_values=s["kron_values"],
                              n_problems=s["n_problems"], random_state=s["random_state"])
    return s, p


def _compare(name, method):
    s, p = _problems(name)
    res = kron_sbl(p.factors, p.y, method=method, noise_var=p.noise_var)
    ref = np.asarray(s["nmse_db"][method])
    k = len(ref)  # the reference may cover the first problems only
    ours = np.asarray(nmse_db(res.coef, p.coef))[:k]
    tol = np.where(np.asarray(res.converged)[:k], TOL_DB, TOL_CAPPED_DB)
    return ours, ref, tol


def test_svd_krosbl_equals_the_authors_code_per_problem(x64):
    ours, ref, tol = _compare("k3_25db", "svd")
    assert np.all(np.abs(ours - ref) <= tol), (ours, ref)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["k3_25db", "k3_15db"])
@pytest.mark.parametrize("method", ["svd", "am", "ksbl"])
def test_krosbl_methods_equal_the_authors_code_per_problem(name, method, x64):
    ours, ref, tol = _compare(name, method)
    keep = np.ones(len(ref), bool)
    if method == "ksbl":
        keep[[i for i in KSBL_EIG_ARTEFACT[name] if i < len(ref)]] = False
        assert keep.mean() >= 0.6
    assert np.all(np.abs(ours - ref)[keep] <= tol[keep]), (ours, ref)
