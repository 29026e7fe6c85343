"""Every public entry refuses bad input early (issue 20, item 1).

A property-based walk (hypothesis) over the public estimators and functional cores of every module.
Each example takes one entry, one of its arguments and a bad value of that argument's kind:
- NaN or inf at a generated position;
- an empty, 1-D or 3-D array, a wrong length, strings;
- a negative, zero, non-finite or non-numeric hyperparameter;
- a non-integer count, a malformed key.

The call must raise ``ValueError`` or ``TypeError``, the message must name the argument, and nothing
may be compiled before it is raised.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._compiles import count_compiles

RNG = np.random.default_rng(0)
N, P = 24, 6
X = RNG.standard_normal((N, P))
Y = X[:, 0] - X[:, 1] + 0.1 * RNG.standard_normal(N)
YBIN = (Y > 0).astype(float)
H1, H2 = RNG.standard_normal((4, 6)), RNG.standard_normal((3, 5))
YK = RNG.standard_normal(12)
USERS = RNG.uniform(-1, 1, (200, 3))
YUSERS = USERS[:, 0] + 0.1 * RNG.standard_normal(200)


def _key():
    import jax

    return jax.random.PRNGKey(0)


# bad values by kind; each is (label, value or function of the good value)
def _with(value, index, bad):
    a = np.array(value, dtype=float, copy=True)
    a.flat[index % a.size] = bad
    return a


BAD = {
    "matrix": [("nan", "nan"), ("inf", "inf"), ("1-D", lambda v: np.asarray(v)[:, 0]),
               ("3-D", lambda v: np.asarray(v)[None]), ("empty", lambda v: np.asarray(v)[:0]),
               ("strings", lambda v: np.full(np.shape(v), "a", dtype=object))],
    "vector": [("nan", "nan"), ("inf", "inf"), ("short", lambda v: np.asarray(v)[:-1]),
               ("strings", lambda v: np.full(np.shape(v), "a", dtype=object))],
    "weights": [("nan", "nan"), ("negative", lambda v: -np.ones_like(v)), ("short", lambda v: np.asarray(v)[:-1])],
    "positive": [("zero", 0.0), ("negative", -1.0), ("nan", float("nan")), ("inf", float("inf")), ("string", "a")],
    "nonnegative": [("negative", -1.0), ("nan", float("nan")), ("inf", float("inf")), ("string", "a")],
    "unit": [("negative", -0.1), ("above one", 1.5), ("nan", float("nan")), ("string", "a")],
    "count": [("zero", 0), ("negative", -3), ("fraction", 2.5), ("string", "3")],
    "key": [("float", 1.5), ("string", "key"), ("wrong shape", np.zeros(3, np.uint32))],
    "position": [("nan", "nan"), ("inf", "inf"), ("strings", lambda v: np.full(np.shape(v), "a", dtype=object))],
    "above one": [("one", 1.0), ("below one", 0.5), ("nan", float("nan")), ("string", "a")],
    "finite": [("nan", float("nan")), ("inf", float("inf")), ("string", "a")],
    "count or zero": [("negative", -3), ("fraction", 2.5), ("string", "3")],
    "correlation": [("above one", 1.5), ("below minus one", -1.5), ("nan", float("nan")), ("string", "a")],
    "numeric": [("strings", lambda v: np.full(np.shape(v), "a", dtype=object))],
    "threshold": [("negative", -1.0), ("nan", float("nan")), ("string", "a")],
}


@dataclass
class Entry:
    call: Callable          # call(**arguments)
    args: dict              # name -> (kind, good value)
    names: dict = field(default_factory=dict)  # argument -> the name the message must contain (default: itself)


def _est(cls, method="fit", **fixed):
    """call(**kw): data arguments (X, y) go to fit, the others to the constructor."""
    def call(X, y, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(cls(**fixed, **params), method)(X, y)
    return call


def _entries():
    from sparsestat.gemss import GEMSS
    from sparsestat.mcmc import sample
    from sparsestat.privacy import InteractiveLDPSparseRegression, LDPSparseRegression
    from sparsestat.regression import (L1, ElasticNet, L0Regression, Lasso, LassoCV, MCPRegression, Quadratic,
                                       SparseLogisticRegression, lasso_path, solve)
    from sparsestat.sbl import SBLRegression, kron_sbl, sbl

    def lasso_path_call(X, y, **kw):
        return lasso_path(X, y, n_alphas=5, **kw)

    def solve_call(X, y, alpha, **kw):
        return solve(X, y, Quadratic(), L1(alpha), **kw)

    def sample_call(init_position, rng_key, **kw):
        import jax.numpy as jnp

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sample(lambda q: -0.5 * jnp.sum(q * q), init_position, rng_key=rng_key, progress_bar=False,
                          **{"num_samples": 8, "num_warmup": 4, **kw})

    import sparsestat.datasets as ds
    from sparsestat import linalg

    ldp = dict(x_clip_l2=1.8, x_clip=1.0, y_clip=2.0)
    return {
        # datasets: the generators' sizes and hyperparameters
        "make_correlated_regression": Entry(lambda **kw: ds.make_correlated_regression(**kw),
                                            {"n_samples": ("count", 20), "n_features": ("count", 8),
                                             "n_informative": ("count or zero", 3), "snr": ("positive", 3.0),
                                             "rho": ("correlation", 0.5)}),
        "make_sparse_classification": Entry(lambda **kw: ds.make_sparse_classification(**kw),
                                            {"n_samples": ("count", 20), "n_features": ("count", 8),
                                             "n_informative": ("count or zero", 3)}),
        "make_ldp_users": Entry(lambda **kw: ds.make_ldp_users(**kw),
                                {"n_users": ("count", 50), "n_features": ("count", 5), "n_nonzero": ("count", 2),
                                 "noise": ("nonnegative", 0.5)}),
        "make_multi_solution": Entry(lambda **kw: ds.make_multi_solution(**kw),
                                     {"n_samples": ("count", 20), "n_features": ("count", 30),
                                      "n_solutions": ("count", 2), "sparsity": ("count", 2),
                                      "nan_ratio": ("unit", 0.0), "noise_std": ("nonnegative", 0.1)}),
        "make_kronecker_sparse": Entry(lambda **kw: ds.make_kronecker_sparse([(4, 6), (3, 5)], [2, 2], **kw),
                                       {"snr_db": ("finite", 20.0), "n_problems": ("count", 2)}),
        # linalg: operators and solves
        "linalg.Kronecker": Entry(lambda factors: linalg.Kronecker.from_factors(factors),
                                  {"factors": ("factor", [H1, H2])}),
        # an elementwise map: NaN in x gives NaN out, as in jnp; the threshold is checked
        "linalg.soft_threshold": Entry(lambda x, threshold: linalg.soft_threshold(x, threshold),
                                       {"x": ("numeric", np.ones(4)), "threshold": ("threshold", 0.5)}),

        "Lasso": Entry(_est(Lasso), {"X": ("matrix", X), "y": ("vector", Y), "alpha": ("nonnegative", 0.1),
                                     "tol": ("nonnegative", 1e-6), "max_iter": ("count", 100)}),
        "ElasticNet": Entry(_est(ElasticNet, alpha=0.1), {"X": ("matrix", X), "y": ("vector", Y),
                                                          "l1_ratio": ("unit", 0.5)}),
        "MCPRegression": Entry(_est(MCPRegression), {"X": ("matrix", X), "y": ("vector", Y),
                                                     "alpha": ("nonnegative", 0.1), "gamma": ("above one", 3.0)}),
        "L0Regression": Entry(_est(L0Regression), {"X": ("matrix", X), "y": ("vector", Y),
                                                   "n_nonzero_coefs": ("count", 2)}),
        "SparseLogisticRegression": Entry(_est(SparseLogisticRegression),
                                          {"X": ("matrix", X), "y": ("vector", YBIN), "alpha": ("nonnegative", 0.01)}),
        "LassoCV": Entry(_est(LassoCV, cv=3), {"X": ("matrix", X), "y": ("vector", Y), "eps": ("positive", 1e-2),
                                               "alphas": ("count", 5)}),
        "lasso_path": Entry(lasso_path_call, {"X": ("matrix", X), "y": ("vector", Y), "eps": ("positive", 1e-2),
                                              "sample_weight": ("weights", np.ones(N))}),
        "solve": Entry(solve_call, {"X": ("matrix", X), "y": ("vector", Y), "alpha": ("nonnegative", 0.1),
                                    "tol": ("nonnegative", 1e-6), "max_iter": ("count", 100),
                                    "sample_weight": ("weights", np.ones(N))}),
        "LDPSparseRegression": Entry(
            lambda X, y, **kw: _est(LDPSparseRegression, **{"epsilon": 2.0, "random_state": 0, **ldp, **kw})(X, y),
            {"X": ("matrix", USERS), "y": ("vector", YUSERS), "epsilon": ("positive", 2.0),
             "delta": ("unit", 1e-5), "x_clip": ("positive", 1.0), "y_clip": ("positive", 2.0),
             "x_clip_l2": ("positive", 1.8)}),
        "InteractiveLDPSparseRegression": Entry(
            lambda X, y, **kw: _est(InteractiveLDPSparseRegression,
                                    **{"epsilon": 2.0, "n_nonzero_coefs": 1, "x_clip": 1.0, "y_clip": 2.0,
                                       "random_state": 0, **kw})(X, y),
            {"X": ("matrix", USERS), "y": ("vector", YUSERS), "epsilon": ("positive", 2.0),
             "n_nonzero_coefs": ("count", 1), "n_rounds": ("count", 2), "step_size": ("positive", 1.0),
             "radius": ("positive", 1.0)}),
        "sbl": Entry(lambda Phi, y, **kw: sbl(Phi, y, **kw),
                     {"Phi": ("matrix", X[:12]), "y": ("vector", Y[:12]), "noise_var": ("positive", 0.1),
                      "max_iter": ("count", 20), "tol": ("nonnegative", 1e-4)}),
        "kron_sbl": Entry(lambda factors, y, **kw: kron_sbl(factors, y, **kw),
                          {"factors": ("factor", [H1, H2]), "y": ("vector", YK), "max_iter": ("count", 20),
                           "tol": ("nonnegative", 1e-4), "noise_var": ("positive", 0.1)}),
        "SBLRegression": Entry(_est(SBLRegression), {"X": ("matrix", X), "y": ("vector", Y),
                                                     "max_iter": ("count", 20), "tol": ("nonnegative", 1e-4)}),
        "GEMSS": Entry(_est(GEMSS, n_iter=10, random_state=0),
                       {"X": ("matrix", X), "y": ("vector", Y), "n_components": ("count", 2),
                        "sparsity": ("count", 2), "lr": ("positive", 1e-2), "batch_size": ("count", 8),
                        "var_slab": ("positive", 100.0)}),
        "mcmc.sample": Entry(sample_call, {"init_position": ("position", np.zeros((2, 3))), "rng_key": ("key", None),
                                           "num_samples": ("count", 8), "num_chains": ("count", 2),
                                           "thinning": ("count", 1)}),
    }


ENTRIES = _entries()
CASES = [(e, a, i) for e, entry in ENTRIES.items() for a, (kind, _) in entry.args.items()
         for i in range(len(BAD.get(kind, BAD["matrix"])))]


def _bad_value(kind, good, label_value, position):
    label, bad = label_value
    if kind == "factor":   # a list of factors: break the first one
        inner = _bad_value("matrix", good[0], label_value, position)
        return label, [inner[1]] + list(good[1:])
    if isinstance(bad, str) and bad in ("nan", "inf") and kind in ("matrix", "vector", "weights", "position"):
        return label, _with(good, position, float(bad))
    if callable(bad):
        return label, bad(good)
    return label, bad


def _refused(case, position):
    """The error message of the bad call, checked: named argument, ValueError/TypeError, no compile."""
    entry_name, arg, which = case
    entry = ENTRIES[entry_name]
    kind, good = entry.args[arg]
    if kind == "key":
        good = _key()
    label, bad = _bad_value(kind, good, BAD.get(kind, BAD["matrix"])[which], position)
    kwargs = {a: (_key() if k == "key" else v) for a, (k, v) in entry.args.items()}
    kwargs[arg] = bad
    with count_compiles() as c:
        with pytest.raises((ValueError, TypeError)) as err:
            entry.call(**kwargs)
    message = str(err.value)
    name = entry.names.get(arg, arg)
    assert re.search(rf"\b{re.escape(name)}\b", message, flags=re.IGNORECASE), \
        f"{entry_name}({arg} = {label}): the message does not name {name!r}: {message}"
    assert c.n == 0, f"{entry_name}({arg} = {label}) compiled {c} before refusing"


# every case runs in every example (full coverage each run); hypothesis generates where the NaN/inf goes
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_bad_input_is_refused_early_and_named(data):
    for case in CASES:
        _refused(case, data.draw(st.integers(0, 10_000), label=f"{case} position"))


def test_the_walk_can_fail():
    """A bad value the entry accepts is reported: the walk's checks are not vacuous."""
    ENTRIES["_accepting"] = Entry(lambda x: None, {"x": ("positive", 1.0)})
    try:
        with pytest.raises(pytest.fail.Exception):
            _refused(("_accepting", "x", 1), 0)
    finally:
        del ENTRIES["_accepting"]


@pytest.mark.slow   # each entry runs (and compiles) once: ~30 s cold in all
@pytest.mark.parametrize("entry_name", sorted(ENTRIES))
def test_good_arguments_are_accepted(entry_name):
    """The walk's good values are valid: only the one bad argument can be what is refused."""
    entry = ENTRIES[entry_name]
    kwargs = {a: (_key() if k == "key" else v) for a, (k, v) in entry.args.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry.call(**kwargs)
