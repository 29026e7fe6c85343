"""Compile once (issue 16): a new value of any numeric hyperparameter reuses the compiled programs.

For the functional core (``fit``, also vmapped over data sets; the deprecated ``train``) and for the ``GEMSS`` estimator,
each hyperparameter group is swept over 5 values on one small data shape: the first call may compile
(for the shape), every later one must compile nothing, and the results must change with the value
(so a hyperparameter that were silently ignored would fail the test).
"""

import jax
import numpy as np
import pytest

from sparsestat.datasets import make_multi_solution
from sparsestat.gemss import GEMSS, ObjectiveConfig, PriorParams, TrainConfig, fit, train
from sparsestat.gemss.core import prepare_data
from tests._compiles import compile_counts, count_compiles

N_ITER = 12
# the core and the estimator share one compiled program (same structure), to keep the test fast
CORE = dict(n_components=3, sparsity=2, lambda_jaccard=10.0, batch_size=4, lr=0.05, n_iter=N_ITER)
EST = dict(n_components=3, sparsity=2, lambda_jaccard=10.0, batch_size=4, lr=0.05, n_iter=N_ITER,
           random_state=0)

# hyperparameter group -> (extra fixed settings, 5 values)
GROUPS = {
    "lambda_jaccard": ({}, [1.0, 3.0, 10.0, 100.0, 1000.0]),
    "lr": ({}, [0.005, 0.01, 0.03, 0.1, 0.3]),
    "var_slab": ({}, [3.0, 10.0, 30.0, 100.0, 300.0]),
    "var_spike": ({}, [0.03, 0.1, 0.3, 1.0, 3.0]),
    "weight_slab": ({"prior": "ss"}, [0.3, 0.5, 0.7, 0.9, 2.0]),
    "student_df": ({"prior": "student"}, [0.5, 1.0, 2.0, 5.0, 20.0]),
}


@pytest.fixture(scope="module")
def data():
    X, y, _, _ = make_multi_solution(20, 12, 2, 2, noise_std=0.1, binarize=False, random_state=0)
    return X, y


def _sweep(fn, values):
    """(compile counts per call, results per call)."""
    out = []
    counts = compile_counts(lambda v: out.append(jax.device_get(fn(v))), values)
    return counts, out


def _assert_compiles_once(counts, what):
    assert all(c.n == 0 for c in counts[1:]), f"{what}: recompiled for a new value: {counts}"


def _assert_changes(arrays, what):
    arrays = [np.asarray(a) for a in arrays]
    for i in range(1, len(arrays)):
        assert not np.array_equal(arrays[0], arrays[i]), f"{what}: value {i} gave the same result as value 0"


@pytest.mark.parametrize("name", list(GROUPS))
def test_fit_compiles_once_per_shape(data, name):
    X, y = data
    extra, values = GROUPS[name]
    key = jax.random.PRNGKey(0)
    counts, res = _sweep(lambda v: fit(X, y, key, **{**CORE, **extra, name: v}), values)
    _assert_compiles_once(counts, name)
    _assert_changes([r.objective for r in res], name)


def test_fit_threshold_and_restarts_compile_once(data):
    X, y = data
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    # tau (the extraction record's threshold) is traced; vmapped restarts too
    counts, res = _sweep(lambda v: fit(X, y, keys, **{**CORE, "min_mu_threshold": v}),
                         [0.05, 0.3, 0.8, 1.5, 3.0])
    _assert_compiles_once(counts, "min_mu_threshold (vmapped)")
    recs = [np.concatenate([r.record_iteration.ravel(), r.record_means.ravel()]) for r in res]
    assert len({a.tobytes() for a in recs}) > 1, "the extraction record ignores min_mu_threshold"
    counts, res = _sweep(lambda v: fit(X, y, keys, **{**CORE, "lr": v}), [0.01, 0.02, 0.05, 0.1, 0.2])
    _assert_compiles_once(counts, "lr (vmapped)")
    _assert_changes([r.means for r in res], "lr (vmapped)")


def test_fit_vmapped_over_data_compiles_once(data):
    X, y = data
    Xs, ys = np.stack([X, X[::-1]]), np.stack([y, y[::-1]])
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    fn = lambda v: jax.vmap(lambda a, b, k: fit(a, b, k, **{**CORE, "var_slab": v, "lr": v / 1000.0}))(Xs, ys, keys)
    counts, res = _sweep(fn, [10.0, 20.0, 50.0, 100.0, 200.0])
    _assert_compiles_once(counts, "vmap(fit)(var_slab, lr)")
    _assert_changes([r.means for r in res], "vmap(fit)(var_slab, lr)")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # train: a deprecated alias
def test_train_compiles_once(data):
    X, y = data
    Xf, yf, mask = prepare_data(X, y)
    key = jax.random.PRNGKey(2)
    tc = TrainConfig(3, 4, N_ITER, 0.05, 100, N_ITER)

    def run(v):
        cfg = ObjectiveConfig("sss", 2, "gaussian", 10.0, "soft", PriorParams(var_slab=v))
        return train(Xf, yf, mask, key, 0.2, config=cfg, train_config=tc._replace(lr=v / 1000.0))

    counts, res = _sweep(run, [10.0, 20.0, 50.0, 100.0, 200.0])
    _assert_compiles_once(counts, "train(var_slab, lr)")
    _assert_changes([r.means for r in res], "train(var_slab, lr)")


@pytest.mark.filterwarnings("ignore:component .* never had:RuntimeWarning")  # tau = 2: the fallback
@pytest.mark.parametrize("name", ["lambda_jaccard", "lr", "var_slab", "var_spike", "min_mu_threshold"])
def test_estimator_compiles_once_per_shape(data, name):
    X, y = data
    values = dict(GROUPS, min_mu_threshold=({}, [0.05, 0.2, 0.5, 1.0, 2.0]))[name][1]
    models = []
    counts = compile_counts(lambda v: models.append(GEMSS(**{**EST, name: v}).fit(X, y)), values)
    _assert_compiles_once(counts, f"GEMSS({name}=...)")
    if name == "min_mu_threshold":
        recs = {(m.extraction_iterations_.tobytes(), str(m.solutions_)) for m in models}
        assert len(recs) > 1, "GEMSS ignores min_mu_threshold"
    else:
        _assert_changes([m.objective_history_ for m in models], name)


def test_estimator_new_seed_compiles_nothing(data):
    X, y = data
    GEMSS(**EST).fit(X, y)
    with count_compiles() as c:
        a = GEMSS(**{**EST, "random_state": 7}).fit(X, y)
    assert c.n == 0, c
    assert not np.array_equal(a.means_, GEMSS(**EST).fit(X, y).means_)
