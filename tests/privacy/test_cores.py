"""The named cores (privacy.nldp, privacy.ldp_iht) behind the estimators, and the public names kept
working after the protocol was split by stage (issue 17)."""

import importlib
import warnings

import jax
import numpy as np
import pytest

import sparsestat.privacy as privacy
from sparsestat.privacy import (InteractiveLDPSparseRegression, LDPSparseRegression, iht_unit_sigma, ldp_iht,
                                nldp, nldp_calibration)
from sparsestat.privacy.ldp_iht import iht_groups
from tests._compiles import n_distinct, sweep

pytestmark = [pytest.mark.filterwarnings("ignore::sparsestat.exceptions.PrivacyWarning"),
              pytest.mark.filterwarnings("ignore:the aggregated covariance is not positive definite:RuntimeWarning")]

N, D = 300, 5
KW = dict(x_clip=1.5, y_clip=2.0)
OLD_PROTOCOL = ["NLDPCalibration", "NLDPMessage", "NLDPSums", "ServerEstimate", "nldp_calibration", "user_keys",
                "release_nldp", "aggregate", "stream_nldp", "triu_to_symmetric", "default_threshold",
                "server_estimate", "iht_groups", "iht_sigma", "release_iht", "iht_step", "simulate_aggregate",
                "check_clip", "stream_iht_round", "THRESHOLDS", "STABILIZERS"]
OLD_PACKAGE = ["LDPSparseRegression", "InteractiveLDPSparseRegression", "PrivacyRecord", "PrivacyWarning",
               "required_users", "default_threshold", "gaussian_sigma", "gaussian_delta", "laplace_scale",
               "mechanisms", "protocol"]


@pytest.fixture(scope="module")
def users():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((N, D))
    y = X @ np.array([1.0, -1.0, 0.0, 0.0, 0.0]) + 0.1 * rng.standard_normal(N)
    return X, y


def test_old_names_resolve():
    with pytest.warns(DeprecationWarning, match="protocol is deprecated"):
        for name in OLD_PACKAGE:  # "protocol" is imported on first access
            assert getattr(privacy, name) is not None
        proto = importlib.reload(importlib.import_module("sparsestat.privacy.protocol"))
    for name in OLD_PROTOCOL:
        assert getattr(proto, name) is not None, name
    assert proto.server_estimate is privacy.estimation.server_estimate
    assert proto.release_nldp is privacy.release.release_nldp


@pytest.mark.parametrize("kw", [dict(x_clip_l2=3.0), dict(x_clip_l2=3.0, threshold="topk", n_nonzero_coefs=2),
                                dict(x_clip_l2=3.0, mechanism="laplace", delta=0.0), dict(public=True)])
def test_nldp_core_is_the_estimator(users, x64, kw):
    X, y = users
    kw = dict(kw)
    public = kw.pop("public", False)
    est_kw = dict(kw, public_X=X[:50]) if public else kw
    est = LDPSparseRegression(4.0, **{"delta": 1e-5, **est_kw}, **KW, random_state=7).fit(X, y)
    cal = nldp_calibration(D, epsilon=4.0, delta=kw.pop("delta", 1e-5), x_clip_l2=kw.pop("x_clip_l2", None),
                           public_covariance=public, mechanism=kw.pop("mechanism", "gaussian"), **KW)
    res = nldp(jax.random.PRNGKey(7), X, y, cal, x_clip_l2=None if public else 3.0, **KW, chunk_size=512,
               public_cov=X[:50].T @ X[:50] / 50 if public else None, **kw)
    np.testing.assert_array_equal(res.coef, est.coef_)
    np.testing.assert_array_equal(np.asarray(res.sums.xy) / N, est.statistics_["xy"])
    assert res.lam == est.lambda_


def test_ldp_iht_core_is_the_estimator_and_streams(users, x64):
    X, y = users
    est = InteractiveLDPSparseRegression(2.0, n_nonzero_coefs=2, n_rounds=3, **KW, random_state=3).fit(X, y)
    unit = iht_unit_sigma(2.0, 1e-5)
    res = ldp_iht(jax.random.PRNGKey(3), X, y, unit_sigma=unit, n_nonzero_coefs=2, n_rounds=3, **KW)
    np.testing.assert_array_equal(np.asarray(res.coef), est.coef_)
    assert res.sigmas == est.privacy_.sigmas
    # the streamed form: the same groups, each cut into pieces, give the same estimate
    k_part, k_noise = jax.random.split(jax.random.PRNGKey(3))
    groups = iht_groups(k_part, N, 3)
    rounds = ([(X[g[:40]], y[g[:40]], g[:40]), (X[g[40:]], y[g[40:]], g[40:])] for g in groups)
    streamed = ldp_iht(k_noise, rounds=rounds, d=D, unit_sigma=unit, n_nonzero_coefs=2, chunk_size=64, **KW)
    np.testing.assert_allclose(np.asarray(streamed.coef), est.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(streamed.group_sizes, [len(g) for g in groups])
    with pytest.raises(ValueError, match="d .*required"):
        ldp_iht(k_noise, rounds=[], unit_sigma=unit, n_nonzero_coefs=2, **KW)


def test_cores_compile_once(users, x64):
    X, y = users
    key = jax.random.PRNGKey(0)

    def fit_nldp(eps):
        cal = nldp_calibration(D, epsilon=eps, delta=1e-5, x_clip_l2=3.0, **KW)
        return nldp(key, X, y, cal, x_clip_l2=3.0, **KW, chunk_size=512).sums.xy

    assert n_distinct(sweep(fit_nldp, [0.5, 1.0, 2.0, 4.0, 8.0],
                            ignore_warnings=(RuntimeWarning,))) == 5
    outs = sweep(lambda eps: np.asarray(ldp_iht(key, X, y, unit_sigma=iht_unit_sigma(eps, 1e-5), n_nonzero_coefs=2,
                                                **KW).grad_sums), [0.5, 1.0, 2.0, 4.0, 8.0])
    assert n_distinct(outs) == 5


def test_new_names_documented():
    for name in ("nldp", "ldp_iht"):
        doc = getattr(privacy, name).__doc__
        assert doc and ("Wang & Xu" in doc if name == "ldp_iht" else "Zhu" in doc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(privacy)  # importing the package does not import the deprecated alias
