"""Sparse linear models: Lasso, ElasticNet, MCP, SCAD, L0/IHT, sparse logistic regression.

Functional core: :func:`solve` (:func:`solve_batch` for problems sharing X, :func:`solve_path` for a
warm-started grid as one compiled program) with datafits (:class:`Quadratic`, :class:`Logistic`) and penalties
(:class:`L1`, :class:`L1L2`, :class:`MCP`, :class:`SCAD`, :class:`L0`), certified by duality gaps
(convex) or stationarity (nonconvex); scikit-learn estimators on top.
"""

from .certificates import Certificate, certify
from .datafits import Logistic, Quadratic
from .penalties import L0, L1, L1L2, MCP, SCAD
from .solve import SOLVERS, SolveResult, solve, solve_batch
from .solve_path import PathResult, solve_path

__all__ = [
    "solve", "solve_batch", "solve_path", "SolveResult", "PathResult", "SOLVERS", "certify", "Certificate",
    "Quadratic", "Logistic", "L1", "L1L2", "MCP", "SCAD", "L0",
]

from .linear_models import ElasticNet, L0Regression, Lasso, MCPRegression, SCADRegression  # noqa: E402

__all__ += ["Lasso", "ElasticNet", "MCPRegression", "SCADRegression", "L0Regression"]

from .cv import ElasticNetCV, LassoCV  # noqa: E402
from .logistic import SparseLogisticRegression  # noqa: E402
from .path import enet_path, lasso_path  # noqa: E402

__all__ += ["SparseLogisticRegression", "LassoCV", "ElasticNetCV", "lasso_path", "enet_path"]
from .preconditioned import PreconditionedLasso  # noqa: E402

__all__ += ["PreconditionedLasso"]
