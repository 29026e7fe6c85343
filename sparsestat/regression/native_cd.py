"""The whole-problem native solvers of the dense (elastic-net) Lasso and L1 logistic regression on CPU.

Where the design is dense, the datafit quadratic and the penalty l1 or l1l2, a CPU program hands the
whole solve - one fit, or a whole warm-started path - to one native call,
:func:`sparsestat.linalg.native.cd_path`: the working-set coordinate descent of
:mod:`~sparsestat.regression.working_set` (support plus the largest KKT violators, Anderson
extrapolation, the CG support step, the same duality-gap certificate and stopping targets), with no
XLA operation per round, epoch or alpha. On XLA:CPU each round of the compiled working-set loop pays
0.2-1 us per operation for its gathers, products and certificate, which is most of a small fit's time
(200 x 500: ~1 ms of device time for two rounds whose arithmetic takes ~0.1 ms). Logistic regression
with an unweighted l1 penalty takes the same route for single fits and batches
(:func:`sparsestat.linalg.native.logreg_path`, the prox-Newton of
:mod:`~sparsestat.regression.inner_newton`).

What runs around the call is the same as for the working-set solver: the problems are prepared
(weights, centring, stopping targets) by :func:`~sparsestat.regression.certificates.prepare_batch` in
the same compiled program, and the reported intercept is the datafit's. Elsewhere (accelerators,
sparse designs, other datafits and penalties, installs without the native kernels) the working-set
solver runs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..linalg import native
from ._problem import Design
from .certificates import prepare_batch
from .datafits import Logistic

__all__ = ["use_native_solver", "native_solves", "use_native_fit", "native_fit_solves", "native_fit", "unpack_fit",
           "native_path"]


MAX_ENTRIES = 2 ** 24   # n p (padded) up to which solver="auto" takes the native solver: it runs on one
#                        core, where XLA's rounds use every core for their matrix-vector products. At
#                        5000 x 20000 (10^8 entries) the compiled rounds won: a 50-alpha path 6.8 s against
#                        11.0 s native, alpha_max / 20 0.32-0.39 s against 0.43 s; at 1000 x 5000 the native
#                        solver won: path 0.47 s against 0.45-0.6 s, single fits 0.44-0.58x skglm's time
#                        against 0.52-0.90x (2-core machine, benchmarks/RESULTS.md)


def use_native_solver(D, datafit, pen, *, any_size: bool = False) -> bool:
    """Whether a solve on the prepared design ``D`` runs as one native call: a dense :class:`Design` of
    at most :data:`MAX_ENTRIES` entries (unless ``any_size``: ``solver="native_cd"``), a datafit that is
    its own quadratic model with a centred intercept (least squares), an l1 or l1l2 penalty, and a CPU
    program with the native kernels available."""
    return (isinstance(D, Design) and (any_size or D.shape[0] * D.shape[1] <= MAX_ENTRIES)
            and native_solves(D.dtype, datafit, pen))


def native_solves(dtype, datafit, pen, shape=None) -> bool:
    """:func:`use_native_solver` for a dense design of ``dtype`` (and ``shape``, if given) not yet
    prepared."""
    if shape is not None and shape[0] * shape[1] > MAX_ENTRIES:
        return False
    return (datafit.exact_quadratic and datafit.centred_intercept and getattr(pen, "kind", None) in ("l1", "l1l2")
            and native.use_native(dtype))


def native_fit_solves(dtype, datafit, pen, shape=None) -> bool:
    """What :func:`native_fit` takes: :func:`native_solves`, or the logistic datafit with an unweighted
    l1 penalty (:func:`sparsestat.linalg.native.logreg_path`, the working-set prox-Newton)."""
    if native_solves(dtype, datafit, pen, shape):
        return True
    if shape is not None and shape[0] * shape[1] > MAX_ENTRIES:
        return False
    return (isinstance(datafit, Logistic) and getattr(pen, "kind", None) == "l1"
            and getattr(pen, "weights", None) is None and native.use_native(dtype))


def use_native_fit(D, datafit, pen, *, any_size: bool = False) -> bool:
    """:func:`use_native_solver` for a fit (:func:`native_fit`), which also takes sparse logistic
    regression."""
    return (isinstance(D, Design) and (any_size or D.shape[0] * D.shape[1] <= MAX_ENTRIES)
            and native_fit_solves(D.dtype, datafit, pen))


def _prepare_each(D, Y, S, pens, tol, datafit, fit_intercept):
    """:func:`~sparsestat.regression.certificates.prepare_batch` one problem at a time (``lax.map``): a
    vmapped product of T weight vectors with X rounds differently for each T, and the rounding moved
    a cross-validation fold's certified path by 1e-10 between a batch of 3 folds and one of 2
    (distributed CV); this way a problem's statistics do not depend on its batch."""
    def one(args):
        y, s, pen = args
        one_pen = jax.tree_util.tree_map(lambda a: a[None], pen)
        probs, targets = prepare_batch(D, y[None], s[None], one_pen, tol, datafit, fit_intercept)
        return jax.tree_util.tree_map(lambda a: a[0], (probs, targets))

    return jax.lax.map(one, (Y, S, pens))


def _solve(D, probs, grid, W0, targets, max_iter, positive):
    """T problems (``probs``, ``W0``, ``targets`` with a leading T) along ``grid`` (leaves (T, A, ...)):
    (W (T, A, p), gap (T, A), n_iter (T, A)), one native call for the batch."""
    p = D.shape[1]

    def l1_l2(pen):
        return pen.l1_l2(D.dtype)

    l1, l2 = jax.vmap(jax.vmap(l1_l2))(grid)
    w = grid.weights
    v = jnp.ones((W0.shape[0], p), D.dtype) if w is None else jnp.asarray(w, D.dtype)[:, 0]
    return native.cd_path(D.XT, probs.xm, probs.omega, probs.y - probs.ym[:, None], v, l1, l2, W0, targets,
                          max_iter, positive=positive)


def _solve_logistic(D, probs, grid, W0, targets, max_iter, datafit, fit_intercept):
    """:func:`_solve` for the logistic datafit with an unweighted l1 grid: (W (T, A, p), intercept,
    gap, n_iter), each problem's intercept starting at the null model's (as the working-set solver's)."""
    b0 = jax.vmap(lambda pr: datafit.intercept0(pr, fit_intercept))(probs)
    l1 = jax.vmap(jax.vmap(lambda pen: pen.l1_l2(D.dtype)[0]))(grid)
    return native.logreg_path(D.XT, probs.omega, probs.y, l1, W0, b0, targets, max_iter, positive=grid.positive,
                              fit_intercept=fit_intercept)


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def native_fit(D, Y, S, pens, W0, tol, max_iter, datafit, *, fit_intercept: bool):
    """T problems sharing ``D`` (``Y``, ``S`` (T, n), ``pens`` with a leading T, ``W0`` (T, p)) solved by
    one native call (least squares: :func:`sparsestat.linalg.native.cd_path`; logistic:
    :func:`sparsestat.linalg.native.logreg_path`); returns (coef, intercept, gap, n_iter, converged), each with a leading T. One
    compiled program (preparation, solve, intercept), so that a small fit is one dispatch; the results
    come back packed in one array (:func:`unpack_fit`)."""
    probs, targets = _prepare_each(D, Y, S, pens, tol, datafit, fit_intercept)
    grid = jax.tree_util.tree_map(lambda a: a[:, None], pens)
    if datafit.exact_quadratic:
        W, gap, it = _solve(D, probs, grid, W0, targets, max_iter, pens.positive)
        W, gap, it = W[:, 0], gap[:, 0], it[:, 0]
        b = datafit.intercept(probs, W, jnp.zeros_like(gap), fit_intercept)
    else:   # logistic, l1
        W, b, gap, it = _solve_logistic(D, probs, grid, W0, targets, max_iter, datafit, fit_intercept)
        W, b, gap, it = W[:, 0], b[:, 0], gap[:, 0], it[:, 0]
    # one array, so that the host reads one buffer back (5 reads cost 0.06 ms, one 0.02): (T, p + 4) =
    # [coef | intercept | gap | n_iter | converged] (:func:`unpack_fit`)
    extra = jnp.stack([b, gap, it.astype(W.dtype), (gap <= targets).astype(W.dtype)], axis=1)
    return jnp.concatenate([W, extra], axis=1)


def unpack_fit(packed):
    """(coef, intercept, gap, n_iter, converged) from :func:`native_fit`'s host array."""
    return (packed[:, :-4], packed[:, -4], packed[:, -3], packed[:, -2].astype(np.int32),
            packed[:, -1].astype(bool))


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def native_path(D, Y, S, grid, W0, tol, max_iter, datafit, *, fit_intercept: bool):
    """T problems sharing ``D`` along the penalty ``grid`` (leaves (A, T, ...), decreasing
    regularisation), each warm-started at its previous solution, in one native call (what
    :func:`native_fit` takes: least squares with l1 / l1l2, logistic with an unweighted l1). The stopping
    targets are those of the first penalty (convex penalties: tol times the datafit's scale, which does
    not depend on the penalty). Returns (coef (A, T, p), intercept, gap, n_iter, converged), each (A, T)."""
    first = jax.tree_util.tree_map(lambda a: a[0], grid)
    probs, targets = _prepare_each(D, Y, S, first, tol, datafit, fit_intercept)
    per_problem = jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), grid)   # (T, A, ...)
    if datafit.exact_quadratic:
        W, gap, it = _solve(D, probs, per_problem, W0, targets, max_iter, grid.positive)   # (T, A, ...)
        b = jax.vmap(lambda w: datafit.intercept(probs, w, jnp.zeros(w.shape[:1], w.dtype), fit_intercept),
                     in_axes=1, out_axes=1)(W)
    else:   # logistic, l1: the intercept is warm-started along the grid
        W, b, gap, it = _solve_logistic(D, probs, per_problem, W0, targets, max_iter, datafit, fit_intercept)
    conv = gap <= targets[:, None]
    swap = lambda a: jnp.swapaxes(a, 0, 1)  # noqa: E731
    return swap(W), swap(b), swap(gap), swap(it), swap(conv)
